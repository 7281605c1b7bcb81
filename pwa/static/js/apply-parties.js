// Who the applicant is in the event (申请人是新生儿的：母亲 / 父亲, configured as an option's `applicant_is`): that
// party's fields are the applicant's own — shown from the applicant's answers, read-only, marked 与申请人相同, and
// not sent (the server takes them from the applicant: app.forms.service.same_as_applicant). Choosing again gives
// back what was typed there before.
import { markInvalid } from "./forms.js";
import { form } from "./apply-form.js";

export function setupParties() {
  const targets = [...form.querySelectorAll("[data-same-as]")];
  const choices = [...form.querySelectorAll("select")].filter((s) => s.querySelector("option[data-applicant-is]"));
  if (!targets.length || !choices.length) return;
  const typed = new Map(); // what the person had typed in a field before it became the applicant's own
  const source = (input) => form.elements.namedItem(input.dataset.sameAs);
  const note = (input) => document.getElementById(`${input.id}-same`);
  const hint = (input) => document.getElementById(`${input.id}-hint`);

  function describe(input, own) {
    const ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter((id) => id && id !== `${input.id}-same`);
    if (own) ids.unshift(`${input.id}-same`);
    input.setAttribute("aria-describedby", ids.join(" "));
  }

  function apply() {
    const parties = new Set(choices.map((s) => s.selectedOptions[0]?.dataset.applicantIs).filter(Boolean));
    for (const input of targets) {
      const own = parties.has(input.name.split(".")[0]);
      const was = input.hasAttribute("data-bound");
      if (own) {
        if (!was) typed.set(input, input.value);
        input.value = source(input)?.value || "";
        markInvalid(input, "");
      } else if (was) {
        input.value = typed.get(input) ?? "";
      }
      input.toggleAttribute("data-bound", own);
      input.readOnly = own;
      if (note(input)) note(input).hidden = !own;
      if (hint(input)) hint(input).hidden = own;
      describe(input, own);
    }
  }

  for (const choice of choices) choice.addEventListener("change", apply);
  for (const input of new Set(targets.map(source).filter(Boolean))) input.addEventListener("input", apply);
  form.addEventListener("ywtb:filled", apply);
  apply();
}
