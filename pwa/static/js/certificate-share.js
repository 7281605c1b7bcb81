// 亮证 (/certificates/{id}): the QR code's token lives five minutes. A countdown shows how long this one has left;
// 30 seconds before it expires the page fetches a fresh code (/certificates/{id}/qr) and swaps it in, so the code
// on screen always scans as valid. If the fetch fails (offline), the countdown says so instead of showing a stale code.
// The time left comes from the server (data-seconds-left) and is counted on this device from when the code arrived,
// so a phone whose clock is wrong still refreshes in time.
import { t } from "./i18n.js";

const box = document.querySelector("[data-share]");
const slot = box?.querySelector("[data-share-slot]");
const REFRESH_BEFORE_MS = 30_000;
let refreshing = false;

const format = (ms) => {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
};

async function refresh() {
  refreshing = true;
  try {
    const response = await fetch(box.dataset.refresh, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!response.ok) throw new Error(String(response.status));
    slot.innerHTML = await response.text();
  } catch {
    const countdown = slot.querySelector("[data-share-countdown]");
    if (countdown) countdown.parentElement.textContent = t("二维码未能更新，请检查网络后刷新页面");
  } finally {
    refreshing = false;
  }
}

function tick() {
  const shown = slot.querySelector("[data-share-qr]");
  const countdown = slot.querySelector("[data-share-countdown]");
  if (!shown || !countdown) return;
  if (!shown.dataset.deadline) shown.dataset.deadline = String(Date.now() + Number(shown.dataset.secondsLeft) * 1000);
  const left = Number(shown.dataset.deadline) - Date.now();
  countdown.textContent = format(left);
  if (left <= REFRESH_BEFORE_MS && !refreshing) refresh();
}

if (box && slot) {
  tick();
  setInterval(tick, 1000);
}
