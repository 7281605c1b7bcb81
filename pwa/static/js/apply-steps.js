// The merged form one section at a time, as a resident fills it on a phone: 上一步/下一步, "第k步，共n步：<title>"
// announced (aria-live), the focus on the section shown. 下一步 first checks that step's fields with the server's own
// rules (POST /life-events/{code}/check-step, the rules of a submission): a problem keeps the form on its step,
// lists that step's problems in the error summary and moves the focus there. Trained staff (data-layout="one-page":
// a clerk at the window, a helper with a client) get every section on one page instead, the summary kept in view.
// Without JavaScript every section shows, one long form.
import { postJSON } from "./api.js";
import { markInvalid, rebuildSummary, setBusy, showErrors } from "./forms.js";
import { answers, chosenItems, code, form } from "./apply-form.js";
import { t } from "./i18n.js";

export function setupSteps() {
  const steps = [...form.querySelectorAll(".apply-step")];
  const progress = form.querySelector("#step-progress");
  const prev = form.querySelector("[data-step=prev]");
  const next = form.querySelector("[data-step=next]");
  const submit = form.querySelector("#apply-submit");
  const last = steps.length - 1;
  let current = 0;

  if (form.dataset.layout === "one-page") {
    return { isLast: () => true, next: async () => {}, reveal() {} };
  }

  function show(index, { focus = false } = {}) {
    current = Math.min(Math.max(index, 0), last);
    steps.forEach((step, i) => { step.hidden = i !== current; });
    const title = steps[current].querySelector("legend").textContent.trim();
    progress.textContent = t("第%(step)s步，共%(steps)s步：%(title)s", { step: current + 1, steps: steps.length, title });
    prev.hidden = current === 0;
    next.hidden = current === last;
    submit.hidden = current !== last;
    rebuildSummary(form);
    if (focus) {
      form.scrollIntoView({ block: "start" });
      steps[current].focus({ preventScroll: true });
    }
  }

  const fieldsOf = (step) => [...step.querySelectorAll("[data-field]:not([data-bound])")];

  // That step's problems by field name; none when the server cannot be asked (offline, signed out meanwhile): the
  // answers are kept, and the submission checks everything again.
  async function problemsOf(step) {
    const fields = fieldsOf(step).map((input) => input.name);
    if (!fields.length) return {};
    try {
      const query = chosenItems.map((chosen) => `items=${encodeURIComponent(chosen)}`).join("&");
      const path = `/life-events/${encodeURIComponent(code)}/check-step${query ? `?${query}` : ""}`;
      const result = await postJSON(path, { fields, data: answers() });
      return result.ok ? result.data?.errors || {} : {};
    } catch {
      return {};
    }
  }

  let checking = false;
  async function forward() {
    if (checking || current === last) return;
    checking = true;
    setBusy(next, true, t("正在检查…"));
    const step = steps[current];
    try {
      const problems = await problemsOf(step);
      if (Object.keys(problems).length) {
        showErrors(form, problems);
        return;
      }
      // What this step showed from an earlier check is no longer true.
      for (const input of fieldsOf(step)) markInvalid(input, "");
      show(current + 1, { focus: true });
    } finally {
      checking = false;
      setBusy(next, false);
    }
  }

  const stepOf = (element) => steps.findIndex((step) => step.contains(element));
  prev.addEventListener("click", () => show(current - 1, { focus: true }));
  next.addEventListener("click", () => { forward(); });
  form.classList.add("stepped");
  progress.hidden = false;
  // After a server-side re-render with errors, open where the first one is.
  const invalid = form.querySelector(".apply-step [aria-invalid=true]");
  show(invalid ? stepOf(invalid) : 0);

  return {
    isLast: () => current === last,
    next: forward,
    reveal(element) {
      const index = stepOf(element);
      if (index >= 0 && index !== current) show(index);
    },
  };
}
