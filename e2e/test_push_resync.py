"""A page that finds the browser already holding a push subscription shows 已开启 only once the server has
confirmed it for the signed-in account: it stores the device again when the server lost it, never takes over
another account's device without a click, and drops the device when notifications were blocked since.

A real subscription needs the vendor's push service (FCM), which this machine cannot reach, and headless Chromium
refuses pushManager.subscribe. So the page's PushManager.getSubscription answers from the origin's localStorage
(`HELD`: what the browser's push store would hold, a FakeDevice's PushSubscription.toJSON() and the server key
it was made for); everything else — push.js, the permission state, its requests, the server, the database — is
the real path.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, Route, expect

from e2e.conftest import ConsoleWatch, LiveServer
from e2e.helpers import api, register_resident, sign_up_on_page
from tests.push_service import FakeDevice

# One resident per test: the browser tests share one database.
RESIDENT = ("芮晓燕", "320481199201093801")
SHARING_A_PHONE = (("戴丽萍", "320413197208283522"), ("狄俊", "320481198903213738"))
BLOCKING = ("邵燕", "320412198110053380")
HELD = "e2e:held-subscription"
HOLDS_A_SUBSCRIPTION = """(() => {
  const bytes = (text) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")
    + "=".repeat((4 - (text.length % 4)) % 4)), (c) => c.charCodeAt(0));
  PushManager.prototype.getSubscription = async function () {
    const held = JSON.parse(localStorage.getItem("__HELD__"));
    if (!held) return null;
    return {
      endpoint: held.subscription.endpoint,
      expirationTime: null,
      options: { userVisibleOnly: true, applicationServerKey: bytes(held.server_key).buffer },
      toJSON: () => held.subscription,
      unsubscribe: async () => { localStorage.removeItem("__HELD__"); return true; },
    };
  };
})();""".replace("__HELD__", HELD)
RESYNC = re.compile(r"/api/v1/push/subscriptions\?resync=true$")


def _hold(page: Page, name: str, server_key: str | None = None) -> None:
    """The browser holds a subscription (made for our server key unless another is named)."""
    subscription = FakeDevice(name=name, endpoint=f"http://127.0.0.1:9/push/resync-{name}").subscription()
    key = server_key or api(page, "GET", "/api/v1/push/key")["public_key"]
    page.evaluate(
        "([k, v]) => localStorage.setItem(k, JSON.stringify(v))",
        [HELD, {"subscription": subscription, "server_key": key}],
    )


def _held(page: Page) -> Any:
    return page.evaluate("(k) => localStorage.getItem(k)", HELD)


def _devices(page: Page) -> list[dict[str, Any]]:
    return api(page, "GET", "/api/v1/push/subscriptions")


def _signed_up_holding_a_subscription(page: Page, live_server: LiveServer, person: tuple[str, str]) -> None:
    page.add_init_script(HOLDS_A_SUBSCRIPTION)
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    register_resident(page, *person)
    # The page signed up on has run its scripts and asked what it asks (none holds a subscription yet): on a slow
    # machine its push check ran late, found the subscription the test then held, and its resync was the one held.
    page.wait_for_load_state("networkidle")


def test_a_subscription_the_server_lost_shows_as_on_only_once_it_is_stored_again(
    phone: Page, live_server: LiveServer
) -> None:
    page = phone
    _signed_up_holding_a_subscription(page, live_server, RESIDENT)
    _hold(page, "phone")
    assert _devices(page) == []  # the server does not know it (as after a 410, or a restored database)
    status = page.locator("[data-push-status]")

    # Until the server answers, the page does not claim anything.
    waiting: list[Route] = []
    page.route(RESYNC, lambda route: waiting.append(route))
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/push/subscriptions" in r.url else None)
    page.goto("/me")
    for _ in range(50):  # the server key first, then the confirmation, held here
        if waiting:
            break
        page.wait_for_timeout(100)
    expect(status).to_have_text("正在确认这台设备的提醒…")
    expect(page.locator("[data-push-toggle]")).to_be_disabled()
    waiting[0].continue_()
    expect(status).to_have_text("这台设备已开启办理进度提醒。")
    expect(page.get_by_role("button", name="关闭这台设备的提醒")).to_be_enabled()
    [device] = _devices(page)
    expect(page.locator("#push-devices").get_by_role("button", name=re.compile("不再提醒"))).to_have_count(1)
    page.unroute(RESYNC)
    assert len(posts) == 1  # once for the page

    # 不再提醒 pressed on 我的 on another device (the same request, out of this page's sight): the next page
    # stores it again; the same row while it is there.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    removed = page.request.post(f"/me/devices/{device['id']}/remove", headers={"X-CSRFToken": token})
    assert removed.ok and _devices(page) == []
    page.goto("/cases")
    expect(status).to_have_text("这台设备已开启办理进度提醒。")
    [again] = _devices(page)
    page.goto("/notifications")
    expect(status).to_have_text("这台设备已开启办理进度提醒。")
    assert [d["id"] for d in _devices(page)] == [again["id"]] != [device["id"]]

    # 不再提醒 for this very device on 我的: the browser lets go of its subscription, so no page brings it back.
    page.goto("/me")
    expect(status).to_have_text("这台设备已开启办理进度提醒。")
    page.locator("#push-devices").get_by_role("button", name=re.compile("不再提醒")).click()
    expect(page.locator("#push-devices")).to_contain_text("已移除")
    expect(status).to_have_text("已关闭这台设备的提醒。办件的每一步仍会显示在“消息”里。")
    assert _held(page) is None
    page.reload()
    expect(page.get_by_role("button", name="开启办理进度提醒")).to_be_visible()
    assert _devices(page) == []


def test_a_device_another_account_turned_on_is_taken_over_only_by_a_click(
    phone: Page, live_server: LiveServer, console_watch: ConsoleWatch
) -> None:
    console_watch.allow("409")  # the quiet confirmation is refused on purpose
    page = phone
    first, second = SHARING_A_PHONE
    _signed_up_holding_a_subscription(page, live_server, first)
    _hold(page, "shared")
    page.goto("/me")
    status = page.locator("[data-push-status]")
    expect(status).to_have_text("这台设备已开启办理进度提醒。")
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("link", name="登录")).to_be_visible()

    # Someone else signs up on the same phone: the reminders still go to the first account.
    sign_up_on_page(page, second[0], second[1])  # the phone's passkey provider keeps both people's passkeys
    expect(status).to_have_text(re.compile("另一个账号"))
    expect(page.get_by_role("button", name="开启办理进度提醒")).to_be_enabled()
    assert _devices(page) == []

    # Her click is her say-so (no prompt: the permission is granted): the device becomes hers.
    page.get_by_role("button", name="开启办理进度提醒").click()
    expect(status).to_have_text("已开启：办件的每一步都会通知这台设备。")
    assert len(_devices(page)) == 1
    page.reload()
    expect(status).to_have_text("这台设备已开启办理进度提醒。")


def test_blocked_notifications_or_a_new_server_key_do_not_show_as_on(phone: Page, live_server: LiveServer) -> None:
    page = phone
    _signed_up_holding_a_subscription(page, live_server, BLOCKING)
    _hold(page, "blocked")
    page.goto("/me")
    status = page.locator("[data-push-status]")
    expect(status).to_have_text("这台设备已开启办理进度提醒。")
    assert len(_devices(page)) == 1

    # Blocked in the browser's site settings since: not on, and the device leaves the account's list.
    cdp = page.context.new_cdp_session(page)
    context_id = cdp.send("Target.getTargetInfo")["targetInfo"]["browserContextId"]
    cdp.send(
        "Browser.setPermission",
        {
            "permission": {"name": "notifications"},
            "setting": "denied",
            "origin": live_server.url,
            "browserContextId": context_id,
        },
    )
    page.reload()
    expect(status).to_have_text(re.compile("您已在浏览器里关闭了本站的通知"))
    expect(page.get_by_role("button", name="开启办理进度提醒")).to_be_visible()
    assert _devices(page) == []

    # Allowed again, but the subscription was made for another server key: it could never reach us.
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    other_key = FakeDevice(name="k", endpoint="http://127.0.0.1:9/k").subscription()["keys"]["p256dh"]
    _hold(page, "old-key", server_key=other_key)
    page.reload()
    expect(status).to_have_text(re.compile("推送密钥已更换"))
    assert _devices(page) == []
