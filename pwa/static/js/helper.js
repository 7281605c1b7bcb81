// The shared device (a village helper's tablet, a window clerk's computer). Loaded on every page: the banner
// (partials/helper_banner.html) names the person the session works for, and nothing the browser kept for anyone
// else may outlive a switch — except what was already submitted.
// - apply.js keeps local state under keys containing ":client-<key>:" and its drafts and queued submissions in
//   IndexedDB under the subject "client-<key>" (a delegation id, or "w<visit>" at a window); the tab's keys and the
//   drafts of anyone other than the current person (or of everyone, when there is none) are removed on each page
//   load;
// - choosing another person or ending (forms marked data-helper-switch) removes them all before the form is sent;
// - a submission someone pressed 提交申请 for and that still waits for a connection (待发送) is never removed by a
//   switch: shell.js sends it whoever is served by then, and the server checks the delegation or visit again. The
//   helper is told on the next page that it still waits. At a window that visit ends with 结束接待 (or the next
//   person's check), and the server would refuse the submission after it: the clerk is asked first;
// - a page restored from the back/forward cache is reloaded, so it shows the session's person, not an old one;
// - forms marked data-confirm ask first (revoking a delegation).
import { csrfToken } from "./api.js";
import { tabStorage } from "./storage.js";
import { t, tn } from "./i18n.js";

const banner = document.querySelector("#helper-banner");
const current = banner?.dataset.client || "";
const currentName = banner?.querySelector("strong")?.textContent.trim() || "";
const atWindow = current.startsWith("w");
const local = self.ywtbLocal; // local-data.js (a deferred classic script: run before this module)
const user = document.body.dataset.localKey || "";
const shared = Boolean(local && user && document.body.dataset.helper === "true");
const CLIENT_KEY = /:client-([^:]+):/;
// Receiving the next person at the window (console_walk_in.html). Not a data-helper-switch form: the current
// person's data stays until the next one's check succeeds; but their unsent submission is asked about first.
const NEXT_VISIT = "form[action='/console/walk-in']";
// What the next page tells the helper about the person just left (sessionStorage, read and removed at once).
const HANDOVER_KEY = "ywtb:handover";
const SEND_WAIT_MS = 8000;

function sweep(keep) {
  for (const storage of [window.sessionStorage, window.localStorage]) {
    try {
      for (const key of Object.keys(storage)) {
        const match = key.match(CLIENT_KEY);
        if (match && match[1] !== keep) storage.removeItem(key);
      }
    } catch { /* storage refused (private mode): nothing was kept there either */ }
  }
}

// The drafts on this device (local-data.js) of anyone but `keep`.
async function sweepDevice(keep) {
  if (!shared) return;
  try {
    await local.forgetOtherClients(user, keep ? `client-${keep}` : "");
  } catch { /* IndexedDB unavailable: nothing was kept there */ }
}

// Submissions for `subject` still waiting to be sent.
async function waitingFor(subject) {
  if (!shared || !subject) return 0;
  try {
    return (await local.queued(user)).filter((e) => e.subject === subject && e.state === "pending").length;
  } catch {
    return 0;
  }
}

// One more try before a clerk's visit ends (the same sending as shell.js's, one sender at a time), given a while.
async function sendNow() {
  const timeout = new Promise((resolve) => { setTimeout(resolve, SEND_WAIT_MS); });
  try {
    await Promise.race([local.flush(user, csrfToken), timeout]);
  } catch { /* nothing sent: still waiting */ }
  document.dispatchEvent(new CustomEvent("ywtb:outbox-changed"));
}

// --- what the page says: the status line under the banner, the clerk's question -------------------------------

const handover = document.querySelector("#helper-handover");

function say(text) {
  if (!handover) return;
  handover.textContent = "";
  if (!text) return;
  const p = document.createElement("p");
  p.className = "app-offline";
  p.textContent = text;
  handover.append(p);
}

// Whom the note is about when the name is not known (a t() inside another's arguments is not extracted).
const PREVIOUS = t("上一位");

function helperNote(name, count) {
  return tn("为%(name)s提交的%(count)s份申请还没有发送，已保存在本机，联网后会自动发送，不会重复办理。",
    "为%(name)s提交的%(count)s份申请还没有发送，已保存在本机，联网后会自动发送，不会重复办理。",
    count, { name: name || PREVIOUS, count });
}

function clerkNote(name, count) {
  return tn("为%(name)s提交的%(count)s份申请还没有发送，接待已结束，服务器将不再接收。如TA还在窗口，请重新核验身份（开始接待）后在提示中点“重新发送”。",
    "为%(name)s提交的%(count)s份申请还没有发送，接待已结束，服务器将不再接收。如TA还在窗口，请重新核验身份（开始接待）后在提示中点“重新发送”。",
    count, { name: name || PREVIOUS, count });
}

// The next page names the person just left while something of theirs still waits, and takes the line away once
// it has been sent (shell.js then says 已发送 with the case number).
async function showHandover() {
  const kept = tabStorage.get(HANDOVER_KEY);
  tabStorage.remove(HANDOVER_KEY);
  if (!kept?.subject) return;
  const refresh = async () => {
    const count = await waitingFor(kept.subject);
    say(count ? (kept.window ? clerkNote(kept.name, count) : helperNote(kept.name, count)) : "");
    return count;
  };
  if (!(await refresh())) return;
  document.addEventListener("ywtb:outbox", refresh);
  document.addEventListener("ywtb:outbox-changed", refresh);
}

function rememberHandover(count) {
  // Where the tab's storage is refused the next page says nothing, but shell.js's outbox line still says what waits.
  tabStorage.set(HANDOVER_KEY, { subject: `client-${current}`, name: currentName, window: atWindow, count });
}

// Resolves "stay" or "leave"; staying is the default (Escape, Enter, no dialog on the page).
function askClerk(count, next) {
  const dialog = document.querySelector("#walk-in-unsent");
  if (!dialog?.showModal) return Promise.resolve("stay");
  const title = dialog.querySelector("#walk-in-unsent-title");
  title.textContent = tn("为%(name)s提交的%(count)s份申请还没有发送", "为%(name)s提交的%(count)s份申请还没有发送", count,
    { name: title.dataset.name, count });
  for (const line of dialog.querySelectorAll("[data-leaving]")) line.hidden = line.dataset.leaving !== (next ? "next" : "end");
  const leave = dialog.querySelector("button[value=leave]");
  leave.textContent = next ? leave.dataset.nextLabel : leave.dataset.endLabel;
  return new Promise((resolve) => {
    dialog.returnValue = "";
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "leave" ? "leave" : "stay"), { once: true });
    dialog.showModal();
  });
}

// --- switching -------------------------------------------------------------------------------------------------

sweep(current);
sweepDevice(current);
showHandover();

let switching = false;
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (form.matches("[data-confirm]") && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    return;
  }
  const ends = form.matches("[data-helper-switch]");
  const next = atWindow && form.matches(NEXT_VISIT);
  if ((!ends && !next) || form.dataset.swept) return;
  event.preventDefault();
  if (switching) return;
  switching = true;
  const pressed = event.submitter || form.querySelector("button");
  try {
    let count = await waitingFor(`client-${current}`);
    if (count && atWindow) {
      say(tn("正在发送为%(name)s提交的%(count)s份申请，请稍候…", "正在发送为%(name)s提交的%(count)s份申请，请稍候…", count, { name: currentName, count }));
      await sendNow();
      count = await waitingFor(`client-${current}`);
      say("");
      if (count && (await askClerk(count, next)) === "stay") {
        say(tn("已继续接待%(name)s。%(count)s份申请保存在本机，联网后会自动发送，发送后再结束接待。",
          "已继续接待%(name)s。%(count)s份申请保存在本机，联网后会自动发送，发送后再结束接待。", count, { name: currentName, count }));
        switching = false;
        pressed?.focus();
        return;
      }
    }
    if (count) rememberHandover(count);
  } catch { /* the question could not be asked: the switch goes on, what waits stays on the device */ }
  if (ends) {
    sweep(null);
    await sweepDevice(null);
  }
  form.dataset.swept = "true";
  form.submit();
});

window.addEventListener("pageshow", (event) => {
  if (event.persisted && (banner || document.querySelector("[data-client]"))) window.location.reload();
});

// Switches made from here on are checked for what still waits (before this a press is an ordinary form post).
document.body.dataset.helperScript = "ready";
