/* The app's service worker, served at /sw.js (scope /, Cache-Control: no-cache).
   Push notifications and their clicks come from sw-push.js; caching and the offline page belong here
   too, as the PWA grows. Pages register it with updateViaCache: "none", so a change to an imported
   script is picked up as soon as this file is checked. */
importScripts("/static/js/sw-push.js");

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
