// Per-field errors from a 400 answer: an error summary at the top linking to each field, and the
// message beside the field itself (GOV.UK pattern), announced to screen readers.
import { t, tn } from "./i18n.js";

export function clearErrors(form) {
  form.querySelectorAll(".field-error").forEach((el) => { el.textContent = ""; el.hidden = true; });
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  const summary = form.querySelector(".error-summary");
  if (summary) { summary.hidden = true; summary.querySelector("ul").textContent = ""; }
  const wait = form.querySelector(".wait-notice");
  if (wait) wait.hidden = true;
}

// Too many tries (429) is nothing to correct: it is said as what it is — when to try again, and whom to call
// meanwhile — in a notice of its own (partials/error_summary.html), never under "请修改以下内容".
export function showWait(form, retryAfterSeconds) {
  const seconds = Number(retryAfterSeconds);
  const text = seconds > 0
    ? tn("请稍后再试：%(minutes)s分钟后可以再次尝试；急需办理请拨打 12345", "请稍后再试：%(minutes)s分钟后可以再次尝试；急需办理请拨打 12345",
      Math.ceil(seconds / 60), { minutes: Math.ceil(seconds / 60) })
    : t("请稍后再试；急需办理请拨打 12345");
  const notice = form.querySelector(".wait-notice");
  if (!notice) {
    showErrors(form, {}, text);
    return;
  }
  clearErrors(form);
  notice.querySelector("p").textContent = text;
  notice.hidden = false;
  notice.focus();
}

// What a refused request says: the wait of a 429, else its per-field errors and its detail (or `fallback`).
export function showRefusal(form, result, fallback) {
  if (result.status === 429) showWait(form, result.data?.retry_after);
  else showErrors(form, result.data?.errors, result.data?.detail || fallback);
}

export function showErrors(form, errors, fallback) {
  clearErrors(form);
  const summary = form.querySelector(".error-summary");
  const list = summary?.querySelector("ul");
  const entries = Object.entries(errors || {});
  if (!entries.length && fallback) entries.push(["", fallback]);
  for (const [name, message] of entries) {
    const input = name ? form.querySelector(`[name="${CSS.escape(name)}"]`) : null;
    const slot = name ? form.querySelector(`#${CSS.escape(name.replace(/\./g, "-"))}-error`) : null;
    if (input) input.setAttribute("aria-invalid", "true");
    if (slot) { slot.textContent = message; slot.hidden = false; }
    if (list) {
      const item = document.createElement("li");
      if (input) {
        const link = document.createElement("a");
        link.href = `#${input.id}`;
        link.textContent = message;
        item.append(link);
      } else {
        item.textContent = message;
      }
      list.append(item);
    }
  }
  if (summary) { summary.hidden = false; summary.focus(); }
}

// The summary as the fields' own errors stand now, when it is showing: rebuilt after a field is fixed (or found wrong)
// beside it, hidden once nothing is left, so it never lists what is no longer wrong. A message that names no field
// (a refused submission) stays until the next check.
export function rebuildSummary(form) {
  const summary = form.querySelector(".error-summary");
  if (!summary || summary.hidden) return;
  const list = summary.querySelector("ul");
  const general = [...list.children].filter((item) => !item.querySelector("a"));
  list.textContent = "";
  for (const slot of form.querySelectorAll(".field-error")) {
    const message = slot.textContent.trim();
    const input = document.getElementById(slot.id.replace(/-error$/, ""));
    if (slot.hidden || !message || !input) continue;
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = `#${input.id}`;
    link.textContent = message;
    item.append(link);
    list.append(item);
  }
  list.append(...general);
  summary.hidden = !list.childElementCount;
}

// One field's own error beside it (its slot is #<id>-error, as the server draws it); "" clears it.
export function markInvalid(input, message) {
  const slot = document.getElementById(`${input.id}-error`);
  if (slot) { slot.textContent = message || ""; slot.hidden = !message; }
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

export function setBusy(button, busy, busyText) {
  if (!button.dataset.idleText) button.dataset.idleText = button.textContent;
  button.disabled = busy;
  button.textContent = busy ? busyText : button.dataset.idleText;
}
