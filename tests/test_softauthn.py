"""The software authenticator must satisfy py_webauthn exactly as a browser would."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from tests.softauthn import COSE_ALG, SoftAuthenticator, SoftAuthnError, b64url_decode

RP_ID = "localhost"
ORIGIN = "http://localhost:8000"
USER_ID = b"user-0001-handle"


@dataclass
class Registered:
    auth: SoftAuthenticator
    credential_id: bytes
    public_key: bytes
    sign_count: int


def registration_options():
    return generate_registration_options(
        rp_id=RP_ID,
        rp_name="常州一网通办",
        user_id=USER_ID,
        user_name="zhangsan",
        user_display_name="张三",
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            require_resident_key=True,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
    )


def verify_reg(credential, challenge: bytes):
    return verify_registration_response(
        credential=credential,
        expected_challenge=challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        require_user_verification=True,
    )


def login_options(allow: list[bytes] | None = None):
    return generate_authentication_options(
        rp_id=RP_ID,
        allow_credentials=[PublicKeyCredentialDescriptor(id=i) for i in allow] if allow else None,
        user_verification=UserVerificationRequirement.REQUIRED,
    )


def verify_login(credential, challenge: bytes, reg: Registered):
    return verify_authentication_response(
        credential=credential,
        expected_challenge=challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        credential_public_key=reg.public_key,
        credential_current_sign_count=reg.sign_count,
        require_user_verification=True,
    )


def register(auth: SoftAuthenticator) -> Registered:
    options = registration_options()
    verified = verify_reg(auth.create(options_to_json(options)), options.challenge)
    return Registered(auth, verified.credential_id, verified.credential_public_key, verified.sign_count)


@pytest.fixture
def reg() -> Registered:
    return register(SoftAuthenticator(RP_ID, ORIGIN))


# --- registration ---------------------------------------------------------------------------


def test_registration_verifies_and_has_l3_json_shape():
    auth = SoftAuthenticator(RP_ID, ORIGIN)
    options = registration_options()
    response = auth.create(options_to_json(options))

    verified = verify_reg(response, options.challenge)

    cred = auth.credentials[-1]
    assert verified.credential_id == cred.id and len(cred.id) == 32
    assert verified.credential_public_key == cred.public_key_cose
    assert verified.user_verified is True
    assert verified.fmt == "none"
    assert verified.sign_count == 0
    assert verified.credential_backed_up is False
    assert cred.user_handle == USER_ID and cred.user_name == "zhangsan"

    assert response["id"] == response["rawId"] and "=" not in response["id"]
    assert response["type"] == "public-key"
    assert response["authenticatorAttachment"] == "platform"
    assert response["clientExtensionResults"] == {}
    r = response["response"]
    assert r["transports"] == ["internal"]
    assert r["publicKeyAlgorithm"] == COSE_ALG == -7
    assert b64url_decode(r["publicKey"]) == cred.public_key_spki
    client_data = json.loads(b64url_decode(r["clientDataJSON"]))
    assert client_data["type"] == "webauthn.create" and client_data["origin"] == ORIGIN


def test_create_accepts_dict_and_string_options():
    auth = SoftAuthenticator(RP_ID, ORIGIN)
    options = registration_options()
    as_dict = json.loads(options_to_json(options))
    verify_reg(auth.create(as_dict), options.challenge)
    verify_reg(json.dumps(auth.create(json.dumps(as_dict))), options.challenge)


def test_registration_wrong_origin_rejected():
    options = registration_options()
    response = SoftAuthenticator(RP_ID, ORIGIN).create(options_to_json(options), origin="http://evil.example:8000")
    with pytest.raises(InvalidRegistrationResponse, match="origin"):
        verify_reg(response, options.challenge)


def test_registration_wrong_challenge_rejected():
    options = registration_options()
    response = SoftAuthenticator(RP_ID, ORIGIN).create(
        options_to_json(options), challenge_override=b"not-the-challenge"
    )
    with pytest.raises(InvalidRegistrationResponse, match="challenge"):
        verify_reg(response, options.challenge)


def test_registration_without_user_verification_rejected_when_required():
    options = registration_options()
    response = SoftAuthenticator(RP_ID, ORIGIN, user_verified=False).create(options_to_json(options))
    with pytest.raises(InvalidRegistrationResponse, match="User verification"):
        verify_reg(response, options.challenge)


def test_exclude_credentials_refused():
    auth = SoftAuthenticator(RP_ID, ORIGIN)
    first = register(auth)
    options = json.loads(options_to_json(registration_options()))
    options["excludeCredentials"] = [{"id": auth.credentials[0].id_b64, "type": "public-key"}]
    with pytest.raises(SoftAuthnError, match="InvalidStateError"):
        auth.create(options)
    assert [c.id for c in auth.credentials] == [first.credential_id]


# --- authentication -------------------------------------------------------------------------


def test_discoverable_login_verifies_and_counts(reg: Registered):
    for expected_count in (1, 2):
        options = login_options()
        assert json.loads(options_to_json(options))["allowCredentials"] == []  # py_webauthn emits []
        assertion = reg.auth.get(options_to_json(options))

        verified = verify_login(assertion, options.challenge, reg)

        assert verified.credential_id == reg.credential_id
        assert verified.new_sign_count == expected_count
        assert verified.user_verified is True
        assert b64url_decode(assertion["response"]["userHandle"]) == USER_ID
        assert assertion["authenticatorAttachment"] == "platform"
        assert assertion["clientExtensionResults"] == {}
        reg.sign_count = verified.new_sign_count


def test_allow_credentials_picks_a_listed_credential():
    auth = SoftAuthenticator(RP_ID, ORIGIN)
    first = register(auth)
    # a second user on the same device; it is the most recent one
    other = generate_registration_options(rp_id=RP_ID, rp_name="x", user_id=b"other", user_name="lisi")
    auth.create(options_to_json(other))

    discoverable = auth.get(options_to_json(login_options()))
    assert b64url_decode(discoverable["rawId"]) != first.credential_id

    options = login_options(allow=[first.credential_id])
    assertion = auth.get(options_to_json(options))
    assert verify_login(assertion, options.challenge, first).credential_id == first.credential_id

    with pytest.raises(SoftAuthnError, match="NotAllowedError"):
        auth.get(options_to_json(login_options(allow=[b"unknown-credential-id"])))


def test_credential_id_selects_specific_credential():
    auth = SoftAuthenticator(RP_ID, ORIGIN)
    first = register(auth)
    auth.create(options_to_json(generate_registration_options(rp_id=RP_ID, rp_name="x", user_name="b")))
    options = login_options()
    assertion = auth.get(options_to_json(options), credential_id=first.credential_id)
    assert verify_login(assertion, options.challenge, first).credential_id == first.credential_id


def test_counter_disabled_always_zero():
    reg = register(SoftAuthenticator(RP_ID, ORIGIN, use_counter=False))
    for _ in range(2):
        options = login_options()
        verified = verify_login(reg.auth.get(options_to_json(options)), options.challenge, reg)
        assert verified.new_sign_count == 0


def test_sign_count_start():
    reg = register(SoftAuthenticator(RP_ID, ORIGIN, sign_count_start=41))
    assert reg.sign_count == 41
    options = login_options()
    assert verify_login(reg.auth.get(options_to_json(options)), options.challenge, reg).new_sign_count == 42


def test_login_wrong_origin_rejected(reg: Registered):
    options = login_options()
    assertion = reg.auth.get(options_to_json(options), origin="https://localhost:8000")
    with pytest.raises(InvalidAuthenticationResponse, match="origin"):
        verify_login(assertion, options.challenge, reg)


def test_login_wrong_challenge_rejected(reg: Registered):
    options = login_options()
    assertion = reg.auth.get(options_to_json(options), challenge_override=b"\x00" * 64)
    with pytest.raises(InvalidAuthenticationResponse, match="challenge"):
        verify_login(assertion, options.challenge, reg)


def test_login_forged_signature_rejected(reg: Registered):
    options = login_options()
    assertion = reg.auth.get(options_to_json(options))
    forged = SoftAuthenticator.forge_signature(assertion)
    assert forged["response"]["signature"] != assertion["response"]["signature"]
    with pytest.raises(InvalidAuthenticationResponse, match="signature"):
        verify_login(forged, options.challenge, reg)
    # the original is untouched and still valid
    assert verify_login(assertion, options.challenge, reg).new_sign_count == 1


def test_login_counter_going_backwards_rejected(reg: Registered):
    options = login_options()
    verified = verify_login(reg.auth.get(options_to_json(options)), options.challenge, reg)
    reg.sign_count = verified.new_sign_count
    assert reg.sign_count == 1

    for stale in (reg.sign_count, reg.sign_count - 1):
        options = login_options()
        assertion = reg.auth.get(options_to_json(options), sign_count_override=stale)
        with pytest.raises(InvalidAuthenticationResponse, match="sign count"):
            verify_login(assertion, options.challenge, reg)
    assert reg.auth.credentials[-1].sign_count == 1  # override did not advance the stored counter


def test_login_without_user_verification_rejected_when_required(reg: Registered):
    reg.auth.user_verified = False
    options = login_options()
    with pytest.raises(InvalidAuthenticationResponse, match="User verification"):
        verify_login(reg.auth.get(options_to_json(options)), options.challenge, reg)


def test_wrong_rp_id_refused_like_a_browser(reg: Registered):
    with pytest.raises(SoftAuthnError, match="SecurityError"):
        reg.auth.get(options_to_json(generate_authentication_options(rp_id="example.com")))
