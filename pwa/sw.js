/* The app's service worker, served at /sw.js (scope /, Cache-Control: no-cache) by app/shell: the server puts a
   first line before this file, `const SHELL = {version, precache, imports, offline, tags, default_language}`, where
   the version is a hash of everything precached (translations included) and of this code. Any change to the shell
   is therefore a new worker.

   - The app shell (layout CSS, JS modules, htmx, icons, the offline page and our scripts' texts in every
     language, the manifest) is precached per version.
   - Pages: network first; without a network, the copy kept of a page the server marked `Ywtb-Offline: keep`
     (a resident's own case, receipt and form pages), else the offline page in the language this device reads
     pages in (local-data.js: rememberLanguage), so an English reader offline reads English.
   - Static files and our scripts' texts (/i18n/) with ?v=<content hash>: cache first (their content never changes
     under that name); offline, an older ?v= (a page kept before a release) gets the version held now. Without ?v=
     (modules imported by modules): network first, revalidated, the cached copy when offline.
   - Everything else (the API, htmx fragments) goes to the network and is never cached: it holds personal data.
   - A new version waits until the page's "有新版本，点击更新" is pressed; old caches go when it takes over.
   - Background Sync sends the submissions queued offline (local-data.js), for the account signed in now only.
   Push notifications, their clicks and replaced subscriptions (pushsubscriptionchange) come from sw-push.js. */
importScripts(...SHELL.imports);

const SHELL_CACHE = `ywtb-shell-${SHELL.version}`;
const STATIC_CACHE = "ywtb-static";
const PAGES_CACHE = self.ywtbLocal.PAGES_CACHE;
const OFFLINE_PAGE = "/offline";

// --- the worker's own texts, in this device's language ----------------------------------------------------------

// What the pages last said (local-data.js), else the language cookie where the worker can read it, else Chinese.
async function deviceLanguage() {
  const said = await self.ywtbLocal.deviceLanguage().catch(() => null);
  if (said && SHELL.offline[said]) return said;
  const cookie = self.cookieStore ? await self.cookieStore.get("ywtb_lang").catch(() => null) : null;
  return cookie && SHELL.offline[cookie.value] ? cookie.value : SHELL.default_language;
}

async function offlinePage() {
  for (const language of [await deviceLanguage(), SHELL.default_language]) {
    const page = await caches.match(SHELL.offline[language], { cacheName: SHELL_CACHE, ignoreVary: true });
    if (page) return page;
  }
  return undefined;
}

// For sw-push.js: t() in this device's language (every language's /i18n/<language>.js is among SHELL.imports: a
// text missing there stays Chinese) and the tag its notifications are marked with. A push's own title and body
// come drawn by the server in the recipient's language: only the worker's fallbacks go through this.
self.ywtbTexts = async () => {
  const language = await deviceLanguage();
  const table = self.ywtbScriptTexts?.[language] || {};
  const t = (text) => (Object.hasOwn(table, text) && typeof table[text] === "string" ? table[text] : text);
  return { t, lang: SHELL.tags[language] };
};

self.addEventListener("install", (event) => {
  // cache: "reload": never fill the precache from the HTTP cache (an unversioned module may be stale there).
  const requests = SHELL.precache.map((url) => new Request(url, { cache: "reload", credentials: "same-origin" }));
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(requests)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        // Older shells go; so do the static files met at run time under older names.
        if ((name.startsWith("ywtb-shell-") && name !== SHELL_CACHE) || name === STATIC_CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  const message = event.data || {};
  if (message.type === "skip-waiting") self.skipWaiting();
  else if (message.type === "version" && event.ports[0]) event.ports[0].postMessage({ version: SHELL.version });
});

async function fromNetworkOrOffline(request) {
  try {
    const response = await fetch(request);
    if (response.ok && response.headers.get("Ywtb-Offline") === "keep") {
      const copy = response.clone();
      await caches.open(PAGES_CACHE).then((cache) => cache.put(pageKey(request.url), copy));
    }
    return response;
  } catch (error) {
    const kept = await caches.match(pageKey(request.url), { cacheName: PAGES_CACHE, ignoreVary: true });
    if (kept) return kept;
    const shell = await offlinePage();
    if (shell) return shell;
    throw error;
  }
}

// A page is kept under its address without the fragment.
function pageKey(url) {
  const u = new URL(url);
  u.hash = "";
  return u.href;
}

async function cacheFirst(request) {
  const cached = await caches.match(request, { ignoreVary: true });
  if (cached) return cached;
  let response;
  try {
    response = await fetch(request);
  } catch (error) {
    // Offline, asked for a version no cache holds: a page kept before a release links the files of that release
    // (?v= of their old content). The version held now of the same file stands in, rather than a page without its
    // styles or its texts in the reader's language.
    const current = await caches.match(request, { ignoreSearch: true, ignoreVary: true });
    if (current) return current;
    throw error;
  }
  if (response.ok) {
    const copy = response.clone();
    await caches.open(STATIC_CACHE).then((cache) => cache.put(request, copy));
  }
  return response;
}

async function networkFirst(request) {
  try {
    return await fetch(request, { cache: "no-cache" });
  } catch (error) {
    const cached = await caches.match(request, { ignoreVary: true });
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(fromNetworkOrOffline(request));
  } else if (url.pathname.startsWith("/static/") || url.pathname.startsWith("/i18n/")) {
    event.respondWith(url.searchParams.has("v") ? cacheFirst(request) : networkFirst(request));
  } else if (url.pathname === "/manifest.webmanifest" || url.pathname === OFFLINE_PAGE) {
    event.respondWith(networkFirst(request));
  }
  // Anything else (the API, fragments) is left to the network: nothing personal is cached by accident.
});

// --- submissions queued offline -----------------------------------------------------------------------------

async function csrfFromCookie() {
  const cookie = self.cookieStore ? await self.cookieStore.get("csrftoken") : null;
  return cookie ? cookie.value : "";
}

async function flushOutbox() {
  // Without the Cookie Store API the worker cannot send the CSRF token: the pages send when they next open.
  if (!self.cookieStore) return;
  const me = await fetch("/api/v1/me", { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!me.ok) return; // signed out: sent once the resident signs in again, never under someone else's account
  const account = await me.json();
  const outcome = await self.ywtbLocal.flush(account.local_key, csrfFromCookie);
  for (const client of await self.clients.matchAll({ type: "window" })) {
    client.postMessage({ type: "outbox-changed", ...outcome });
  }
  if (outcome.pending) throw new Error("some submissions are still waiting"); // the browser tries again later
}

self.addEventListener("sync", (event) => {
  if (event.tag === self.ywtbLocal.SYNC_TAG) event.waitUntil(flushOutbox());
});
