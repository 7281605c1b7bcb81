"""A push reaches the service worker in Chromium: it shows the notification, drops a repeat of the same
event, and an open page updates its inbox badge.

A real subscription needs the vendor's push service (FCM), which this machine cannot reach, so the push
is delivered through DevTools (ServiceWorker.deliverPushMessage) with the payload the worker would send.
"""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer
from e2e.helpers import api, file_retirement, register_resident

RESIDENT = ("赵敏", "320411199004271366")
NOTIFICATIONS = """async () => {
  const registration = await navigator.serviceWorker.ready;
  const shown = await registration.getNotifications();
  return shown.map((n) => ({ title: n.title, body: n.body, tag: n.tag, icon: n.icon, data: n.data }));
}"""


def _registration_id(page: Page, cdp: Any, scope: str) -> str:
    """The service worker registration DevTools knows our scope by (from workerRegistrationUpdated)."""
    found: dict[str, str] = {}

    def updated(event: dict[str, Any]) -> None:
        for registration in event["registrations"]:
            if registration["scopeURL"] == scope and not registration["isDeleted"]:
                found["id"] = registration["registrationId"]

    cdp.on("ServiceWorker.workerRegistrationUpdated", updated)
    cdp.send("ServiceWorker.enable")
    for _ in range(50):
        if "id" in found:
            return found["id"]
        page.wait_for_timeout(100)
    raise AssertionError(f"no service worker registration for {scope}")


def _shown(page: Page, count: int) -> list[dict[str, Any]]:
    for _ in range(50):
        shown = page.evaluate(NOTIFICATIONS)
        if len(shown) >= count:
            return shown
        page.wait_for_timeout(100)
    return page.evaluate(NOTIFICATIONS)


def test_a_push_shows_the_notification_once_and_the_open_page_updates_its_badge(
    phone: Page, live_server: LiveServer
) -> None:
    register_resident(phone, *RESIDENT)
    # Offered, never asked for on load: the permission is still undecided after the page has run.
    expect(phone.get_by_role("button", name="开启办理进度提醒")).to_be_visible()
    assert phone.evaluate("Notification.permission") == "default"

    phone.context.grant_permissions(["notifications"], origin=live_server.url)
    phone.goto("/notifications")
    expect(phone.get_by_role("heading", name="还没有消息")).to_be_visible()
    assert phone.evaluate("navigator.serviceWorker.ready.then((r) => r.active.scriptURL)").endswith("/sw.js")
    cdp = phone.context.new_cdp_session(phone)
    registration_id = _registration_id(phone, cdp, f"{live_server.url}/")
    expect(phone.locator("#inbox-badge")).to_have_text("")

    # A real event: the submission writes the inbox entry; the push carries what the worker would send.
    case_no = file_retirement(phone, "e2e-push-0001")["case_no"]
    entry = api(phone, "GET", "/api/v1/notifications")["items"][0]
    payload = {key: entry[key] for key in ("title", "body", "url", "case_no", "event_id")}
    assert payload["case_no"] == case_no
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server.url, "registrationId": registration_id, "data": json.dumps(payload)},
    )
    [shown] = _shown(phone, 1)
    assert shown["title"] == payload["title"] and shown["body"] == payload["body"]
    assert shown["tag"] == f"case-{case_no}"
    assert shown["icon"].endswith("/static/icons/icon-192.png")
    assert shown["data"]["url"] == f"/cases/{case_no}" and shown["data"]["event_id"] == payload["event_id"]
    # The open page heard about it: the badge and the list refresh without a reload.
    expect(phone.locator("#inbox-badge")).to_have_text("1条未读")
    expect(phone.get_by_text(payload["body"])).to_be_visible()

    # The same event again (a worker retried after dying mid-send) is dropped, not shown twice.
    repeat = {**payload, "title": "重复的推送"}
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server.url, "registrationId": registration_id, "data": json.dumps(repeat)},
    )
    phone.wait_for_timeout(500)
    assert [n["title"] for n in phone.evaluate(NOTIFICATIONS)] == [payload["title"]]


def test_a_click_focuses_our_window_or_opens_the_case(phone: Page, live_server: LiveServer) -> None:
    phone.goto("/")
    phone.add_script_tag(url="/static/js/sw-push.js")  # the same file the service worker imports
    origin = live_server.url

    def target(url: str | None, windows: list[str]) -> dict[str, Any]:
        return phone.evaluate("([u, o, w]) => window.ywtbPush.clickTarget(u, o, w)", [url, origin, windows])

    case = f"{origin}/cases/CZ20261126000001"
    assert target("/cases/CZ20261126000001", [f"{origin}/", case]) == {"action": "focus", "index": 1, "url": case}
    assert target("/cases/CZ20261126000001", [f"{origin}/me"]) == {"action": "navigate", "index": 0, "url": case}
    assert target("/cases/CZ20261126000001", []) == {"action": "open", "url": case}
    assert target("https://evil.example/phish", []) == {"action": "open", "url": f"{origin}/notifications"}
    assert target(None, ["https://elsewhere.example/"]) == {"action": "open", "url": f"{origin}/notifications"}
    shown = phone.evaluate("window.ywtbPush.notificationFor({title: 't', body: 'b', case_no: 'CZ1', event_id: 7})")
    assert shown["options"]["tag"] == "case-CZ1" and shown["options"]["badge"] == "/static/icons/badge-96.png"
    # An account notice (a passkey added, a code issued): its own tag, and never mistaken for a case step seen before.
    notice = phone.evaluate(
        "window.ywtbPush.notificationFor({title: '账户安全', body: 'b', url: '/me#passkeys-heading', notice_id: 7})"
    )
    assert notice["options"]["tag"] == "notice-7"
    data = {"url": "/me#passkeys-heading", "case_no": None, "event_id": None, "notice_id": 7}
    assert notice["options"]["data"] == data
    keys = phone.evaluate("[window.ywtbPush.sightingKey({event_id: 7}), window.ywtbPush.sightingKey({notice_id: 7})]")
    assert keys == [7, "notice-7"]
