"""A case's requests for consent (授权使用证照) and what their answers do to its tasks.

At submission every material about another living person that the applicant neither holds nor uploads becomes a
request to that person (app.consents), and the tasks of the items that need it wait (待授权). Each decision, and each
request that expires, settles the tasks that no longer wait: all granted (and the documents in the granter's
library) → 申办, to the departments; otherwise → a 补正告知 naming what to upload, answered on the case page as any
补正 is. Requests go out when the case is filed, not as the number is typed: a typed number must neither reach a
stranger's phone nor tell the applicant anything about it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from app.cases import store, workflow
from app.cases.models import CaseConsent
from app.certificates import service as certificates
from app.certificates.models import ECertificate
from app.consents import service as consents
from app.consents.models import ConsentAsked, ConsentRow, ConsentView
from app.errors import Conflict
from app.forms import parties
from app.forms import service as forms
from app.forms.models import MaterialNeed, MaterialToUpload, MergedForm
from app.notifications.titles import AWAITING_CONSENT
from app.web.types import Connection
from auth.audit import audit
from auth.models import CurrentUser
from auth.pii import PiiCipher
from db.pool import DB, Tx
from i18n import N_, gettext

_STATE_OF_MATERIAL = {
    "requested": "awaiting_consent",
    "granted": "held",
    "refused": "upload",
    "expired": "upload",
    "withdrawn": "withdrawn",
}
MATERIAL_STATE_LABELS = {
    "held": N_("已关联"),
    "awaiting_consent": N_("待对方同意"),
    "upload": N_("需上传"),
    "withdrawn": N_("已撤回"),
}

log = logging.getLogger(__name__)


def document_title(need: MaterialNeed, label: str) -> str:
    """母亲居民身份证 → 居民身份证, 父母结婚证 → 结婚证: the document as its holder names it."""
    titled = certificates.KIND_TITLES.get(need.certificate_kind or "")
    return titled or need.name.removeprefix(label) or need.name


async def ask(
    tx: Tx,
    cipher: PiiCipher,
    *,
    case_id: int,
    form: MergedForm,
    life_event_name: str,
    applicant: parties.Applicant,
    resolved: dict[str, parties.Party],
    waiting: Sequence[MaterialToUpload],
) -> set[str]:
    """One request per person for the materials of theirs the case would use; the items that wait for them. A person
    typed for two parties (the same number as mother and father) is asked once, for both."""
    by_person: dict[str, list[MaterialToUpload]] = defaultdict(list)
    for need in waiting:
        number = resolved[need.about].number
        assert number is not None  # awaiting_consent only for a typed, well-formed number
        by_person[number].append(need)
    items: set[str] = set()
    for number, needs in sorted(by_person.items()):
        abouts = sorted({n.about for n in needs})
        titles = list(dict.fromkeys(document_title(n, resolved[n.about].label) for n in needs))
        await consents.ask(
            tx,
            cipher,
            ConsentAsked(
                case_id=case_id,
                requester_person_id=applicant.person.id,
                requester_name=applicant.person.name,
                subject_number=number,
                about=",".join(abouts),
                life_event_code=form.life_event,
                life_event_name=life_event_name,
                certificate_kinds=[n.certificate_kind or "" for n in needs],
                certificate_titles=titles,
                material_codes=[n.code for n in needs],
                item_codes=sorted({code for n in needs for code in n.item_codes}),
            ),
            consents.now_utc(),
        )
        items.update(code for n in needs for code in n.item_codes)
    if items:
        labels = "、".join(dict.fromkeys(resolved[n.about].label for n in sorted(waiting, key=lambda n: n.about)))
        await workflow.await_consent(
            tx,
            case_id,
            items,
            title=AWAITING_CONSENT % {"labels": labels},
            note=N_("已请%(labels)s在%(consent_days)s日内同意；未同意或逾期的，将通知您上传相应材料")
            % {"labels": labels, "consent_days": consents.CONSENT_DAYS},
        )
    return items


async def audit_deceased_use(
    tx: Tx, conn: Connection | None, case_no: str, held: Sequence[tuple[MaterialNeed, parties.Party, ECertificate]]
) -> None:
    """A relative's use of a deceased person's documents is audited as such: whose, by which kinship, for which case."""
    used: dict[int, tuple[parties.Party, list[str]]] = {}
    for need, party, _certificate in held:
        if party.link is not None and party.person_id is not None:
            used.setdefault(party.person_id, (party, []))[1].append(need.code)
    for person_id, (party, codes) in used.items():
        await audit(
            tx,
            conn,
            "certificate.use_deceased",
            "ok",
            subject=f"person:{person_id}",
            case=case_no,
            link=party.link,
            materials=codes,
        )


async def settle(tx: Tx, case_id: int, actor_account_id: int | None) -> None:
    """Move every task of the case that waits for consent and waits no more (in the caller's transaction)."""
    waiting = [t for t in await store.tasks_of_case(tx, case_id) if t.status == "awaiting_consent"]
    if not waiting:
        return
    rows = await consents.of_case(tx, case_id)
    form, _ = await forms.merged_form_of(tx, waiting[0].life_event_code)
    needs = {need.code: need for need in form.materials}
    lacking = await _lacking(tx, rows)
    for task in waiting:
        touching = [r for r in rows if task.item_code in r.item_codes]
        if any(r.state == "requested" for r in touching):
            continue
        missing: list[str] = []
        reasons: list[str] = []
        for row in touching:
            label = labels_of(form, row.about)
            codes = [
                code
                for code in row.material_codes
                if code in needs and task.item_code in needs[code].item_codes and code in lacking.get(row.id, ())
            ]
            if codes:
                missing += [needs[code].name for code in codes]
                reasons.append(_reason(row, label))
        if missing:
            note = N_("%(join)s。请上传：%(join2)s") % {
                "join": "；".join(dict.fromkeys(reasons)),
                "join2": "、".join(dict.fromkeys(missing)),
            }
            await workflow.settle_consent(tx, task, "consent_refused", note, actor_account_id)
        else:
            await workflow.settle_consent(tx, task, "consent_granted", None, actor_account_id)


async def release(tx: Tx, case_id: int) -> None:
    """Requests no task of the case waits for any more — their tasks withdrawn (撤回申请, or merged as a duplicate) —
    end as withdrawn, in the caller's transaction: nobody is asked for documents a case no longer needs."""
    waiting = {t.item_code for t in await store.tasks_of_case(tx, case_id) if t.status == "awaiting_consent"}
    rows = await consents.of_case(tx, case_id)
    await consents.withdraw(tx, [r.id for r in rows if r.state == "requested" and not waiting & set(r.item_codes)])


def labels_of(form: MergedForm, about: str) -> str:
    """母亲, or 母亲、父亲 for a request covering two parties (one person typed for both)."""
    return "、".join(parties.label_of(form, party) for party in about.split(","))


def _reason(row: ConsentRow, label: str) -> str:
    if row.state == "refused":
        return N_("%(label)s未同意使用其证照") % {"label": label}
    if row.state == "expired":
        return N_("%(label)s未在%(consent_days)s日内同意使用其证照") % {
            "label": label,
            "consent_days": consents.CONSENT_DAYS,
        }
    return N_("%(label)s的电子证照中没有所需证照") % {"label": label}


async def _lacking(db: DB, rows: Sequence[ConsentRow]) -> dict[int, set[str]]:
    """By request: the material codes it does not cover — all of a request not granted; of a granted one, those whose
    certificate the granter's library lacks."""
    lacking: dict[int, set[str]] = {}
    for row in rows:
        if row.state == "granted" and row.decided_by_person_id is not None:
            kinds = {c.kind for c in await certificates.held_by(db, row.decided_by_person_id)}
            lacking[row.id] = {
                code for code, kind in zip(row.material_codes, row.certificate_kinds, strict=True) if kind not in kinds
            }
        elif row.state != "requested":
            lacking[row.id] = set(row.material_codes)
    return lacking


SWEEP_EVERY_SECONDS = 60.0


async def sweep_forever(db: asyncpg.Pool, every: float = SWEEP_EVERY_SECONDS) -> None:
    """Run by every web worker (app.main): a request lapses at its deadline — its tasks to 补正, the applicant told
    to upload — whether or not anyone reads anything. Workers and hosts overlap harmlessly: expire_due skips the rows
    another transaction holds, and an expired request is never expired twice. A failed round (the database
    restarting) is logged and tried again at the next."""
    while True:
        try:
            await sweep(db)
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
            log.warning("consent sweep failed; trying again in %.0f s", every, exc_info=True)
        await asyncio.sleep(every)


async def sweep(db: asyncpg.Pool) -> int:
    """Expire the requests past their deadline and settle their cases; how many expired. Run by sweep_forever, before
    a case with a lapsed request is read, and by `python -m app purge` (sweep_in). Usually none is due: then one
    indexed read, no transaction (the back office's queue sweeps before every page)."""
    if not await consents.any_due(db, consents.now_utc()):
        return 0
    async with db.acquire() as tx, tx.transaction():
        return await sweep_in(tx)


async def sweep_in(tx: Tx) -> int:
    """The same, in the caller's transaction."""
    expired = await consents.expire_due(tx, consents.now_utc())
    for case_id in sorted({row.case_id for row in expired}):
        await settle(tx, case_id, None)
    return len(expired)


async def decide(db: asyncpg.Pool, cipher: PiiCipher, user: CurrentUser, consent_id: int, decision: str) -> ConsentView:
    """The person asked answers; the case's tasks move in the same transaction. Past the deadline: Conflict."""
    assert user.person_id is not None  # residents only (the route's guard)
    async with db.acquire() as tx, tx.transaction():
        row = await consents.decide(tx, cipher, user.person_id, consent_id, decision)
        await settle(tx, row.case_id, user.account_id)
    if row.state == "expired":
        raise Conflict(
            gettext("已超过%(consent_days)s日的期限，申请人将上传相应材料") % {"consent_days": consents.CONSENT_DAYS}
        )
    return consents.view(row, consents.now_utc())


def may_have_requests(statuses: Iterable[str]) -> bool:
    """Whether a case whose steps have these statuses may have consent requests: `ask` makes them as the case is filed,
    in the transaction that records its 待授权 step (awaiting_consent: workflow.await_consent), the one step that puts a
    task to wait for consent. A case without that step has none, and its page reads none (settled_requests_of_case)."""
    return any(status == "awaiting_consent" for status in statuses)


async def settled_requests_of_case(db: asyncpg.Pool, case_id: int) -> tuple[list[ConsentRow], bool]:
    """The case's consent requests, those past their deadline expired first (their tasks moved to 补正), and whether
    any was: the case's tasks read before this are then read again, so a page never shows 待授权 after the deadline.
    One read when nothing is due."""
    rows = await consents.of_case(db, case_id)
    now = consents.now_utc()
    if any(row.state == "requested" and row.deadline <= now for row in rows):
        await sweep(db)
        return await consents.of_case(db, case_id), True
    return rows, False


async def materials_of_case(db: DB, rows: list[ConsentRow], life_event_code: str) -> list[CaseConsent]:
    """The materials of the case (its consent requests: settled_requests_of_case) that are another person's, each
    with whose it is and its state now."""
    if not rows:
        return []
    form, _ = await forms.merged_form_of(db, life_event_code)
    needs = {need.code: need for need in form.materials}
    lacking = await _lacking(db, rows)
    now = consents.now_utc()
    found: list[CaseConsent] = []
    for row in rows:
        state = consents.view(row, now).state
        for code in row.material_codes:
            about = needs[code].about if code in needs else row.about
            label = parties.label_of(form, about)
            ended = state == "withdrawn"  # nothing to upload for a task withdrawn
            material_state = "upload" if not ended and code in lacking.get(row.id, ()) else _STATE_OF_MATERIAL[state]
            found.append(
                CaseConsent(
                    material_code=code,
                    name=needs[code].name if code in needs else code,
                    about=about,
                    about_label=label,
                    state=material_state,
                    state_label=MATERIAL_STATE_LABELS[material_state],
                    source=gettext("%(label)s本人的电子证照（经其同意）") % {"label": label}
                    if material_state == "held"
                    else None,
                    deadline=row.deadline if material_state == "awaiting_consent" else None,
                )
            )
    return found


async def held_materials(
    db: DB,
    cipher: PiiCipher,
    form: MergedForm,
    applicant_person_id: int,
    answers: dict[str, Any],
    case_id: int,
    org_credit_code: str | None = None,
) -> dict[str, ECertificate]:
    """By material code: the certificates the e-certificate library stands in with for a case's materials, as they
    stand now — each party resolved again from the case's answers (the applicant's own, a linked deceased
    relative's, a spouse's standing permission; for a case filed for an organisation, its own library and its legal
    representative's by the register) and those another person granted on this case."""
    applicant = await parties.applicant_of(db, cipher, applicant_person_id)
    company = await parties.company_of(db, cipher, org_credit_code)
    resolved = await parties.resolve(db, cipher, form, applicant, answers, company)
    in_library, _ = parties.sort_materials(form, resolved)
    held = {need.code: certificate for need, _party, certificate in in_library}
    needs = {need.code: need for need in form.materials}
    for row in await consents.of_case(db, case_id):
        if row.state != "granted" or row.decided_by_person_id is None:
            continue
        latest = forms.latest_by_kind(await certificates.held_by(db, row.decided_by_person_id))
        for code in row.material_codes:
            kind = needs[code].certificate_kind if code in needs else None
            if kind is not None and kind in latest:
                held[code] = latest[kind]
    return held
