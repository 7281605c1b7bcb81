// What every part of the merged form shares (apply.js wires the parts): the form, whom it is filed for, what this
// tab keeps for it, and its answers.
import { tabStorage } from "./storage.js";

export const form = document.querySelector("#apply-form");
// The life event's code, or a single item's (applied for on its own): what the server's paths and bodies name.
export const code = form.dataset.lifeEvent;
export const item = form.dataset.item || null;
// What this device keeps the form's draft, outbox entry and tab state under: a single item's never meets a life
// event's (local-data.js draftKey), and the offline page opens it again at paths.js applyPathOf(lifeEvent).
export const lifeEvent = item ? `item:${item}` : code;
// The items chosen on the life event's page (按需组合): part of the draft and of the submission.
export const chosenItems = (form.dataset.items || "").split(",").filter(Boolean);

// A village helper's client, or the resident at the window: every request then carries their number (checked by
// the server against a live delegation or visit), and what this tab and this device keep is keyed by them too, so
// that helper.js can drop it when the device switches to someone else.
const client = form.dataset.client || null;
export const onBehalfOf = form.elements.namedItem("on_behalf_of")?.value || null;
// 企业办事: the organisation filed for (its 统一社会信用代码): the one the resident acts for, or the one the resident at
// a window came for. Checked by the server on every request. A form filed for it is not the person's own: its draft,
// queued submission and tab state are kept apart (local-data.js draftKey), online and at a window alike.
export const onBehalfOfOrg = form.elements.namedItem("on_behalf_of_org")?.value || null;
export const org = onBehalfOfOrg;
export const subject = client ? `client-${client}` : "self";

// This account's data on this device (local-data.js); absent only where that script could not run.
export const local = self.ywtbLocal;
export const user = document.body.dataset.localKey || "";

// Per life event (and client, and organisation), for this tab only. Others read these names: helper.js sweeps
// ":client-<key>:" when the device serves someone else, shell.js forgets "apply:…:idempotency-key" once its
// submission is sent and every "apply:" key at sign-out.
const orgPart = org ? `org-${org}:` : "";
const tabKey = (key) =>
  client ? `apply:${lifeEvent}:client-${client}:${orgPart}${key}` : `apply:${lifeEvent}:${orgPart}${key}`;
export const tab = {
  get: (key) => tabStorage.get(tabKey(key)),
  set: (key, value) => tabStorage.set(tabKey(key), value),
  remove: (key) => tabStorage.remove(tabKey(key)),
};

// --- answers: the inputs the resident may edit (read-only ones come from the account) -----------------

export const answerInputs = () => [...form.querySelectorAll("[data-field]")];

// A field shown as the applicant's own (apply-parties.js: 申请人是新生儿的母亲) is not sent: the server takes it from
// the applicant.
export function answers() {
  const data = {};
  for (const input of answerInputs()) {
    if (input.hasAttribute("data-bound")) continue;
    data[input.name] = input.type === "checkbox" ? input.checked : input.value;
  }
  return data;
}

// "来自：人口基础库" is true only while the value is still the one that came from there.
export function showSources() {
  for (const input of form.querySelectorAll("[data-prefill]")) {
    const note = document.getElementById(`${input.id}-source`);
    if (note) note.hidden = input.value !== input.dataset.prefill;
  }
}

export function fill(data) {
  for (const input of answerInputs()) {
    if (!Object.hasOwn(data, input.name)) continue;
    const value = data[input.name];
    if (input.type === "checkbox") input.checked = value === true || value === "true";
    else input.value = typeof value === "string" ? value : "";
  }
  showSources();
  form.dispatchEvent(new Event("ywtb:filled")); // apply-parties.js shows again which fields are the applicant's own
}

// Two sets of answers are the same when every field has the same value (an absent one counts as empty).
export function sameAnswers(a, b) {
  const keys = new Set([...Object.keys(a || {}), ...Object.keys(b || {})]);
  const norm = (v) => (v === true || v === "true" ? "true" : v === false || v === "false" || v == null ? "" : String(v));
  return [...keys].every((k) => norm(a?.[k]) === norm(b?.[k]));
}
