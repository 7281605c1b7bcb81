"""A case's timeline step titles, and how a stored one is read in the reader's language.

A title is stored as it was written, in Chinese (the text of record, also what the JSON API answers): a whole
marked text (「综合窗口已核查申请信息，继续办理」), or one of the templates below filled in
(「申请已提交，共5个事项，已分送各部门」, 「出生医学证明：已受理」). Every title with parts to fill is written from one
of these templates — the one place they are listed — so a stored title can be read back without a migration or a
second column: each template is compiled once into a pattern (each %(name)s a group), and a title that matches is
drawn as the template's translation filled with the same parts, each part in turn in the reader's language where it
is a text we translate (an item's or a certificate's name: the catalogue; a step's name: the messages) and as written
where not (a count, a person's name).

Here, below app.cases (which writes titles through app.cases.timeline) and beside the inbox's notice list, which reads
them too.
"""

from __future__ import annotations

import re

from app.catalogue import translations as catalogue
from i18n import DEFAULT_LANGUAGE, N_, _, current_language

# The first step of a case, by who filed it and where (app.cases.service): no names, only the count of its services.
SUBMITTED = N_("申请已提交，共%(count)s个事项，已分送各部门")
SUBMITTED_AT_WINDOW = N_("综合窗口已收件（已当面核验身份证和纸质材料），共%(count)s个事项，已分送各部门")
SUBMITTED_AT_WINDOW_FOR_ORG = N_(
    "综合窗口已收件（已当面核验经办人身份证、企业授权和纸质材料），共%(count)s个事项，已分送各部门"
)
SUBMITTED_BY_HELPER = N_("帮办员代为提交申请，共%(count)s个事项，已分送各部门")
SUBMITTED_BY_PARENT = N_("监护人为未成年子女提交申请，共%(count)s个事项，已分送各部门")
SUBMITTED_BY_AGENT = N_("企业经办人提交申请，共%(count)s个事项，已分送各部门")
# 办结 asks for a rating (app.cases.workflow): of the task, and of the whole case when it was the last one.
RATE_TASK_AND_CASE = N_("%(item_name)s已办结，请评价本次办理；办件已全部办结，也请评价整体办理")
RATE_TASK = N_("%(item_name)s已办结，请评价本次办理")
URGED = N_("%(item_name)s：已督办")
CORRECTION_APPLIED = N_("%(name)s：已申请")
CORRECTED = N_("%(title)s已更正：已换发新证照，原证照作废")
# A new case waiting for the people whose documents it uses (app.cases.consent_flow).
AWAITING_CONSENT = N_("待授权：等待%(labels)s同意使用其证照")
# 征求意见 between departments (app.consultations): steps only staff read, on the console's history of the task.
CONSULTATION_ASKED = N_("%(item_name)s：征求%(department_name)s意见（%(isoformat)s前答复）")
CONSULTATION_ANSWERED = N_("%(item_name)s：%(department_name)s已答复征求意见")
# A notice no channel delivered, then given by a clerk (app.console.undelivered), with the title it carried.
TOLD_BY_PHONE = N_("已电话告知申请人（%(notice)s）")
TOLD_ON_PAPER = N_("已向申请人送达纸质通知（%(notice)s）")
# The workflow's convention for a task's step, 「subject：step」, with how its result reaches the resident when chosen.
STEP_WITH_DELIVERY = N_("%(subject)s：%(step)s（%(delivery)s）")
STEP = N_("%(subject)s：%(step)s")

# Tried in this order: a template before any more general one its titles would also match (the conventions last).
TEMPLATES = (
    SUBMITTED,
    SUBMITTED_AT_WINDOW,
    SUBMITTED_AT_WINDOW_FOR_ORG,
    SUBMITTED_BY_HELPER,
    SUBMITTED_BY_PARENT,
    SUBMITTED_BY_AGENT,
    RATE_TASK_AND_CASE,
    RATE_TASK,
    URGED,
    CORRECTION_APPLIED,
    CORRECTED,
    AWAITING_CONSENT,
    CONSULTATION_ASKED,
    CONSULTATION_ANSWERED,
    TOLD_BY_PHONE,
    TOLD_ON_PAPER,
    STEP_WITH_DELIVERY,
    STEP,
)

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _pattern(template: str) -> re.Pattern[str]:
    """The template as a pattern matching a whole title written from it: each %(name)s a group, the rest as written."""
    parts: list[str] = []
    at = 0
    for placeholder in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[at : placeholder.start()]))
        parts.append(f"(?P<{placeholder.group(1)}>.+?)")
        at = placeholder.end()
    parts.append(re.escape(template[at:]))
    return re.compile("".join(parts), re.DOTALL)


_PATTERNS = tuple((template, _pattern(template)) for template in TEMPLATES)


def part(value: object) -> str:
    """One filled-in part in the current language: a catalogue name (an item, a certificate), else a marked text (a
    step's name, a way of delivery), else a title within the title (a notice's, given by hand), else as written (a
    count, a person's name)."""
    text = str(value)
    if not text:
        return text  # (the empty message id is the catalogue's header)
    named = catalogue.text(text)
    if named != text:
        return named
    marked = _(text)
    return marked if marked != text else read(text)  # (each part is shorter than its title: the reading ends)


def read(title: str) -> str:
    """A stored title in the current language; as written when no translation reads it (a title written before its
    template was, or a template not yet translated)."""
    if current_language() == DEFAULT_LANGUAGE:
        return title
    whole = _(title)
    if whole != title:
        return whole
    for template, pattern in _PATTERNS:
        found = pattern.fullmatch(title)
        if found is None:
            continue
        translated = _(template)
        if translated == template:
            return title
        return translated % {name: part(value) for name, value in found.groupdict().items()}
    return title
