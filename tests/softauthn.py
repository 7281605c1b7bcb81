"""A software WebAuthn authenticator (+ just enough "browser") for tests.

It consumes the options JSON produced by ``webauthn.options_to_json`` (py_webauthn) and returns
credentials in the WebAuthn Level 3 JSON form (``PublicKeyCredential.toJSON()``), which is what
``webauthn.helpers.parse_registration_credential_json`` / ``parse_authentication_credential_json``
(and therefore ``verify_registration_response`` / ``verify_authentication_response``) accept.

Only ES256 (ECDSA P-256 / SHA-256, COSE alg -7) is implemented; everything algorithm-specific
lives in the ``_ES256`` section below. Binary values are base64url without padding everywhere.

Typical use::

    auth = SoftAuthenticator("localhost", "http://localhost:8000")
    reg = auth.create(options_to_json(reg_options))       # -> POST to the register/finish endpoint
    assertion = auth.get(options_to_json(auth_options))   # -> POST to the login/finish endpoint

Tampering knobs for negative tests: ``origin=`` / ``challenge_override=`` on both ceremonies,
``sign_count_override=`` on ``get``, ``forge_signature()``, ``user_verified=False`` on the
authenticator, and direct access to ``credentials``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

__all__ = [
    "COSE_ALG",
    "SoftAuthenticator",
    "SoftAuthnError",
    "StoredCredential",
    "b64url_decode",
    "b64url_encode",
]

# --- ES256: the only algorithm; keep every alg-specific detail here --------------------------

COSE_ALG = -7  # ES256 (COSEAlgorithmIdentifier.ECDSA_SHA_256)


def _new_private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _cose_public_key(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """COSE_Key for an EC2 P-256 key, CTAP2 canonical key order (1, 3, -1, -2, -3)."""
    numbers = private_key.public_key().public_numbers()
    return cbor2.dumps(
        {
            1: 2,  # kty: EC2
            3: COSE_ALG,  # alg
            -1: 1,  # crv: P-256
            -2: numbers.x.to_bytes(32, "big"),
            -3: numbers.y.to_bytes(32, "big"),
        }
    )


def _sign(private_key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """DER-encoded ECDSA signature, as WebAuthn ES256 authenticators return it."""
    return private_key.sign(data, ec.ECDSA(hashes.SHA256()))


# --- encoding helpers -----------------------------------------------------------------------


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


# authenticatorData flag bits (WebAuthn §6.1)
FLAG_UP = 0x01
FLAG_UV = 0x04
FLAG_BE = 0x08
FLAG_BS = 0x10
FLAG_AT = 0x40
FLAG_ED = 0x80

AAGUID = bytes(16)  # all zeros, as with "none" attestation in browsers


class SoftAuthnError(Exception):
    """What a browser would surface as NotAllowedError / InvalidStateError / SecurityError."""


@dataclass
class StoredCredential:
    id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    user_name: str = ""
    sign_count: int = 0
    alg: int = COSE_ALG
    transports: list[str] = field(default_factory=lambda: ["internal"])

    @property
    def id_b64(self) -> str:
        return b64url_encode(self.id)

    @property
    def public_key_cose(self) -> bytes:
        """What py_webauthn returns as ``VerifiedRegistration.credential_public_key``."""
        return _cose_public_key(self.private_key)

    @property
    def public_key_spki(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def _load_options(options_json: dict[str, Any] | str) -> dict[str, Any]:
    options = json.loads(options_json) if isinstance(options_json, str) else options_json
    if not isinstance(options, dict):
        raise TypeError("options must be a JSON object")
    # Accept the navigator.credentials.{create,get} argument shape as well: {"publicKey": {...}}
    if "publicKey" in options and isinstance(options["publicKey"], dict):
        options = options["publicKey"]
    return options


def _client_data_json(kind: str, challenge: bytes, origin: str) -> bytes:
    # Same member order and compact form as Chromium.
    return json.dumps(
        {"type": kind, "challenge": b64url_encode(challenge), "origin": origin, "crossOrigin": False},
        separators=(",", ":"),
    ).encode()


class SoftAuthenticator:
    """A platform (``internal``) authenticator holding discoverable ES256 credentials in memory."""

    def __init__(
        self,
        rp_id: str,
        origin: str,
        *,
        sign_count_start: int = 0,
        use_counter: bool = True,
        user_verified: bool = True,
    ) -> None:
        self.rp_id = rp_id
        self.origin = origin
        self.sign_count_start = sign_count_start
        self.use_counter = use_counter
        self.user_verified = user_verified
        self.credentials: list[StoredCredential] = []

    # --- lookup ---------------------------------------------------------------------------

    def credential(self, credential_id: bytes | str) -> StoredCredential:
        """Find a stored credential by raw id or its base64url form."""
        raw = b64url_decode(credential_id) if isinstance(credential_id, str) else credential_id
        for cred in self.credentials:
            if cred.id == raw:
                return cred
        raise KeyError(f"no stored credential {b64url_encode(raw)}")

    @property
    def last_credential(self) -> StoredCredential:
        if not self.credentials:
            raise SoftAuthnError("NotAllowedError: authenticator holds no credentials")
        return self.credentials[-1]

    # --- internals ------------------------------------------------------------------------

    def _flags(self) -> int:
        # BE/BS stay off: a device-bound (single-device) credential.
        return FLAG_UP | (FLAG_UV if self.user_verified else 0)

    def _rp_id_for(self, requested: str | None) -> str:
        rp_id = requested or self.rp_id
        if rp_id != self.rp_id:
            # A browser would refuse an rpId that is not the origin's (registrable) domain.
            raise SoftAuthnError(f"SecurityError: rpId {rp_id!r} does not match {self.rp_id!r}")
        return rp_id

    # --- ceremonies -----------------------------------------------------------------------

    def create(
        self,
        options_json: dict[str, Any] | str,
        *,
        origin: str | None = None,
        challenge_override: bytes | None = None,
    ) -> dict[str, Any]:
        """navigator.credentials.create() → RegistrationResponseJSON (attestation "none")."""
        options = _load_options(options_json)
        rp_id = self._rp_id_for((options.get("rp") or {}).get("id"))

        algs = [p.get("alg") for p in options.get("pubKeyCredParams") or [] if p.get("type") == "public-key"]
        if algs and COSE_ALG not in algs:
            raise SoftAuthnError(f"NotSupportedError: none of {algs} is supported (only {COSE_ALG})")

        excluded = {b64url_decode(c["id"]) for c in options.get("excludeCredentials") or []}
        if any(c.id in excluded and c.rp_id == rp_id for c in self.credentials):
            raise SoftAuthnError("InvalidStateError: authenticator already holds an excluded credential")

        user = options["user"]
        challenge = b64url_decode(options["challenge"])
        cred = StoredCredential(
            id=secrets.token_bytes(32),
            private_key=_new_private_key(),
            rp_id=rp_id,
            user_handle=b64url_decode(user["id"]),
            user_name=user.get("name", ""),
            sign_count=self.sign_count_start if self.use_counter else 0,
        )
        # A discoverable credential replaces any earlier one for the same (rp, user handle).
        self.credentials = [c for c in self.credentials if not (c.rp_id == rp_id and c.user_handle == cred.user_handle)]
        self.credentials.append(cred)

        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([self._flags() | FLAG_AT])
            + cred.sign_count.to_bytes(4, "big")
            + AAGUID
            + len(cred.id).to_bytes(2, "big")
            + cred.id
            + cred.public_key_cose
        )
        attestation_object = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = _client_data_json(
            "webauthn.create",
            challenge if challenge_override is None else challenge_override,
            origin or self.origin,
        )
        return {
            "id": cred.id_b64,
            "rawId": cred.id_b64,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url_encode(client_data),
                "attestationObject": b64url_encode(attestation_object),
                "transports": list(cred.transports),
                "publicKeyAlgorithm": cred.alg,
                "publicKey": b64url_encode(cred.public_key_spki),
                "authenticatorData": b64url_encode(auth_data),
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }

    def get(
        self,
        options_json: dict[str, Any] | str,
        *,
        origin: str | None = None,
        challenge_override: bytes | None = None,
        credential_id: bytes | None = None,
        sign_count_override: int | None = None,
    ) -> dict[str, Any]:
        """navigator.credentials.get() → AuthenticationResponseJSON.

        With an empty/absent ``allowCredentials`` (discoverable login) the most recently created
        credential for the rp id is used; otherwise the most recent listed one we hold.
        ``credential_id`` picks a specific stored credential. ``sign_count_override`` reports
        that counter instead (the stored counter is then left unchanged).
        """
        options = _load_options(options_json)
        rp_id = self._rp_id_for(options.get("rpId"))
        challenge = b64url_decode(options["challenge"])

        candidates = [c for c in self.credentials if c.rp_id == rp_id]
        allowed = {b64url_decode(c["id"]) for c in options.get("allowCredentials") or []}
        if allowed:
            candidates = [c for c in candidates if c.id in allowed]
        if credential_id is not None:
            candidates = [c for c in candidates if c.id == credential_id]
        if not candidates:
            raise SoftAuthnError("NotAllowedError: no matching credential on this authenticator")
        cred = candidates[-1]

        if sign_count_override is not None:
            counter = sign_count_override
        elif self.use_counter:
            cred.sign_count += 1
            counter = cred.sign_count
        else:
            counter = 0

        auth_data = hashlib.sha256(rp_id.encode()).digest() + bytes([self._flags()]) + counter.to_bytes(4, "big")
        client_data = _client_data_json(
            "webauthn.get",
            challenge if challenge_override is None else challenge_override,
            origin or self.origin,
        )
        signature = _sign(cred.private_key, auth_data + hashlib.sha256(client_data).digest())
        return {
            "id": cred.id_b64,
            "rawId": cred.id_b64,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url_encode(client_data),
                "authenticatorData": b64url_encode(auth_data),
                "signature": b64url_encode(signature),
                "userHandle": b64url_encode(cred.user_handle),
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }

    # --- tampering ------------------------------------------------------------------------

    @staticmethod
    def forge_signature(assertion: dict[str, Any]) -> dict[str, Any]:
        """Copy of ``assertion`` with the last signature byte flipped (still well-formed DER)."""
        forged = copy.deepcopy(assertion)
        sig = bytearray(b64url_decode(forged["response"]["signature"]))
        sig[-1] ^= 0x01
        forged["response"]["signature"] = b64url_encode(bytes(sig))
        return forged
