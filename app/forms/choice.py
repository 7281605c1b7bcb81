"""Choosing the items of a life event that apply (一件事，按需组合).

A life event lists its items as required (always filed) or optional (filed when ticked), each with a line saying
when it applies (`applies_when` in db/seed/items.json). Where the registers answer the question, an optional item
is pre-ticked with the reason shown: its `pretick` names a party of the event and a kind of document in that
party's library (生育津贴: a social security card in the mother's). Whose library that is, and whether it may be
read, is app.forms.parties' rule (the applicant's own, or the party the applicant says they are, or one who
allowed it): a box is never pre-ticked from a stranger's library, so the page tells nothing about anyone else.

The same `chosen_items` serves the page (GET ?items=…) and the JSON API (`items: [codes]`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from app.catalogue import service as catalogue
from app.catalogue.models import LifeEvent, ServiceItem
from app.catalogue.translations import optional
from app.errors import FieldErrors, NotFound
from app.forms import parties
from app.forms import service as forms
from app.forms.models import ItemChoice, MergedForm
from auth.pii import PiiCipher
from db.pool import DB
from i18n import _

ITEMS = "items"


async def life_event_or_item(db: DB, code: str, single: bool) -> LifeEvent:
    """A life event (`single` False) or an online item's one-item bundle (`single` True); NotFound for anything else,
    so /items/{code}/… never serves a life event nor /life-events/{code}/… a single item."""
    event = await catalogue.life_event(db, code)
    if (event.single_item is not None) != single:
        raise NotFound(catalogue.NO_SUCH_LIFE_EVENT)
    return event


def optional_codes(event: LifeEvent) -> set[str]:
    return {item.code for item in event.items if not item.required}


def chosen_items(event: LifeEvent, asked: Sequence[str] | None, preticked: Mapping[str, str]) -> list[str]:
    """The items a case or draft files, in the life event's order: the required ones always, then the optional ones
    asked for (`asked` None: the ones the registers pre-tick). An unknown or foreign code is a 400 on `items`."""
    codes = [item.code for item in event.items]
    if asked is None:
        wanted = set(preticked)
    else:
        unknown = [code for code in asked if code not in codes]
        if unknown:
            shown = "、".join(str(code)[:20] for code in unknown[:3])
            problem = _("“%(event)s”不包含事项 %(codes)s，请返回事项清单重新勾选")
            raise FieldErrors({ITEMS: problem % {"event": event.name, "codes": shown}})
        wanted = set(asked)
    return [item.code for item in event.items if item.required or item.code in wanted]


def choices(event: LifeEvent, chosen: Sequence[str], preticked: Mapping[str, str]) -> list[ItemChoice]:
    return [
        ItemChoice(
            code=item.code,
            name=item.name,
            department_name=item.department_name,
            required=item.required,
            chosen=item.code in chosen,
            applies_when=item.applies_when,
            pretick_reason=optional(preticked.get(item.code)),
        )
        for item in event.items
    ]


async def preticks(
    db: DB,
    cipher: PiiCipher,
    event: LifeEvent,
    form: MergedForm,
    items: Sequence[ServiceItem],
    person_id: int | None,
    answers: Mapping[str, Any],
    lookups: parties.Lookups | None = None,
) -> dict[str, str]:
    """By item code, why the registers say an optional item applies: its `pretick` document is in the library of the
    party it names, as app.forms.parties resolves that party from the answers so far (a draft's, or none: then only
    the applicant's own library is read)."""
    optional = optional_codes(event)
    rules = {item.code: item.pretick for item in items if item.code in optional and item.pretick is not None}
    if not rules or person_id is None:
        return {}
    lookups = lookups or parties.Lookups()
    applicant = await lookups.applicant(db, cipher, person_id)
    if applicant is None:
        return {}
    resolved = await parties.resolve(db, cipher, form, applicant, answers, lookups=lookups)
    may_be = {key.partition(".")[0] for key in forms.may_be_applicants_own(form)}
    # Whether the answers already say who the applicant is in the event (申请人是新生儿的: 父亲 …).
    said = any(
        answers.get(field.key) for field in form.fields() if any(option.applicant_is for option in field.options or [])
    )
    found: dict[str, str] = {}
    for code, rule in rules.items():
        party = resolved.get(rule.about)
        unanswered = not said and (party is None or not parties.typed_number(answers, rule.about))
        presumed = rule.applicant_sex == applicant.person.sex and rule.about in may_be
        if rule.about == parties.APPLICANT or (unanswered and presumed):
            library = applicant.certificates
        elif party is not None and party.state == "held":
            library = party.certificates
        else:
            continue  # nobody's library that this applicant may read: never a hint about someone else's
        if any(certificate.kind == rule.holds for certificate in library):
            found[code] = rule.reason
    return found


class ChosenForm(msgspec.Struct, frozen=True, kw_only=True):
    """A life event's form as chosen: the event, the merged form of the chosen items, those items, and every item's
    choice (with the registers' reasons). The event, items and choices are in the reader's language, the form in
    Chinese as cases record it (app.forms.presenter draws it in theirs)."""

    event: LifeEvent
    event_name: str  # the event's name in Chinese, as a case and a consent request record it
    form: MergedForm
    items: list[ServiceItem]
    chosen: list[str]
    choices: list[ItemChoice]


async def chosen_form(
    db: DB,
    cipher: PiiCipher,
    code: str,
    asked: Sequence[str] | None,
    person_id: int | None,
    answers: Mapping[str, Any] | None = None,
    lookups: parties.Lookups | None = None,
) -> ChosenForm:
    """The form for the items asked for (`asked` None: the required ones and those the registers pre-tick); NotFound
    for a code that is neither a life event nor an online item's bundle, FieldErrors for a foreign item. `lookups`:
    the filing's reads of the registers, for the caller to resolve the chosen form's parties with them again."""
    record = await catalogue.life_event_of_record(db, code)
    event = catalogue.in_language(record)
    full, all_items = await forms.merged_form_of(db, code)
    preticked = await preticks(db, cipher, event, full, all_items, person_id, answers or {}, lookups)
    chosen = chosen_items(event, asked, preticked)
    form, items = (full, all_items) if len(chosen) == len(all_items) else await forms.merged_form_of(db, code, chosen)
    return ChosenForm(
        event=event,
        event_name=record.name,
        form=form,
        items=[catalogue.item_in_language(item) for item in items],
        chosen=chosen,
        choices=choices(event, chosen, preticked),
    )
