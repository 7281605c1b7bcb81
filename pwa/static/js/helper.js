// The shared tablet (帮办代办). Loaded on every page: the banner (partials/helper_banner.html) names the client the
// session works for, and nothing the browser kept for any other client may outlive a switch.
// - apply.js keeps a helper's local state under keys containing ":client-<delegation id>:"; any such key of a
//   client other than the current one (or of every client, when there is none) is removed on each page load;
// - choosing another client or ending (forms marked data-helper-switch) removes them all at once;
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

sweep(current);

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.matches("[data-confirm]") && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    return;
  }
  if (form.matches("[data-helper-switch]")) sweep(null);
});

window.addEventListener("pageshow", (event) => {
  if (event.persisted && (banner || document.querySelector("[data-client]"))) window.location.reload();
});
