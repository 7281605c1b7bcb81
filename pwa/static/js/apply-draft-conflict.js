// A server draft saved meanwhile on another device: both are shown, field by field (本页 / 另一设备), and the
// resident chooses which answers stay. apply-drafts.js syncs nothing until then.
import { answerInputs, form, sameAnswers } from "./apply-form.js";
import { t } from "./i18n.js";

const box = form.querySelector("#draft-conflict");
const diff = form.querySelector("#draft-conflict-diff");

// How a value reads on the page: an option's text, 是/否 for a checkbox.
function shown(input, value) {
  if (input.type === "checkbox") return value === true || value === "true" ? t("是") : t("否");
  if (input.tagName === "SELECT") {
    const option = [...input.options].find((o) => o.value === value);
    return option && value ? option.textContent.trim() : t("（未填）");
  }
  return typeof value === "string" && value ? value : t("（未填）");
}

function labelOf(input) {
  const label = form.querySelector(`label[for="${CSS.escape(input.id)}"]`)?.cloneNode(true);
  label?.querySelector(".optional")?.remove(); // "optional" in the page's language: the name alone
  return (label?.textContent || input.name).trim();
}

function listDifferences(mine, theirs) {
  diff.textContent = "";
  for (const input of answerInputs()) {
    if (sameAnswers({ v: mine[input.name] }, { v: theirs[input.name] })) continue;
    const dt = document.createElement("dt");
    dt.textContent = labelOf(input);
    const here = document.createElement("dd");
    here.textContent = t("本页：%(answer)s", { answer: shown(input, mine[input.name]) });
    const there = document.createElement("dd");
    there.textContent = t("另一设备：%(answer)s", { answer: shown(input, theirs[input.name]) });
    diff.append(dt, here, there);
  }
  diff.hidden = !diff.childElementCount;
}

export function showConflict(mine, theirs) {
  listDifferences(mine, theirs);
  box.hidden = false;
}

// choose("mine" or "theirs"), each time the resident presses one of the two buttons.
export function onConflictChoice(choose) {
  box.addEventListener("click", (event) => {
    const choice = event.target.closest("[data-draft]")?.dataset.draft;
    if (!choice) return;
    box.hidden = true;
    choose(choice);
  });
}
