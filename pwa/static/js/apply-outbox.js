// This fill's submission when there is no connection: it waits on the device (待发送) with its idempotency key and
// goes, once, when the connection returns (Background Sync where the browser has it, else shell.js: the online
// event, the next page load, a tab shown). One idempotency key per fill, kept for the tab: a reload or a second
// press of 提交申请 sends the same submission, never a second one.
import { showErrors } from "./forms.js";
import { form, lifeEvent, local, org, subject, tab, user } from "./apply-form.js";
import { t } from "./i18n.js";

const status = form.querySelector("#outbox-status");
const WAITING = t("待发送：没有网络，申请已保存在本机，联网后会自动发送，不会重复办理。");
let fillKey = null;

function say(text) {
  status.textContent = text;
  status.hidden = !text;
}

export function idempotencyKey() {
  fillKey ??= tab.get("idempotency-key");
  if (!fillKey) {
    fillKey = window.crypto?.randomUUID ? crypto.randomUUID() : form.elements.namedItem("idempotency_key").value;
    tab.set("idempotency-key", fillKey);
  }
  return fillKey;
}

// The case is made: a new fill needs its own key.
export function forgetIdempotencyKey() {
  tab.remove("idempotency-key");
}

// body: the POST /api/v1/cases body. False when this device cannot keep it (no IndexedDB, signed out).
export async function queue(body) {
  if (!local || !user) return false;
  try {
    await local.enqueue({ id: body.idempotency_key, user, lifeEvent, subject, org, body, receiptPrefix: form.dataset.receiptPrefix });
  } catch {
    return false;
  }
  say(WAITING);
  document.dispatchEvent(new CustomEvent("ywtb:queued"));
  try {
    const registration = await navigator.serviceWorker?.ready;
    await registration?.sync?.register(local.SYNC_TAG);
  } catch { /* no Background Sync: shell.js sends it */ }
  return true;
}

// What the device knows of this form's queued submission: refused (its errors shown here), still waiting, or sent:
// resolves with {caseNo} then, to go to its receipt, or with {duplicate: the server's words} when the matter was
// already being processed (一事不二办: shown as such, never sent again).
export async function checkOutbox() {
  if (!local || !user) return null;
  let waiting = [];
  let done = [];
  try {
    [waiting, done] = await Promise.all([local.queued(user), local.sent(user)]);
  } catch {
    return null;
  }
  const mine = (entry) => entry.lifeEvent === lifeEvent && entry.subject === subject && (entry.org || null) === org;
  const answered = done.find(mine);
  if (answered) {
    await local.forgetSent(answered.id);
    say("");
    return answered.duplicate ? { duplicate: answered.detail || "" } : { caseNo: answered.caseNo };
  }
  const entry = waiting.find(mine);
  if (!entry) return null;
  fillKey = entry.id; // a new press of 提交申请 sends the same submission, never a second one
  tab.set("idempotency-key", fillKey);
  if (entry.state === "refused") {
    await local.dropQueued(entry.id);
    say("");
    showErrors(form, entry.errors, entry.detail || t("离线提交的申请未被受理，请检查后重新提交"));
  } else {
    say(WAITING);
  }
  return null;
}
