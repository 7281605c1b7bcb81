"""Rules of consent (授权使用证照): a case may use another living person's e-certificates only once that person
agrees. A request is addressed to the keyed hash of the number the applicant typed, so it exists (and reads the same
to the applicant) whether or not that number is on the register or has an account; whoever holds the number sees it
on /consents, is told of it by inbox and push when they have an account, and alone may decide it.

What a decision does to the case's tasks (待授权 → 申办, or a 补正 to upload) is app.cases' rule: it owns the tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from app.accounts import service as accounts
from app.catalogue import service as catalogue
from app.catalogue.translations import text
from app.consents import store
from app.consents.models import CONSENT_STATE_LABELS, ConsentAsked, ConsentRow, ConsentView
from app.errors import Conflict, FieldErrors, NotFound
from app.notifications.service import notify_account
from app.people import service as people
from auth.pii import PiiCipher
from db.pool import DB, Tx
from i18n import N_, _, use_language

CONSENT_DAYS = 3
_NOT_FOUND = N_("没有找到这条授权请求")


def now_utc() -> datetime:
    return datetime.now(UTC)


def sentence(requester_name: str, life_event_name: str, titles: Sequence[str]) -> str:
    """张伟申请新生儿出生，需使用您的居民身份证、结婚证: the request in the words the person asked reads, in the
    current language (the event's name and the documents' titles are recorded in Chinese)."""
    return _("%(requester_name)s申请%(life_event_name)s，需使用您的%(join)s") % {
        "requester_name": requester_name,
        "life_event_name": text(life_event_name),
        "join": _("、").join(text(title) for title in titles),
    }


async def ask(tx: Tx, cipher: PiiCipher, asked: ConsentAsked, now: datetime) -> int:
    """Record a request (due in CONSENT_DAYS days) and, when the number belongs to someone with an account, tell
    them in their inbox and on their devices, in the caller's transaction."""
    consent_id = await store.insert(
        tx,
        case_id=asked.case_id,
        requester_person_id=asked.requester_person_id,
        requester_name=asked.requester_name,
        subject_number_hash=cipher.lookup_hash(asked.subject_number),
        about=asked.about,
        life_event_code=asked.life_event_code,
        life_event_name=asked.life_event_name,
        certificate_kinds=asked.certificate_kinds,
        certificate_titles=asked.certificate_titles,
        material_codes=asked.material_codes,
        item_codes=asked.item_codes,
        deadline=now + timedelta(days=CONSENT_DAYS),
    )
    person = await people.person_by_number(tx, cipher, asked.subject_number)
    account = await accounts.resident_account_of(tx, person.id) if person is not None else None
    if account is not None:
        with use_language(account.language):  # the language of the person asked, not of the one who filed
            title = _("请确认是否同意使用您的证照")
            body = sentence(asked.requester_name, asked.life_event_name, asked.certificate_titles) + (
                _("，请在%(consent_days)s日内打开“授权请求”选择同意或拒绝") % {"consent_days": CONSENT_DAYS}
            )
        await notify_account(tx, account.id, title=title, body=body, url="/consents")
    return consent_id


async def _own_number_hash(db: DB, cipher: PiiCipher, person_id: int) -> bytes:
    identity = await people.identity_of(db, cipher, person_id)
    if identity is None:
        raise NotFound(_NOT_FOUND)
    return cipher.lookup_hash(identity.id_number)


def view(row: ConsentRow, now: datetime) -> ConsentView:
    # A request past its deadline reads as expired even before a sweep has marked it so.
    state = "expired" if row.state == "requested" and row.deadline <= now else row.state
    assert state in ("requested", "granted", "refused", "expired", "withdrawn")
    return ConsentView(
        id=row.id,
        requester_name=row.requester_name,
        life_event=row.life_event_code,
        life_event_name=text(row.life_event_name),
        documents=[text(title) for title in row.certificate_titles],
        text=sentence(row.requester_name, row.life_event_name, row.certificate_titles),
        state=state,
        state_label=CONSENT_STATE_LABELS[state],
        deadline=row.deadline,
        decided_at=row.decided_at,
    )


async def requests_for(db: DB, cipher: PiiCipher, person_id: int) -> list[ConsentView]:
    """The requests addressed to this person's number, newest first."""
    now = now_utc()
    return [view(row, now) for row in await store.addressed_to(db, await _own_number_hash(db, cipher, person_id))]


async def pending_count(db: DB, cipher: PiiCipher, person_id: int) -> int:
    now = now_utc()
    rows = await store.addressed_to(db, await _own_number_hash(db, cipher, person_id))
    return sum(1 for row in rows if row.state == "requested" and row.deadline > now)


async def decide(tx: Tx, cipher: PiiCipher, person_id: int, consent_id: int, decision: str) -> ConsentRow:
    """The person asked grants or refuses, in the caller's transaction. Anyone else's request is NotFound (as if
    there were none); one already decided is a Conflict; one past its deadline is marked expired and returned so,
    for the caller to settle the case and then say so."""
    if decision not in ("grant", "refuse"):
        raise FieldErrors({"decision": N_("请选择同意或拒绝")})
    row = await store.lock_addressed(tx, consent_id, await _own_number_hash(tx, cipher, person_id))
    if row is None:
        raise NotFound(_NOT_FOUND)
    if row.state != "requested":
        raise Conflict(
            _("这条请求%(consent_state_labels)s，不能再更改")
            % {"consent_state_labels": CONSENT_STATE_LABELS[row.state]}
        )
    now = now_utc()
    if row.deadline <= now:
        return await store.decide(tx, row.id, "expired", None, row.deadline)
    return await store.decide(tx, row.id, "granted" if decision == "grant" else "refused", person_id, now)


async def of_case(db: DB, case_id: int) -> list[ConsentRow]:
    return await store.of_case(db, case_id)


async def forget_of_cases(tx: Tx, case_ids: list[int]) -> dict[int, int]:
    """The requests of cases past their retention (`python -m app purge`): who asked whom for which documents, and
    the answer. By case id: how many were removed."""
    return await store.delete_of_cases(tx, case_ids)


async def withdraw(tx: Tx, consent_ids: list[int]) -> list[ConsentRow]:
    """Requests their case no longer needs (every task waiting for them withdrawn: 撤回申请, or merged as a duplicate),
    ended as withdrawn in the caller's transaction: the person asked sees 申请人已撤回 and is asked no more."""
    return await store.withdraw(tx, consent_ids, now_utc()) if consent_ids else []


async def any_due(db: DB, now: datetime) -> bool:
    """Whether any request is past its deadline and waits to be expired."""
    return await store.any_due(db, now)


async def expire_due(tx: Tx, now: datetime) -> list[ConsentRow]:
    """Requests past their deadline, now marked expired: the caller settles their cases in the same transaction."""
    return await store.expire_due(tx, now)


# --- a spouse's standing permission (允许配偶在以下事项中使用我的证照) -------------------------------------------


async def preauthorised_events(db: DB, person_id: int) -> list[str]:
    return await store.preauthorised_events(db, person_id)


async def preauthorised_among(db: DB, person_ids: Sequence[int], life_event_code: str) -> set[int]:
    """Which of these people allow the spouse their 结婚证 names to use their documents for this event: one read."""
    return await store.preauthorised_among(db, list(person_ids), life_event_code)


async def set_preauthorised(db: DB, person_id: int, life_event_codes: Sequence[str]) -> list[str]:
    known = {event.code for event in await catalogue.life_events(db)}
    chosen = sorted(set(life_event_codes))
    if not set(chosen) <= known:
        raise FieldErrors({"life_events": N_("请只选择列出的事项")})
    await store.replace_preauthorised(db, person_id, chosen)
    return chosen
