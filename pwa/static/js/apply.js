// The merged form (一表申请) with JavaScript. Without it the page is one long form posted to the server.
// - steps: one section at a time, 上一步/下一步, "第k步，共n步" announced;
// - uploads: each file goes to the API when chosen; its token lives in the hidden inputs a no-JS re-render fills;
// - drafts: saved to the server a second after the last change, restored on load (over the server's prefill);
// - submit: JSON to /api/v1/cases with one idempotency key per fill, kept so that a retry makes no second case.
// A village helper fills it for a client: every request then carries the client's number (on_behalf_of), which
// the server checks against a live delegation, and what this tab keeps is keyed by the client too, so that
// helper.js can drop it when the tablet switches to someone else.
import { csrfToken, postJSON } from "./passkeys.js";
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

// GET and PUT; POST goes through passkeys.js's postJSON. Never throws for HTTP errors.
async function requestJSON(method, path, body) {
  const headers = { Accept: "application/json" };
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

// --- server drafts ----------------------------------------------------------------------------------------

function setupDrafts() {
  const query = onBehalfOf ? `?${new URLSearchParams({ on_behalf_of: onBehalfOf })}` : "";
  const path = `/api/v1/drafts/${encodeURIComponent(lifeEvent)}${query}`;
  const status = form.querySelector("#draft-status");
  const conflict = form.querySelector("#draft-conflict");
  let version = 0;
  let timer = null;
  let saving = Promise.resolve();
  let paused = false;
  let theirs = null;

  const say = (text) => { status.textContent = text; status.hidden = !text; };
  const clock = () => new Date().toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit" });

  async function save() {
    const result = await requestJSON("PUT", path, { data: answers(), version, form_checksum: form.dataset.checksum });
    if (result.ok) {
      version = result.data.version;
      say(`已保存 ${clock()}`);
    } else if (result.status === 409 && result.data?.current) {
      // Saved meanwhile on another device: take its version, and let the resident choose which answers stay.
      version = result.data.current.version;
      theirs = result.data.current.data || {};
      paused = true;
      say("");
      conflict.hidden = false;
    } else {
      say("草稿未能保存，请稍后再试");
    }
  }

  function saveSoon() {
    if (paused) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      saving = save().catch(() => say("网络不可用，草稿暂未保存"));
    }, SAVE_DELAY_MS);
  }

  function changed(event) {
    if (!event.target.matches("[data-field]")) return;
    showSources();
    saveSoon();
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  conflict.addEventListener("click", (event) => {
    const choice = event.target.closest("[data-draft]")?.dataset.draft;
    if (!choice) return;
    conflict.hidden = true;
    paused = false;
    if (choice === "theirs") {
      fill(theirs);
      say("已载入另一设备上的草稿");
    } else {
      saveSoon();
    }
  });

  return {
    async load() {
      const result = await requestJSON("GET", path).catch(() => null);
      if (!result?.ok) return;
      version = result.data.version;
      const data = result.data.data || {};
      // A page re-rendered with the resident's posted answers (and their errors) keeps those instead.
      if (form.dataset.restoreDraft === "true" && Object.keys(data).length) {
        fill(data);
        say("已恢复上次保存的草稿");
      }
    },
    // Submitting: no save may land after the case is made (the server deletes the draft then).
    async pause() {
      paused = true;
      clearTimeout(timer);
      timer = null;
      await saving;
    },
    resume() { paused = false; },
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
    const result = await postJSON("/api/v1/cases", {
      life_event: lifeEvent,
      data: answers(),
      idempotency_key: idempotencyKey(),
      uploads: uploads.tokens(),
      ...(onBehalfOf ? { on_behalf_of: onBehalfOf } : {}),
    });
    if (result.ok) {
      leaving = true;
      session.remove("idempotency-key");
      uploads.forget();
      window.location.assign(`${form.dataset.receiptPrefix}${encodeURIComponent(result.data.case_no)}/receipt`);
      return;
    }
    const fallback = result.status === 401 ? "登录已过期，请重新登录后再提交" : result.data?.detail;
    showErrors(form, result.data?.errors, fallback || "提交失败，请稍后重试");
  } catch {
    showErrors(form, {}, "网络连接失败，请检查网络后再次提交（不会重复办理）");
  } finally {
    if (!leaving) {
      setBusy(button, false);
      drafts.resume();
    }
  }
});

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

drafts.load();
