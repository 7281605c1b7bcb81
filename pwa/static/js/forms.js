// Per-field errors from a 400 answer: an error summary at the top linking to each field, and the
// message beside the field itself (GOV.UK pattern), announced to screen readers.

export function clearErrors(form) {
  form.querySelectorAll(".field-error").forEach((el) => { el.textContent = ""; el.hidden = true; });
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  const summary = form.querySelector(".error-summary");
  if (summary) { summary.hidden = true; summary.querySelector("ul").textContent = ""; }
}

export function showErrors(form, errors, fallback) {
  clearErrors(form);
  const summary = form.querySelector(".error-summary");
  const list = summary?.querySelector("ul");
  const entries = Object.entries(errors || {});
  if (!entries.length && fallback) entries.push(["", fallback]);
  for (const [name, message] of entries) {
    const input = name ? form.querySelector(`[name="${CSS.escape(name)}"]`) : null;
    const slot = name ? form.querySelector(`#${CSS.escape(name.replace(/\./g, "-"))}-error`) : null;
    if (input) input.setAttribute("aria-invalid", "true");
    if (slot) { slot.textContent = message; slot.hidden = false; }
    if (list) {
      const item = document.createElement("li");
      if (input) {
        const link = document.createElement("a");
        link.href = `#${input.id}`;
        link.textContent = message;
        item.append(link);
      } else {
        item.textContent = message;
      }
      list.append(item);
    }
  }
  if (summary) { summary.hidden = false; summary.focus(); }
}

// One field's own error beside it (its slot is #<id>-error, as the server draws it); "" clears it.
export function markInvalid(input, message) {
  const slot = document.getElementById(`${input.id}-error`);
  if (slot) { slot.textContent = message || ""; slot.hidden = !message; }
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

export function setBusy(button, busy, busyText) {
  if (!button.dataset.idleText) button.dataset.idleText = button.textContent;
  button.disabled = busy;
  button.textContent = busy ? busyText : button.dataset.idleText;
}
