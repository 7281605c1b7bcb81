// 扫码查进度 (/scan), for residents and for staff at the console: the camera (getUserMedia), the browser's own
// BarcodeDetector where there is one, else the vendored jsQR (pwa/static/vendor/README.md), loaded by this page only.
// A tracking link of ours (this site + /t/<token>), a shown certificate's check (亮证: this site + /verify/<token>) or a
// booking shown at the hall (预约: this site + /console/appointments/<code>, the clerk's check-in) opens here; anything
// else is shown as text and never opened.
import { t } from "./i18n.js";

const box = document.querySelector("[data-scanner]");
const video = box.querySelector("[data-scanner-video]");
const status = box.querySelector("[data-scanner-status]");
const startButton = box.querySelector("[data-scanner-start]");
const stopButton = box.querySelector("[data-scanner-stop]");
const result = box.querySelector("[data-scanner-result]");
const resultText = box.querySelector("[data-scanner-text]");
const TRACKING_PATH = /^\/t\/[A-Za-z0-9_-]{16,}$/;
const VERIFY_PATH = /^\/verify\/[A-Za-z0-9_.-]{20,400}$/;
const APPOINTMENT_PATH = /^\/console\/appointments\/[2-9A-HJKMNP-Z]{8}$/;
const SCAN_EVERY_MS = 150;

let stream = null;
let timer = null;
let decode = null;

const say = (text) => { status.textContent = text; };

// Where a scanned text may take the app: our tracking page, our certificate check, or nowhere.
function ourPath(text) {
  let url;
  try {
    url = new URL(text.trim());
  } catch {
    return null;
  }
  if (url.origin !== window.location.origin || url.search) return null;
  if (TRACKING_PATH.test(url.pathname)) return { path: url.pathname, says: t("已识别受理回执，正在打开办理进度…") };
  if (VERIFY_PATH.test(url.pathname)) return { path: url.pathname, says: t("已识别亮证二维码，正在核验证照…") };
  if (APPOINTMENT_PATH.test(url.pathname)) return { path: url.pathname, says: t("已识别预约二维码，正在打开预约…") };
  return null;
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error("decoder not loaded"));
    document.head.append(script);
  });
}

async function decoder() {
  if ("BarcodeDetector" in window) {
    try {
      if ((await window.BarcodeDetector.getSupportedFormats()).includes("qr_code")) {
        const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        return async () => (await detector.detect(video))[0]?.rawValue ?? null;
      }
    } catch { /* fall through to jsQR */ }
  }
  await loadScript(box.dataset.decoder);
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return async () => {
    const scale = Math.min(1, 640 / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    if (!canvas.width || !canvas.height) return null;
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    return window.jsQR(image.data, image.width, image.height, { inversionAttempts: "attemptBoth" })?.data ?? null;
  };
}

function stop() {
  clearTimeout(timer);
  timer = null;
  stream?.getTracks().forEach((track) => track.stop());
  stream = null;
  video.srcObject = null;
  startButton.hidden = false;
  stopButton.hidden = true;
}

function found(text) {
  const ours = ourPath(text);
  stop();
  if (ours) {
    say(ours.says);
    window.location.assign(ours.path);
    return;
  }
  resultText.textContent = text;
  result.hidden = false;
  startButton.textContent = t("重新扫码");
  say(t("扫到了二维码，但不是本站的办件进度链接或亮证码。"));
}

async function tick() {
  timer = null;
  if (!stream) return;
  let text = null;
  try {
    if (video.readyState >= 2) text = await decode();
  } catch {
    text = null; // a frame that could not be read: try the next one
  }
  if (text) found(text);
  else if (stream) timer = setTimeout(tick, SCAN_EVERY_MS);
}

async function start() {
  result.hidden = true;
  startButton.disabled = true;
  say(t("正在打开摄像头…"));
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false });
    video.srcObject = stream;
    await video.play();
    decode ??= await decoder();
    startButton.hidden = true;
    stopButton.hidden = false;
    say(t("请把二维码对准框内。"));
    tick();
  } catch (error) {
    stop();
    say(
      error?.name === "NotAllowedError"
        ? t("没有获得摄像头权限。请在浏览器设置中允许使用摄像头，或在下面输入办件编号。")
        : error?.name === "NotFoundError"
          ? t("没有找到摄像头，请在下面输入办件编号。")
          : t("无法打开摄像头，请在下面输入办件编号。"),
    );
  } finally {
    startButton.disabled = false;
  }
}

if (navigator.mediaDevices?.getUserMedia) {
  box.hidden = false;
  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", () => { stop(); say(t("已关闭摄像头。")); });
  // Leaving the page (or the app going to the background) turns the camera off.
  document.addEventListener("visibilitychange", () => { if (document.hidden && stream) stop(); });
  window.addEventListener("pagehide", stop);
}
