// The merged form (一表申请) with JavaScript. Without it the page is one long form posted to the server.
// - steps: one section at a time, 上一步/下一步, "第k步，共n步" announced;
// - uploads: each file goes to the API when chosen; its token lives in the hidden inputs a no-JS re-render fills;
// - drafts: every change is kept on this device (IndexedDB through local-data.js, keyed by account, life event and
//   person filed for, with the form's checksum: 已保存到本机) and sent to the server draft when there is a
//   connection (已同步). Reopened (offline, after a reload, after the browser was closed) the form comes back;
//   a server draft changed meanwhile on another device is shown beside this one, and the resident chooses;
// - submit: JSON to /api/v1/cases with one idempotency key per fill. Without a connection the submission waits on
//   the device (待发送) and is sent, once, when it returns (shell.js, the service worker's Background Sync).
// A village helper fills it for a client: every request then carries the client's number (on_behalf_of), which
// the server checks against a live delegation, and what this tab keeps is keyed by the client too, so that
// helper.js can drop it when the tablet switches to someone else.
import { csrfToken, postJSON } from "./api.js";
import { clearErrors, setBusy, showErrors } from "./forms.js";

const form = document.querySelector("#apply-form");
const lifeEvent = form.dataset.lifeEvent;
const onBehalfOf = form.elements.namedItem("on_behalf_of")?.value || null;
const client = form.dataset.client || null;
const SAVE_DELAY_MS = 1000;

// Per life event (and client, for a helper), for this tab only. Private modes may refuse storage: the page works
// without it.
const session = {
  name: (key) => (client ? `apply:${lifeEvent}:client-${client}:${key}` : `apply:${lifeEvent}:${key}`),
  get(key) {
    try { return JSON.parse(sessionStorage.getItem(this.name(key))); } catch { return null; }
  },
  set(key, value) {
    try { sessionStorage.setItem(this.name(key), JSON.stringify(value)); } catch { /* kept in memory only */ }
  },
  remove(key) {
    try { sessionStorage.removeItem(this.name(key)); } catch { /* nothing was kept */ }
  },
};

// GET and PUT; POST goes through api.js's postJSON. Never throws for HTTP errors.
async function requestJSON(method, path, body) {
  const headers = { Accept: "application/json" };
  // The person filed for travels in a header, never in the URL (logs, proxies, history).
  if (onBehalfOf) headers["X-On-Behalf-Of"] = onBehalfOf;
  if (body !== undefined) Object.assign(headers, { "Content-Type": "application/json", "X-CSRFToken": csrfToken() });
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  return { ok: response.ok, status: response.status, data };
}

// --- answers: the inputs the resident may edit (read-only ones come from the account) -----------------

const answerInputs = () => [...form.querySelectorAll("[data-field]")];

function answers() {
  const data = {};
  for (const input of answerInputs()) data[input.name] = input.type === "checkbox" ? input.checked : input.value;
  return data;
}

// "来自：人口基础库" is true only while the value is still the one that came from there.
function showSources() {
  for (const input of form.querySelectorAll("[data-prefill]")) {
    const note = document.getElementById(`${input.id}-source`);
    if (note) note.hidden = input.value !== input.dataset.prefill;
  }
}

function fill(data) {
  for (const input of answerInputs()) {
    if (!Object.hasOwn(data, input.name)) continue;
    const value = data[input.name];
    if (input.type === "checkbox") input.checked = value === true || value === "true";
    else input.value = typeof value === "string" ? value : "";
  }
  showSources();
}

function markInvalid(input, message) {
  const slot = document.getElementById(`${input.id}-error`);
  if (slot) { slot.textContent = message || ""; slot.hidden = !message; }
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

// --- steps ------------------------------------------------------------------------------------------------

function setupSteps() {
  const steps = [...form.querySelectorAll(".apply-step")];
  const progress = form.querySelector("#step-progress");
  const prev = form.querySelector("[data-step=prev]");
  const next = form.querySelector("[data-step=next]");
  const submit = form.querySelector("#apply-submit");
  const last = steps.length - 1;
  let current = 0;

  function show(index, { focus = false } = {}) {
    current = Math.min(Math.max(index, 0), last);
    steps.forEach((step, i) => { step.hidden = i !== current; });
    const title = steps[current].querySelector("legend").textContent.trim();
    progress.textContent = `第${current + 1}步，共${steps.length}步：${title}`;
    prev.hidden = current === 0;
    next.hidden = current === last;
    submit.hidden = current !== last;
    if (focus) {
      form.scrollIntoView({ block: "start" });
      steps[current].focus({ preventScroll: true });
    }
  }

  const stepOf = (element) => steps.findIndex((step) => step.contains(element));
  prev.addEventListener("click", () => show(current - 1, { focus: true }));
  next.addEventListener("click", () => show(current + 1, { focus: true }));
  form.classList.add("stepped");
  progress.hidden = false;
  // After a server-side re-render with errors, open where the first one is.
  const invalid = form.querySelector(".apply-step [aria-invalid=true]");
  show(invalid ? stepOf(invalid) : 0);

  return {
    isLast: () => current === last,
    next: () => show(current + 1, { focus: true }),
    reveal(element) {
      const index = stepOf(element);
      if (index >= 0 && index !== current) show(index);
    },
  };
}

// --- uploads ----------------------------------------------------------------------------------------------

function setupUploads() {
  const inputs = [...form.querySelectorAll("input[type=file][data-material]")];
  const maxBytes = Number(form.dataset.maxUploadBytes);
  const pending = new Set();
  const kept = session.get("uploads") || {};
  const hidden = (name, code) => form.elements.namedItem(`${name}.${code}`);
  const status = (input) => document.getElementById(`${input.id}-status`);

  function keep(input, upload) {
    const code = input.dataset.material;
    hidden("uploaded", code).value = upload?.token || "";
    hidden("uploaded_name", code).value = upload?.filename || "";
    status(input).textContent = upload ? `已上传：${upload.filename}` : "";
    if (upload) kept[code] = upload;
    else delete kept[code];
    session.set("uploads", kept);
  }

  async function upload(input) {
    const file = input.files[0];
    if (!file) return;
    markInvalid(input, "");
    keep(input, null);
    if (maxBytes && file.size > maxBytes) {
      markInvalid(input, "文件不能超过10MB，请压缩后重新上传");
      return;
    }
    status(input).textContent = `正在上传：${file.name}…`;
    const body = new FormData();
    body.append("life_event", lifeEvent);
    body.append("material_code", input.dataset.material);
    if (onBehalfOf) body.append("on_behalf_of", onBehalfOf);
    body.append("file", file);
    try {
      const response = await fetch("/api/v1/uploads", {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
        body,
      });
      const data = await response.json().catch(() => null);
      if (response.ok) {
        keep(input, { token: data.token, filename: data.filename });
        return;
      }
      status(input).textContent = "";
      const errors = data?.errors || {};
      markInvalid(input, errors.file || errors.material_code || data?.detail || "上传失败，请重新选择文件");
    } catch {
      status(input).textContent = "";
      markInvalid(input, "网络连接失败，请检查网络后重新选择文件");
    }
  }

  for (const input of inputs) {
    const code = input.dataset.material;
    if (!hidden("uploaded", code).value && kept[code]) keep(input, kept[code]);
    input.addEventListener("change", () => {
      const job = upload(input).finally(() => pending.delete(job));
      pending.add(job);
    });
  }

  return {
    tokens: () => inputs.map((input) => hidden("uploaded", input.dataset.material).value).filter(Boolean),
    settled: () => Promise.all(pending),
    forget: () => session.remove("uploads"),
  };
}

// --- drafts: on this device first, then on the server ------------------------------------------------------

const local = self.ywtbLocal; // local-data.js; absent only where that script could not run
const user = document.body.dataset.localKey || "";
const subject = client ? `client-${client}` : "self";
const draftKey = local && user ? local.draftKey(user, lifeEvent, subject) : null;
const LOCAL_DELAY_MS = 300;
const RETRY_SYNC_MS = 5000;

// Local storage that may fail (private mode, a full disk) never stops the form: it only says less.
const device = {
  async get() {
    if (!draftKey) return null;
    try { return await local.getDraft(draftKey); } catch { return null; }
  },
  async put(data, fields) {
    if (!draftKey) return false;
    try {
      await local.putDraft({
        key: draftKey, user, lifeEvent, subject, title: form.dataset.eventName, data,
        formChecksum: form.dataset.checksum, ...fields,
      });
      return true;
    } catch { return false; }
  },
  async remove() {
    if (!draftKey) return;
    try { await local.deleteDraft(draftKey); } catch { /* nothing kept */ }
  },
};

// Two sets of answers are the same when every field has the same value (an absent one counts as empty).
function sameAnswers(a, b) {
  const keys = new Set([...Object.keys(a || {}), ...Object.keys(b || {})]);
  const norm = (v) => (v === true || v === "true" ? "true" : v === false || v === "false" || v == null ? "" : String(v));
  return [...keys].every((k) => norm(a?.[k]) === norm(b?.[k]));
}

// How a value reads on the page: an option's text, 是/否 for a checkbox.
function shown(input, value) {
  if (input.type === "checkbox") return value === true || value === "true" ? "是" : "否";
  if (input.tagName === "SELECT") {
    const option = [...input.options].find((o) => o.value === value);
    return option && value ? option.textContent.trim() : "（未填）";
  }
  return typeof value === "string" && value ? value : "（未填）";
}

function labelOf(input) {
  const label = form.querySelector(`label[for="${CSS.escape(input.id)}"]`);
  return (label?.textContent || input.name).replace(/（选填）/, "").trim();
}

function setupDrafts() {
  const path = `/api/v1/drafts/${encodeURIComponent(lifeEvent)}`;
  const status = form.querySelector("#draft-status");
  const conflict = form.querySelector("#draft-conflict");
  const diff = form.querySelector("#draft-conflict-diff");
  let version = 0; // the server draft's version this page's answers build on
  let localTimer = null;
  let serverTimer = null;
  let saving = Promise.resolve();
  let paused = false;
  let theirs = null;

  const say = (text) => { status.textContent = text; status.hidden = !text; };
  const clock = () => new Date().toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit" });

  async function keepHere() {
    const data = answers();
    if (await device.put(data, { baseVersion: version, synced: false })) say(`已保存到本机 ${clock()}`);
    return data;
  }

  function showConflict(current) {
    version = current.version;
    theirs = current.data || {};
    paused = true;
    diff.textContent = "";
    const mine = answers();
    for (const input of answerInputs()) {
      if (sameAnswers({ v: mine[input.name] }, { v: theirs[input.name] })) continue;
      const dt = document.createElement("dt");
      dt.textContent = labelOf(input);
      const here = document.createElement("dd");
      here.textContent = `本页：${shown(input, mine[input.name])}`;
      const there = document.createElement("dd");
      there.textContent = `另一设备：${shown(input, theirs[input.name])}`;
      diff.append(dt, here, there);
    }
    diff.hidden = !diff.childElementCount;
    say(`已保存到本机 ${clock()}，尚未同步`);
    conflict.hidden = false;
  }

  async function sync() {
    const data = answers();
    let result;
    try {
      result = await requestJSON("PUT", path, { data, version, form_checksum: form.dataset.checksum });
    } catch {
      say(`已保存到本机 ${clock()}，联网后自动同步`);
      retryLater();
      return;
    }
    if (result.ok) {
      version = result.data.version;
      // Changed again while this was on its way: the next sync sends that, the device keeps it unsynced.
      const unchanged = sameAnswers(data, answers());
      await device.put(unchanged ? data : answers(), { baseVersion: version, synced: unchanged });
      if (unchanged) say(`已同步 ${clock()}`);
    } else if (result.status === 409 && result.data?.current) {
      // Saved meanwhile on another device: show both, and let the resident choose which answers stay.
      showConflict(result.data.current);
    } else {
      say(`已保存到本机 ${clock()}，暂未同步到服务器`);
    }
  }

  // No connection: tried again on the online event, and every little while (that event is not always sent).
  let retry = null;
  function retryLater() {
    retry ??= setTimeout(() => { retry = null; syncSoon(); }, RETRY_SYNC_MS);
  }

  function syncSoon() {
    if (paused) return;
    clearTimeout(serverTimer);
    serverTimer = setTimeout(() => {
      serverTimer = null;
      saving = sync();
    }, SAVE_DELAY_MS);
  }

  function changed(event) {
    if (!event.target.matches("[data-field]")) return;
    showSources();
    clearTimeout(localTimer);
    localTimer = setTimeout(() => { localTimer = null; keepHere(); }, LOCAL_DELAY_MS);
    syncSoon();
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  window.addEventListener("online", syncSoon);
  conflict.addEventListener("click", (event) => {
    const choice = event.target.closest("[data-draft]")?.dataset.draft;
    if (!choice) return;
    conflict.hidden = true;
    paused = false;
    if (choice === "theirs") {
      fill(theirs);
      device.put(theirs, { baseVersion: version, synced: true });
      say("已载入另一设备上的草稿");
    } else {
      keepHere();
      syncSoon();
    }
  });

  return {
    async load() {
      const kept = await device.get();
      let server = null;
      try {
        server = await requestJSON("GET", path);
      } catch {
        server = null; // offline: this device's copy is all there is
      }
      if (server?.ok) version = server.data.version;
      // A page re-rendered with the resident's posted answers (and their errors) keeps those instead.
      if (form.dataset.restoreDraft !== "true") return;
      const changedForm = kept && kept.formChecksum !== form.dataset.checksum;
      if (!server?.ok) {
        if (!kept) return;
        version = kept.baseVersion || 0;
        fill(kept.data);
        say(changedForm ? "已恢复本机保存的内容（表单已更新，请核对）" : "已恢复本机保存的内容");
        if (!kept.synced) syncSoon();
        return;
      }
      const data = server.data.data || {};
      if (kept && !kept.synced && !sameAnswers(kept.data, data)) {
        fill(kept.data);
        if ((kept.baseVersion || 0) === version) {
          // Typed here (offline, or before a reload) on top of what the server has: send it.
          say("已恢复本机保存的内容");
          syncSoon();
        } else {
          showConflict(server.data);
        }
        return;
      }
      if (Object.keys(data).length) {
        fill(data);
        say("已恢复上次保存的草稿");
        device.put(data, { baseVersion: version, synced: true });
      } else if (kept) {
        // Nothing on the server although this device synced it: the form was submitted (elsewhere).
        device.remove();
      }
    },
    // Submitting: no save may land after the case is made (the server deletes the draft then).
    async pause() {
      paused = true;
      clearTimeout(serverTimer);
      serverTimer = null;
      await saving;
    },
    resume() { paused = false; },
    keepHere,
    forget: () => device.remove(),
  };
}

// --- submit -----------------------------------------------------------------------------------------------

let fillKey = null;
function idempotencyKey() {
  fillKey ??= session.get("idempotency-key");
  if (!fillKey) {
    fillKey = window.crypto?.randomUUID ? crypto.randomUUID() : form.elements.namedItem("idempotency_key").value;
    session.set("idempotency-key", fillKey);
  }
  return fillKey;
}

const steps = setupSteps();
const uploads = setupUploads();
const drafts = setupDrafts();
const outboxStatus = form.querySelector("#outbox-status");

function sayOutbox(text) {
  outboxStatus.textContent = text;
  outboxStatus.hidden = !text;
}

function toReceipt(caseNo) {
  session.remove("idempotency-key");
  uploads.forget();
  window.location.assign(`${form.dataset.receiptPrefix}${encodeURIComponent(caseNo)}/receipt`);
}

// No connection: the submission waits on this device with its idempotency key, and goes when the connection
// returns (Background Sync where the browser has it, else the online event, the next page load, a tab shown).
async function queue(body) {
  if (!local || !user) return false;
  try {
    await drafts.keepHere();
    await local.enqueue({ id: body.idempotency_key, user, lifeEvent, subject, body, receiptPrefix: form.dataset.receiptPrefix });
  } catch {
    return false;
  }
  sayOutbox("待发送：没有网络，申请已保存在本机，联网后会自动发送，不会重复办理。");
  document.dispatchEvent(new CustomEvent("ywtb:queued"));
  try {
    const registration = await navigator.serviceWorker?.ready;
    await registration?.sync?.register(local.SYNC_TAG);
  } catch { /* no Background Sync: shell.js sends it */ }
  return true;
}

// What the device knows of this form's queued submission: sent (go to its receipt), refused, or still waiting.
async function checkOutbox() {
  if (!local || !user) return;
  let waiting = [];
  let done = [];
  try {
    [waiting, done] = await Promise.all([local.queued(user), local.sent(user)]);
  } catch {
    return;
  }
  const mine = (entry) => entry.lifeEvent === lifeEvent && entry.subject === subject;
  const answered = done.find(mine);
  if (answered) {
    await local.forgetSent(answered.id);
    toReceipt(answered.caseNo);
    return;
  }
  const entry = waiting.find(mine);
  if (!entry) return;
  fillKey = entry.id; // a new press of 提交申请 sends the same submission, never a second one
  session.set("idempotency-key", fillKey);
  if (entry.state === "refused") {
    await local.dropQueued(entry.id);
    sayOutbox("");
    showErrors(form, entry.errors, entry.detail || "离线提交的申请未被受理，请检查后重新提交");
  } else {
    sayOutbox("待发送：没有网络，申请已保存在本机，联网后会自动发送，不会重复办理。");
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!steps.isLast()) {
    steps.next(); // Enter in a field moves on rather than submitting half a form
    return;
  }
  const button = form.querySelector("#apply-submit");
  clearErrors(form);
  setBusy(button, true, "正在提交…");
  let leaving = false;
  try {
    await drafts.pause();
    await uploads.settled();
    const body = {
      life_event: lifeEvent,
      data: answers(),
      idempotency_key: idempotencyKey(),
      uploads: uploads.tokens(),
      ...(onBehalfOf ? { on_behalf_of: onBehalfOf } : {}),
    };
    let result = null;
    if (navigator.onLine) {
      try { result = await postJSON("/api/v1/cases", body); } catch { result = null; }
    }
    if (result === null) {
      if (!(await queue(body))) showErrors(form, {}, "网络连接失败，请检查网络后再次提交（不会重复办理）");
      return;
    }
    if (result.ok) {
      leaving = true;
      await drafts.forget();
      toReceipt(result.data.case_no);
      return;
    }
    const fallback = result.status === 401 ? "登录已过期，请重新登录后再提交" : result.data?.detail;
    showErrors(form, result.data?.errors, fallback || "提交失败，请稍后重试");
  } finally {
    if (!leaving) {
      setBusy(button, false);
      drafts.resume();
    }
  }
});

// shell.js sent what was waiting (or the service worker did): this form's answer may be among them.
document.addEventListener("ywtb:outbox", () => { checkOutbox(); });

// Links in the error summary open the step that holds the field.
form.querySelector(".error-summary").addEventListener("click", (event) => {
  const link = event.target.closest("a[href^='#']");
  const target = link && document.getElementById(decodeURIComponent(link.hash.slice(1)));
  if (!target) return;
  event.preventDefault();
  steps.reveal(target);
  target.focus();
});

// htmx swaps a field's error slot after /check; the input's aria-invalid follows the slot.
document.body.addEventListener("htmx:afterSwap", () => {
  for (const input of answerInputs()) {
    const slot = document.getElementById(`${input.id}-error`);
    if (slot) markInvalid(input, slot.hidden ? "" : slot.textContent);
  }
});

drafts.load().then(checkOutbox);
