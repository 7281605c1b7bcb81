"""The merged form over HTTP: each shared field once, prefill for the signed-in resident, held materials."""

import httpx

from tests.auth_helpers import ZHANG_WEI, new_authenticator, sign_up


async def test_anonymous_form_asks_each_field_once_without_prefill(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/life-events/birth/form")
    assert response.status_code == 200
    form = response.json()
    keys = [f["key"] for s in form["sections"] for f in s["fields"]]
    assert len(keys) == len(set(keys)) and "child.name" in keys
    assert all("prefill" not in f for s in form["sections"] for f in s["fields"])
    assert len(form["checksum"]) == 64


async def test_signed_in_form_is_prefilled_and_held_materials_are_not_asked(client: httpx.AsyncClient) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    form = (await client.get("/api/v1/life-events/birth/form")).json()
    fields = {f["key"]: f for s in form["sections"] for f in s["fields"]}
    assert fields["applicant.name"]["prefill"]["value"] == "张伟"
    assert fields["household.address"]["prefill"]["source"].startswith("电子证照")
    assert ZHANG_WEI["id_number"] not in str(form)
    held = form["materials"]["held"]
    assert [(m["certificate_kind"], m["about"], m["state"]) for m in held] == [("hukou", "applicant", "held")]
    # Nobody's card stands for the parents' until their number says who they are: his own is not the mother's.
    to_upload = {m["code"]: m for m in form["materials"]["to_upload"]}
    assert (to_upload["CZ-WJ-001:mother_id_card"]["about"], to_upload["CZ-WJ-001:mother_id_card"]["state"]) == (
        "mother",
        "upload",
    )
    assert all({"about", "state"} <= set(m) for m in form["materials"]["to_upload"])


async def test_an_unknown_life_event_form_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/life-events/nope/form")).status_code == 404


async def test_certificates_lists_what_the_library_holds_with_masked_numbers(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/certificates")).status_code == 401
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    held = (await client.get("/api/v1/certificates")).json()
    assert {"id_card", "hukou", "marriage"} <= {c["kind"] for c in held}
    assert ZHANG_WEI["id_number"] not in str(held)
