// The merged form's drafts: every change is kept on this device first (IndexedDB through local-data.js, keyed by
// account, life event, person and organisation filed for, with the form's checksum: 已保存到本机), then sent to the
// server draft (kept there under the same person and organisation)
// when there is a connection (已同步). Reopened (offline, after a reload, after the browser was closed) the form
// comes back; a server draft changed meanwhile on another device is shown beside this one, and the resident
// chooses (apply-draft-conflict.js).
import { getJSON, sendJSON } from "./api.js";
import { onConflictChoice, showConflict } from "./apply-draft-conflict.js";
import { answers, chosenItems, code, fill, form, item, lifeEvent, local, onBehalfOf, onBehalfOfOrg, org, sameAnswers, showSources, subject, user } from "./apply-form.js";
import { formatTime, t } from "./i18n.js";

const LOCAL_DELAY_MS = 300;
const SAVE_DELAY_MS = 1000;
const RETRY_SYNC_MS = 5000;

// --- on this device ---------------------------------------------------------------------------------------

const draftKey = local && user ? local.draftKey(user, lifeEvent, subject, org) : null;

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
        key: draftKey, user, lifeEvent, subject, org, title: form.dataset.eventName, data, items: chosenItems,
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

// --- on the server ----------------------------------------------------------------------------------------

const path = `/api/v1/drafts/${encodeURIComponent(code)}`;
// The person filed for travels in a header, never in the URL (logs, proxies, history).
const whom = {
  ...(onBehalfOf ? { "X-On-Behalf-Of": onBehalfOf } : {}),
  ...(onBehalfOfOrg ? { "X-On-Behalf-Of-Org": onBehalfOfOrg } : {}),
};
const status = form.querySelector("#draft-status");
let version = 0; // the server draft's version this page's answers build on
let localTimer = null;
let serverTimer = null;
let retry = null;
let saving = Promise.resolve();
let paused = false; // while a conflict waits for the resident's choice, and while the form is submitted
let theirs = null; // the other device's draft ({version, data}), while that choice waits
// Until load() has restored the draft (a slow connection can take seconds) the person may already be typing: the
// fields they change are theirs and the draft fills only the others. Nothing is sent to the server meanwhile: the
// server draft's version is not known yet, and a save on top of version 0 would come back as a conflict.
let loading = true;
const touched = new Set(); // the names of the fields changed while loading

const say = (text) => { status.textContent = text; status.hidden = !text; };
// Beijing time, as every time the server prints (a phone set to another zone still reads the same clock).
const clock = () => formatTime(new Date());

// What this device kept for the form when the page opened (load() restores it).
const keptAtOpen = device.get();

async function keepHere() {
  const { data, baseVersion } = loading ? typedOverKept(await keptAtOpen) : { data: answers(), baseVersion: version };
  if (await device.put(data, { baseVersion, synced: false })) say(t("已保存到本机 %(time)s", { time: clock() }));
  return data;
}

// Before the draft is restored the form's other fields are not answers yet (empty, or prefilled): the device copy
// stays what it was, with only the fields typed since on top, so that a reload meanwhile loses neither.
function typedOverKept(kept) {
  const typed = answers();
  const data = { ...kept?.data };
  for (const name of touched) if (Object.hasOwn(typed, name)) data[name] = typed[name];
  return { data, baseVersion: kept?.baseVersion || 0 };
}

// What a restored draft may fill: every field but those the person changed while it was on its way.
const untouched = (data) => Object.fromEntries(Object.entries(data || {}).filter(([name]) => !touched.has(name)));

// `version` stays the one this page's answers build on until the resident chooses: what they type meanwhile is kept
// on the device on that version, so that a reload asks again (restoreBeside) rather than sending it over the other
// device's draft unasked.
function conflictWith(current) {
  theirs = { version: current.version, data: current.data || {} };
  paused = true;
  showConflict(answers(), theirs.data);
  say(t("已保存到本机 %(time)s，尚未同步", { time: clock() }));
}

function choose(choice) {
  paused = false;
  version = theirs.version; // either way, the answers kept now build on the other device's draft
  if (choice === "theirs") {
    fill(theirs.data);
    device.put(theirs.data, { baseVersion: version, synced: true });
    say(t("已载入另一设备上的草稿"));
  } else {
    keepHere();
    syncSoon();
  }
}

async function sync() {
  const data = answers();
  let result;
  try {
    const body = { data, version, form_checksum: form.dataset.checksum, ...(item ? {} : { items: chosenItems }) };
    result = await sendJSON("PUT", path, body, whom);
  } catch {
    say(t("已保存到本机 %(time)s，联网后自动同步", { time: clock() }));
    retryLater();
    return;
  }
  if (result.ok) {
    version = result.data.version;
    // Changed again while this was on its way: the next sync sends that, the device keeps it unsynced.
    const unchanged = sameAnswers(data, answers());
    await device.put(unchanged ? data : answers(), { baseVersion: version, synced: unchanged });
    if (unchanged) say(t("已同步 %(time)s", { time: clock() }));
  } else if (result.status === 409 && result.data?.current) {
    // Saved meanwhile on another device: show both, and let the resident choose which answers stay.
    conflictWith(result.data.current);
  } else {
    say(t("已保存到本机 %(time)s，暂未同步到服务器", { time: clock() }));
  }
}

// No connection: tried again on the online event, and every little while (that event is not always sent).
function retryLater() {
  retry ??= setTimeout(() => { retry = null; syncSoon(); }, RETRY_SYNC_MS);
}

function syncSoon() {
  if (paused || loading) return;
  clearTimeout(serverTimer);
  serverTimer = setTimeout(() => {
    serverTimer = null;
    saving = sync();
  }, SAVE_DELAY_MS);
}

function changed(event) {
  if (!event.target.matches("[data-field]")) return;
  if (loading) touched.add(event.target.name);
  showSources();
  clearTimeout(localTimer);
  localTimer = setTimeout(() => { localTimer = null; keepHere(); }, LOCAL_DELAY_MS);
  syncSoon();
}

// --- reopening the form -------------------------------------------------------------------------------------

// Offline: this device's copy is all there is; sent once there is a connection, unless it already was.
function restoreFromDevice(kept) {
  version = kept.baseVersion || 0;
  fill(untouched(kept.data));
  const changedForm = kept.formChecksum !== form.dataset.checksum;
  say(changedForm ? t("已恢复本机保存的内容（表单已更新，请核对）") : t("已恢复本机保存的内容"));
  if (!kept.synced) syncSoon();
}

function restoreBeside(kept, server) {
  const data = server.data || {};
  if (kept && !kept.synced && !sameAnswers(kept.data, data)) {
    fill(untouched(kept.data)); // shown against the server's, if it comes to that, with what was just typed on top
    if ((kept.baseVersion || 0) === server.version) {
      // Typed here (offline, or before a reload) on top of what the server has: send it.
      say(t("已恢复本机保存的内容"));
      syncSoon();
    } else {
      version = kept.baseVersion || 0; // what these answers build on, until the resident chooses
      conflictWith(server);
    }
    return;
  }
  if (Object.keys(data).length) {
    fill(untouched(data));
    if (touched.size) {
      say(t("已恢复上次保存的草稿，保留了您刚填写的内容")); // kept and sent by keepTyped
    } else {
      say(t("已恢复上次保存的草稿"));
      device.put(data, { baseVersion: version, synced: true });
    }
  } else if (kept) {
    // Nothing on the server although this device synced it: the form was submitted (elsewhere).
    device.remove();
  }
}

// Typed while the draft was on its way: the form now holds those fields over what was restored, which neither this
// device nor the server has yet. Kept here as unsynced, and sent now that the server draft's version is known —
// unless a conflict waits for the resident's choice (conflictWith; the device keeps what typedOverKept kept).
function keepTyped() {
  if (!touched.size || paused) return;
  clearTimeout(localTimer); // it would keep the same answers, and say so over the restore's message
  localTimer = null;
  device.put(answers(), { baseVersion: version, synced: false });
  syncSoon();
}

async function load() {
  const kept = await keptAtOpen;
  let server = null;
  try {
    server = await getJSON(path, whom);
  } catch {
    server = null; // offline
  }
  if (server?.ok) version = server.data.version;
  loading = false;
  // A page re-rendered with the resident's posted answers (and their errors) keeps those instead.
  if (form.dataset.restoreDraft === "true") {
    if (server?.ok) restoreBeside(kept, server.data);
    else if (kept) restoreFromDevice(kept);
  }
  keepTyped();
  touched.clear(); // from here on a change is simply the next answer
}

// Submitting: no save may land after the case is made (the server deletes the draft then).
async function pause() {
  paused = true;
  clearTimeout(serverTimer);
  serverTimer = null;
  await saving;
}

export function setupDrafts() {
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  window.addEventListener("online", syncSoon);
  onConflictChoice(choose);
  return {
    load,
    pause,
    resume: () => { paused = false; },
    keepHere,
    forget: () => device.remove(),
  };
}
