"""新增代办授权 with the elder beside the tablet: the statement read to them follows what is chosen (their name, the
matters, the date), a form sent half-filled names every problem at once, and "please sign" goes once they have."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.conftest import ConsoleWatch, LiveServer
from e2e.helpers import register_staff
from e2e.test_helper import _draw_signature

ELDER = ("史永生", "320481194702282050")


def test_the_statement_follows_the_choices_and_every_error_shows_at_once(
    tablet: Page, live_server: LiveServer, console_watch: ConsoleWatch
) -> None:
    console_watch.allow("status of 400 (Bad Request)")  # sent half-filled on purpose
    page = tablet
    register_staff(page, live_server, "沙河村帮办", "--role", "helper", "--region", "320481002002")
    page.goto("/helper/delegations/new")
    statement = page.locator("#consent-statement")
    expect(statement).to_contain_text("沙河村的帮办员沙河村帮办代我")
    expect(statement).to_contain_text("全部事项")

    page.get_by_label("只代办以下事项").check()
    expect(statement).to_contain_text("（请选择事项）")
    page.get_by_label("退休").check()
    page.get_by_label("公民身后").check()
    expect(statement.locator('[data-consent="scope"]')).to_have_text("退休、公民身后")
    page.get_by_label("授权有效期至").fill("2027-03-01")
    expect(statement.locator('[data-consent="until"]')).to_have_text("2027年3月1日")
    page.get_by_label("授权有效期至").fill("")

    # Sent with nothing but the scope: every problem named together, beside its field and in the summary.
    page.get_by_role("button", name="记录授权").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    for slot in ("client_name", "client_id_number", "identity_check", "expires_on", "consent"):
        expect(page.locator(f"#{slot}-error")).to_be_visible()
    expect(summary.locator("li")).to_have_count(5)

    page.get_by_label("姓名").fill(ELDER[0])
    expect(statement.locator('[data-consent="name"]')).to_have_text(ELDER[0])
    # Signing takes "please sign" away at once, beside the pad and from the summary.
    _draw_signature(page)
    expect(page.locator("#consent-error")).to_be_hidden()
    expect(summary.locator("li")).to_have_count(4)
    expect(summary).not_to_contain_text("签名")
