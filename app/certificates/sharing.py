"""亮证: a holder shows a certificate as a QR code carrying a signed, short-lived token for that one certificate;
anyone who scans it (a clerk's /scan, any phone) opens /verify/{token} and sees whether it is genuine and current,
with the holder's name and the number masked — nothing else.

The token is an itsdangerous signature (HMAC-SHA256, key derived from SECRET_KEY with its own salt) over the
certificate's row id, the moment it expires and a random nonce: it cannot be guessed or altered, it names one
certificate, and it never carries the number or the holder. Expiry is checked against the caller's clock (`now`),
so tests move time instead of sleeping.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
from itsdangerous import BadSignature, URLSafeSerializer

from i18n import N_, _

SHARE_LIFETIME = timedelta(minutes=5)
_SALT = "ywtb/certificate-share/v1"


class ShareToken(msgspec.Struct, frozen=True, kw_only=True):
    token: str
    url: str
    expires_at: datetime


class Verification(msgspec.Struct, frozen=True, kw_only=True):
    """What a scan of a shown certificate tells anyone: genuine and current or not, and why; the holder masked."""

    valid: bool
    title: str | None = None
    holder_masked: str | None = None
    number_masked: str | None = None
    issued_by: str | None = None
    issued_on: date | None = None
    reason: str | None = None


class SharedClaim(msgspec.Struct, frozen=True, kw_only=True):
    certificate_id: int
    expires_at: datetime


EXPIRED = N_("该亮证码已过期（有效5分钟）。请持证人在证照页面刷新后重新出示。")
TAMPERED = N_("该二维码无效：不是本平台签发的亮证码，或内容已被改动。请持证人重新出示。")
WITHDRAWN = N_("该证照已撤销或不存在，不能作为有效证照使用。")
HOLDER_DEREGISTERED = N_("该证照已失效：持证人户口已注销。")


def voided(on: date, reason: str, *, replaced: bool) -> str:
    """Why a void certificate no longer holds, and, when a corrected one replaced it (更正), what to ask for instead."""
    if replaced:
        return _(
            "该证照已作废：已于%(year)s年%(month)s月%(day)s日%(reason)s，不能再作为有效证照使用。请持证人出示更正后的新证照。"
        ) % {"year": on.year, "month": on.month, "day": on.day, "reason": reason}
    return _("该证照已作废（%(reason)s，%(year)s年%(month)s月%(day)s日），不能再作为有效证照使用。") % {
        "reason": reason,
        "year": on.year,
        "month": on.month,
        "day": on.day,
    }


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=_SALT, signer_kwargs={"digest_method": hashlib.sha256})


def sign(secret_key: str, certificate_id: int, now: datetime) -> tuple[str, datetime]:
    """A token for one certificate, valid for SHARE_LIFETIME from `now`; the token and when it expires."""
    expires_at = (now + SHARE_LIFETIME).astimezone(UTC).replace(microsecond=0)
    payload = {"c": certificate_id, "e": int(expires_at.timestamp()), "n": secrets.token_urlsafe(9)}
    return str(_serializer(secret_key).dumps(payload)), expires_at


def read(secret_key: str, token: str) -> SharedClaim | None:
    """The claim a token makes, if the signature holds (expiry is the caller's to check); None when it does not."""
    try:
        payload: Any = _serializer(secret_key).loads(token)
    except BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    certificate_id, expires = payload.get("c"), payload.get("e")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    if not isinstance(certificate_id, int) or not isinstance(expires, int):
        return None
    return SharedClaim(certificate_id=certificate_id, expires_at=datetime.fromtimestamp(expires, UTC))


def mask_name(name: str) -> str:
    """张伟 → 张*, 欧阳娜娜 → 欧***: the family name's first character, never the given name."""
    clean = "".join(name.split())
    return clean[:1] + "*" * max(len(clean) - 1, 1) if clean else "*"
