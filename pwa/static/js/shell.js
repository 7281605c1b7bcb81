// The app shell on every page: 长辈版 and its text size, the offline note, "有新版本，点击更新", the submissions
// waiting to be sent (待发送), and signing out: what still waits is sent first or kept unless the resident chooses
// to delete it, then this account's data is wiped from the device.
import { csrfToken, reachable, sendJSON } from "./api.js";
import { deviceStorage as storage } from "./storage.js";
import { applyPathOf } from "./paths.js";
import { language, t, tn } from "./i18n.js";

const html = document.documentElement;
const local = self.ywtbLocal; // local-data.js, loaded before this module (absent only if that script failed)
const user = document.body.dataset.localKey || "";
const TEXT_STEPS = 5;
const DISPLAY_KEY = "ywtb:display";
const LAST_USER_KEY = "ywtb:last-user";
const PREFERENCE_MAX_AGE = 400 * 24 * 3600;

// --- 长辈版 -------------------------------------------------------------------------------------------------

function rendered() {
  const step = [...html.classList].map((c) => /^text-(\d)$/.exec(c)).find(Boolean);
  return { elder: html.classList.contains("elder"), textStep: step ? Number(step[1]) : 0 };
}

function draw({ elder, textStep }) {
  html.classList.toggle("elder", elder);
  for (let i = 1; i < TEXT_STEPS; i += 1) html.classList.toggle(`text-${i}`, elder && textStep === i);
  for (const form of document.querySelectorAll("[data-display-switch]")) {
    const toggle = form.querySelector("[data-elder-toggle]");
    toggle.textContent = elder ? t("退出长辈版") : t("长辈版");
    toggle.value = elder ? "0" : "1";
    const controls = form.querySelector("[data-text-controls]");
    if (controls) controls.hidden = !elder;
    for (const button of form.querySelectorAll("[data-text-step]")) {
      const next = textStep + Number(button.dataset.textStep);
      button.value = String(Math.min(Math.max(next, 0), TEXT_STEPS - 1));
      button.disabled = next < 0 || next >= TEXT_STEPS;
    }
  }
}

// Remembered on this device twice: a cookie for the server's first paint, localStorage for the offline shell.
function remember({ elder, textStep }) {
  storage.set(DISPLAY_KEY, { elder, textStep });
  const secure = window.location.protocol === "https:" ? "; secure" : "";
  for (const [name, value] of [["ywtb_elder", elder ? "1" : "0"], ["ywtb_text", String(textStep)]]) {
    document.cookie = `${name}=${value}; path=/; max-age=${PREFERENCE_MAX_AGE}; samesite=lax${secure}`;
  }
}

async function save(display) {
  draw(display);
  remember(display);
  try {
    // Kept on the account too when signed in; offline, this device's choice still holds.
    await sendJSON("PUT", "/api/v1/preferences", { elder_mode: display.elder, text_step: display.textStep });
  } catch { /* offline */ }
}

function setupDisplay() {
  if (html.dataset.display === "device") {
    // The offline shell is the same for everyone: draw it as this device remembers.
    const kept = storage.get(DISPLAY_KEY);
    if (kept) draw({ elder: Boolean(kept.elder), textStep: Number(kept.textStep) || 0 });
  } else {
    remember(rendered());
  }
  document.addEventListener("submit", (event) => {
    const form = event.target.closest("[data-display-switch]");
    if (!form) return;
    event.preventDefault();
    const button = event.submitter;
    const now = rendered();
    if (button?.matches("[data-elder-toggle]")) save({ elder: button.value === "1", textStep: now.textStep });
    else if (button?.matches("[data-text-step]")) save({ elder: now.elder, textStep: Number(button.value) });
  });
}

// --- offline note and new versions ------------------------------------------------------------------------

function setupConnection() {
  const note = document.querySelector("#app-offline");
  const show = () => { if (note) note.hidden = navigator.onLine; };
  window.addEventListener("online", show);
  window.addEventListener("offline", show);
  show();
}

function setupUpdates() {
  if (!("serviceWorker" in navigator)) return;
  const offer = document.querySelector("#app-update");
  const button = offer?.querySelector("[data-app-update]");
  if (!offer || !button) return;
  let updating = false;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (updating) window.location.reload();
  });
  navigator.serviceWorker.ready.then((registration) => {
    // Only when a version is already in charge: the very first install needs no asking.
    const waiting = () => {
      if (registration.waiting && navigator.serviceWorker.controller) offer.hidden = false;
    };
    waiting();
    registration.addEventListener("updatefound", () => {
      const worker = registration.installing;
      worker?.addEventListener("statechange", () => { if (worker.state === "installed") waiting(); });
    });
    button.addEventListener("click", () => {
      if (!registration.waiting) return;
      updating = true;
      button.disabled = true;
      button.textContent = t("正在更新…");
      registration.waiting.postMessage({ type: "skip-waiting" });
    });
  });
}

// --- 返回上一页 on an error page: only when the page before was one of ours ------------------------------

function setupBack() {
  let before = null;
  try { before = document.referrer && new URL(document.referrer).origin; } catch { before = null; }
  if (before !== window.location.origin || window.history.length < 2) return;
  for (const button of document.querySelectorAll("[data-back]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.history.back());
  }
}

// --- submissions waiting to be sent (待发送) ------------------------------------------------------------------

const outboxBox = document.querySelector("#app-outbox");
const applyForm = document.querySelector("#apply-form");
const announced = []; // sent while this page was open
const said = []; // what a button here just did (删除), until the page is left
// Whom this page works for: a shared device's current person ("client-<key>", named by the banner), else the
// account's own ("self"). Submissions for anyone else are named by their masked number and offer what can be done.
const bannerClient = document.querySelector("#helper-banner")?.dataset.client;
const currentSubject = bannerClient ? `client-${bannerClient}` : "self";
const atWindow = (entry) => entry.subject.startsWith("client-w");
// The apply page shows its own form's submission itself (apply.js); the rest are listed here as on any page.
const formsOwn = (entry) =>
  Boolean(applyForm) && entry.lifeEvent === applyForm.dataset.lifeEvent &&
  entry.subject === (applyForm.dataset.client ? `client-${applyForm.dataset.client}` : "self") &&
  (entry.org || null) === (applyForm.elements.namedItem("on_behalf_of_org")?.value || null);

// Whom a queued submission was filed for: {org}, {person} (a name or a masked ID number), or {} for oneself. Each
// note below is one whole sentence per case, so that English can put the name where its grammar wants it.
function forWhom(entry) {
  if (entry.org) return { org: entry.org };
  const person = entry.person || local.maskedNumber(entry.body?.on_behalf_of);
  return entry.subject === "self" || !person ? {} : { person };
}

function outboxButton(label, action, entry, className) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = className;
  button.textContent = label;
  button.dataset.outboxAction = action;
  button.dataset.outboxId = entry.id;
  return button;
}

// 未能发送: the server no longer lets this account file for that person. What the device can do: send again once it
// may (the resident's ID checked again at the window, the delegation renewed), or delete it, asked first.
const NO_DELEGATION = t("没有有效的代办授权");

function forbiddenNote(entry) {
  const p = document.createElement("p");
  const reason = atWindow(entry)
    ? t("这次窗口接待已结束，不能再以TA的名义发送。如TA还在窗口，请重新核验身份（开始接待）后点“重新发送”；否则请删除，并请TA重新办理。")
    : t("%(reason)s。如已重新授权，请点“重新发送”；否则请删除。", { reason: entry.detail || NO_DELEGATION });
  const whom = forWhom(entry);
  let lost = t("提交的1份申请未被服务器接收。");
  if (whom.org) lost = t("为企业（%(org)s）提交的1份申请未被服务器接收。", whom);
  else if (whom.person) lost = t("为 %(person)s 提交的1份申请未被服务器接收。", whom);
  const strong = document.createElement("strong");
  strong.textContent = t("未能发送：");
  p.append(strong, lost, reason, " ",
    outboxButton(t("重新发送"), "resend", entry, ""), " ",
    outboxButton(t("删除这份申请"), "discard", entry, "danger"));
  return p;
}

function refusedNote(entry) {
  const p = document.createElement("p");
  const whom = forWhom(entry);
  const detail = { ...whom, detail: entry.detail || t("请检查标出的内容") };
  let refused = t("离线提交的一份申请未被受理：%(detail)s。", detail);
  if (whom.org) refused = t("为企业（%(org)s）离线提交的一份申请未被受理：%(detail)s。", detail);
  else if (whom.person) refused = t("为 %(person)s 离线提交的一份申请未被受理：%(detail)s。", detail);
  p.append(refused);
  if (entry.subject === currentSubject) {
    const link = document.createElement("a");
    link.href = applyPathOf(entry.lifeEvent);
    link.textContent = t("打开申请表修改");
    p.append(link);
  } else {
    // Its form here would be the current person's: it is corrected when working for that person again.
    p.append(t("请为TA办理时打开申请表修改，或 "), outboxButton(t("删除这份申请"), "discard", entry, "danger"));
  }
  return p;
}

const DUPLICATE_TEXT = t("已有人为此事提交申请，正在办理中。");

function sentNote(entry) {
  const p = document.createElement("p");
  const link = document.createElement("a");
  link.href = entry.receipt;
  link.textContent = t("查看受理回执");
  const whom = { ...forWhom(entry), case_no: entry.caseNo };
  let sent = t("您离线时提交的申请已发送，办件编号 %(case_no)s。", whom);
  if (whom.org) sent = t("为企业（%(org)s）离线提交的申请已发送，办件编号 %(case_no)s。", whom);
  else if (whom.person) sent = t("为 %(person)s 离线提交的申请已发送，办件编号 %(case_no)s。", whom);
  p.append(sent, link);
  return p;
}

// 一事不二办: sent, and the server answered that this matter is already being processed (its own words say by whom
// and where to see it). Not an error and not to be sent again: the resident's own lead to 我的办件.
function duplicateNote(entry) {
  const p = document.createElement("p");
  const strong = document.createElement("strong");
  strong.textContent = t("这件事已在办理中：");
  const whom = forWhom(entry);
  let again = t("您离线时提交的申请没有再次提交。");
  if (whom.org) again = t("为企业（%(org)s）离线提交的申请没有再次提交。", whom);
  else if (whom.person) again = t("为 %(person)s 离线提交的申请没有再次提交。", whom);
  p.append(strong, again, entry.detail || DUPLICATE_TEXT);
  if (entry.subject === "self") {
    const link = document.createElement("a");
    link.href = "/cases";
    link.textContent = t("查看我的办件");
    p.append(" ", link);
  }
  return p;
}

async function showOutbox() {
  if (!local || !user || !outboxBox) return;
  const [waiting, done] = await Promise.all([local.queued(user), local.sent(user)]);
  // apply.js shows (and forgets) the answer to its own form. Forgotten on the device once read, an answer stays on
  // this page: the page and the service worker may both have just sent, and each redraws.
  const answers = applyForm ? [] : done;
  for (const entry of answers) {
    if (!announced.some((a) => a.id === entry.id)) announced.push(entry);
    forgetFillKey(entry.id);
  }
  await Promise.all(answers.map((entry) => local.forgetSent(entry.id)));
  // Drawn in one go, after the last wait: two redraws at once cannot mix. A button that had the focus has it again.
  const focused = outboxBox.contains(document.activeElement) ? document.activeElement.dataset : null;
  outboxBox.textContent = "";
  const listed = waiting.filter((e) => !formsOwn(e));
  const pending = listed.filter((e) => e.state === "pending").length;
  if (pending) {
    const p = document.createElement("p");
    p.textContent = tn("待发送：%(count)s份申请保存在本机，联网后会自动发送，不会重复办理。",
      "待发送：%(count)s份申请保存在本机，联网后会自动发送，不会重复办理。", pending, { count: pending });
    outboxBox.append(p);
  }
  for (const entry of listed) {
    if (entry.state === "refused") outboxBox.append(refusedNote(entry));
    else if (entry.state === "forbidden") outboxBox.append(forbiddenNote(entry));
  }
  for (const entry of announced) {
    outboxBox.append(entry.duplicate ? duplicateNote(entry) : sentNote(entry));
  }
  for (const text of said) {
    const p = document.createElement("p");
    p.textContent = text;
    outboxBox.append(p);
  }
  outboxBox.hidden = !outboxBox.childElementCount;
  if (focused?.outboxId) {
    const again = [...outboxBox.querySelectorAll("[data-outbox-id]")].find(
      (b) => b.dataset.outboxId === focused.outboxId && b.dataset.outboxAction === focused.outboxAction,
    );
    (again || document.querySelector("#main"))?.focus();
  }
}

const DISCARD_QUESTION = t("删除后，政务服务中心收不到这份申请，也无法恢复；需要办理时请重新填写提交。确定删除吗？");

async function onOutboxButton(event) {
  const button = event.target.closest("[data-outbox-action]");
  if (!button) return;
  const { outboxAction: action, outboxId: id } = button.dataset;
  if (action === "discard") {
    if (!window.confirm(DISCARD_QUESTION)) return;
    await local.dropQueued(id);
    said.push(t("已从本机删除这份申请。"));
    await showOutbox();
    document.querySelector("#main")?.focus();
  } else if (action === "resend") {
    button.disabled = true;
    button.textContent = t("正在发送…");
    await local.resend(id);
    await flushing;
    await flushOutbox();
  }
}

// The form's idempotency key (apply.js keeps it per tab) belongs to the submission just sent: a new fill needs its own.
function forgetFillKey(id) {
  try {
    for (const key of Object.keys(sessionStorage)) {
      if (key.startsWith("apply:") && key.endsWith(":idempotency-key") && JSON.parse(sessionStorage.getItem(key)) === id) {
        sessionStorage.removeItem(key);
      }
    }
  } catch { /* storage refused */ }
}

let flushing = null;
let retry = null;
const RETRY_MS = 10_000;
// Tried on every occasion, not only when the browser says it is online (a flaky connection may say otherwise);
// while something is still waiting, again every little while.
async function flushOutbox() {
  if (!local || !user) return;
  flushing ??= local
    .flush(user, csrfToken)
    .then((outcome) => {
      document.dispatchEvent(new CustomEvent("ywtb:outbox", { detail: outcome }));
      if (outcome.pending) retry ??= setTimeout(() => { retry = null; flushOutbox(); }, RETRY_MS);
      return showOutbox();
    })
    .catch(() => {})
    .finally(() => { flushing = null; });
  await flushing;
}

function setupOutbox() {
  if (!local || !user) return;
  window.addEventListener("online", flushOutbox);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") flushOutbox(); });
  // apply.js queued a submission; helper.js sent what waited for the person served before switching.
  document.addEventListener("ywtb:queued", () => { showOutbox(); });
  document.addEventListener("ywtb:outbox-changed", () => { showOutbox(); });
  outboxBox?.addEventListener("click", (event) => { onOutboxButton(event).catch(() => {}); });
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", (event) => {
      if (event.data?.type === "outbox-changed") {
        document.dispatchEvent(new CustomEvent("ywtb:outbox", { detail: event.data }));
        showOutbox();
      }
    });
  }
  showOutbox().then(flushOutbox).catch(() => {});
}

// --- whose data this device keeps ----------------------------------------------------------------------------

function forgetTabData() {
  for (const store of [window.sessionStorage, window.localStorage]) {
    try {
      for (const key of Object.keys(store)) if (key.startsWith("apply:")) store.removeItem(key);
    } catch { /* storage refused: nothing was kept */ }
  }
}

// Submissions still waiting on the device (待发送, or refused and waiting for a change) are applications the
// resident has not delivered yet: sign-out sends them first, and what cannot be sent is never deleted unasked.
const SEND_WAIT_MS = 20_000;
const REACH_RETRY_MS = 4000;
const signoutStatus = document.querySelector("#signout-status");

function saySignout(text) {
  if (signoutStatus) signoutStatus.textContent = text;
}

async function unsent() {
  if (!local || !user) return [];
  try { return await local.queued(user); } catch { return []; }
}

// The same sending as on any other occasion (one sender at a time, each with its idempotency key), given a while.
async function sendWaiting() {
  const timeout = new Promise((resolve) => { setTimeout(resolve, SEND_WAIT_MS); });
  await Promise.race([(async () => { await flushing; await flushOutbox(); })(), timeout]);
}

// Resolves "stay" or "discard": the first question defaults to staying; deleting needs a second, explicit answer.
// Escape, or no dialog on the page, means staying.
function askAboutUnsent(entries, reason) {
  const first = document.querySelector("#signout-unsent");
  const second = document.querySelector("#signout-discard");
  if (!first?.showModal || !second?.showModal) return Promise.resolve("stay");
  const refused = entries.filter((e) => e.state === "refused").length;
  const count = entries.length;
  first.querySelector("#signout-unsent-title").textContent = tn("有%(count)s份申请还没有发送",
    "有%(count)s份申请还没有发送", count, { count });
  second.querySelector("#signout-discard-title").textContent = tn("删除这%(count)s份申请并退出？",
    "删除这%(count)s份申请并退出？", count, { count });
  first.querySelector("[data-unsent-reason=refused]").textContent = tn("%(count)s份未被受理，需要打开申请表修改后重新提交。",
    "%(count)s份未被受理，需要打开申请表修改后重新提交。", refused, { count: refused });
  for (const line of first.querySelectorAll("[data-unsent-reason]")) {
    const which = line.dataset.unsentReason;
    line.hidden = which === "refused" ? !refused : which !== reason || refused === entries.length;
  }
  const answer = (dialog) => new Promise((resolve) => {
    dialog.returnValue = "";
    dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true });
    dialog.showModal();
  });
  return answer(first).then((choice) => (choice === "discard" ? answer(second) : choice))
    .then((choice) => (choice === "discard" ? "discard" : "stay"));
}

// Nothing of this account stays on the device; then the server ends the session. Without a connection the session
// can only end once one returns: the form is sent then, by itself.
async function wipeAndSignOut(form) {
  try {
    if (local && user) await Promise.all([local.wipe(user), local.forgetPages()]);
  } catch { /* storage unavailable: nothing to wipe */ }
  forgetTabData();
  storage.remove(LAST_USER_KEY);
  form.dataset.wiped = "true";
  if (await reachable()) {
    form.submit();
    return;
  }
  saySignout(t("这台设备上的申请和草稿已删除。当前没有网络，还没有退出登录；联网后会自动完成退出。"));
  let leaving = false;
  const leave = async () => {
    if (leaving || !(await reachable())) return;
    leaving = true;
    form.submit();
  };
  window.addEventListener("online", leave);
  setInterval(leave, REACH_RETRY_MS);
}

function setupSignOut() {
  // Someone else signed in since (a session that timed out, then another account): the pages kept for
  // reading offline were the previous account's.
  const last = storage.get(LAST_USER_KEY);
  if (user && last && last !== user && local) local.forgetPages().catch(() => {});
  if (user) storage.set(LAST_USER_KEY, user);

  // Once the device is wiped the session ends as soon as it can: no second question, no second sign-out.
  let signingOut = false;
  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("[data-signout]");
    if (!form || form.dataset.wiped) return;
    event.preventDefault();
    if (signingOut) return;
    signingOut = true;
    const pressed = event.submitter || form.querySelector("button");
    try {
      let waiting = await unsent();
      const pending = waiting.filter((e) => e.state === "pending").length;
      if (pending) {
        if (navigator.onLine) {
          saySignout(tn("正在发送%(count)s份待发送的申请，发送后再退出，请稍候…", "正在发送%(count)s份待发送的申请，发送后再退出，请稍候…", pending, { count: pending }));
        }
        await sendWaiting();
        waiting = await unsent();
      }
      if (waiting.length) {
        saySignout("");
        const choice = await askAboutUnsent(waiting, navigator.onLine ? "later" : "offline");
        if (choice === "stay") {
          saySignout(tn("已保持登录。%(count)s份申请仍保存在这台设备上。", "已保持登录。%(count)s份申请仍保存在这台设备上。", waiting.length,
            { count: waiting.length }));
          signingOut = false;
          pressed?.focus();
          return;
        }
      } else if (pending) {
        saySignout(t("申请已发送，重新登录后可在“我的办件”查看。正在退出…"));
      }
    } catch {
      signingOut = false; // something unexpected: nothing is deleted, the resident stays signed in
      return;
    }
    await wipeAndSignOut(form);
  });
}

setupDisplay();
setupBack();
setupConnection();
setupUpdates();
setupSignOut();
setupOutbox();
// The service worker draws its own texts (the offline page, a notification's fallback) in this device's language.
local?.rememberLanguage(language).catch(() => {});
