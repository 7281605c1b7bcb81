// The merged form (一表申请) with JavaScript. Without it the page is one long form posted to the server.
// This module wires the parts, each in its own module:
// - apply-steps.js: one section at a time, each checked on 下一步 (or, for trained staff, every section on one page);
// - apply-parties.js: who the applicant is in the event (申请人是新生儿的母亲): that party's fields are theirs;
// - apply-uploads.js: each file goes to the API when chosen;
// - apply-drafts.js: every change kept on this device, then synced to the server draft (apply-draft-conflict.js
//   when another device changed it meanwhile);
// - apply-outbox.js: without a connection the submission waits on the device (待发送) and is sent, once, later;
// - apply-form.js: what they share (the form, whom it is filed for, its answers).
// Submitting is here: JSON to /api/v1/cases with one idempotency key per fill, then the receipt.
import { postJSON } from "./api.js";
import { clearErrors, markInvalid, rebuildSummary, setBusy, showErrors } from "./forms.js";
import { setupDrafts } from "./apply-drafts.js";
import { answerInputs, answers, chosenItems, code, form, item, onBehalfOf, onBehalfOfOrg } from "./apply-form.js";
import { checkOutbox, forgetIdempotencyKey, idempotencyKey, queue } from "./apply-outbox.js";
import { setupParties } from "./apply-parties.js";
import { setupSteps } from "./apply-steps.js";
import { setupUploads } from "./apply-uploads.js";
import { t } from "./i18n.js";

const steps = setupSteps();
setupParties();
const uploads = setupUploads();
const drafts = setupDrafts();

function toReceipt(caseNo) {
  forgetIdempotencyKey();
  uploads.forget();
  window.location.assign(`${form.dataset.receiptPrefix}${encodeURIComponent(caseNo)}/receipt`);
}

// 一事不二办: the matter is already being processed (by this person elsewhere, or by another party who filed it). The
// server's words say which case and where to see it; the form gives way to them, and nothing waits to be sent again.
async function showDuplicate(detail) {
  forgetIdempotencyKey();
  uploads.forget();
  await drafts.forget();
  const notice = document.querySelector("#duplicate-notice");
  notice.querySelector("#duplicate-text").textContent = detail || notice.dataset.fallback;
  notice.hidden = false;
  form.hidden = true;
  notice.focus();
}

// Sent by shell.js or the service worker while this page was away or open: its receipt, or that it was a duplicate.
async function followOutbox() {
  const answer = await checkOutbox();
  if (answer?.caseNo) toReceipt(answer.caseNo);
  else if (answer?.duplicate !== undefined) await showDuplicate(answer.duplicate);
}

// Without a connection the answers stay on the device (the draft) and the submission waits beside them.
async function keepForLater(body) {
  await drafts.keepHere();
  if (!(await queue(body))) showErrors(form, {}, t("网络连接失败，请检查网络后再次提交（不会重复办理）"));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!steps.isLast()) {
    await steps.next(); // Enter in a field moves on (once the step is right) rather than submitting half a form
    return;
  }
  const button = form.querySelector("#apply-submit");
  clearErrors(form);
  setBusy(button, true, t("正在提交…"));
  let leaving = false;
  try {
    await drafts.pause();
    await uploads.settled();
    const body = {
      ...(item ? { item } : { life_event: code, items: chosenItems }),
      data: answers(),
      idempotency_key: idempotencyKey(),
      uploads: uploads.tokens(),
      ...(onBehalfOf ? { on_behalf_of: onBehalfOf } : {}),
      ...(onBehalfOfOrg ? { on_behalf_of_org: onBehalfOfOrg } : {}),
    };
    let result = null;
    if (navigator.onLine) {
      try { result = await postJSON("/api/v1/cases", body); } catch { result = null; }
    }
    if (result === null) {
      await keepForLater(body);
      return;
    }
    if (result.ok) {
      leaving = true;
      await drafts.forget();
      toReceipt(result.data.case_no);
      return;
    }
    if (result.status === 409 && result.data?.duplicate) {
      leaving = true;
      await showDuplicate(result.data.detail);
      return;
    }
    const fallback = result.status === 401 ? t("登录已过期，请重新登录后再提交") : result.data?.detail;
    showErrors(form, result.data?.errors, fallback || t("提交失败，请稍后重试"));
  } finally {
    if (!leaving) {
      setBusy(button, false);
      drafts.resume();
    }
  }
});

// shell.js sent what was waiting (or the service worker did): this form's answer may be among them.
document.addEventListener("ywtb:outbox", () => { followOutbox(); });

// Links in the error summary open the step that holds the field.
form.querySelector(".error-summary").addEventListener("click", (event) => {
  const link = event.target.closest("a[href^='#']");
  const target = link && document.getElementById(decodeURIComponent(link.hash.slice(1)));
  if (!target) return;
  event.preventDefault();
  steps.reveal(target);
  target.focus();
});

// htmx swaps a field's error slot after /check; the input's aria-invalid follows the slot, and a summary on show is
// rebuilt (or cleared) to match.
document.body.addEventListener("htmx:afterSwap", () => {
  for (const input of answerInputs()) {
    const slot = document.getElementById(`${input.id}-error`);
    if (slot) markInvalid(input, slot.hidden ? "" : slot.textContent);
  }
  rebuildSummary(form);
});

drafts.load().then(followOutbox);
// Steps or one page, uploads, drafts and the applicant's party are wired: the form works as enhanced from here.
form.dataset.enhanced = "true";
