"""The merged form's draft on a slow connection: a resident who starts before the saved draft has arrived keeps what
they chose and typed; the draft fills only the rest, and the server draft then holds both, without a conflict."""

from __future__ import annotations

from playwright.sync_api import Page, Route, expect

from e2e.conftest import ConsoleWatch, LiveServer
from e2e.helpers import api, form_enhanced, sign_up_with_enrollment_code, wait_until

APPLY = "/life-events/birth/apply?items=CZ-YB-002"
DRAFT = "/api/v1/drafts/birth"
# A grandmother who looks after the baby (其他监护人).
RESIDENT = ("瞿秀珍", "320481195003082345")


def test_a_draft_arriving_late_fills_only_the_fields_the_resident_has_not_touched(
    phone: Page, live_server: LiveServer
) -> None:
    page = phone
    sign_up_with_enrollment_code(page, live_server, *RESIDENT)
    # A draft left on the server (an earlier visit, another device), naming the applicant the father.
    blank = api(page, "GET", DRAFT)
    left = {
        "child.relationship": "father",
        "applicant.phone": "13900000001",
        "child.name": "瞿草稿",
        "child.birth_hospital": "常州市第一人民医院",
    }
    body = {"data": left, "version": blank["version"], "form_checksum": blank["form_checksum"], "items": ["CZ-YB-002"]}
    api(page, "PUT", DRAFT, data=body)

    # The form opens on a slow connection: its draft is held back here until the resident has started.
    held: list[Route] = []
    saves: list[str] = []

    def slow_draft(route: Route) -> None:
        if route.request.method == "GET":
            held.append(route)
        else:
            saves.append(route.request.method)
            route.continue_()

    page.route(f"**{DRAFT}", slow_draft)
    page.goto(APPLY)
    form_enhanced(page)
    wait_until(page, lambda: bool(held))
    relation = page.get_by_label("申请人与新生儿的关系")
    relation.select_option(label="其他监护人")
    page.get_by_label("申请人手机号码").fill("13900000002")
    status = page.locator("#draft-status")
    expect(status).to_contain_text("已保存到本机")  # kept on the phone at once
    page.wait_for_timeout(1500)  # longer than the second after which a change is sent
    assert saves == []  # not sent before the draft's version is known (it would be refused as stale: a conflict)

    held[0].continue_()
    expect(status).to_have_text("已恢复上次保存的草稿，保留了您刚填写的内容")
    expect(relation).to_have_value("guardian")
    expect(page.get_by_label("申请人手机号码")).to_have_value("13900000002")
    expect(page.get_by_label("父亲姓名")).to_be_editable()  # not the applicant's own: the draft's 父亲 did not land
    expect(page.get_by_label("新生儿姓名")).to_have_value("瞿草稿")
    expect(page.get_by_label("分娩医院")).to_have_value("常州市第一人民医院")

    # Then the server draft holds both, sent once, on top of the version the draft came with.
    expect(status).to_contain_text("已同步", timeout=5000)
    expect(page.locator("#draft-conflict")).to_be_hidden()
    assert saves == ["PUT"]
    saved = api(page, "GET", DRAFT)
    assert saved["version"] > blank["version"] + 1
    assert {k: saved["data"][k] for k in left} == {
        **left,
        "child.relationship": "guardian",
        "applicant.phone": "13900000002",
    }


# This device's copy of the form's draft (IndexedDB, local-data.js): its answers and the server version they build on.
DEVICE_COPY = """async () => {
  const [copy] = (await self.ywtbLocal.drafts(document.body.dataset.localKey)).filter((d) => d.lifeEvent === "birth");
  return { data: copy.data, baseVersion: copy.baseVersion, synced: copy.synced };
}"""


def _typed_here_unsent_while_another_device_saves(
    page: Page, live_server: LiveServer, typed_phone: str, their_phone: str
) -> tuple[int, int]:
    """The resident's form synced once (relation 父亲), then a phone number typed here but not sent (the connection
    drops), while another device saves the server draft: the version this device's copy builds on, and theirs."""
    sign_up_with_enrollment_code(page, live_server, *RESIDENT)
    page.goto(APPLY)
    status = page.locator("#draft-status")
    page.get_by_label("申请人与新生儿的关系").select_option(label="父亲")
    expect(status).to_contain_text("已同步", timeout=5000)
    synced = page.evaluate(DEVICE_COPY)["baseVersion"]
    page.route(f"**{DRAFT}", lambda route: route.abort() if route.request.method == "PUT" else route.continue_())
    page.get_by_label("申请人手机号码").fill(typed_phone)
    expect(status).to_contain_text("联网后自动同步", timeout=5000)
    page.unroute(f"**{DRAFT}")
    draft = api(page, "GET", DRAFT)
    other = {"child.relationship": "father", "applicant.phone": their_phone, "child.name": "另一设备"}
    body = {"data": other, "version": draft["version"], "form_checksum": draft["form_checksum"], "items": ["CZ-YB-002"]}
    return synced, api(page, "PUT", DRAFT, data=body)["version"]


def test_what_is_typed_before_a_conflicting_draft_arrives_is_shown_as_this_pages(
    phone: Page, live_server: LiveServer, console_watch: ConsoleWatch
) -> None:
    console_watch.allow("net::ERR_FAILED")  # the save refused below, on purpose
    page = phone
    synced, _ = _typed_here_unsent_while_another_device_saves(page, live_server, "13900000003", "13900000004")
    status = page.locator("#draft-status")

    # Reopened on a slow connection: the resident changes who they are before the drafts have come back.
    held: list[Route] = []
    page.route(f"**{DRAFT}", lambda route: held.append(route) if route.request.method == "GET" else route.continue_())
    page.reload()
    form_enhanced(page)
    wait_until(page, lambda: bool(held))
    relation = page.get_by_label("申请人与新生儿的关系")
    relation.select_option(label="其他监护人")
    expect(status).to_contain_text("已保存到本机")
    # The device keeps what it had (not the form's blanks while nothing is restored), that choice on top.
    kept = page.evaluate(DEVICE_COPY)
    assert kept["baseVersion"] == synced and not kept["synced"]
    assert {k: kept["data"].get(k) for k in ("child.relationship", "applicant.phone")} == {
        "child.relationship": "guardian",
        "applicant.phone": "13900000003",
    }

    held[0].continue_()
    notice = page.locator("#draft-conflict")
    expect(notice).to_be_visible()
    expect(relation).to_have_value("guardian")
    expect(page.get_by_label("申请人手机号码")).to_have_value("13900000003")
    expect(notice).to_contain_text("本页：其他监护人")
    expect(notice).to_contain_text("另一设备：父亲")
    expect(notice).to_contain_text("本页：13900000003")
    notice.get_by_role("button", name="保留本页填写的内容").click()
    expect(status).to_contain_text("已同步", timeout=5000)
    saved = api(page, "GET", DRAFT)["data"]
    assert (saved["child.relationship"], saved["applicant.phone"]) == ("guardian", "13900000003")


def test_typing_while_the_conflict_waits_never_sends_this_pages_answers_over_the_other_devices(
    phone: Page, live_server: LiveServer, console_watch: ConsoleWatch
) -> None:
    """The resident has not chosen yet: what they type meanwhile is kept on this device as building on the version
    this page had, so that a reload asks again rather than overwriting the other device's draft unasked."""
    console_watch.allow("net::ERR_FAILED")  # the save refused below, on purpose
    page = phone
    _, theirs = _typed_here_unsent_while_another_device_saves(page, live_server, "13900000005", "13900000006")
    status = page.locator("#draft-status")

    page.reload()
    notice = page.locator("#draft-conflict")
    expect(notice).to_be_visible()
    # Still undecided, the resident corrects a field of this page's answers: kept on the device, not sent.
    page.get_by_label("申请人手机号码").fill("13900000007")
    wait_until(page, lambda: page.evaluate(DEVICE_COPY)["data"].get("applicant.phone") == "13900000007")
    assert page.evaluate(DEVICE_COPY)["baseVersion"] < theirs

    page.reload()
    expect(notice).to_be_visible()  # asked again
    expect(notice).to_contain_text("本页：13900000007")
    page.wait_for_timeout(1500)  # longer than the second after which a change is sent
    assert api(page, "GET", DRAFT)["data"]["applicant.phone"] == "13900000006"
    notice.get_by_role("button", name="保留本页填写的内容").click()
    expect(status).to_contain_text("已同步", timeout=5000)
    assert api(page, "GET", DRAFT)["data"]["applicant.phone"] == "13900000007"
