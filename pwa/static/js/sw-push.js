/* Push in our service worker: loaded by /sw.js with importScripts("/static/js/sw-push.js").

   A push shows one notification per timeline event: a worker that died mid-send may deliver an event
   twice, so an event id seen before is dropped. The tag is per case, so a newer step replaces the older
   one on the lock screen. A click focuses a window of ours (taking it to the case) or opens one.
   Open pages hear about each push ({type: "push-received"}) and refresh their inbox badge.

   Loaded into a page (as the browser tests do), it only defines self.ywtbPush: the decisions below
   are plain functions the tests can call. */
(function (scope) {
  "use strict";

  const ICON = "/static/icons/icon-192.png";
  const BADGE = "/static/icons/badge-96.png";
  const INBOX = "/notifications";
  const SEEN_DB = "ywtb-push";
  const SEEN_STORE = "seen-events";
  const SEEN_KEEP = 500;

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

  // What showNotification gets for a payload {title, body, url, case_no, event_id}.
  function notificationFor(payload) {
    const data = payload && typeof payload === "object" ? payload : {};
    const title = typeof data.title === "string" && data.title ? data.title : "常州一网通办";
    return {
      title,
      options: {
        body: typeof data.body === "string" ? data.body : "您的办件有新进度，点按查看",
        icon: ICON,
        badge: BADGE,
        tag: data.case_no ? `case-${data.case_no}` : "ywtb",
        renotify: true,
        lang: "zh-CN",
        data: { url: data.url || INBOX, case_no: data.case_no || null, event_id: data.event_id ?? null },
      },
    };
  }

  scope.ywtbPush = { clickTarget, notificationFor };

  if (typeof ServiceWorkerGlobalScope === "undefined" || !(scope instanceof ServiceWorkerGlobalScope)) return;

  function openSeen() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(SEEN_DB, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(SEEN_STORE, { keyPath: "id" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  // True the first time an event id is seen on this device. Event ids grow over time, so the oldest
  // keys are dropped first when the store passes SEEN_KEEP.
  async function firstSighting(eventId) {
    const db = await openSeen();
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
    if (eventId !== null) {
      // Without IndexedDB (a private window) showing a repeat beats losing a step.
      const fresh = await firstSighting(eventId).catch(() => true);
      if (!fresh) return;
    }
    const { title, options } = notificationFor(payload);
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

  scope.addEventListener("push", (event) => event.waitUntil(onPush(event)));
  scope.addEventListener("notificationclick", (event) => {
    event.notification.close();
    event.waitUntil(onClick(event.notification));
  });
})(self);
