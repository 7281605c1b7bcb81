"""Whose each material is, and whether a document held for that person may stand for it (issue 15).

Each material names the party of the event it is about (`about` in db/seed/items.json: applicant, mother, father,
deceased, child, spouse, company, legal_rep …). The applicant is the person filing (the account, or the helper's client,
or the resident at the window); every other party is the person whose number is typed in `<party>.id_number` (the
legal representative's in `company.legal_rep_id_number`). A document may be used without an upload only when it is:
- the applicant's own (a party the applicant says they are — 申请人是新生儿的：母亲 — is the applicant);
- a deceased person's (the `deceased` party) whose relative the applicant is: the same 户口簿, parent and child on the
  register, or a 结婚证 / 出生医学证明 in the applicant's library naming them (公民身后);
- another living person's who allowed it: their standing permission to the spouse their 结婚证 names, or their
  answer to a consent request sent when the case is filed (until then `awaiting_consent`);
- for a case filed for an organisation (法人办事): the organisation's own (`company`), and its legal representative's
  by the register (`legal_rep`: the legal representative filing themself, or the 经办人 they authorised to act for the
  organisation), whatever number the page sends.

What the resident sees never depends on whether somebody else's number is on the register or has an account: a
typed number of a living person reads `awaiting_consent` whoever it belongs to, and a deceased's reads `held` only for
a relative. Nobody else's number is shown unless they allowed its use.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Literal

import msgspec

from app.catalogue.translations import text
from app.certificates import service as certificates
from app.certificates.models import ECertificate
from app.consents import service as consents
from app.forms import service
from app.forms.models import HeldMaterial, MaterialNeed, MaterialToUpload, MergedForm, Prefill
from app.organisations import service as organisations
from app.organisations.models import Organisation
from app.people import service as people
from app.people.identity import id_number_problem, normalize_id_number
from app.people.models import Person
from auth.pii import PiiCipher
from db.pool import DB
from i18n import N_, _

APPLICANT = service.APPLICANT
DECEASED = "deceased"
COMPANY = "company"
LEGAL_REP = "legal_rep"
# Where held documents come from, as the case records it (in Chinese; drawn per reader through Party.source_shown).
COMPANY_OWN = N_("企业电子证照")
LEGAL_REP_OWN = N_("法定代表人的电子证照（法人库登记）")
REGISTER = N_("法人库")
OWN = N_("本人电子证照")
# Parties without an ID number field on any form (the newborn has none yet).
_LABELS = {
    "applicant": N_("申请人"),
    "child": N_("新生儿"),
    "spouse": N_("配偶"),
    "company": N_("企业"),
    "legal_rep": N_("法定代表人"),
}
# A party's number field is labelled "<party>公民身份号码" in the form's configuration: its name comes from there.
_NUMBER_LABEL = "公民身份号码"  # i18n: data (matched against the configuration's Chinese labels, never shown)
# A party whose number is typed in a field not named `<party>.id_number`.
_NUMBER_FIELDS = {LEGAL_REP: "company.legal_rep_id_number"}

# The source of a deceased relative's and a consenting spouse's documents: recorded in Chinese, drawn translated.
_DECEASED_SOURCE = N_("%(label)s的电子证照（%(link)s）")
_SPOUSE_SOURCE = N_("%(label)s已授权（配偶）")

State = Literal["held", "awaiting_consent", "upload"]


class Applicant(msgspec.Struct, frozen=True, kw_only=True):
    """The person a case is filed for, with their full number and library (contents decrypted), server-side only."""

    person: Person
    id_number: str
    certificates: list[ECertificate]


class Party(msgspec.Struct, frozen=True, kw_only=True):
    """One party of the event as resolved now: whose library may stand for their materials, and why not if none."""

    about: str
    label: str  # 母亲
    state: State
    source: str = ""  # where held documents come from, as the case records it: 本人电子证照, 配偶已授权 …
    source_shown: str = ""  # the same in the reader's language, for the page being drawn
    why: str | None = None  # why the resident has to upload (or wait), in words that say what to do
    show_number: bool = False  # the applicant's own, or allowed by the holder
    person_id: int | None = None
    number: str | None = None  # the typed number, normalised: for the consent request, never shown
    link: str | None = None  # the kinship that lets a relative use a deceased person's documents (audited)
    certificates: list[ECertificate] = msgspec.field(default_factory=list[ECertificate])


async def applicant_of(db: DB, cipher: PiiCipher, person_id: int | None) -> Applicant | None:
    if person_id is None:
        return None
    found = await people.person_with_identity(db, cipher, person_id)
    if found is None:
        return None
    person, identity = found
    held = await certificates.held_with_contents(db, cipher, person_id)
    return Applicant(person=person, id_number=identity.id_number, certificates=held)


class Lookups:
    """What resolving a filing's parties reads from the registers, each read once for the filing: the applicant with
    their library, the people the typed numbers name (all of them in one read), which of them allow their spouse their
    documents for the event (one read), and the libraries used. A submission resolves the parties twice in its
    transaction (for the items the registers pre-tick, then for the chosen form's materials), and nothing between the
    two changes what they read. Made for one request and dropped with it: it holds decrypted documents."""

    def __init__(self) -> None:
        self._applicants: dict[int, Applicant | None] = {}
        self._people: dict[str, Person | None] = {}
        self._preauthorised: dict[tuple[int, str], bool] = {}
        self._libraries: dict[tuple[int, bool], list[ECertificate]] = {}

    async def applicant(
        self, db: DB, cipher: PiiCipher, person_id: int | None, *, found: tuple[Person, str] | None = None
    ) -> Applicant | None:
        """`found`: the applicant's register row and number as the caller has just read them by that number (a
        walk-in, a helper's client, a minor child: app.filing), so that only their library is read."""
        if person_id is None:
            return None
        if person_id not in self._applicants:
            if found is not None and found[0].id == person_id:
                person, number = found
                held = await certificates.held_with_contents(db, cipher, person_id)
                self._applicants[person_id] = Applicant(person=person, id_number=number, certificates=held)
            else:
                self._applicants[person_id] = await applicant_of(db, cipher, person_id)
        return self._applicants[person_id]

    async def people(self, db: DB, cipher: PiiCipher, numbers: Collection[str]) -> dict[str, Person | None]:
        """By (normalised) number, the person the register holds under it, or None."""
        missing = [n for n in numbers if n not in self._people]
        if missing:
            found = await people.people_by_numbers(db, cipher, missing)
            self._people.update({n: found.get(n) for n in missing})
        return {n: self._people[n] for n in numbers}

    async def preauthorised(self, db: DB, person_ids: Collection[int], life_event: str) -> set[int]:
        """Which of these people allow their spouse their documents for the event (0: a number nobody holds)."""
        missing = [i for i in person_ids if (i, life_event) not in self._preauthorised]
        if missing:
            allowed = await consents.preauthorised_among(db, missing, life_event)
            self._preauthorised.update({(i, life_event): i in allowed for i in missing})
        return {i for i in person_ids if self._preauthorised[(i, life_event)]}

    async def library(self, db: DB, cipher: PiiCipher, person_id: int, *, contents: bool) -> list[ECertificate]:
        """The person's documents: masked and sealed, or with their contents decrypted (for the server's checks)."""
        key = (person_id, contents)
        if key not in self._libraries:
            read = (
                certificates.held_with_contents(db, cipher, person_id)
                if contents
                else certificates.held_by(db, person_id)
            )
            self._libraries[key] = await read
        return self._libraries[key]


class Company(msgspec.Struct, frozen=True, kw_only=True):
    """The organisation a case is filed for (法人办事), checked by app.filing: its register entry, its legal
    representative (the full number server-side only) and its library."""

    organisation: Organisation
    legal_rep_name: str
    legal_rep_id_number: str
    legal_rep_id_masked: str
    certificates: list[ECertificate]
    legal_rep_certificates: list[ECertificate]  # the legal representative's own library (法定代表人居民身份证)


async def company_of(db: DB, cipher: PiiCipher, credit_code: str | None) -> Company | None:
    if credit_code is None:
        return None
    organisation = await organisations.by_credit_code(db, credit_code)
    if organisation is None:
        return None
    found = await people.person_with_identity(db, cipher, organisation.legal_rep_person_id)
    assert found is not None  # the register refers to the population register
    person, representative = found
    return Company(
        organisation=organisation,
        legal_rep_name=representative.name,
        legal_rep_id_number=representative.id_number,
        legal_rep_id_masked=person.id_number_masked,
        certificates=await certificates.held_by_organisation(db, organisation.credit_code),
        legal_rep_certificates=await certificates.held_by(db, organisation.legal_rep_person_id),
    )


def _company_values(company: Company, form: MergedForm, id_number: str) -> dict[str, str]:
    organisation = company.organisation
    type_field = next((f for f in form.fields() if f.key == "company.type"), None)
    # The form's 企业类型 is a list of options: the register's type when it is one of them.
    options = (type_field.options or []) if type_field is not None else []
    org_type = next((o.value for o in options if o.label == organisation.org_type), None)
    values = {
        "company.name": organisation.name,
        "company.address": organisation.address,
        "company.legal_rep_name": company.legal_rep_name,
        "company.legal_rep_id_number": id_number,
        "company.credit_code": organisation.credit_code,
    }
    if org_type is not None:
        values["company.type"] = org_type
    return values


def company_prefill(form: MergedForm, company: Company) -> dict[str, Prefill]:
    """The organisation's fields as the register knows them (the legal representative's number masked: the case
    takes the register's, whatever the page sends)."""
    keys = {f.key for f in form.fields()}
    values = _company_values(company, form, company.legal_rep_id_masked)
    return {k: Prefill(value=v, source=REGISTER, about=COMPANY) for k, v in values.items() if k in keys}


def register_fields(form: MergedForm, company: Company) -> dict[str, str]:
    """What a case filed for the organisation takes from the register, replacing what the page sent."""
    keys = {f.key for f in form.fields()}
    return {k: v for k, v in _company_values(company, form, company.legal_rep_id_number).items() if k in keys}


def number_field(about: str) -> str:
    """The field the party's 公民身份号码 is typed in: `mother.id_number`; the legal representative's is a company's."""
    return _NUMBER_FIELDS.get(about, f"{about}.id_number")


def label_of(form: MergedForm, about: str) -> str:
    """The party as the form names it: 母亲 from 母亲公民身份号码 (configuration, not a list per event)."""
    key = number_field(about)
    field = next((f for f in form.fields() if f.key == key), None)
    if field is not None and field.label.endswith(_NUMBER_LABEL) and len(field.label) > len(_NUMBER_LABEL):
        return field.label.removesuffix(_NUMBER_LABEL)
    return _LABELS.get(about, about)


def shown_label(label: str) -> str:
    """A party's label (label_of) in the reader's language: the form's, from the catalogue, or one of ours."""
    return _(label) if label in _LABELS.values() else text(label)


def typed_number(data: Mapping[str, Any], about: str) -> str | None:
    """The party's number as typed, normalised, when it is a well-formed 公民身份号码; else None."""
    raw = data.get(number_field(about))
    if isinstance(raw, list) and raw:
        raw = raw[-1]  # pyright: ignore[reportUnknownVariableType]
    if not isinstance(raw, str) or id_number_problem(raw) is not None:
        return None
    return normalize_id_number(raw)


async def resolve(
    db: DB,
    cipher: PiiCipher,
    form: MergedForm,
    applicant: Applicant | None,
    data: Mapping[str, Any],
    company: Company | None = None,
    lookups: Lookups | None = None,
) -> dict[str, Party]:
    """Every party the form's materials are about, resolved by that party's own number; the company's and its legal
    representative's from the organisation the case is filed for (法人办事) and its register entry, never from a number
    typed in the form. The register is read for all the typed numbers at once (`lookups`: what this filing has read
    already), so the reads are as many however many parties the form names."""
    lookups = lookups or Lookups()
    same = service.same_as_applicant(form, data)
    # A number field the account fills (法定代表人公民身份号码 in 企业开办: the founder's own) is the applicant's.
    from_account = {f.key for f in form.fields() if f.prefill_source == service.PROFILE_ID_NUMBER}
    abouts = sorted({need.about for need in form.materials if need.issued_by_item is None})
    resolved: dict[str, Party] = {}
    typed: dict[str, str] = {}  # the parties resolved by the register: their numbers as typed, normalised
    for about in abouts:
        label = label_of(form, about)
        if about == COMPANY:
            resolved[about] = _company(label, company)
            continue
        if about == LEGAL_REP and company is not None:
            resolved[about] = _legal_rep(label, company, applicant)
            continue
        if about == APPLICANT or number_field(about) in same or number_field(about) in from_account:
            resolved[about] = _own(about, label, applicant)
            continue
        number = typed_number(data, about)
        if applicant is None:
            why = _("%(label)s的证照：登录后可核对能否免提交") % {"label": shown_label(label)}
            resolved[about] = Party(about=about, label=label, state="upload", why=why)
        elif number is None:
            why = _("填写%(label)s的公民身份号码后，可核对%(label)s的证照能否免提交") % {"label": shown_label(label)}
            resolved[about] = Party(about=about, label=label, state="upload", why=why)
        elif number == applicant.id_number:
            resolved[about] = _own(about, label, applicant)
        else:
            typed[about] = number
    if applicant is not None and typed:
        found = await lookups.people(db, cipher, list(typed.values()))
        # Asked for every living party's number, held by someone or not, so the time taken tells nothing either way.
        living = [_id_or_zero(found[n]) for about, n in typed.items() if about != DECEASED]
        allowed = await lookups.preauthorised(db, living, form.life_event) if living else set[int]()
        for about, number in typed.items():
            label, person = label_of(form, about), found[number]
            if about == DECEASED:
                resolved[about] = await _deceased(db, cipher, lookups, label, applicant, number, person)
            else:
                allowed_by = person if person is not None and person.id in allowed else None
                resolved[about] = await _living(db, cipher, lookups, about, label, applicant, number, allowed_by)
    return {about: resolved[about] for about in abouts}


def _id_or_zero(person: Person | None) -> int:
    return person.id if person is not None else 0


def _company(label: str, company: Company | None) -> Party:
    if company is None:
        why = _("以企业身份办理（由法定代表人或经办人切换为企业办事）时，企业的电子证照可免提交")
        return Party(about=COMPANY, label=label, state="upload", why=why)
    return Party(
        about=COMPANY,
        label=label,
        state="held",
        source=COMPANY_OWN,
        source_shown=_(COMPANY_OWN),
        show_number=True,
        certificates=company.certificates,
    )


def _legal_rep(label: str, company: Company, applicant: Applicant | None) -> Party:
    """The organisation's legal representative by the register: their own documents when they file themself; else the
    经办人 they authorised uses them for the organisation (the number shown masked to nobody but the representative)."""
    own = applicant is not None and applicant.person.id == company.organisation.legal_rep_person_id
    return Party(
        about=LEGAL_REP,
        label=label,
        state="held",
        source=OWN if own else LEGAL_REP_OWN,
        source_shown=_(OWN if own else LEGAL_REP_OWN),
        show_number=own,
        person_id=company.organisation.legal_rep_person_id,
        number=company.legal_rep_id_number,
        certificates=company.legal_rep_certificates,
    )


def _own(about: str, label: str, applicant: Applicant | None) -> Party:
    if applicant is None:
        return Party(about=about, label=label, state="upload")
    return Party(
        about=about,
        label=label,
        state="held",
        source=OWN,
        source_shown=_(OWN),
        show_number=True,
        person_id=applicant.person.id,
        number=applicant.id_number,
        certificates=applicant.certificates,
    )


async def _deceased(
    db: DB, cipher: PiiCipher, lookups: Lookups, label: str, applicant: Applicant, number: str, person: Person | None
) -> Party:
    link = kinship(applicant, person, number) if person is not None else None
    if person is None or link is None:
        why = _("未能核实您与%(label)s的亲属关系（同一户口簿，或您的结婚证、出生医学证明），请上传%(label)s的证照") % {
            "label": shown_label(label)
        }
        return Party(about=DECEASED, label=label, state="upload", why=why, number=number)
    return Party(
        about=DECEASED,
        label=label,
        state="held",
        source=_DECEASED_SOURCE % {"label": label, "link": link},
        source_shown=_(_DECEASED_SOURCE) % {"label": shown_label(label), "link": _(link)},
        person_id=person.id,
        number=number,
        link=link,
        certificates=await lookups.library(db, cipher, person.id, contents=False),
    )


def kinship(applicant: Applicant, person: Person, number: str) -> str | None:
    """How the applicant is the person's relative, by the register or the applicant's own library; None if not. (Also
    who is a party of a case about a deceased person: app.cases.duplicate_flow.)"""
    own = applicant.person
    if own.household_no is not None and own.household_no == person.household_no:
        return N_("同一户口簿")
    if person.id in (own.mother_id, own.father_id) or own.id in (person.mother_id, person.father_id):
        return N_("父母子女")
    for certificate in applicant.certificates:
        named = {str(value) for key, value in certificate.data.items() if key.endswith("id_number")}
        if certificate.kind == "marriage" and number in named:
            return N_("结婚证")
        if certificate.kind == "birth_medical" and number in named:
            return N_("出生医学证明")
    return None


async def _living(
    db: DB,
    cipher: PiiCipher,
    lookups: Lookups,
    about: str,
    label: str,
    applicant: Applicant,
    number: str,
    preauthorised: Person | None,
) -> Party:
    """`preauthorised`: the person the number names when they allow the spouse their own 结婚证 names to use their
    documents for this event (set on /me): held if the applicant is that spouse."""
    if preauthorised is not None and await _spouse_of(db, cipher, lookups, preauthorised, applicant.id_number):
        return Party(
            about=about,
            label=label,
            state="held",
            source=_SPOUSE_SOURCE % {"label": label},
            source_shown=_(_SPOUSE_SOURCE) % {"label": shown_label(label)},
            show_number=True,
            person_id=preauthorised.id,
            number=number,
            certificates=await lookups.library(db, cipher, preauthorised.id, contents=False),
        )
    why = _(
        "提交后将请%(label)s本人在手机上同意使用其证照（%(days)s日内）；未同意或未能答复的，需要补传。也可以现在上传"
    ) % {"label": shown_label(label), "days": consents.CONSENT_DAYS}
    return Party(about=about, label=label, state="awaiting_consent", why=why, number=number)


async def _spouse_of(db: DB, cipher: PiiCipher, lookups: Lookups, person: Person, applicant_number: str) -> bool:
    """Whether the person's own 结婚证 names the applicant as their spouse."""
    held = await lookups.library(db, cipher, person.id, contents=True)
    return any(c.kind == "marriage" and c.data.get("spouse_id_number") == applicant_number for c in held)


# --- the materials sorted -----------------------------------------------------------------------------------------


def sort_materials(
    form: MergedForm, parties: Mapping[str, Party]
) -> tuple[list[tuple[MaterialNeed, Party, ECertificate]], list[MaterialToUpload]]:
    """(held, to upload or awaiting consent): a material is held only from the library of the party it is about.

    A material another item of this life event issues (`issued_by_item`) is in neither list: the resident cannot
    upload a certificate that does not exist yet."""
    held: list[tuple[MaterialNeed, Party, ECertificate]] = []
    rest: list[MaterialToUpload] = []
    for need in form.materials:
        if need.issued_by_item is not None:
            continue
        party = parties.get(need.about) or Party(about=need.about, label=need.about, state="upload")
        latest = service.latest_by_kind(party.certificates) if party.state == "held" else {}
        certificate = latest.get(need.certificate_kind) if need.certificate_kind else None
        if certificate is not None:
            held.append((need, party, certificate))
            continue
        state: State = "awaiting_consent" if party.state == "awaiting_consent" and need.certificate_kind else "upload"
        why = party.why if party.state != "held" else None
        rest.append(MaterialToUpload(**msgspec.structs.asdict(need), state=state, why=why))
    return held, rest


def held_material(need: MaterialNeed, party: Party, certificate: ECertificate) -> HeldMaterial:
    return HeldMaterial(
        code=need.code,
        name=need.name,
        certificate_kind=certificate.kind,
        certificate_title=certificate.title,
        number_masked=certificate.number_masked if party.show_number else "",
        issued_by=certificate.issued_by,
        issued_on=certificate.issued_on,
        about=need.about,
        state="held",
        source=party.source,
    )
