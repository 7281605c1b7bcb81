"""Shared steps for browser tests: a virtual authenticator, the CLI against the live server, API calls
from inside a signed-in browser context."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from e2e.conftest import ROOT, LiveServer
from tests.auth_helpers import texted_codes


def sign_in_with_passkey(page: Page, target: str = "/me") -> None:
    """/login?next=target with a passkey already on the virtual authenticator. Passkey autofill (conditional
    mediation) may sign in by itself at any moment, else the button does: a click that lands while the autofill
    is navigating away misses the button, so wait and click again until the target is reached."""
    page.goto(f"/login?next={target}")
    button = page.get_by_role("button", name="使用通行密钥登录")
    deadline = time.monotonic() + 30
    while urlsplit(page.url).path != target and time.monotonic() < deadline:
        try:
            page.wait_for_url(lambda url: urlsplit(url).path == target, timeout=1500)
        except PlaywrightTimeoutError:
            with contextlib.suppress(PlaywrightError):
                button.click(timeout=2000)
    expect(page).to_have_url(target)


def add_virtual_authenticator(page: Page, *, synced: bool = False) -> tuple[Any, str]:
    """Chromium's virtual platform authenticator (CDP), with user verification, like a phone's; `synced`:
    its passkeys are backed up (as most phones' are), so 我的 shows 已同步备份."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    options = {
        "protocol": "ctap2",
        "ctap2Version": "ctap2_1",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    if synced:
        options |= {"defaultBackupEligibility": True, "defaultBackupState": True}
    result = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
    return cdp, result["authenticatorId"]


def cli(live_server: LiveServer, *args: str) -> str:
    """Run `python -m app …` against the live server's database; returns stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=live_server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def server_log_size() -> int:
    """Where the live server's log ends now: texts sent after this are read from here on."""
    assert LiveServer.running is not None, "needs the live_server fixture"
    return LiveServer.running.log.stat().st_size


def texted_code(since: int, timeout_s: float = 15) -> str:
    """The sign-up code the SMS `log` backend wrote to the live server's log after `since` (as a developer reads it
    in the `make run` output)."""
    assert LiveServer.running is not None, "needs the live_server fixture"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with LiveServer.running.log.open("rb") as log:
            log.seek(since)
            if codes := texted_codes(log.read().decode("utf-8", "replace")):
                return codes[0]
        time.sleep(0.1)
    raise AssertionError("no sign-up code was texted (SMS line in the server log)")


def sign_up_on_page(
    page: Page, name: str, id_number: str, at_the_code_step: Callable[[Page], None] | None = None
) -> None:
    """The register page's two steps: details, then the texted code and the passkey."""
    page.goto("/register")
    page.get_by_label("姓名").fill(name)
    page.get_by_label("身份证件号码").fill(id_number)
    since = server_log_size()
    page.get_by_role("button", name="获取短信验证码").click()
    expect(page.get_by_label("短信验证码")).to_be_focused()
    if at_the_code_step is not None:
        at_the_code_step(page)
    page.get_by_label("短信验证码").fill(texted_code(since))
    page.get_by_role("button", name="创建通行密钥并注册").click()
    expect(page).to_have_url("/me")


def register_resident(page: Page, name: str, id_number: str) -> None:
    add_virtual_authenticator(page)
    sign_up_on_page(page, name, id_number)


def sign_up_with_enrollment_code(page: Page, live_server: LiveServer, name: str, id_number: str) -> None:
    """A passkey on this device with a code from the window (`enroll-code`): works whether or not another e2e test
    of the run signed this person up already (then it is a second device for their account)."""
    code = cli(live_server, "enroll-code", "--id-number", id_number).strip().splitlines()[-1]
    add_virtual_authenticator(page)
    page.goto("/register")
    page.get_by_label("姓名").fill(name)
    page.get_by_label("身份证件号码").fill(id_number)
    page.get_by_text("有开户码？").click()
    page.get_by_label("开户码").fill(code)
    page.get_by_role("button", name="凭开户码创建通行密钥").click()
    expect(page).to_have_url("/me")


def register_staff(page: Page, live_server: LiveServer, name: str, *staff_args: str) -> None:
    code = cli(live_server, "staff-add", "--name", name, *staff_args).strip().splitlines()[-1]
    add_virtual_authenticator(page)
    page.goto("/register")
    page.get_by_label("姓名").fill(name)
    page.get_by_text("有开户码？").click()
    page.get_by_label("开户码").fill(code)
    page.get_by_role("button", name="凭开户码创建通行密钥").click()
    expect(page).to_have_url("/me")


def api(page: Page, method: str, path: str, **kwargs: Any) -> Any:
    """Call our API with the page's cookies and the CSRF header, as our own JS does."""
    token = next((c["value"] for c in page.context.cookies() if c["name"] == "csrftoken"), "")
    response = page.request.fetch(path, method=method, headers={"X-CSRFToken": token}, **kwargs)
    assert response.ok, f"{method} {path}: {response.status} {response.text()}"
    return response.json()


def file_life_event(page: Page, life_event: str, key: str) -> dict[str, Any]:
    """The signed-in resident files a life event through the API (valid answers, a small PNG per required
    material); returns {case_no, tracking_token, tracking_url}."""
    from tests.case_helpers import PNG_1X1, answers_for

    form = api(page, "GET", f"/api/v1/life-events/{life_event}/form")
    uploads = [
        api(
            page,
            "POST",
            "/api/v1/uploads",
            multipart={
                "life_event": life_event,
                "material_code": m["code"],
                "file": {"name": "scan.png", "mimeType": "image/png", "buffer": PNG_1X1},
            },
        )["token"]
        for m in form["materials"]["to_upload"]
        if m["required"]
    ]
    body = {"life_event": life_event, "data": answers_for(form), "idempotency_key": key, "uploads": uploads}
    return api(page, "POST", "/api/v1/cases", data=body)


def file_retirement(page: Page, key: str) -> dict[str, Any]:
    """The signed-in resident files 退休 through the API."""
    return file_life_event(page, "retirement", key)


def next_step(page: Page) -> None:
    """Press 下一步 and wait until the merged form shows the next step: it checks the step first (the server's
    rules), so a step with a problem stays — then this fails, naming the problems."""
    before = page.locator("#step-progress").inner_text()
    page.get_by_role("button", name="下一步").click()
    # The button is busy while the step is checked: then either the next step shows, or the summary says why not.
    page.wait_for_function(STEP_SETTLED, arg=before)
    summary = page.locator(".error-summary")
    assert not summary.is_visible(), f"下一步 stopped on {before}: {summary.inner_text()}"


STEP_SETTLED = """(before) => {
  const next = document.querySelector("[data-step=next]");
  const moved = document.querySelector("#step-progress").textContent !== before;
  return moved || (!next.disabled && !document.querySelector(".error-summary").hidden);
}"""


def step_to(page: Page, locator: Any) -> None:
    """Press 下一步 until the merged form's step holding `locator` is shown."""
    while not locator.is_visible():
        next_step(page)


def field_types(page: Page) -> dict[str, str]:
    """The merged form's field types by key, for the form on the page (from the API, as our JS would read them)."""
    code = page.locator("#apply-form").get_attribute("data-life-event")
    item = page.locator("#apply-form").get_attribute("data-item")
    # A single item's form, or the life event's with every item (a superset of the items chosen on the page).
    form = api(page, "GET", f"/api/v1/items/{item}/form" if item else f"/api/v1/life-events/{code}/form")
    every = [choice["code"] for choice in form.get("items", [])]
    if not item and every:
        form = api(page, "GET", f"/api/v1/life-events/{code}/form?" + "&".join(f"items={c}" for c in every))
    return {field["key"]: field["type"] for section in form["sections"] for field in section["fields"]}


def fill_step(page: Page, types: dict[str, str] | None = None) -> None:
    """Valid answers for the required fields of the step shown that are still empty (a select: its first option
    that makes the applicant no party of the event, as tests.case_helpers.answers_for). `types`: field_types."""
    from tests.case_helpers import SAMPLE_BY_TYPE

    types = types if types is not None else field_types(page)
    step = page.locator(".apply-step:not([hidden])")
    for control in step.locator("[data-field][required]:not([data-bound])").all():
        kind = types[control.get_attribute("name") or ""]
        if kind == "select":
            if not control.input_value():
                free = control.locator("option:not([value='']):not([data-applicant-is])")
                options = free if free.count() else control.locator("option:not([value=''])")
                control.select_option(options.first.get_attribute("value"))
        elif kind == "checkbox":
            control.check()
        elif not control.input_value():
            control.fill(str(SAMPLE_BY_TYPE[kind]))


def form_enhanced(page: Page) -> None:
    """Wait until apply.js has laid out the form (steps, uploads, drafts): until then every step shows and 下一步 is
    hidden, so a test that looks at the steps too early would think the form has one step."""
    expect(page.locator("#apply-form")).to_have_attribute("data-enhanced", "true")


def helper_script_ready(page: Page) -> None:
    """helper.js has taken over the page's switch and end buttons (under load it can run after the page shows: a press
    before it is an ordinary form post that leaves no note of what still waits for the person left)."""
    expect(page.locator("body")).to_have_attribute("data-helper-script", "ready")


def walk_form(page: Page, at_each_step: Callable[[str], None] | None = None) -> None:
    """Every step of the merged form shown on the page, from the first to the last (提交申请), each filled with
    valid answers where empty; `at_each_step(progress text)` runs on each step as it is shown."""
    form_enhanced(page)
    types = field_types(page)
    while True:
        if at_each_step is not None:
            at_each_step(page.locator("#step-progress").inner_text())
        if not page.get_by_role("button", name="下一步").is_visible():
            return
        fill_step(page, types)
        next_step(page)


def fill_required_fields(page: Page, form: dict[str, Any], employer: str) -> None:
    """Every required field of the merged form that is not prefilled, step by step (`employer` for 退休's
    工作单位), then on to the last step with 提交申请."""
    from tests.case_helpers import SAMPLE_BY_TYPE

    form_enhanced(page)
    for section in form["sections"]:
        for field in section["fields"]:
            control = page.locator(f"[id='{field['key'].replace('.', '-')}']")
            if not field["required"] or control.get_attribute("readonly") is not None:
                continue
            step_to(page, control)
            if field["key"] == "retirement.employer":
                control.fill(employer)
            elif field["type"] == "select":
                control.select_option(index=1)
            elif field["type"] == "checkbox":
                control.check()
            elif not control.input_value():
                control.fill(str(SAMPLE_BY_TYPE[field["type"]]))
    step_to(page, page.get_by_role("button", name="提交申请"))


def upload_required_materials(page: Page, form: dict[str, Any]) -> None:
    """A small PNG for each required material, through the form's own file inputs."""
    from tests.case_helpers import PNG_1X1

    form_enhanced(page)
    for material in form["materials"]["to_upload"]:
        if not material["required"]:
            continue
        upload = page.locator(f"[id='materials-{material['code']}']")
        upload.set_input_files({"name": "scan.png", "mimeType": "image/png", "buffer": PNG_1X1})
        expect(page.locator(f"[id='materials-{material['code']}-status']")).to_have_text("已上传：scan.png")


def under_service_worker(page: Page) -> None:
    """Waits until our service worker (its app shell precached) controls the page. A page whose navigation was
    under way while the worker took over stays uncontrolled (Chromium): it is loaded again."""
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("() => navigator.serviceWorker.controller !== null"):
        page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller?.state === 'activated'")


def wait_until(page: Page, condition: Callable[[], bool], timeout_ms: int = 15_000) -> None:
    """Waits for something the test's route handlers record (they run while the page waits)."""
    waited = 0
    while not condition():
        assert waited < timeout_ms, "timed out"
        page.wait_for_timeout(100)
        waited += 100


# Han characters (CJK Unified Ideographs, extension A, compatibility): what makes a line of a page Chinese.
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def chinese_left(page: Page, data: Iterable[str] = ()) -> list[str]:
    """Each line of the page's text (`document.body.innerText`) that still holds Chinese once `data` — what is not
    ours to translate: people's names, addresses, what they typed — is taken out. On an English page every line
    listed is a text of ours drawn untranslated (or a datum the test forgot to name)."""
    text: str = page.evaluate("document.body.innerText")
    for value in sorted(data, key=len, reverse=True):  # the longest first: an address holds a shorter name
        text = text.replace(value, "")
    return [line.strip() for line in text.splitlines() if HAN.search(line)]
