"""代办授权 over HTTP: a helper records it with the elder present, uses it, and every misuse is 403 (audited)."""

from __future__ import annotations

import base64
import io
import random
import struct
import zlib
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from litestar import Litestar
from PIL import Image, ImageDraw, ImageFile, PngImagePlugin

from config.settings import Settings
from tests.auth_helpers import new_authenticator, post, sign_in, sign_out, sign_up, staff_client_sign_up
from tests.case_helpers import answers_for, upload_required_materials

pytestmark = pytest.mark.anyio
ELDER = {"name": "史永生", "id_number": "320481194702282050"}
NEIGHBOUR = {"name": "潘玉兰", "id_number": "32048119490821212X"}
ELSEWHERE = {"name": "瞿秀珍", "id_number": "320481195003082345"}
VILLAGE = "320481002002"


# Short, shaky signatures (two small characters) drawn with signature.js on the 1024×768 tablet and exported by
# canvas.toDataURL, as the delegation page sends them: at one pixel per CSS pixel, and at two in 长辈版 with the
# largest text, where the same hand inks the smallest share of the pad.
CAPTURED_SIGNATURES = {
    "captured on the tablet": Path(__file__).parent / "data" / "signature-shaky-tablet.png",
    "captured on the tablet in 长辈版": Path(__file__).parent / "data" / "signature-shaky-tablet-elder.png",
}


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def drawn_signature() -> bytes:
    """A signature drawn with lines on a pad of the tablet's size (636×204 at one pixel per CSS pixel)."""
    image = Image.new("RGB", (636, 204), "white")
    draw = ImageDraw.Draw(image)
    draw.line([(40, 120), (90, 60), (120, 140), (170, 70), (210, 130)], fill="#111", width=4, joint="curve")
    draw.line([(240, 80), (300, 80), (270, 50), (270, 150), (320, 140)], fill="#111", width=4, joint="curve")
    return png_bytes(image)


def signature_png() -> str:
    return data_url(drawn_signature())


def delegation_body(client: dict[str, str], **overrides: object) -> dict[str, object]:
    return {
        "client_id_number": client["id_number"],
        "client_name": client["name"],
        "scope": "all",
        "expires_on": (date.today() + timedelta(days=180)).isoformat(),
        "identity_check": "id_card",
        "consent": {"method": "signature", "signature_png": signature_png()},
        **overrides,
    }


@pytest.fixture
async def helper(app: Litestar, pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50300))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
        await staff_client_sign_up(client, pool, settings.secret_key, name="陈帮办", role="helper", region=VILLAGE)
        yield client


async def _file_retirement(helper: httpx.AsyncClient, client: dict[str, str], key: str) -> httpx.Response:
    form = (await helper.get("/api/v1/life-events/retirement/form")).json()
    try:
        uploads = await upload_required_materials(helper, "retirement", form, client["id_number"])
    except AssertionError:
        uploads = []  # refused like the submission itself; the submission's answer is what the test checks
    body = {
        "uploads": uploads,
        "life_event": "retirement",
        "data": answers_for(form),
        "idempotency_key": key,
        "on_behalf_of": client["id_number"],
    }
    return await post(helper, "/api/v1/cases", body)


async def _forbidden_checks(pool: asyncpg.Pool) -> int:
    return await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'delegation.check' AND outcome = 'forbidden'"
    )


async def test_the_delegation_lifecycle(
    helper: httpx.AsyncClient, client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    # None yet: refused and audited.
    assert (await _file_retirement(helper, ELDER, "deleg-0001")).status_code == 403
    assert await _forbidden_checks(pool) == 2  # the upload and the submission, each refused

    created = await post(helper, "/api/v1/delegations", delegation_body(ELDER))
    assert created.status_code == 201, created.text
    roster = (await helper.get("/api/v1/delegations")).json()
    assert [(d["client_name"], d["status"], d["client_id_number_masked"]) for d in roster] == [
        ("史永生", "active", "320481********2050")
    ]

    filed = await _file_retirement(helper, ELDER, "deleg-0002")
    assert filed.status_code == 201, filed.text
    row = await pool.fetchrow("SELECT channel, filed_as FROM cases")
    assert (row["channel"], row["filed_as"]) == ("helper", "helper")
    note = await pool.fetchval("SELECT note FROM timeline_events ORDER BY id LIMIT 1")
    assert note == "由帮办员 陈帮办 代办"
    assert (await helper.get("/api/v1/delegations")).json()[0]["open_cases"] == [filed.json()["case_no"]]

    # The elder, signed in on a family member's phone, sees the case and the delegation, and revokes it.
    await sign_up(client, new_authenticator(), ELDER)
    assert [c["case_no"] for c in (await client.get("/api/v1/cases")).json()] == [filed.json()["case_no"]]
    given = (await client.get("/api/v1/delegations")).json()
    assert [d["helper_name"] for d in given] == ["陈帮办"]
    revoked = await client.delete(
        f"/api/v1/delegations/{given[0]['id']}", headers={"X-CSRFToken": client.cookies["csrftoken"]}
    )
    assert revoked.status_code == 204
    assert (await _file_retirement(helper, ELDER, "deleg-0003")).status_code == 403
    assert (await helper.get("/api/v1/delegations")).json()[0]["status"] == "revoked"


async def test_an_expired_delegation_is_refused(helper: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    assert (await post(helper, "/api/v1/delegations", delegation_body(ELDER))).status_code == 201
    await pool.execute("UPDATE delegations SET expires_on = current_date - 1")
    assert (await _file_retirement(helper, ELDER, "deleg-exp-1")).status_code == 403
    assert (await helper.get("/api/v1/delegations")).json()[0]["status"] == "expired"


async def test_outside_scope_is_refused(helper: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    body = delegation_body(ELDER, scope=["death"])
    assert (await post(helper, "/api/v1/delegations", body)).status_code == 201
    assert (await _file_retirement(helper, ELDER, "deleg-scope-1")).status_code == 403
    assert await _forbidden_checks(pool) == 2  # the upload and the submission, each refused


async def test_a_client_outside_the_helpers_village_is_refused(helper: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    response = await post(helper, "/api/v1/delegations", delegation_body(ELSEWHERE))
    assert response.status_code == 403
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'delegation.create' AND outcome = 'forbidden'"
        )
        == 1
    )
    assert (await _file_retirement(helper, ELSEWHERE, "deleg-far-1")).status_code == 403


async def test_one_clients_delegation_does_not_cover_another(helper: httpx.AsyncClient) -> None:
    assert (await post(helper, "/api/v1/delegations", delegation_body(ELDER))).status_code == 201
    assert (await _file_retirement(helper, NEIGHBOUR, "deleg-other-1")).status_code == 403


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"client_name": "张三"}, "client_id_number"),
        ({"client_id_number": "320481194702282051"}, "client_id_number"),
        ({"scope": []}, "scope"),
        ({"scope": ["no-such-event"]}, "scope"),
        ({"expires_on": (date.today() + timedelta(days=400)).isoformat()}, "expires_on"),
        ({"expires_on": date.today().isoformat()}, "expires_on"),
        ({"identity_check": "looked at them"}, "identity_check"),
        ({"consent": {"method": "signature", "signature_png": "bm90IGEgcG5n"}}, "consent"),
        ({"consent": {"method": "nod"}}, "consent"),
    ],
)
async def test_bad_delegations_are_400_per_field(
    helper: httpx.AsyncClient, overrides: dict[str, object], field: str
) -> None:
    response = await post(helper, "/api/v1/delegations", delegation_body(ELDER, **overrides))
    assert response.status_code == 400, response.text
    assert field in response.json()["errors"]


@pytest.mark.parametrize("scope", [["business-change"], ["retirement", "business-closure"]])
async def test_a_delegation_cannot_name_an_organisations_life_event(
    helper: httpx.AsyncClient, pool: asyncpg.Pool, scope: list[str]
) -> None:
    """企业变更登记 and 企业注销 are filed only for an organisation, by its legal representative or 经办人: a helper's
    delegation from an elder can never cover them, so naming one is refused beside the scope, and nothing is kept."""
    response = await post(helper, "/api/v1/delegations", delegation_body(ELDER, scope=scope))
    assert response.status_code == 400, response.text
    message = response.json()["errors"]["scope"]
    assert "企业" in message and "法定代表人或经办人" in message
    assert await pool.fetchval("SELECT count(*) FROM delegations") == 0


def _with_corrupt_chunk(png: bytes) -> bytes:
    """One byte of the image data changed, its chunk's checksum left as it was."""
    at = png.index(b"IDAT") + 4 + 10
    return png[:at] + bytes([png[at] ^ 0xFF]) + png[at + 1 :]


def _dot() -> bytes:
    image = Image.new("RGB", (636, 204), "white")
    ImageDraw.Draw(image).ellipse([(300, 100), (304, 104)], fill="#111")  # a tap on the pad
    return png_bytes(image)


def _noise() -> bytes:
    return png_bytes(Image.frombytes("L", (636, 204), bytes(random.Random(1).randrange(256) for _ in range(636 * 204))))


def _one_pixel() -> bytes:
    """A 1×1 PNG, carrying a text chunk so that it is not refused for its length alone."""
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "签名" * 40)
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), "black").save(buffer, format="PNG", pnginfo=text)
    return buffer.getvalue()


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(drawn_signature())).save(buffer, format="JPEG")
    return buffer.getvalue()


NOT_SIGNATURES = {
    "a PNG header and junk": b"\x89PNG\r\n\x1a\n" + bytes(random.Random(2).randrange(256) for _ in range(600)),
    "a blank pad": png_bytes(Image.new("RGB", (636, 204), "white")),
    "a transparent image": png_bytes(Image.new("RGBA", (636, 204), (0, 0, 0, 0))),
    "a solid fill": png_bytes(Image.new("RGB", (636, 204), "#111")),
    "a single dot": _dot(),
    "noise": _noise(),
    "a 1×1 image": _one_pixel(),
    "a thin strip": png_bytes(Image.new("RGB", (636, 20), "white")),
    "a corrupt chunk": _with_corrupt_chunk(drawn_signature()),
    "a cut-off file": drawn_signature()[:-200],
    "a JPEG": _jpeg(),
}


async def _delegations(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM delegations")


@pytest.mark.parametrize("png", NOT_SIGNATURES.values(), ids=NOT_SIGNATURES.keys())
async def test_a_signature_must_be_a_drawn_png_with_ink_on_it(
    helper: httpx.AsyncClient, pool: asyncpg.Pool, png: bytes
) -> None:
    body = delegation_body(ELDER, consent={"method": "signature", "signature_png": data_url(png)})
    response = await post(helper, "/api/v1/delegations", body)
    assert response.status_code == 400, response.text
    message = response.json()["errors"]["consent"]
    assert "签名" in message and "重新" in message  # says what to do: sign again
    assert await _delegations(pool) == 0


def _png_declaring(width: int, height: int) -> bytes:
    """A small file whose header declares a huge image: decoding it would take width × height × 4 bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + width * 4), 9)  # its first row only: the file stays tiny
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


async def test_a_decompression_bomb_is_refused_from_its_header_without_decoding_it(
    helper: httpx.AsyncClient, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    def decoding(*_: object) -> None:
        raise AssertionError("the pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decoding)
    for width, height in ((30000, 30000), (100000, 204), (636, 100000)):
        body = delegation_body(
            ELDER, consent={"method": "signature", "signature_png": data_url(_png_declaring(width, height))}
        )
        response = await post(helper, "/api/v1/delegations", body)
        assert response.status_code == 400, response.text
        assert "尺寸" in response.json()["errors"]["consent"]
    assert await _delegations(pool) == 0


@pytest.mark.parametrize(
    "png",
    [drawn_signature(), *(path.read_bytes() for path in CAPTURED_SIGNATURES.values())],
    ids=["drawn with lines", *CAPTURED_SIGNATURES],
)
async def test_a_drawn_signature_is_kept_with_the_delegation(
    helper: httpx.AsyncClient, pool: asyncpg.Pool, png: bytes
) -> None:
    body = delegation_body(ELDER, consent={"method": "signature", "signature_png": data_url(png)})
    created = await post(helper, "/api/v1/delegations", body)
    assert created.status_code == 201, created.text
    assert await pool.fetchval("SELECT consent_signature FROM delegations") == png


async def test_the_elders_own_passkey_can_give_consent(
    helper: httpx.AsyncClient, client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    elder_key = new_authenticator()
    await sign_up(client, elder_key, ELDER)
    await sign_out(client)
    options = await post(
        helper,
        "/api/v1/delegations/consent-options",
        {"client_id_number": ELDER["id_number"], "client_name": ELDER["name"]},
    )
    assert options.status_code == 200, options.text
    assert options.json()["allowCredentials"]
    assertion = elder_key.get(options.json())
    body = delegation_body(ELDER, consent={"method": "passkey", "credential": assertion})
    created = await post(helper, "/api/v1/delegations", body)
    assert created.status_code == 201, created.text
    assert await pool.fetchval("SELECT consent_method FROM delegations") == "passkey"
    # The same assertion cannot be replayed for a second delegation.
    assert (await post(helper, "/api/v1/delegations", body)).status_code == 400
    # A passkey consent does not sign the elder in on the helper's tablet.
    assert (await helper.get("/api/v1/me")).json()["roles"] == ["helper"]
    assert (await sign_in(client, elder_key)).status_code == 200


async def test_residents_cannot_record_delegations(client: httpx.AsyncClient) -> None:
    await sign_up(client, new_authenticator(), NEIGHBOUR)
    assert (await post(client, "/api/v1/delegations", delegation_body(ELDER))).status_code == 403


async def test_the_form_is_prefilled_from_the_clients_data_not_the_helpers(
    helper: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    assert (
        await helper.get("/api/v1/life-events/retirement/form", params={"on_behalf_of": ELDER["id_number"]})
    ).status_code == 403
    assert (await post(helper, "/api/v1/delegations", delegation_body(ELDER))).status_code == 201
    form = (await helper.get("/api/v1/life-events/retirement/form", params={"on_behalf_of": ELDER["id_number"]})).json()
    fields = {f["key"]: f for s in form["sections"] for f in s["fields"]}
    assert fields["applicant.name"]["prefill"]["value"] == "史永生"
    assert "id_card" in {m["certificate_kind"] for m in form["materials"]["held"]}
    draft = await helper.put(
        "/api/v1/drafts/retirement",
        params={"on_behalf_of": ELDER["id_number"]},
        json={"data": {"bank.name": "常州农商行"}, "version": 0, "form_checksum": form["checksum"]},
        headers={"X-CSRFToken": helper.cookies["csrftoken"]},
    )
    assert draft.status_code == 200
    other = await helper.get("/api/v1/drafts/retirement", params={"on_behalf_of": NEIGHBOUR["id_number"]})
    assert other.status_code == 403  # no delegation from the neighbour: no access to anything of theirs
    unknown = await helper.get("/api/v1/drafts/retirement", params={"on_behalf_of": "11010519491231002X"})
    assert unknown.status_code == 403  # not in the register: refused the same way, so no register oracle


async def test_the_elder_sees_and_revokes_delegations_on_the_profile_page(
    helper: httpx.AsyncClient, client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    assert (await post(helper, "/api/v1/delegations", delegation_body(ELDER, scope=["retirement"]))).status_code == 201
    await sign_up(client, new_authenticator(), ELDER)
    page = await client.get("/me")
    assert "帮办员 陈帮办" in page.text and "退休" in page.text and "有效" in page.text
    delegation_id = await pool.fetchval("SELECT id FROM delegations")
    revoked = await client.post(
        f"/me/delegations/{delegation_id}/revoke",
        headers={"X-CSRFToken": client.cookies["csrftoken"]},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert await pool.fetchval("SELECT revoked_at IS NOT NULL FROM delegations")
    assert "已撤销" in (await client.get("/me")).text


async def test_the_helper_follows_the_clients_case_in_their_inbox_while_authorised(
    helper: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    assert (await post(helper, "/api/v1/delegations", delegation_body(ELDER))).status_code == 201
    case_no = (await _file_retirement(helper, ELDER, "deleg-inbox-1")).json()["case_no"]
    inbox = (await helper.get("/api/v1/notifications")).json()
    assert [item["url"] for item in inbox["items"]] == [f"/helper/cases/{case_no}/receipt"]
    await pool.execute("UPDATE delegations SET revoked_at = now()")
    case_id = await pool.fetchval("SELECT id FROM cases")
    async with pool.acquire() as conn, conn.transaction():
        from app.cases.timeline import record_event

        await record_event(conn, case_id=case_id, status="accepted", title="测试步骤")
    assert len((await helper.get("/api/v1/notifications")).json()["items"]) == 1  # no longer told
