// A signature pad on a <canvas>: drawn with pointer events (finger, stylus or mouse), cleared with a real
// button (so the keyboard can reach it), exported as a PNG data URL. The canvas keeps a white background so
// the PNG reads on paper and on screen alike.
import { t } from "./i18n.js";

const INK = "#111";
// The most pixels a side of the drawing may have (the server takes up to 2048): a wide pad in 长辈版 on a
// high-density screen would otherwise pass 3000.
const MAX_SIDE = 1600;

export function signaturePad(canvas, { clearButton, status, onChange } = {}) {
  const context = canvas.getContext("2d");
  let drawing = false;
  let hasInk = false;
  let last = null;

  function say() {
    if (status) status.textContent = hasInk ? t("已签名") : t("尚未签名");
    onChange?.(hasInk);
  }

  // The drawing buffer follows the displayed size and the screen's pixel density, for a crisp line, up to MAX_SIDE.
  function resize() {
    const ratio = Math.min(window.devicePixelRatio || 1, 2, MAX_SIDE / canvas.clientWidth, MAX_SIDE / canvas.clientHeight);
    const width = Math.round(canvas.clientWidth * ratio);
    const height = Math.round(canvas.clientHeight * ratio);
    if (!width || !height || (canvas.width === width && canvas.height === height)) return;
    canvas.width = width;
    canvas.height = height;
    clear(); // resizing a canvas wipes it; say so rather than keep a signature that is no longer shown
  }

  function clear() {
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.fillStyle = "#fff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    hasInk = false;
    say();
  }

  function point(event) {
    const box = canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) / box.width) * canvas.width,
      y: ((event.clientY - box.top) / box.height) * canvas.height,
    };
  }

  function stroke(from, to) {
    context.strokeStyle = INK;
    context.lineWidth = Math.max(2, canvas.width / 200);
    context.lineCap = "round";
    context.lineJoin = "round";
    context.beginPath();
    context.moveTo(from.x, from.y);
    context.lineTo(to.x, to.y);
    context.stroke();
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    drawing = true;
    last = point(event);
    stroke(last, { x: last.x + 0.1, y: last.y + 0.1 }); // a tap leaves a dot
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const next = point(event);
    stroke(last, next);
    last = next;
    if (!hasInk) {
      hasInk = true;
      say();
    }
  });
  for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
    canvas.addEventListener(type, () => { drawing = false; });
  }
  clearButton?.addEventListener("click", clear);
  window.addEventListener("resize", () => { if (!hasInk) resize(); });
  resize();
  if (canvas.width) clear();

  return {
    isEmpty: () => !hasInk,
    toDataURL: () => canvas.toDataURL("image/png"),
    clear,
    // Call when a hidden pad is shown: a hidden canvas has no size to follow.
    refit: () => { if (!hasInk) resize(); },
  };
}
