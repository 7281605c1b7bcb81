"""Sign-up and sign-in rules (一号申请): one account per ID number, passkeys only.

Routes call these; they validate, talk to auth/ for ceremonies, codes and audit, and raise
FieldErrors (400, per field, Chinese) or HTTP errors that say what to do next.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import ClientException, HTTPException

from app.accounts import store
from app.accounts.models import Me, PendingRegistration, RegionRef, RegisterStart
from app.people import store as people_store
from app.people.identity import id_number_problem, mask_id_number, mobile_problem, normalize_id_number
from app.settings import Settings
from app.web.errors import FieldErrors
from auth import enrollment, passkeys, ratelimit
from auth import store as auth_store
from auth.assertions import check_assertion
from auth.audit import audit, client_ip
from auth.passkeys import PasskeyError
from auth.pii import PiiCipher

Connection = ASGIConnection[Any, Any, Any, Any]
NAME_MAX = 50
STAFF_ROLES = frozenset({"clerk", "approver", "helper", "admin"})


class CeremonyRefused(ClientException):
    """400 for a refused WebAuthn ceremony; the reason goes to the audit log, not to the browser."""


def _clean_name(raw: str) -> str:
    return " ".join(raw.split())


async def registration_options(
    db: asyncpg.Pool, settings: Settings, cipher: PiiCipher, conn: Connection, owner: str, body: RegisterStart
) -> dict[str, Any]:
    pending = await _pending_registration(db, settings, cipher, conn, body)
    return await _start_registration(db, settings, owner, pending)


async def _start_registration(
    db: asyncpg.Pool, settings: Settings, owner: str, pending: PendingRegistration
) -> dict[str, Any]:
    """Creation options for a pending registration; the pending data waits server-side with the challenge."""
    existing = await auth_store.credential_ids_of(db, pending.account_id) if pending.account_id else []
    challenge, options = passkeys.registration_options(
        rp_id=settings.rp_id,
        user_handle=bytes.fromhex(pending.user_handle),
        # Shown by the phone's passkey manager: the name, never the ID number in clear.
        user_name=pending.name,
        display_name=pending.name,
        exclude=existing,
    )
    await auth_store.save_challenge(
        db,
        challenge=challenge,
        owner=owner,
        purpose="register",
        payload=msgspec.to_builtins(pending),
        ttl=passkeys.CHALLENGE_TTL,
    )
    return options


async def _pending_registration(
    db: asyncpg.Pool, settings: Settings, cipher: PiiCipher, conn: Connection, body: RegisterStart
) -> PendingRegistration:
    name = _clean_name(body.name or "")
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "请填写姓名"
    elif len(name) > NAME_MAX:
        errors["name"] = f"姓名不能超过{NAME_MAX}个字"
    if body.id_number is None or not body.id_number.strip():
        if body.enrollment_code:
            if errors:
                raise FieldErrors(errors)
            return await _pending_staff(db, settings, conn, name, body.enrollment_code)
        errors["id_number"] = "请填写公民身份号码"
    elif problem := id_number_problem(body.id_number):
        errors["id_number"] = problem
    phone = (body.phone or "").strip() or None
    if phone and (problem := mobile_problem(phone)):
        errors["phone"] = problem
    if errors:
        raise FieldErrors(errors)
    assert body.id_number is not None
    id_number = normalize_id_number(body.id_number)
    person = await people_store.find_person_by_hash(db, cipher.lookup_hash(id_number))
    if person is None or person.name != name:
        # One message for both cases: the register must not confirm whose number this is.
        await audit(db, conn, "signup", "refused", subject=mask_id_number(id_number), reason="not in register")
        raise FieldErrors({"id_number": "姓名与公民身份号码不匹配，或未在人口库中登记，请核对后重试"})
    account = await store.resident_account_of(db, person.id)
    code_id = None
    if account is not None:
        grant = await enrollment.find_valid(db, settings.secret_key, body.enrollment_code or "")
        if grant is None or grant.person_id != person.id:
            await audit(db, conn, "signup", "refused", subject=f"person:{person.id}", reason="account exists")
            message = (
                "开户码无效或已过期，请到政务服务窗口重新领取"
                if body.enrollment_code
                else "该身份号码已开通账户。在新手机上使用，请凭身份证到政务服务窗口领取开户码后填写"
            )
            raise FieldErrors({"enrollment_code": message})
        code_id = grant.id
    return PendingRegistration(
        kind="resident",
        name=person.name,
        user_handle=(account["user_handle"] if account else passkeys.new_user_handle()).hex(),
        person_id=person.id,
        account_id=account["id"] if account else None,
        phone=phone,
        region_code=person.region_code,
        enrollment_code_id=code_id,
    )


async def _pending_staff(
    db: asyncpg.Pool, settings: Settings, conn: Connection, name: str, code: str
) -> PendingRegistration:
    grant = await enrollment.find_valid(db, settings.secret_key, code)
    account = await store.get_account(db, grant.account_id) if grant and grant.account_id else None
    if grant is None or account is None or account["kind"] != "staff" or account["name"] != name:
        await audit(db, conn, "signup", "refused", subject="staff", reason="bad staff enrollment code")
        raise FieldErrors({"enrollment_code": "开户码无效、已过期或与姓名不符，请联系管理员"})
    return PendingRegistration(
        kind="staff",
        name=name,
        user_handle=account["user_handle"].hex(),
        account_id=account["id"],
        enrollment_code_id=grant.id,
    )


async def adding_passkey_options(db: asyncpg.Pool, settings: Settings, owner: str, account_id: int) -> dict[str, Any]:
    account = await store.get_account(db, account_id)
    pending = PendingRegistration(
        kind="add", name=account["name"], user_handle=account["user_handle"].hex(), account_id=account_id
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
    payload = await auth_store.take_challenge(db, challenge=challenge, owner=owner, purpose="register")
    if payload is None:
        raise await _refuse(
            db,
            conn,
            "passkey.register",
            "unknown, used, expired or foreign challenge",
            "验证已过期或无效，请重新开始",
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
        if pending.enrollment_code_id is not None and not await auth_store.use_enrollment_code(
            tx, pending.enrollment_code_id
        ):
            raise FieldErrors({"enrollment_code": "开户码已被使用或已过期，请重新领取"})
        try:
            await auth_store.add_credential(
                tx,
                account_id=account_id,
                credential_id=verified.credential_id,
                public_key=verified.public_key,
                sign_count=verified.sign_count,
                transports=verified.transports,
                aaguid=verified.aaguid,
                device_type=verified.device_type,
                backed_up=verified.backed_up,
                name=_device_name(conn.headers.get("user-agent", "")),
            )
        except asyncpg.UniqueViolationError as exc:
            raise HTTPException(status_code=409, detail="该通行密钥已经登记过") from exc
        if pending.phone and pending.person_id:
            await store.update_phone(tx, pending.person_id, pending.phone)
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
    return account_id


async def _account_for(tx: asyncpg.Connection, pending: PendingRegistration) -> int:
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
        raise FieldErrors({"enrollment_code": "该身份号码已开通账户，请凭身份证到窗口领取开户码"}) from exc


def _device_name(user_agent: str) -> str:
    for marker, label in (
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "安卓设备"),
        ("HarmonyOS", "鸿蒙设备"),
        ("Windows", "Windows 电脑"),
        ("Macintosh", "Mac 电脑"),
        ("Linux", "Linux 设备"),
    ):
        if marker in user_agent:
            return f"{label}上的通行密钥"
    return "通行密钥"


async def login_options(db: asyncpg.Pool, settings: Settings, owner: str) -> dict[str, Any]:
    challenge, options = passkeys.authentication_options(rp_id=settings.rp_id)
    await auth_store.save_challenge(
        db, challenge=challenge, owner=owner, purpose="login", payload={}, ttl=passkeys.CHALLENGE_TTL
    )
    return options


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
    if await auth_store.take_challenge(db, challenge=challenge, owner=owner, purpose="login") is None:
        # Junk or a replay: nothing about the credential is known yet, so it counts against the address only.
        raise await _refuse(
            db, conn, "signin", "unknown, used, expired or foreign challenge", "验证已过期或无效，请重新登录", [ip]
        )
    stored = await auth_store.find_credential(db, credential_id)
    if stored is None:
        raise await _refuse(
            db, conn, "signin", "unknown credential", "此通行密钥未在本站登记，请先注册或使用其他通行密钥", [ip]
        )
    subject = f"account:{stored.account_id}"
    if user_handle is not None and user_handle != stored.user_handle:
        raise await _refuse(
            db, conn, "signin", "user handle mismatch", "通行密钥验证失败，请重试", [ip, cred_subject], subject
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
    account = await store.get_account(db, account_id)
    region = RegionRef(account["region_code"], account["region_name"]) if account["region_code"] else None
    return Me(
        name=account["name"],
        id_number_masked=account["id_number_masked"],
        roles=sorted(account["roles"]),
        region=region,
        department=account["department_name"],
    )


async def staff_problem(
    db: asyncpg.Pool | asyncpg.Connection, *, name: str, role: str, department: str | None, region: str
) -> str | None:
    """Why a staff account cannot be created as asked, or None. Helpers serve a village and no department."""
    if not name or len(name) > NAME_MAX:
        return f"--name: 不能为空，且不超过{NAME_MAX}个字"
    if role not in STAFF_ROLES:
        return f"--role: 应为 {', '.join(sorted(STAFF_ROLES))} 之一"
    level = await store.region_level(db, region)
    if level is None:
        return f"--region: 区划代码 {region} 不存在"
    if role == "helper":
        if department:
            return "--department: 帮办代办员不属于部门，请不要填写"
        if level != "village":
            return "--region: 帮办代办员须绑定到村/社区（12位区划代码）"
        return None
    if role in ("clerk", "approver") and not department:
        return "--department: 窗口和审批人员须填写所属部门代码"
    if department and not await store.department_exists(db, department):
        return f"--department: 部门代码 {department} 不存在"
    return None
