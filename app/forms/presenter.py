"""The merged form as a resident sees it: prefilled for them, with its materials sorted into held / to upload /
issued within the case. The JSON API (`FormAnswer`) and the HTML page (`ApplyView`) are built from the same parts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from app.catalogue.models import LifeEvent
from app.catalogue.translations import optional, text
from app.forms import parties, service
from app.forms.answers import FieldAnswer, FormAnswer, MaterialsAnswer, SectionAnswer
from app.forms.models import FormField, HeldMaterial, MaterialNeed, MergedForm, Option, Prefill
from auth.pii import PiiCipher
from db.pool import DB

# A case takes these from the account, whatever the page sends (app.cases.service), so the page never lets
# the resident edit them: an edit would be silently replaced.
ACCOUNT_SOURCES = frozenset({"profile.name", "profile.id_number"})
_Need = TypeVar("_Need", bound=MaterialNeed)


async def personal_sources(
    db: DB,
    cipher: PiiCipher,
    person_id: int | None,
    form: MergedForm,
    data: Mapping[str, Any] | None = None,
    company: parties.Company | None = None,
    lookups: parties.Lookups | None = None,
) -> tuple[dict[str, Prefill], dict[str, parties.Party]]:
    """Prefill of the person the form is for (the caller, or a helper's client), and every party the materials are
    about, resolved by that party's own number in `data` (what was typed so far). The certificates' contents are
    decrypted here, on the server, for the prefill of this person's own form. Filed for an organisation (`company`,
    already checked by app.filing), its fields come from the legal-person register and its materials from its
    library. `lookups`: what the page's choice of items read of the registers already."""
    lookups = lookups or parties.Lookups()
    applicant = await lookups.applicant(db, cipher, person_id)
    resolved = await parties.resolve(db, cipher, form, applicant, data or {}, company, lookups)
    if applicant is None:
        return {}, resolved
    person = applicant.person
    # The form shows the applicant's own number masked; the case takes it from the account, not the page.
    values = service.prefill(form, person.name, person.phone, person.id_number_masked, applicant.certificates)
    if company is not None:
        values |= parties.company_prefill(form, company)
    return values, resolved


def form_answer(form: MergedForm, values: dict[str, Prefill], resolved: Mapping[str, parties.Party]) -> FormAnswer:
    """The form as the reader reads it: its texts in their language (the merged form itself is kept in Chinese,
    app.forms.service), its keys, checksum and values as they are."""
    held, to_upload = parties.sort_materials(form, resolved)
    return FormAnswer(
        life_event=form.life_event,
        checksum=form.checksum,
        sections=[
            SectionAnswer(
                key=section.key,
                title=text(section.title),
                fields=[
                    FieldAnswer(
                        key=f.key,
                        label=text(f.label),
                        type=f.type,
                        required=f.required,
                        prefill=values.get(f.key),
                        options=_options(f),
                        help=optional(f.help),
                        max_length=f.max_length,
                    )
                    for f in section.fields
                ],
            )
            for section in form.sections
        ],
        materials=MaterialsAnswer(
            held=[_held(parties.held_material(need, party, cert), party) for need, party, cert in held],
            to_upload=[_need(m) for m in to_upload],
            issued_in_case=[_need(m) for m in form.materials if m.issued_by_item is not None],
        ),
    )


def _options(field: FormField) -> list[Option] | None:
    if field.options is None:
        return None
    return [msgspec.structs.replace(option, label=text(option.label)) for option in field.options]


def _need(need: _Need) -> _Need:
    return msgspec.structs.replace(need, name=text(need.name), item_name=text(need.item_name), note=optional(need.note))


def _held(material: HeldMaterial, party: parties.Party) -> HeldMaterial:
    """The held material in the reader's language: where it comes from as well (the case records the Chinese)."""
    return msgspec.structs.replace(
        material,
        source=party.source_shown or material.source,
        name=text(material.name),
        certificate_title=text(material.certificate_title),
        issued_by=text(material.issued_by),
    )


def account_fields(form: MergedForm) -> frozenset[str]:
    return frozenset(f.key for f in form.fields() if f.prefill_source in ACCOUNT_SOURCES)


def dom_id(key: str) -> str:
    """`child.name` → `child-name`; its error slot is `child-name-error` (what pwa/static/js/forms.js looks for)."""
    return key.replace(".", "-")


def material_key(material_code: str) -> str:
    """The input name and error key of a material to upload (`materials.CZ-GA-001:hukou`)."""
    return f"materials.{material_code}"


class UploadedMaterial(msgspec.Struct, frozen=True, kw_only=True):
    token: str
    filename: str


class ApplyView(msgspec.Struct, frozen=True, kw_only=True):
    """Everything /life-events/{code}/apply renders: the form, the values to show, and what went wrong."""

    event: LifeEvent
    form: FormAnswer
    values: dict[str, str]  # what each input shows: prefill, or what the resident posted
    read_only: frozenset[str]
    uploaded: dict[str, UploadedMaterial]  # by material code
    errors: dict[str, str]  # in the order of the form
    targets: frozenset[str]  # error keys with an input on the page to link to
    issuers: dict[str, str]  # item code → item name, for materials issued within the case
    idempotency_key: str
    today: str
    steps: int
    # Fields that are the applicant's own when the applicant says so (申请人是新生儿的：母亲) → the applicant's field;
    # `same_as` holds those the posted answers made so (the page shows them read-only, from the applicant).
    may_be_own: dict[str, str]
    same_as: dict[str, str]
    # Whose each material is, as the form names the party (mother → 母亲), for materials that are not the applicant's.
    party_labels: dict[str, str]


def apply_view(
    event: LifeEvent,
    form: MergedForm,
    item_names: Mapping[str, str],
    prefills: dict[str, Prefill],
    resolved: Mapping[str, parties.Party],
    *,
    idempotency_key: str,
    today: str,
    posted: Mapping[str, str] | None = None,
    uploaded: Mapping[str, UploadedMaterial] | None = None,
    errors: Mapping[str, str] | None = None,
) -> ApplyView:
    answer = form_answer(form, prefills, resolved)
    # The applicant's own identity from the account; an organisation's fields from the register (法人办事): the case
    # takes both from there, whatever the page sends.
    read_only = account_fields(form) | {key for key, p in prefills.items() if p.about == parties.COMPANY}
    values = {key: prefill.value for key, prefill in prefills.items()}
    if posted is not None:
        values.update({f.key: posted.get(f.key, "") for f in form.fields() if f.key not in read_only})
    same_as = service.same_as_applicant(form, posted or {})
    values.update({target: values.get(source, "") for target, source in same_as.items()})
    targets = [f.key for f in form.fields()] + [material_key(m.code) for m in answer.materials.to_upload]
    order = {key: position for position, key in enumerate(targets)}
    ordered = dict(sorted((errors or {}).items(), key=lambda item: order.get(item[0], len(order))))
    return ApplyView(
        event=event,
        form=answer,
        values=values,
        read_only=read_only,
        uploaded=dict(uploaded or {}),
        errors=ordered,
        targets=frozenset(targets),
        issuers={code: text(name) for code, name in item_names.items()},
        idempotency_key=idempotency_key,
        today=today,
        steps=len(answer.sections) + 1,  # the materials are the last step
        may_be_own=service.may_be_applicants_own(form),
        same_as=same_as,
        party_labels={
            m.about: parties.shown_label(parties.label_of(form, m.about))
            for m in form.materials
            if m.about != parties.APPLICANT
        },
    )
