/* Push in our service worker: loaded by /sw.js with importScripts("/static/js/sw-push.js").

   A push shows one notification per timeline event: a worker that died mid-send may deliver an event
   twice, so an event id seen before is dropped. The tag is per case, so a newer step replaces the older
   one on the lock screen. A notice about the account itself (a passkey added, an enrollment code issued,
   a delegation recorded) carries a notice_id instead: deduplicated the same way, each with its own tag. A click focuses a window of ours (taking it to the case) or opens one.
   Open pages hear about each push ({type: "push-received"}) and refresh their inbox badge.

   When the browser or its push service replaces the subscription (`pushsubscriptionchange`), the device
   would silently stop hearing from us. The worker takes the new subscription (event.newSubscription, or
   subscribes again with the old one's applicationServerKey, else the server's) and reports it to
   POST /api/v1/push/subscriptions/replace. That report needs no session or CSRF token: it proves itself
   with the old endpoint and its auth secret, which only this device and our server know. Without a
   provable old subscription nothing is reported and nothing is subscribed: the page then offers
   开启办理进度提醒 again, which is the truth. A report that could not be sent (offline, server busy) is
   kept in IndexedDB and sent again by Background Sync or when one of our pages next opens.

   Loaded into a page (as the browser tests do), it only defines self.ywtbPush: the decisions below
   are plain functions the tests can call. */
(function (scope) {
  "use strict";

  const ICON = "/static/icons/icon-192.png";
  const BADGE = "/static/icons/badge-96.png";
  const INBOX = "/notifications";
  const PUSH_DB = "ywtb-push";
  const SEEN_STORE = "seen-events";
  const SEEN_KEEP = 500;
  const PENDING_STORE = "pending-report"; // at most one: the replacement not yet accepted by the server
  const PENDING_KEY = "report";
  const REPLACE_URL = "/api/v1/push/subscriptions/replace";
  const KEY_URL = "/api/v1/push/key";
  const RESEND_TAG = "push-subscription-report";

  // Where a click should lead, given the URLs of our open windows (in clients.matchAll order):
  // {action: "focus", index} a window already showing it, {action: "navigate", index, url} another
  // window of ours, or {action: "open", url}. Anything not on our origin leads to the inbox instead.
  function clickTarget(url, origin, windowUrls) {
    let target;
    try {
      target = new URL(url || INBOX, origin);
    } catch {
      target = new URL(INBOX, origin);
    }
    if (target.origin !== origin) target = new URL(INBOX, origin);
    const href = target.href;
    const same = windowUrls.indexOf(href);
    if (same >= 0) return { action: "focus", index: same, url: href };
    const ours = windowUrls.findIndex((u) => {
      try {
        return new URL(u).origin === origin;
      } catch {
        return false;
      }
    });
    if (ours >= 0) return { action: "navigate", index: ours, url: href };
    return { action: "open", url: href };
  }

  // The key a repeat of the same push is recognised by: the event id of a case step, "notice-<id>" for an
  // account notice; null when the payload names neither.
  function sightingKey(payload) {
    if (payload && Number.isInteger(payload.event_id)) return payload.event_id;
    if (payload && Number.isInteger(payload.notice_id)) return `notice-${payload.notice_id}`;
    return null;
  }

  const CHINESE = { t: (text) => text, lang: "zh-CN" };

  // What showNotification gets for a payload {title, body, url, case_no, event_id} or {title, body, url, notice_id}.
  // The title and body come drawn by the server in the recipient's language (with its `lang`, where it says);
  // `texts` (sw.js: t() in this device's language) words only what the payload lacks.
  function notificationFor(payload, texts = CHINESE) {
    const { t } = texts;
    const data = payload && typeof payload === "object" ? payload : {};
    const title = typeof data.title === "string" && data.title ? data.title : t("常州一网通办");
    const notice = Number.isInteger(data.notice_id) ? data.notice_id : null;
    let tag = "ywtb";
    if (data.case_no) tag = `case-${data.case_no}`;
    else if (notice !== null) tag = `notice-${notice}`;
    return {
      title,
      options: {
        body: typeof data.body === "string" ? data.body : t("您有一条新消息，点按查看"),
        icon: ICON,
        badge: BADGE,
        tag,
        renotify: true,
        lang: typeof data.lang === "string" && data.lang ? data.lang : texts.lang,
        data: {
          url: data.url || INBOX,
          case_no: data.case_no || null,
          event_id: data.event_id ?? null,
          notice_id: notice,
        },
      },
    };
  }

  function asJSON(subscription) {
    if (!subscription) return null;
    return typeof subscription.toJSON === "function" ? subscription.toJSON() : subscription;
  }

  // What proves the subscription our server knows for this device: a report still waiting to be sent (the
  // server has not moved yet, so a second change builds on it), else the old subscription itself.
  function proofOf(old, waiting) {
    if (waiting && waiting.old_endpoint && waiting.old_auth) {
      return { endpoint: waiting.old_endpoint, auth: waiting.old_auth };
    }
    const before = asJSON(old);
    if (before && before.endpoint && before.keys && before.keys.auth) {
      return { endpoint: before.endpoint, auth: before.keys.auth };
    }
    return null;
  }

  // The body of POST /api/v1/push/subscriptions/replace that moves our server to `fresh`; null when there
  // is nothing to prove it with or nothing changed.
  function reportFor(old, fresh, waiting) {
    const proof = proofOf(old, waiting);
    const after = asJSON(fresh);
    if (!proof || !after || !after.endpoint || !after.keys || !after.keys.auth) return null;
    if (proof.endpoint === after.endpoint && proof.auth === after.keys.auth) return null;
    return {
      old_endpoint: proof.endpoint,
      old_auth: proof.auth,
      subscription: { endpoint: after.endpoint, expirationTime: after.expirationTime ?? null, keys: after.keys },
    };
  }

  // What an answer means: "done"; "retry" later (offline, too many tries, server trouble); or "refused"
  // for good (the old subscription is unknown or the new one not acceptable): the page's button starts over.
  function outcomeOf(status) {
    if (status >= 200 && status < 300) return "done";
    if (status === 0 || status === 408 || status === 429 || status >= 500) return "retry";
    return "refused";
  }

  // credentials "omit": the report is its own proof; it must not lean on whoever is signed in now.
  async function sendReport(report) {
    let response;
    try {
      response = await fetch(REPLACE_URL, {
        method: "POST",
        credentials: "omit",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(report),
      });
    } catch {
      return "retry";
    }
    return outcomeOf(response.status);
  }

  scope.ywtbPush = { clickTarget, notificationFor, sightingKey, reportFor, outcomeOf };

  if (typeof ServiceWorkerGlobalScope === "undefined" || !(scope instanceof ServiceWorkerGlobalScope)) return;

  function openPushDb() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(PUSH_DB, 2);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains(SEEN_STORE)) db.createObjectStore(SEEN_STORE, { keyPath: "id" });
        if (!db.objectStoreNames.contains(PENDING_STORE)) db.createObjectStore(PENDING_STORE);
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  // True the first time an event id (or notice key) is seen on this device. Event ids grow over time, so the
  // oldest keys are dropped first when the store passes SEEN_KEEP (numbers sort before the notice keys).
  async function firstSighting(eventId) {
    const db = await openPushDb();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(SEEN_STORE, "readwrite");
        const store = tx.objectStore(SEEN_STORE);
        let fresh = false;
        const found = store.get(eventId);
        found.onsuccess = () => {
          if (found.result) return;
          fresh = true;
          store.put({ id: eventId, at: Date.now() });
          const counted = store.count();
          counted.onsuccess = () => {
            let extra = counted.result - SEEN_KEEP;
            if (extra <= 0) return;
            store.openCursor().onsuccess = (e) => {
              const cursor = e.target.result;
              if (!cursor || extra <= 0) return;
              cursor.delete();
              extra -= 1;
              cursor.continue();
            };
          };
        };
        tx.oncomplete = () => resolve(fresh);
        tx.onerror = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  }

  async function windows() {
    return scope.clients.matchAll({ type: "window", includeUncontrolled: true });
  }

  async function onPush(event) {
    let payload = null;
    try {
      payload = event.data ? event.data.json() : null;
    } catch {
      payload = null;
    }
    const eventId = payload && Number.isInteger(payload.event_id) ? payload.event_id : null;
    const seenKey = sightingKey(payload);
    if (seenKey !== null) {
      // Without IndexedDB (a private window) showing a repeat beats losing a step.
      const fresh = await firstSighting(seenKey).catch(() => true);
      if (!fresh) return;
    }
    const texts = scope.ywtbTexts ? await scope.ywtbTexts().catch(() => undefined) : undefined;
    const { title, options } = notificationFor(payload, texts);
    await scope.registration.showNotification(title, options);
    for (const client of await windows()) {
      client.postMessage({ type: "push-received", event_id: eventId, case_no: options.data.case_no });
    }
  }

  async function onClick(notification) {
    const open = await windows();
    const decision = clickTarget(notification.data && notification.data.url, scope.location.origin, open.map((w) => w.url));
    if (decision.action === "open") return scope.clients.openWindow(decision.url);
    const client = await open[decision.index].focus();
    if (decision.action !== "navigate") return client;
    try {
      return await client.navigate(decision.url);
    } catch {
      // navigate() works only on windows this worker controls; the page's own script does the rest.
      client.postMessage({ type: "open-url", url: decision.url });
      return client;
    }
  }

  // The report waiting to be sent lives under one key; `change(store)` reads or writes it in one transaction.
  async function withPending(mode, change) {
    const db = await openPushDb();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(PENDING_STORE, mode);
        let result;
        const request = change(tx.objectStore(PENDING_STORE));
        request.onsuccess = () => (result = request.result);
        tx.oncomplete = () => resolve(result);
        tx.onerror = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  }

  const waitingReport = () => withPending("readonly", (store) => store.get(PENDING_KEY));
  const keepReport = (report) => withPending("readwrite", (store) => store.put(report, PENDING_KEY));
  const forgetReport = () => withPending("readwrite", (store) => store.delete(PENDING_KEY));

  async function serverKey() {
    const answer = await fetch(KEY_URL, { credentials: "omit", headers: { Accept: "application/json" } });
    if (!answer.ok) throw new Error(`push key: ${answer.status}`);
    const text = (await answer.json()).public_key;
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  }

  // The subscription the browser moved this device to: the one it made (newSubscription, or one already in
  // place), else a new one for the same application server key.
  async function currentSubscription(event) {
    if (event.newSubscription) return event.newSubscription;
    const manager = scope.registration.pushManager;
    const old = event.oldSubscription;
    const existing = await manager.getSubscription();
    if (existing && (!old || existing.endpoint !== old.endpoint)) return existing;
    const key = (old && old.options && old.options.applicationServerKey) || (await serverKey());
    return manager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }

  // Send a report; keep it for later when it could not be, forget it once answered for good.
  async function settle(report) {
    const outcome = await sendReport(report);
    if (outcome === "retry") {
      await keepReport(report);
      if (scope.registration.sync) await scope.registration.sync.register(RESEND_TAG).catch(() => {});
    } else {
      await forgetReport();
    }
    if (outcome === "done") {
      for (const client of await windows()) client.postMessage({ type: "push-subscription-changed" });
    }
    return outcome;
  }

  // The outcome, for the browser tests: "done", "retry", "refused", "unprovable" or "unchanged".
  async function onSubscriptionChange(event) {
    const waiting = await waitingReport().catch(() => undefined);
    const old = event.oldSubscription;
    if (!proofOf(old, waiting)) return "unprovable";
    const report = reportFor(old, await currentSubscription(event), waiting);
    return report ? settle(report) : "unchanged";
  }

  async function resendPending({ throwIfStillWaiting }) {
    const report = await waitingReport();
    if (!report) return "none";
    const outcome = await settle(report);
    // In a sync event, a throw tells the browser to try again later.
    if (outcome === "retry" && throwIfStillWaiting) throw new Error("the subscription report is still waiting");
    return outcome;
  }

  // For the browser tests: the real handler, given an event-like object (Chromium cannot be made to fire one).
  scope.ywtbPush.subscriptionChanged = onSubscriptionChange;

  scope.addEventListener("pushsubscriptionchange", (event) => {
    event.waitUntil(onSubscriptionChange(event).catch(() => "failed"));
  });
  scope.addEventListener("sync", (event) => {
    if (event.tag === RESEND_TAG) event.waitUntil(resendPending({ throwIfStillWaiting: true }));
  });
  scope.addEventListener("message", (event) => {
    if ((event.data || {}).type !== "push-resend") return;
    event.waitUntil(resendPending({ throwIfStillWaiting: false }).catch(() => "failed"));
  });
  scope.addEventListener("push", (event) => event.waitUntil(onPush(event)));
  scope.addEventListener("notificationclick", (event) => {
    event.notification.close();
    event.waitUntil(onClick(event.notification));
  });
})(self);
