// The shared tablet (帮办代办). Loaded on every page: the banner (partials/helper_banner.html) names the client the
// session works for, and nothing the browser kept for any other client may outlive a switch.
// - apply.js keeps a helper's local state under keys containing ":client-<delegation id>:" and its drafts and queued
//   submissions in IndexedDB under the subject "client-<delegation id>"; any of a client other than the current one
//   (or of every client, when there is none) is removed on each page load;
// - choosing another client or ending (forms marked data-helper-switch) removes them all before the form is sent;
// - a page restored from the back/forward cache is reloaded, so it shows the session's client, not an old one;
// - forms marked data-confirm ask first (revoking a delegation).

const banner = document.querySelector("#helper-banner");
const current = banner?.dataset.client || "";
const CLIENT_KEY = /:client-([^:]+):/;

function sweep(keep) {
  for (const storage of [window.sessionStorage, window.localStorage]) {
    try {
      for (const key of Object.keys(storage)) {
        const match = key.match(CLIENT_KEY);
        if (match && match[1] !== keep) storage.removeItem(key);
      }
    } catch { /* storage refused (private mode): nothing was kept there either */ }
  }
}

// The helper's drafts and queued submissions on this device (local-data.js), for clients other than `keep`.
async function sweepDevice(keep) {
  const user = document.body.dataset.localKey;
  if (!self.ywtbLocal || !user || document.body.dataset.helper !== "true") return;
  try {
    await self.ywtbLocal.wipe(user, keep ? `client-${keep}` : "");
  } catch { /* IndexedDB unavailable: nothing was kept there */ }
}

sweep(current);
sweepDevice(current);

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (form.matches("[data-confirm]") && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    return;
  }
  if (!form.matches("[data-helper-switch]") || form.dataset.swept) return;
  event.preventDefault();
  sweep(null);
  await sweepDevice(null);
  form.dataset.swept = "true";
  form.submit();
});

window.addEventListener("pageshow", (event) => {
  if (event.persisted && (banner || document.querySelector("[data-client]"))) window.location.reload();
});
