"""The service worker's `pushsubscriptionchange` handler, run inside the real worker in Chromium against the
served app: its report moves the resident's device on the server without a session or CSRF token, and the
open page hears of it.

Chromium cannot be made to fire the event here: it fires only when its push service (FCM, unreachable from
this machine) refreshes or drops a subscription, and DevTools has no command for it. So the test calls the
worker's own handler (self.ywtbPush.subscriptionChanged, the function the event listener runs) with an
event-like object whose subscriptions are plain `PushSubscription.toJSON()` values of devices the server
knows; everything after that — the report, the fetch from the worker, the server's checks, the message to
the page — is the real path.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, Worker

from e2e.conftest import ConsoleWatch
from e2e.helpers import api, register_resident
from tests.push_service import FakeDevice

RESIDENT = ("彭立新", "320481197609122419")
CHANGED = """([old, fresh]) => self.ywtbPush.subscriptionChanged({ oldSubscription: old, newSubscription: fresh })"""
HEARD = """() => window.__subscriptionChanged"""
# Installed before the page's own scripts, so that a message answering push.js's first words is not missed.
LISTEN = """window.__subscriptionChanged = 0;
navigator.serviceWorker.addEventListener("message", (event) => {
  if ((event.data || {}).type === "push-subscription-changed") window.__subscriptionChanged += 1;
});"""


def _device(name: str) -> dict[str, Any]:
    # 127.0.0.1 is an allowed push service in the browser tests (PUSH_ALLOWED_HOSTS); nothing is sent to it.
    return FakeDevice(name=name, endpoint=f"http://127.0.0.1:9/push/resubscribe-{name}").subscription()


def _service_worker(page: Page) -> Worker:
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    for _ in range(50):
        workers = [w for w in page.context.service_workers if w.url.endswith("/sw.js")]
        if workers:
            return workers[0]
        page.wait_for_timeout(100)
    raise AssertionError("no service worker for /sw.js")


def test_the_worker_reports_a_replaced_subscription_and_the_device_moves(
    phone: Page, console_watch: ConsoleWatch
) -> None:
    console_watch.allow("403")  # the stale reports below are refused on purpose
    register_resident(phone, *RESIDENT)
    old, renewed, again = _device("old"), _device("renewed"), _device("again")
    saved = api(phone, "POST", "/api/v1/push/subscriptions", data=old)
    phone.add_init_script(LISTEN)
    phone.reload()
    worker = _service_worker(phone)

    assert worker.evaluate(CHANGED, [old, renewed]) == "done"
    # The same device, moved: still one on 我的, under the same id.
    assert [d["id"] for d in api(phone, "GET", "/api/v1/push/subscriptions")] == [saved["id"]]
    phone.wait_for_function(HEARD + " === 1")

    # The old subscription proves nothing any more: a report built on it is refused, and forgotten.
    assert worker.evaluate(CHANGED, [old, again]) == "refused"
    # The renewed one does: the device moves on again.
    assert worker.evaluate(CHANGED, [renewed, again]) == "done"
    assert [d["id"] for d in api(phone, "GET", "/api/v1/push/subscriptions")] == [saved["id"]]
    phone.wait_for_function(HEARD + " === 2")

    # Offline, the report is kept and goes out once the device is back online (Background Sync in Chromium).
    later = _device("later")
    phone.context.set_offline(True)
    assert worker.evaluate(CHANGED, [again, later]) == "retry"
    phone.context.set_offline(False)
    phone.wait_for_function(HEARD + " === 3")
    # Sent and forgotten: the server holds `later` now, not `again`.
    assert worker.evaluate(CHANGED, [again, _device("stale")]) == "refused"
    assert worker.evaluate(CHANGED, [later, _device("last")]) == "done"

    # Without anything to prove the old subscription with, nothing is sent and nothing subscribed.
    assert worker.evaluate(CHANGED, [None, _device("unproven")]) == "unprovable"
    # A report still waiting (sent while offline) holds what the server knows: a second change builds on it.
    waiting = {"old_endpoint": old["endpoint"], "old_auth": old["keys"]["auth"], "subscription": renewed}
    report = worker.evaluate("(a) => self.ywtbPush.reportFor(...a)", [renewed, again, waiting])
    assert report == {"old_endpoint": old["endpoint"], "old_auth": old["keys"]["auth"], "subscription": again}
