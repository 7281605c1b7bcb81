// Where a page may send the browser after signing in or up: a path on this site, never another host. The server
// keeps only such a path already (app/web/redirects.py: local_path); checked again here, where it is used.
export function localPath(raw, fallback = "/") {
  if (!raw || !raw.startsWith("/") || raw.startsWith("//") || /[\\\u0000-\u001f\u007f]/.test(raw)) return fallback;
  const target = new URL(raw, window.location.origin);
  return target.origin === window.location.origin ? target.pathname + target.search + target.hash : fallback;
}

// The apply page of a form kept on this device under `key` (apply-form.js lifeEvent: a life event's code, or
// "item:" and a single item's). The address the service worker kept it under, without the items chosen: online the
// page follows the server draft's choice, offline it is the page as it was kept.
export function applyPathOf(key) {
  if (key.startsWith("item:")) return `/items/${encodeURIComponent(key.slice(5))}/apply`;
  return `/life-events/${encodeURIComponent(key)}/apply`;
}
