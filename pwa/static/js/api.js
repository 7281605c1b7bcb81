// How our pages call the server: same-origin, the CSRF token on every request that changes something, and an
// answer that never throws for an HTTP error: {ok, status, data}, data null when the body is not JSON. A request
// that gets no answer at all (no connection) still throws: each caller says so in its own words.
// The service worker has no document.cookie: sw.js reads the token with the Cookie Store API instead, and hands
// it to local-data.js's flush as the pages hand csrfToken.

// Litestar's double-submit token: read at each request, as the cookie may have been renewed since the page loaded.
export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

const SAFE_METHODS = new Set(["GET", "HEAD"]);

async function send(method, path, headers, body) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: {
      Accept: "application/json",
      ...(SAFE_METHODS.has(method) ? {} : { "X-CSRFToken": csrfToken() }),
      ...headers,
    },
    body,
  });
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  return { ok: response.ok, status: response.status, data };
}

// body: sent as JSON unless undefined. headers: any more (the merged form names the person filed for in one).
export function sendJSON(method, path, body, headers = {}) {
  if (body === undefined) return send(method, path, headers);
  return send(method, path, { "Content-Type": "application/json", ...headers }, JSON.stringify(body));
}

export const getJSON = (path, headers) => sendJSON("GET", path, undefined, headers);

export const postJSON = (path, body) => sendJSON("POST", path, body ?? {});

// A multipart form (a file): the browser writes its Content-Type, boundary included.
export const postForm = (path, formData) => send("POST", path, {}, formData);

// Whether the server answers now: the browser's navigator.onLine is only a guess (a flaky connection, a captive
// portal), so what waits on a connection asks the server itself.
export async function reachable() {
  try { return (await fetch("/healthz", { cache: "no-store" })).ok; } catch { return false; }
}
