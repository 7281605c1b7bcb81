// The receipt's "打印回执" button: shown only when this script runs, so a page without JS offers no dead button
// (the browser's own print command still works, with the same print stylesheet).
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
