"""Sign-up and sign-in rules (一号申请): one account per ID number, passkeys only.

Routes call these; they validate, talk to auth/ for ceremonies, codes and audit, and raise
FieldErrors (per field, Chinese) or the other domain errors of app/errors.py, each saying what to do next.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from app.accounts import store
from app.accounts.models import (
    Account,
    Me,
    NoticeChoices,
    PendingRegistration,
    RegionRef,
    RegisterStart,
    ResidentAccount,
)
from app.calendar.service import beijing_time
from app.catalogue import service as catalogue
from app.errors import Conflict, FieldErrors, Invalid, NotFound
from app.notifications.service import notify_account
from app.people import service as people
from app.people.identity import (
    id_number_problem,
    mask_id_number,
    mobile_problem,
    normalize_id_number,
    normalize_mobile,
)
from app.web.types import Connection
from auth import ceremonies, enrollment, passkeys, ratelimit
from auth.assertions import check_assertion
from auth.audit import audit, client_ip
from auth.models import CredentialListing, CurrentUser, SessionRead
from auth.passkeys import PasskeyError
from auth.pii import PiiCipher
from auth.scope import serves
from config.settings import Settings
from db.pool import DB, Tx
from i18n import N_, _, current_language, use_language
from sms import outbox as sms
from sms import texts
from sms.models import Outgoing

NAME_MAX = 50
PASSKEY_NAME_MAX = 40
STAFF_ROLES = frozenset({"clerk", "approver", "helper", "admin", "supervisor"})
# Where the resident sees and removes their passkeys.
PASSKEYS_ON_ME = "/me#passkeys-heading"
SMS_CODE_DIGITS = 6
SMS_CODE_TTL = timedelta(minutes=texts.CODE_MINUTES)
SMS_CODE_TRIES = 5
# What the register page says after every start, whoever asked (the answer itself is only {"verification": "sms"}).
SMS_SENT = N_("若信息无误，验证码已发送至登记手机；未收到请携身份证到政务服务窗口办理")
WRONG_SMS_CODE = N_("验证码不正确或已失效，请核对短信中的6位数字，或点“重新获取验证码”")
ENROLLMENT_MISMATCH = N_(
    "开户码无效、已使用、已过期，或与姓名、身份号码不符；请核对后重试，或凭身份证到政务服务窗口重新领取"
)
ACCOUNT_EXISTS = N_("该身份号码已开通账户，请直接登录；在新手机上使用，请凭身份证到政务服务窗口领取开户码")


class CeremonyRefused(Invalid):
    """A refused WebAuthn ceremony (400); the reason goes to the audit log, not to the browser."""


def _clean_name(raw: str) -> str:
    return " ".join(raw.split())


class RegistrationStep(msgspec.Struct, frozen=True, kw_only=True):
    """What a sign-up call leads to: the passkey creation options, or (a start) perhaps a text to send."""

    options: dict[str, Any] | None = None
    # A text to send once the answer has gone (sms.outbox.send_now), so that sending never shows in its timing.
    sms: Outgoing | None = None


async def registration_options(
    db: asyncpg.Pool, settings: Settings, cipher: PiiCipher, conn: Connection, owner: str, body: RegisterStart
) -> RegistrationStep:
    """One call, three uses. Without a code: start (202 for every well-formed request; a code is texted to the
    register's phone only if the name and number belong together and no account exists). With `sms_code` or an
    enrollment code: the passkey creation options, once the code proves possession."""
    name = _clean_name(body.name or "")
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = N_("请填写姓名")
    elif len(name) > NAME_MAX:
        errors["name"] = _("姓名不能超过%(name_max)s个字") % {"name_max": NAME_MAX}
    if body.id_number is None or not body.id_number.strip():
        if body.enrollment_code:
            if errors:
                raise FieldErrors(errors)
            pending = await _pending_staff(db, settings, conn, name, body.enrollment_code)
            return RegistrationStep(options=await _start_registration(db, settings, owner, pending))
        errors["id_number"] = N_("请填写公民身份号码")
    elif problem := id_number_problem(body.id_number):
        errors["id_number"] = problem
    phone = normalize_mobile(body.phone or "") or None
    if phone and (problem := mobile_problem(phone)):
        errors["phone"] = problem
    sms_code = (body.sms_code or "").strip() or None
    if sms_code is not None and not (len(sms_code) == SMS_CODE_DIGITS and sms_code.isascii() and sms_code.isdigit()):
        errors["sms_code"] = N_("请填写短信中的6位数字验证码")
    if errors:
        raise FieldErrors(errors)
    assert body.id_number is not None
    id_number = normalize_id_number(body.id_number)
    if body.enrollment_code:
        pending = await _pending_with_enrollment_code(
            db, settings, cipher, conn, name, id_number, phone, body.enrollment_code
        )
    elif sms_code is not None:
        pending = await _pending_with_sms_code(db, settings, conn, name, id_number, phone, sms_code)
    else:
        return RegistrationStep(sms=await _send_sms_code(db, settings, cipher, conn, name, id_number))
    return RegistrationStep(options=await _start_registration(db, settings, owner, pending))


def _pair_hash(secret_key: str, id_number: str, name: str) -> bytes:
    """Names the (number, name) a code was asked for: the code is found only with the same pair."""
    message = b"signup-pair:" + id_number.encode() + b"\x00" + name.encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).digest()


def _code_hash(secret_key: str, code: str) -> bytes:
    return hmac.new(secret_key.encode(), b"signup-code:" + code.encode(), hashlib.sha256).digest()


async def _send_sms_code(
    db: asyncpg.Pool, settings: Settings, cipher: PiiCipher, conn: Connection, name: str, id_number: str
) -> Outgoing | None:
    """Start a sign-up: the same statements run, and the same answer goes back, for a right pair, a wrong one, an
    existing account and a person with no phone on the register. Only a right pair with a phone and no account
    is texted a code (to the register's phone, never one typed in the form); an account holder is texted that
    they have one. Limited per address and per number, counting wrong pairs alike."""
    number_hash = cipher.lookup_hash(id_number)
    await ratelimit.count_attempt(
        db,
        {
            ratelimit.signup_address_subject(client_ip(conn)): settings.signup_starts_per_address,
            ratelimit.signup_number_subject(number_hash): ratelimit.SIGNUP_CODES_PER_NUMBER,
        },
    )
    match = await people.registered_person(db, cipher, id_number, name)
    account = await store.resident_account_of(db, match.id if match else 0)
    code = f"{secrets.randbelow(10**SMS_CODE_DIGITS):0{SMS_CODE_DIGITS}d}"
    texted = match if match is not None and match.phone is not None and account is None else None
    # A row for every start (the same work whatever the pair); only a texted one names the person it proves.
    await store.insert_signup_code(
        db,
        pair_hash=_pair_hash(settings.secret_key, id_number, name),
        person_id=texted.id if texted else None,
        code_hash=_code_hash(settings.secret_key, code),
        ttl=SMS_CODE_TTL,
    )
    if match is None:
        reason = "name and number do not match the register"
    elif match.phone is None:
        reason = "no phone on the register"
    elif account is not None:
        reason = "account exists"
    else:
        reason = "code sent"
    subject = f"person:{match.id}" if match else mask_id_number(id_number)
    await audit(db, conn, "signup.sms_code", "ok" if texted else "refused", subject=subject, reason=reason)
    # Every start counts against a number's daily cap of texts (sms/): the register's phone when there is one, else a
    # key of the ID number, so that a start that texts nothing runs the same statement. Over the cap: no text.
    cap_key = match.phone if match is not None and match.phone is not None else f"start:{number_hash.hex()[:32]}"
    within_cap = await sms.within_daily_cap(db, cap_key, settings.sms_daily_cap_per_number)
    if match is None or match.phone is None or not within_cap:
        return None
    return texts.verification_code(match.phone, code) if texted else texts.account_exists(match.phone)


async def _pending_with_sms_code(
    db: asyncpg.Pool, settings: Settings, conn: Connection, name: str, id_number: str, phone: str | None, code: str
) -> PendingRegistration:
    """The texted code proves possession of the register's phone. One answer for a wrong code, an expired or
    spent one, and a pair that was never texted one."""
    issued = await store.latest_signup_code(db, _pair_hash(settings.secret_key, id_number, name))
    right = (
        issued is not None
        and await store.take_try(db, issued.id, SMS_CODE_TRIES)
        and hmac.compare_digest(issued.code_hash, _code_hash(settings.secret_key, code))
        and issued.live
        and issued.person_id is not None
    )
    person = await people.get_person(db, issued.person_id) if right and issued and issued.person_id else None
    if person is None or issued is None:
        await audit(db, conn, "signup.sms_code_check", "refused", subject=mask_id_number(id_number))
        raise FieldErrors({"sms_code": WRONG_SMS_CODE})
    if await store.resident_account_of(db, person.id) is not None:
        # An account was opened meanwhile (another phone): the caller has proved the phone, so they may know.
        raise FieldErrors({"enrollment_code": ACCOUNT_EXISTS})
    return PendingRegistration(
        kind="resident",
        name=person.name,
        user_handle=passkeys.new_user_handle().hex(),
        person_id=person.id,
        phone=phone,
        region_code=person.region_code,
        signup_code_id=issued.id,
    )


async def _pending_with_enrollment_code(
    db: asyncpg.Pool,
    settings: Settings,
    cipher: PiiCipher,
    conn: Connection,
    name: str,
    id_number: str,
    phone: str | None,
    code: str,
) -> PendingRegistration:
    """A code from the window (a second phone for an existing account, or no phone on the register) is its own
    proof. Every mismatch — a bad or spent code, a wrong pair, someone else's code — gets one answer, and is
    counted against the address."""
    subject = ratelimit.enrollment_subject(client_ip(conn))
    await ratelimit.refuse_if_limited(db, [subject])
    grant = await enrollment.find_valid(db, settings.secret_key, code)
    person = await people.registered_person(db, cipher, id_number, name)
    account = await store.resident_account_of(db, person.id if person else 0)
    if grant is None or person is None or grant.person_id != person.id:
        await audit(db, conn, "signup", "refused", subject=mask_id_number(id_number), reason="enrollment code mismatch")
        await ratelimit.record_failure(db, [subject])
        raise FieldErrors({"enrollment_code": ENROLLMENT_MISMATCH})
    return PendingRegistration(
        kind="resident",
        name=person.name,
        user_handle=(account.user_handle if account else passkeys.new_user_handle()).hex(),
        person_id=person.id,
        account_id=account.id if account else None,
        phone=phone,
        region_code=person.region_code,
        enrollment_code_id=grant.id,
    )


async def _start_registration(
    db: asyncpg.Pool, settings: Settings, owner: str, pending: PendingRegistration
) -> dict[str, Any]:
    """Creation options for a pending registration; the pending data waits server-side with the challenge."""
    return await ceremonies.registration_options(
        db,
        rp_id=settings.rp_id,
        owner=owner,
        user_handle=bytes.fromhex(pending.user_handle),
        # Shown by the phone's passkey manager: the name, never the ID number in clear.
        name=pending.name,
        account_id=pending.account_id,
        payload=msgspec.to_builtins(pending),
    )


async def _pending_staff(
    db: asyncpg.Pool, settings: Settings, conn: Connection, name: str, code: str
) -> PendingRegistration:
    grant = await enrollment.find_valid(db, settings.secret_key, code)
    account = await store.get_account(db, grant.account_id) if grant and grant.account_id else None
    if grant is None or account is None or account.kind != "staff" or account.name != name:
        await audit(db, conn, "signup", "refused", subject="staff", reason="bad staff enrollment code")
        raise FieldErrors({"enrollment_code": N_("开户码无效、已过期或与姓名不符，请联系管理员")})
    return PendingRegistration(
        kind="staff",
        name=name,
        user_handle=account.user_handle.hex(),
        account_id=account.id,
        enrollment_code_id=grant.id,
    )


async def adding_passkey_options(db: asyncpg.Pool, settings: Settings, owner: str, account_id: int) -> dict[str, Any]:
    account = await _signed_in_account(db, account_id)
    pending = PendingRegistration(
        kind="add", name=account.name, user_handle=account.user_handle.hex(), account_id=account_id
    )
    return await _start_registration(db, settings, owner, pending)


async def _refuse(
    db: asyncpg.Pool,
    conn: Connection,
    action: str,
    reason: str,
    message: str,
    subjects: list[str],
    subject: str | None = None,
) -> CeremonyRefused:
    await audit(db, conn, action, "refused", subject=subject, reason=reason)
    if subjects:
        await ratelimit.record_failure(db, subjects)
    return CeremonyRefused(message)


async def complete_registration(
    db: asyncpg.Pool, settings: Settings, conn: Connection, owner: str, credential: dict[str, Any]
) -> int:
    """Verify the new passkey and attach it (creating the account on first sign-up). Returns the account id."""
    ip = ratelimit.ip_subject(client_ip(conn))
    await ratelimit.refuse_if_limited(db, [ip])
    try:
        challenge = passkeys.challenge_of(credential)
    except PasskeyError as exc:
        raise await _refuse(db, conn, "passkey.register", exc.reason, exc.message, [ip]) from exc
    payload = await ceremonies.take_challenge(db, challenge=challenge, owner=owner, purpose="register")
    if payload is None:
        raise await _refuse(
            db,
            conn,
            "passkey.register",
            "unknown, used, expired or foreign challenge",
            N_("验证已过期或无效，请重新开始"),
            [ip],
        )
    pending = msgspec.convert(payload, PendingRegistration)
    try:
        verified = passkeys.verify_registration(
            credential, challenge=challenge, rp_id=settings.rp_id, origin=settings.public_url
        )
    except PasskeyError as exc:
        raise await _refuse(db, conn, "passkey.register", exc.reason, exc.message, [ip]) from exc
    async with db.acquire() as tx, tx.transaction():
        account_id = await _account_for(tx, pending)
        # An account that already had a passkey gets another: its owner hears of it (unless it was them, they
        # remove it on 我的) — a takeover through a code or a borrowed phone is never silent.
        had_passkeys = pending.account_id is not None and bool(await ceremonies.passkey_ids_of(tx, account_id))
        if pending.enrollment_code_id is not None and not await enrollment.use(tx, pending.enrollment_code_id):
            raise FieldErrors({"enrollment_code": N_("开户码已被使用或已过期，请重新领取")})
        if pending.signup_code_id is not None and not await store.use_signup_code(tx, pending.signup_code_id):
            raise FieldErrors({"sms_code": N_("验证码已使用或已过期，请重新获取")})
        # Named in the account's language (else the one this sign-up is read in): the owner reads the name on 我的.
        language = (await store.languages_of(tx, [account_id])).get(account_id) or current_language()
        with use_language(language):
            passkey_name = _device_name(conn.headers.get("user-agent", ""))
        try:
            await ceremonies.add_passkey(tx, account_id, verified, passkey_name)
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(N_("该通行密钥已经登记过")) from exc
        if pending.phone and pending.person_id:
            await people.set_phone(tx, pending.person_id, pending.phone)
        if pending.enrollment_code_id is not None:
            await audit(tx, conn, "enrollment_code.use", "ok", subject=f"account:{account_id}")
        await audit(
            tx,
            conn,
            "passkey.add" if pending.kind == "add" else "signup",
            "ok",
            subject=f"account:{account_id}",
            actor=f"account:{account_id}",
        )
        if had_passkeys:
            with use_language(language):  # the owner's language, wherever the passkey was added from
                await _tell_passkey_added(tx, account_id, passkey_name, by_code=pending.enrollment_code_id is not None)
    return account_id


async def _tell_passkey_added(tx: Tx, account_id: int, passkey_name: str, *, by_code: bool) -> None:
    how = _("凭政务服务窗口签发的开户码登记") if by_code else _("在已登录的设备上添加")
    await notify_account(
        tx,
        account_id,
        title=_("账户安全：新增了通行密钥"),
        body=_(
            "%(beijing_time)s，您的账户新增了通行密钥“%(passkey_name)s”（%(how)s）。"
            "如不是您本人操作，请立即在“我的”中删除这个通行密钥，并到政务服务窗口咨询"
        )
        % {"beijing_time": beijing_time(datetime.now(UTC)), "passkey_name": passkey_name, "how": how},
        url=PASSKEYS_ON_ME,
    )


class CodeIssuer(msgspec.Struct, frozen=True, kw_only=True):
    """Who issued an enrollment code, as the audit log and the resident's notice name them."""

    actor: str  # 'cli' or 'account:<id>'
    described: str  # a marked text, drawn in the holder's language: 系统管理员（命令行） / 窗口工作人员 %(name)s
    name: str = ""  # the clerk's name, for %(name)s
    hall: str | None = None  # the clerk's region and department: 天宁区 · 公安


CLI_ISSUER = CodeIssuer(actor="cli", described=N_("系统管理员（命令行）"))


async def clerk_issuer(db: DB, clerk: CurrentUser) -> CodeIssuer:
    account = await _signed_in_account(db, clerk.account_id)
    hall = " · ".join(part for part in (account.region_name, account.department_name) if part)
    return CodeIssuer(
        actor=f"account:{clerk.account_id}",
        described=N_("窗口工作人员 %(name)s"),
        name=account.name,
        hall=hall or None,
    )


async def issue_enrollment_code(
    tx: Tx, secret_key: str, conn: Connection | None, person_id: int, issuer: CodeIssuer
) -> tuple[str, datetime]:
    """A one-time code for a resident, after their ID card was checked in person (a clerk at the window, or an
    administrator on the command line). Audited; and, in the same transaction, the account holder (if there is
    one) is told who issued it, in which hall and when — a code that could add a passkey is never silent."""
    code, expires_at = await enrollment.issue(tx, secret_key, person_id=person_id, issued_by=issuer.actor)
    await audit(
        tx,
        conn,
        "enrollment_code.issue",
        "ok",
        subject=f"person:{person_id}",
        actor=issuer.actor,
        identity_checked=True,
        hall=issuer.hall,
    )
    account = await store.resident_account_of(tx, person_id)
    if account is not None:
        with use_language(account.language):  # the holder's language, not the clerk's
            where = _("（%(hall)s）") % {"hall": issuer.hall} if issuer.hall else ""
            await notify_account(
                tx,
                account.id,
                title=_("账户安全：已为您签发开户码"),
                body=_(
                    "%(issued_at)s，%(described)s%(where)s为您的账户签发了开户码，%(expires_at)s前有效，"
                    "可在新手机上登记通行密钥。如不是您本人到窗口申请，请勿把开户码告诉他人，"
                    "并在“我的”中查看、删除不认识的通行密钥"
                )
                % {
                    "issued_at": beijing_time(datetime.now(UTC)),
                    "described": _(issuer.described) % {"name": issuer.name},
                    "where": where,
                    "expires_at": beijing_time(expires_at),
                },
                url=PASSKEYS_ON_ME,
            )
    return code, expires_at


async def _account_for(tx: Tx, pending: PendingRegistration) -> int:
    if pending.account_id is not None:
        return pending.account_id
    assert pending.person_id is not None
    try:
        return await store.create_resident_account(
            tx,
            person_id=pending.person_id,
            name=pending.name,
            region_code=pending.region_code,
            user_handle=bytes.fromhex(pending.user_handle),
        )
    except asyncpg.UniqueViolationError as exc:
        # Two sign-ups for one number raced: the second needs an enrollment code like any other.
        raise FieldErrors({"enrollment_code": ACCOUNT_EXISTS}) from exc


def _device_name(user_agent: str) -> str:
    """The name a new passkey gets until its owner renames it, in the current language: Linux 设备上的通行密钥. One
    whole text per device, so English can say "a Linux device" and "an iPhone"."""
    for marker, name in (
        ("iPhone", N_("iPhone上的通行密钥")),
        ("iPad", N_("iPad上的通行密钥")),
        ("Android", N_("安卓设备上的通行密钥")),
        ("HarmonyOS", N_("鸿蒙设备上的通行密钥")),
        ("Windows", N_("Windows 电脑上的通行密钥")),
        ("Macintosh", N_("Mac 电脑上的通行密钥")),
        ("Linux", N_("Linux 设备上的通行密钥")),
    ):
        if marker in user_agent:
            return _(name)
    return _("通行密钥")


async def login_options(db: asyncpg.Pool, settings: Settings, owner: str) -> dict[str, Any]:
    return await ceremonies.authentication_options(db, rp_id=settings.rp_id, owner=owner, purpose="login", payload={})


async def complete_login(
    db: asyncpg.Pool, settings: Settings, conn: Connection, owner: str, credential: dict[str, Any]
) -> int:
    address = client_ip(conn)
    ip = ratelimit.ip_subject(address)
    await ratelimit.refuse_if_limited(db, [ip])
    try:
        challenge = passkeys.challenge_of(credential)
        credential_id = passkeys.credential_id_of(credential)
        user_handle = passkeys.user_handle_of(credential)
    except PasskeyError as exc:
        raise await _refuse(db, conn, "signin", exc.reason, exc.message, [ip]) from exc
    # Backs off guesses at one credential from one address; its owner elsewhere signs in as usual.
    cred_subject = ratelimit.credential_subject(address, credential_id)
    await ratelimit.refuse_if_limited(db, [cred_subject])
    if await ceremonies.take_challenge(db, challenge=challenge, owner=owner, purpose="login") is None:
        # Junk or a replay: nothing about the credential is known yet, so it counts against the address only.
        raise await _refuse(
            db, conn, "signin", "unknown, used, expired or foreign challenge", N_("验证已过期或无效，请重新登录"), [ip]
        )
    stored = await ceremonies.find_passkey(db, credential_id)
    if stored is None:
        raise await _refuse(
            db, conn, "signin", "unknown credential", N_("此通行密钥未在本站登记，请先注册或使用其他通行密钥"), [ip]
        )
    subject = f"account:{stored.account_id}"
    if await store.is_closed(db, stored.account_id):
        raise await _refuse(
            db, conn, "signin", "account closed", N_("该账号已注销（户口已注销），不能再登录"), [], subject
        )
    if user_handle is not None and user_handle != await store.user_handle_of(db, stored.account_id):
        raise await _refuse(
            db, conn, "signin", "user handle mismatch", N_("通行密钥验证失败，请重试"), [ip, cred_subject], subject
        )
    try:
        await check_assertion(
            db, stored, credential, challenge=challenge, rp_id=settings.rp_id, origin=settings.public_url
        )
    except PasskeyError as exc:
        raise await _refuse(db, conn, "signin", exc.reason, exc.message, [ip, cred_subject], subject) from exc
    await audit(db, conn, "signin", "ok", subject=subject, actor=subject)
    return stored.account_id


async def me(db: asyncpg.Pool, account_id: int) -> Me:
    account = await _signed_in_account(db, account_id)
    region = RegionRef(account.region_code, account.region_name or "") if account.region_code else None
    return Me(
        name=account.name,
        id_number_masked=account.id_number_masked,
        roles=sorted(account.roles),
        region=region,
        department=account.department_name,
    )


async def _signed_in_account(db: DB, account_id: int) -> Account:
    """The caller's own account: it exists, or the session middleware would not have signed them in."""
    account = await store.get_account(db, account_id)
    assert account is not None
    return account


# --- the account itself ----------------------------------------------------------------------------


async def session_with_user(db: DB, key: str) -> SessionRead | None:
    """A live session and the account behind it, unless it was signed out everywhere since (auth.sessions reads it
    per request, given at composition: auth/ does not import app/)."""
    return await store.session_with_user(db, key)


async def resident_account_of(db: DB, person_id: int) -> ResidentAccount | None:
    """The account of a person of the register, if they have signed up."""
    return await store.resident_account_of(db, person_id)


async def resident_accounts_of(db: DB, person_ids: list[int]) -> dict[int, ResidentAccount]:
    """By person, the accounts of those of these people who have signed up: one read for all of them."""
    return await store.resident_accounts_of(db, sorted(set(person_ids))) if person_ids else {}


async def languages_of(db: DB, account_ids: list[int]) -> dict[int, str | None]:
    """The language each account chose (None: never chosen), for drawing notices to them in it."""
    return await store.languages_of(db, account_ids) if account_ids else {}


async def notice_choices_of(db: DB, account_ids: list[int]) -> dict[int, NoticeChoices]:
    """The language and 短信提醒 each account chose, for the notices of a case step to them."""
    return await store.notice_choices_of(db, account_ids) if account_ids else {}


async def passkeys_of(db: DB, account_id: int) -> list[CredentialListing]:
    """The account's passkeys, as 我的 lists them."""
    return await ceremonies.passkeys_of(db, account_id)


async def rename_passkey(db: DB, account_id: int, passkey_id: int, name: str) -> None:
    clean = " ".join(name.split())
    if not clean or len(clean) > PASSKEY_NAME_MAX:
        raise FieldErrors(
            {"name": _("名称不能为空，且不超过%(passkey_name_max)s个字") % {"passkey_name_max": PASSKEY_NAME_MAX}}
        )
    if not await ceremonies.rename_passkey(db, account_id, passkey_id, clean):
        raise NotFound(N_("没有找到该通行密钥"))


async def remove_passkey(db: asyncpg.Pool, conn: Connection, account_id: int, passkey_id: int) -> None:
    """Never the last one: an account without a passkey could not be signed in to again."""
    async with db.acquire() as tx, tx.transaction():
        outcome = await ceremonies.remove_passkey_unless_last(tx, account_id, passkey_id)
        if outcome == "missing":
            raise NotFound(N_("没有找到该通行密钥"))
        if outcome == "last":
            raise Conflict(N_("这是您唯一的通行密钥，不能删除；请先在新设备上添加一个"))
        await audit(tx, conn, "passkey.remove", "ok", subject=f"account:{account_id}", passkey=passkey_id)


async def names_of(db: DB, account_ids: list[int]) -> dict[int, str]:
    """Accounts' names by id (a delegation names its helper)."""
    return await store.names_of(db, account_ids)


async def office_staff(
    db: DB, *, department_code: str, person_region: str, roles: tuple[str, ...] = ("clerk", "approver")
) -> list[int]:
    """The clerks and approvers (or only `roles`) of a department who serve a resident of `person_region`: that
    office's staff (a 督办 tells them; a 征求意见 its approvers)."""
    staff = await store.staff_of_department(db, department_code=department_code, roles=list(roles))
    return [account_id for account_id, region in staff if serves(region, person_region)]


async def sign_out_everywhere(db: DB, conn: Connection, account_id: int) -> None:
    """Every session of the account, on every device, is void from now on."""
    await store.void_all_sessions(db, account_id)
    await audit(db, conn, "signout.everywhere", "ok", subject=f"account:{account_id}")


async def close_for_deceased(db: DB, person_id: int, case_no: str) -> int | None:
    """户口注销 completed: the deceased person's account (if any) is closed, every session of it ends now and it
    cannot sign in again. The account's id, or None when they had none."""
    return await store.close_resident_account(
        db, person_id, N_("户口已注销（办件 %(case_no)s）") % {"case_no": case_no}
    )


async def set_elder_mode(db: DB, account_id: int, elder_mode: bool) -> None:
    """长辈版 as chosen on the account: every device it signs in to starts with it."""
    await store.set_elder_mode(db, account_id, elder_mode)


async def set_language(db: DB, account_id: int, language: str) -> None:
    """The language chosen on the account: its pages on every device it signs in to, and its notices."""
    await store.set_language(db, account_id, language)


async def sms_preference(db: DB, account_id: int) -> str:
    """短信提醒 as chosen on 我的: `fallback` (only when no device receives push) or `always` (app.sms decides)."""
    return await store.sms_preference(db, account_id)


async def set_sms_preference(db: DB, account_id: int, preference: str) -> None:
    await store.set_sms_preference(db, account_id, preference)


# Every page a signed-in person opens names it (base.html): an HMAC each time was about 1% of the case page's time under
# load (issue 20). Kept for the accounts seen lately: it is no secret (each device is told its own), and small.
@functools.lru_cache(maxsize=1024)
def local_key(secret_key: str, account_id: int) -> str:
    """The name of an account's data kept on a device (drafts, queued submissions): opaque, stable per account."""
    return hmac.new(secret_key.encode(), f"local-data:{account_id}".encode(), hashlib.sha256).hexdigest()[:20]


async def add_staff_account(
    tx: Tx,
    secret_key: str,
    *,
    name: str,
    role: str,
    department: str | None,
    region: str,
    window_for: list[str] | None = None,
) -> tuple[int, str, datetime]:
    """A staff account (checked first with staff_problem) and the enrollment code its holder registers a passkey
    with: (account id, code, expiry). Audited as the command line's doing. `window_for`: a clerk's window
    authorisations (the departments whose 即办件 they may complete on the spot)."""
    account_id = await store.create_staff_account(
        tx,
        name=name,
        role=role,
        department_code=department,
        region_code=region,
        user_handle=passkeys.new_user_handle(),
    )
    code, expires_at = await enrollment.issue(tx, secret_key, account_id=account_id, issued_by="cli")
    await audit(tx, None, "staff.add", "ok", subject=f"account:{account_id}", actor="cli", role=role)
    if window_for:
        await authorise_window(tx, account_id, window_for)
    return account_id, code, expires_at


def department_list(raw: str | None) -> list[str]:
    """`hrss,police` → ["hrss", "police"] (blanks dropped, each once)."""
    return list(dict.fromkeys(part.strip() for part in (raw or "").split(",") if part.strip()))


async def window_problem(db: DB, *, role: str, departments: list[str]) -> str | None:
    """Why these window authorisations cannot be given, or None: only a window clerk holds them, each for a
    department that exists."""
    if not departments:
        return None
    if role != "clerk":
        return N_("--window-for: 只有综合窗口人员（clerk）可持有窗口授权")
    unknown = [code for code in departments if not await catalogue.department_exists(db, code)]
    return _("--window-for: 部门代码 %(join)s 不存在") % {"join": ", ".join(unknown)} if unknown else None


async def authorise_window(tx: Tx, account_id: int, departments: list[str]) -> None:
    """A clerk may complete these departments' 即办件 on the spot (马上办) from their next request on. Audited."""
    await store.authorise_window(tx, account_id, departments)
    await audit(
        tx, None, "staff.window", "granted", subject=f"account:{account_id}", actor="cli", departments=departments
    )


async def revoke_window(tx: Tx, account_id: int, departments: list[str]) -> None:
    """The clerk may no longer complete these departments' 即办件 on the spot, from their next request on. Audited."""
    await store.revoke_window(tx, account_id, departments)
    await audit(
        tx, None, "staff.window", "revoked", subject=f"account:{account_id}", actor="cli", departments=departments
    )


async def staff_window(db: DB, account_id: int) -> tuple[Account | None, list[str]]:
    """A staff account and the departments of its window authorisations."""
    account = await store.get_account(db, account_id)
    if account is None or account.kind != "staff":
        return None, []
    return account, await store.window_departments(db, account_id)


async def forget_old_signup_codes(db: DB) -> None:
    """Sign-up codes a day past their expiry (`python -m app purge`)."""
    await store.purge_old_signup_codes(db)


async def staff_problem(db: DB, *, name: str, role: str, department: str | None, region: str) -> str | None:
    """Why a staff account cannot be created as asked, or None. Helpers serve a village and no department."""
    if not name or len(name) > NAME_MAX:
        return _("--name: 不能为空，且不超过%(name_max)s个字") % {"name_max": NAME_MAX}
    if role not in STAFF_ROLES:
        return _("--role: 应为 %(join)s 之一") % {"join": ", ".join(sorted(STAFF_ROLES))}
    level = await catalogue.region_level(db, region)
    if level is None:
        return _("--region: 区划代码 %(region)s 不存在") % {"region": region}
    if role == "helper":
        if department:
            return N_("--department: 帮办代办员不属于部门，请不要填写")
        if level != "village":
            return N_("--region: 帮办代办员须绑定到村/社区（12位区划代码）")
        return None
    if role == "supervisor" and level not in ("city", "district"):
        return N_("--region: 督查人员须属于市（320400）或区/县级市（6位区划代码）")
    if role in ("clerk", "approver") and not department:
        return N_("--department: 窗口和审批人员须填写所属部门代码")
    if department and not await catalogue.department_exists(db, department):
        return _("--department: 部门代码 %(department)s 不存在") % {"department": department}
    return None
