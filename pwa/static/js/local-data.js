/* What this device keeps for a signed-in account, in IndexedDB: the merged form's drafts and the submissions
   waiting for a connection (the outbox), plus the outbox's answers not yet shown (sent).

   A classic script on purpose: pages load it with <script defer> and the service worker with importScripts, and
   both use self.ywtbLocal. Everything is keyed by the account's local key (data-local-key on <body>, `local_key`
   in /api/v1/me), and by whom a form is filed for ("self", or "client-<delegation id>" on a helper's tablet).

   A queued submission is sent with its idempotency key and the CSRF token read at send time; one sender at a
   time per origin (Web Locks), and the server makes one case per key whatever happens.

   On a shared device (a helper's tablet, a window's computer) a submission someone pressed 提交申请 for stays until it
   is sent or a person deletes it, whoever is served next: switching person drops only the drafts. */
(function (scope) {
  "use strict";

  const DB_NAME = "ywtb-local";
  const DRAFTS = "drafts";
  const OUTBOX = "outbox";
  const SENT = "sent";
  const STORES = [DRAFTS, OUTBOX, SENT];
  // Pages the service worker keeps for reading offline (a resident's own case, receipt and form pages).
  const PAGES_CACHE = "ywtb-pages";
  const SYNC_TAG = "ywtb-outbox";

  let opening = null;

  function open() {
    opening ??= new Promise((resolve, reject) => {
      const request = scope.indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => {
        const db = request.result;
        for (const name of STORES) {
          const store = db.createObjectStore(name, { keyPath: name === DRAFTS ? "key" : "id" });
          store.createIndex("user", "user");
        }
      };
      request.onsuccess = () => {
        const db = request.result;
        // Another tab upgrading (a newer version of this script) must not be blocked by us.
        db.onversionchange = () => { db.close(); opening = null; };
        resolve(db);
      };
      request.onerror = () => { opening = null; reject(request.error); };
      request.onblocked = () => { opening = null; reject(new Error("IndexedDB blocked")); };
    });
    return opening;
  }

  // Runs work(stores) in one transaction; resolves with what work returned (a request's result, or a value)
  // once the transaction has committed.
  async function transact(names, mode, work) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(names, mode);
      const stores = Object.fromEntries(names.map((n) => [n, tx.objectStore(n)]));
      let outcome;
      const result = work(stores);
      tx.oncomplete = () => resolve(outcome);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
      if (result && typeof result === "object" && "onsuccess" in result) {
        result.onsuccess = () => { outcome = result.result; };
      } else {
        outcome = result;
      }
    });
  }

  const byUser = (name, user) => transact([name], "readonly", (s) => s[name].index("user").getAll(user));

  // One draft per account, life event, person filed for ("self", "client-<key>") and organisation filed for (企业办事:
  // its 统一社会信用代码; none for a person's own). A person's own key is the same as before organisations had one.
  const draftKey = (user, lifeEvent, subject, org) => `${user}|${lifeEvent}|${subject}${org ? `|org-${org}` : ""}`;

  function getDraft(key) {
    return transact([DRAFTS], "readonly", (s) => s[DRAFTS].get(key));
  }

  function putDraft(record) {
    return transact([DRAFTS], "readwrite", (s) => { s[DRAFTS].put({ ...record, savedAt: Date.now() }); });
  }

  function deleteDraft(key) {
    return transact([DRAFTS], "readwrite", (s) => { s[DRAFTS].delete(key); });
  }

  // entry: {id: idempotency key, user, lifeEvent, subject, org?, body (the POST /api/v1/cases body), receiptPrefix}
  function enqueue(entry) {
    return transact([OUTBOX], "readwrite", (s) => {
      s[OUTBOX].put({ ...entry, state: "pending", errors: null, queuedAt: Date.now() });
    });
  }

  const queued = (user) => byUser(OUTBOX, user);
  const sent = (user) => byUser(SENT, user);
  const drafts = (user) => byUser(DRAFTS, user);

  function forgetSent(id) {
    return transact([SENT], "readwrite", (s) => { s[SENT].delete(id); });
  }

  function dropQueued(id) {
    return transact([OUTBOX], "readwrite", (s) => { s[OUTBOX].delete(id); });
  }

  // A submission the server would not take from this account for that person (403: the visit at the window ended,
  // the delegation lapsed) is tried again only when a person asks: e.g. after checking the resident's ID again.
  function resend(id) {
    return transact([OUTBOX], "readwrite", (s) => {
      const request = s[OUTBOX].get(id);
      request.onsuccess = () => {
        if (request.result) s[OUTBOX].put({ ...request.result, state: "pending", detail: null });
      };
    });
  }

  // Removes every record of an account from the device: sign-out.
  async function wipe(user) {
    await deleteWhere(STORES, user, () => true);
  }

  // On a shared device, when another person is served (or nobody): the drafts of anyone but keepSubject (a client's
  // "client-<key>", or "" for nobody; "self" drafts are never a client's). Never the submissions waiting to be
  // sent nor their answers (outbox, sent): those were filed already.
  async function forgetOtherClients(user, keepSubject) {
    await deleteWhere([DRAFTS], user, (record) => record.subject !== keepSubject && record.subject !== "self");
  }

  function deleteWhere(names, user, doomed) {
    return transact(names, "readwrite", (s) => {
      for (const name of names) {
        s[name].index("user").openCursor(IDBKeyRange.only(user)).onsuccess = (event) => {
          const cursor = event.target.result;
          if (!cursor) return;
          if (doomed(cursor.value)) cursor.delete();
          cursor.continue();
        };
      }
    });
  }

  // How a person filed for is named wherever the device lists their submissions: like the banner, 320481********2050.
  function maskedNumber(idNumber) {
    const n = String(idNumber || "");
    return n.length > 10 ? `${n.slice(0, 6)}${"*".repeat(n.length - 10)}${n.slice(-4)}` : "";
  }

  // Pages kept for reading offline belong to whoever was signed in: gone at sign-out and when someone else signs in.
  async function forgetPages() {
    if (scope.caches) await scope.caches.delete(PAGES_CACHE);
  }

  // The language this device reads our pages in ("zh", "en"): each page says it (shell.js), and the service worker
  // draws its own texts in it — the offline page, a notification's fallback title. Kept with the Cache API, which
  // both can read (the worker cannot read a page, nor the language cookie in every browser). Not personal: it stays
  // at sign-out, like the cookie.
  const LANGUAGE_CACHE = "ywtb-language";
  const LANGUAGE_KEY = "/i18n/device-language";

  async function rememberLanguage(language) {
    if (!scope.caches || !language) return;
    const cache = await scope.caches.open(LANGUAGE_CACHE);
    const kept = await cache.match(LANGUAGE_KEY);
    if (kept && (await kept.text()) === language) return;
    await cache.put(LANGUAGE_KEY, new Response(language, { headers: { "Content-Type": "text/plain" } }));
  }

  async function deviceLanguage() {
    if (!scope.caches) return null;
    const kept = await scope.caches.match(LANGUAGE_KEY, { cacheName: LANGUAGE_CACHE });
    return kept ? kept.text() : null;
  }

  // Sends one queued submission. "sent", "duplicate" (the matter is already being processed: shown, never resent),
  // "refused" (the server answered why: the resident must change something),
  // "forbidden" (filed for someone this account may no longer act for: kept, and shown with a way to delete it), or
  // "later"/"offline" (no connection, signed out, the server busy): tried again on the next occasion.
  async function sendOne(entry, csrf, fetchImpl) {
    let response;
    try {
      response = await fetchImpl("/api/v1/cases", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": await csrf() },
        body: JSON.stringify(entry.body),
      });
    } catch {
      return "offline";
    }
    let data = null;
    try { data = await response.json(); } catch { data = null; }
    if (response.ok && data && data.case_no) {
      await transact([OUTBOX, SENT, DRAFTS], "readwrite", (s) => {
        s[OUTBOX].delete(entry.id);
        s[DRAFTS].delete(draftKey(entry.user, entry.lifeEvent, entry.subject, entry.org));
        s[SENT].put({
          id: entry.id,
          user: entry.user,
          lifeEvent: entry.lifeEvent,
          subject: entry.subject,
          org: entry.org || null,
          person: maskedNumber(entry.body?.on_behalf_of),
          caseNo: data.case_no,
          receipt: `${entry.receiptPrefix}${encodeURIComponent(data.case_no)}/receipt`,
          sentAt: Date.now(),
        });
      });
      return "sent";
    }
    // 一事不二办: someone (or this very person, on another device) has already filed this matter and it is being
    // processed. Nothing to fix and nothing to send again: the answer is kept to show, as a sent one is.
    if (response.status === 409 && data && data.duplicate) {
      await transact([OUTBOX, SENT, DRAFTS], "readwrite", (s) => {
        s[OUTBOX].delete(entry.id);
        s[DRAFTS].delete(draftKey(entry.user, entry.lifeEvent, entry.subject));
        s[SENT].put({
          id: entry.id,
          user: entry.user,
          lifeEvent: entry.lifeEvent,
          subject: entry.subject,
          person: maskedNumber(entry.body?.on_behalf_of),
          duplicate: true,
          detail: data.detail || null,
          caseNo: data.case_no || null,
          sentAt: Date.now(),
        });
      });
      return "duplicate";
    }
    if (response.status === 400 || response.status === 404) {
      await transact([OUTBOX], "readwrite", (s) => {
        s[OUTBOX].put({ ...entry, state: "refused", errors: data?.errors || {}, detail: data?.detail || null });
      });
      return "refused";
    }
    // The server checks each time whether this account may still file for that person (a helper's delegation; a
    // clerk's visit, which lives in the session and ends at 结束接待): trying again by itself would only be refused
    // again, so the submission waits for a person to decide.
    if (response.status === 403 && (entry.body?.on_behalf_of || entry.body?.on_behalf_of_org)) {
      await transact([OUTBOX], "readwrite", (s) => {
        s[OUTBOX].put({ ...entry, state: "forbidden", detail: data?.detail || null });
      });
      return "forbidden";
    }
    return "later";
  }

  // Sends the account's pending submissions, oldest first. csrf: a (possibly async) function read per request.
  // Returns {sent, duplicate, refused, forbidden, pending} counts. Whoever each was filed for: on a shared device the person
  // served before is sent too (the server checks each again).
  async function flush(user, csrf, fetchImpl) {
    const send = fetchImpl || scope.fetch.bind(scope);
    const run = async () => {
      const outcome = { sent: 0, duplicate: 0, refused: 0, forbidden: 0, pending: 0 };
      const entries = (await queued(user)).filter((e) => e.state === "pending").sort((a, b) => a.queuedAt - b.queuedAt);
      let stopped = false;
      for (const entry of entries) {
        const result = stopped ? "later" : await sendOne(entry, csrf, send);
        if (result === "offline") stopped = true;
        if (result === "sent") outcome.sent += 1;
        else if (result === "duplicate") outcome.duplicate += 1;
        else if (result === "refused") outcome.refused += 1;
        else if (result === "forbidden") outcome.forbidden += 1;
        else outcome.pending += 1;
      }
      return outcome;
    };
    if (!user) return { sent: 0, duplicate: 0, refused: 0, forbidden: 0, pending: 0 };
    const locks = scope.navigator && scope.navigator.locks;
    return locks ? locks.request(SYNC_TAG, run) : run();
  }

  scope.ywtbLocal = {
    SYNC_TAG,
    PAGES_CACHE,
    draftKey,
    getDraft,
    putDraft,
    deleteDraft,
    drafts,
    enqueue,
    queued,
    dropQueued,
    resend,
    sent,
    forgetSent,
    wipe,
    forgetOtherClients,
    maskedNumber,
    forgetPages,
    flush,
    rememberLanguage,
    deviceLanguage,
  };
})(self);
