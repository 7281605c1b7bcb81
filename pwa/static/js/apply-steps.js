// The merged form one section at a time: 上一步/下一步, "第k步，共n步：<title>" announced (aria-live), the focus on
// the section shown. Without JavaScript every section shows, one long form.
import { form } from "./apply-form.js";

export function setupSteps() {
  const steps = [...form.querySelectorAll(".apply-step")];
  const progress = form.querySelector("#step-progress");
  const prev = form.querySelector("[data-step=prev]");
  const next = form.querySelector("[data-step=next]");
  const submit = form.querySelector("#apply-submit");
  const last = steps.length - 1;
  let current = 0;

  function show(index, { focus = false } = {}) {
    current = Math.min(Math.max(index, 0), last);
    steps.forEach((step, i) => { step.hidden = i !== current; });
    const title = steps[current].querySelector("legend").textContent.trim();
    progress.textContent = `第${current + 1}步，共${steps.length}步：${title}`;
    prev.hidden = current === 0;
    next.hidden = current === last;
    submit.hidden = current !== last;
    if (focus) {
      form.scrollIntoView({ block: "start" });
      steps[current].focus({ preventScroll: true });
    }
  }

  const stepOf = (element) => steps.findIndex((step) => step.contains(element));
  prev.addEventListener("click", () => show(current - 1, { focus: true }));
  next.addEventListener("click", () => show(current + 1, { focus: true }));
  form.classList.add("stepped");
  progress.hidden = false;
  // After a server-side re-render with errors, open where the first one is.
  const invalid = form.querySelector(".apply-step [aria-invalid=true]");
  show(invalid ? stepOf(invalid) : 0);

  return {
    isLast: () => current === last,
    next: () => show(current + 1, { focus: true }),
    reveal(element) {
      const index = stepOf(element);
      if (index >= 0 && index !== current) show(index);
    },
  };
}
