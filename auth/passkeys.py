"""A thin wrapper around py_webauthn: the only module that speaks WebAuthn.

Ceremony options go out as WebAuthn Level 3 JSON (options_to_json); responses come back as what
PublicKeyCredential.toJSON() produces. Failures become PasskeyError with a reason for the audit
log and a message in Chinese for the person.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any, cast

import msgspec
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, parse_client_data_json
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from i18n import N_

RP_NAME = N_("常州一网通办")
CHALLENGE_TTL = timedelta(minutes=5)
ALGORITHMS = [COSEAlgorithmIdentifier.ECDSA_SHA_256, COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256]
TIMEOUT_MS = 300_000


class PasskeyError(Exception):
    def __init__(self, reason: str, message: str = N_("通行密钥验证失败，请重试")) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message


class VerifiedPasskey(msgspec.Struct, frozen=True, kw_only=True):
    credential_id: bytes
    public_key: bytes
    sign_count: int
    aaguid: str
    device_type: str
    backed_up: bool
    transports: list[str]


def new_user_handle() -> bytes:
    return secrets.token_bytes(32)


def registration_options(
    *, rp_id: str, user_handle: bytes, user_name: str, display_name: str, exclude: list[bytes]
) -> tuple[bytes, dict[str, Any]]:
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=RP_NAME,
        user_id=user_handle,
        user_name=user_name,
        user_display_name=display_name,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            require_resident_key=True,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=c) for c in exclude],
        supported_pub_key_algs=ALGORITHMS,
    )
    return options.challenge, json.loads(options_to_json(options))


def authentication_options(*, rp_id: str, allow: list[bytes] | None = None) -> tuple[bytes, dict[str, Any]]:
    # Sign-in lists no credentials (discoverable: nobody types a user name); an elder's consent on a
    # helper's tablet lists the elder's own, so only their passkey can answer.
    options = generate_authentication_options(
        rp_id=rp_id,
        timeout=TIMEOUT_MS,
        user_verification=UserVerificationRequirement.REQUIRED,
        allow_credentials=[PublicKeyCredentialDescriptor(id=c) for c in allow or []],
    )
    return options.challenge, json.loads(options_to_json(options))


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise PasskeyError(f"missing {what}", N_("通行密钥数据不完整，请重试"))
    try:
        return base64url_to_bytes(value)
    except (ValueError, TypeError) as exc:
        raise PasskeyError(f"malformed {what}", N_("通行密钥数据格式不正确，请重试")) from exc


def _response_of(credential: dict[str, Any]) -> dict[str, Any] | None:
    """The credential's `response` object, if it is one."""
    response = credential.get("response")
    return cast("dict[str, Any]", response) if isinstance(response, dict) else None


def challenge_of(credential: dict[str, Any]) -> bytes:
    """The challenge the browser signed, read from clientDataJSON (checked properly by verify_*)."""
    response = _response_of(credential)
    if response is None:
        raise PasskeyError("missing response", N_("通行密钥数据不完整，请重试"))
    try:
        return parse_client_data_json(_b64(response.get("clientDataJSON"), "clientDataJSON")).challenge
    except PasskeyError:
        raise
    except Exception as exc:  # py_webauthn raises several types for malformed client data
        raise PasskeyError("malformed clientDataJSON", N_("通行密钥数据格式不正确，请重试")) from exc


def credential_id_of(credential: dict[str, Any]) -> bytes:
    return _b64(credential.get("rawId") or credential.get("id"), "credential id")


def user_handle_of(credential: dict[str, Any]) -> bytes | None:
    response = _response_of(credential)
    handle = response.get("userHandle") if response is not None else None
    return _b64(handle, "userHandle") if handle else None


def verify_registration(credential: dict[str, Any], *, challenge: bytes, rp_id: str, origin: str) -> VerifiedPasskey:
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
            supported_pub_key_algs=ALGORITHMS,
        )
    except InvalidRegistrationResponse as exc:
        raise PasskeyError(f"registration refused: {exc}") from exc
    except Exception as exc:  # malformed input surfaces as KeyError/ValueError/etc. inside the library
        raise PasskeyError(
            f"malformed registration: {type(exc).__name__}", N_("通行密钥数据格式不正确，请重试")
        ) from exc
    response = _response_of(credential) or {}
    listed: list[object] = response.get("transports") or []
    transports = [t for t in listed if isinstance(t, str)][:8]
    return VerifiedPasskey(
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=str(verified.aaguid),
        device_type=str(verified.credential_device_type.value),
        backed_up=verified.credential_backed_up,
        transports=transports,
    )


def verify_authentication(
    credential: dict[str, Any], *, challenge: bytes, rp_id: str, origin: str, public_key: bytes, sign_count: int
) -> int:
    """Return the new sign count; a counter that does not increase is refused by py_webauthn."""
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=public_key,
            credential_current_sign_count=sign_count,
            require_user_verification=True,
        )
    except InvalidAuthenticationResponse as exc:
        raise PasskeyError(f"authentication refused: {exc}") from exc
    except Exception as exc:
        raise PasskeyError(f"malformed assertion: {type(exc).__name__}", N_("通行密钥数据格式不正确，请重试")) from exc
    return verified.new_sign_count
