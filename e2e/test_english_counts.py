"""A count in our scripts agrees with its noun in English (issue 21): the sign-up page's countdown to a new code
reads "in 2 seconds", then "in 1 second" — tn() and the page's plural rule, not "in 1 seconds"."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer

# A demo resident no other e2e file signs up (asking for a code signs nobody up).
RESIDENT = ("汤月娥", "320411194910102203")


def test_the_sign_up_countdown_reads_one_second_in_english(phone: Page, live_server: LiveServer) -> None:
    page = phone
    page.context.add_cookies([{"name": "ywtb_lang", "value": "en", "url": live_server.url}])
    page.clock.install()  # the countdown's timer runs on a clock the test moves
    page.goto("/register")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.locator("#name").fill(RESIDENT[0])
    page.locator("#id_number").fill(RESIDENT[1])
    page.locator("#register-form button[type=submit].primary").click()
    resend = page.locator("#sms-resend")
    expect(resend).to_have_text("Send a new code (in 60 seconds)")
    page.clock.run_for("00:58")
    expect(resend).to_have_text("Send a new code (in 2 seconds)")
    page.clock.run_for("00:01")
    expect(resend).to_have_text("Send a new code (in 1 second)")
    page.clock.run_for("00:01")
    expect(resend).to_have_text("Send a new code")
    expect(resend).to_be_enabled()


_UNSENT = "有%(count)s份申请还没有发送"
_DRAWN = """async ([text, counts]) => {
  const { tn } = await import("/static/js/i18n.js");
  return counts.map((count) => tn(text, text, count, { count }));
}"""


def test_a_dialogs_count_reads_one_application_two_applications_in_english_and_once_in_chinese(
    phone: Page, live_server: LiveServer
) -> None:
    """The sign-out question's heading (me.html, redrawn by shell.js with the number waiting): tn in the page's
    language, the forms from the page's table."""
    page = phone
    page.goto("/")
    assert page.evaluate(_DRAWN, [_UNSENT, [1, 2]]) == ["有1份申请还没有发送", "有2份申请还没有发送"]
    page.context.add_cookies([{"name": "ywtb_lang", "value": "en", "url": live_server.url}])
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.evaluate(_DRAWN, [_UNSENT, [1, 2, 0]]) == [
        "1 application not sent yet",
        "2 applications not sent yet",
        "0 applications not sent yet",
    ]
