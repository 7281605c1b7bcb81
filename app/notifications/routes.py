"""消息 over HTTP: the VAPID key, device subscriptions and the inbox (JSON and pages)."""

from __future__ import annotations

from litestar import Controller, delete, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.notifications import service
from app.notifications.models import Inbox, MarkRead, PublicKey, Subscribed
from app.web.htmx import is_htmx
from app.web.params import AppSettings, Db
from app.web.types import AnyRequest
from auth.access import caller, public, signed_in
from auth.audit import client_ip
from i18n import _
from push.models import Device, ReplaceSubscriptionBody, SubscriptionBody, UnsubscribeBody


class PushApi(Controller):
    path = "/api/v1/push"
    tags = ["push"]

    @get("/key", opt=public(), summary="The VAPID public key (base64url, uncompressed P-256 point)")
    async def key(self, request: AnyRequest) -> PublicKey:
        return PublicKey(public_key=request.app.state.vapid_public_key)

    @post("/subscriptions", opt=signed_in(), status_code=HTTP_201_CREATED, summary="Notify this device")
    async def subscribe(
        self,
        request: AnyRequest,
        db: Db,
        settings: AppSettings,
        data: JSONBody[SubscriptionBody],
        resync: FromQuery[bool] = False,
    ) -> Subscribed:
        """`?resync=true`: a page confirming, without a click, the subscription its browser already holds."""
        user_agent = request.headers.get("user-agent", "")
        if resync:
            return await service.resync(db, settings, caller(request), data, user_agent)
        return await service.subscribe(db, settings, request, caller(request), data, user_agent)

    @post(
        "/subscriptions/replace",
        # Public and without CSRF: the service worker calls it with no token and maybe no session. It acts on
        # no cookie; the body's old endpoint and auth secret are the credential (a forged request has none).
        opt={**public(), "exclude_from_csrf": True},
        status_code=HTTP_200_OK,
        summary="The browser replaced this device's subscription: move the device to the new one",
    )
    async def replace(
        self, request: AnyRequest, db: Db, settings: AppSettings, data: JSONBody[ReplaceSubscriptionBody]
    ) -> Subscribed:
        return await service.replace_subscription(db, settings, data, client_ip(request))

    @delete("/subscriptions", opt=signed_in(), status_code=HTTP_204_NO_CONTENT, summary="Stop notifying a device")
    async def unsubscribe(self, request: AnyRequest, db: Db, data: JSONBody[UnsubscribeBody]) -> None:
        # Idempotent: a device already removed (here or by a 410 from its push service) is not an error.
        await service.unsubscribe(db, caller(request), data.endpoint)

    @get("/subscriptions", opt=signed_in(), summary="The caller's notified devices")
    async def devices(self, request: AnyRequest, db: Db) -> list[Device]:
        return await service.devices_of(db, caller(request))


class NotificationsApi(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications"]

    @get("", opt=signed_in(), summary="The caller's inbox: every notification, newest first, with push statuses")
    async def inbox(self, request: AnyRequest, db: Db) -> Inbox:
        return await service.inbox_of(db, caller(request))

    @post("/read", opt=signed_in(), status_code=200, summary="Mark entries read (all without ids)")
    async def mark_read(self, request: AnyRequest, db: Db, data: JSONBody[MarkRead]) -> dict[str, int]:
        user = caller(request)
        await service.mark_read(db, user, data.ids)
        return {"unread": await service.unread_count(db, user)}


class NotificationPages(Controller):
    include_in_schema = False

    @get("/notifications", opt=signed_in())
    async def inbox_page(self, request: AnyRequest, db: Db) -> Template:
        inbox = await service.inbox_of(db, caller(request))
        return Template(
            "notifications.html",
            context={
                "nav": "notifications",
                "inbox": inbox,
                "words": service.DELIVERY_WORDS,
                "service_name": service.push_service_name,
            },
        )

    @get("/notifications/{entry_id:int}", opt=signed_in())
    async def open_entry(self, request: AnyRequest, db: Db, entry_id: FromPath[int]) -> Redirect:
        url = await service.open_entry(db, caller(request), entry_id)
        if url is None:
            raise NotFoundException(_("没有找到这条消息"))
        return Redirect(url, status_code=303)

    @post("/notifications/read-all", opt=signed_in())
    async def read_all(self, request: AnyRequest, db: Db) -> Redirect:
        await service.mark_read(db, caller(request), None)
        return Redirect("/notifications", status_code=303)

    @get("/notifications/badge", opt=signed_in())
    async def badge(self, request: AnyRequest, db: Db) -> Template:
        """The header's unread count, fetched by htmx on load and whenever a push arrives."""
        return Template(
            "partials/inbox_badge.html", context={"unread": await service.unread_count(db, caller(request))}
        )

    @get("/me/devices", opt=signed_in())
    async def devices_fragment(self, request: AnyRequest, db: Db) -> Template:
        return await self._devices(request, db, None)

    @post("/me/devices/{device_id:int}/remove", opt=signed_in())
    async def remove_device(self, request: AnyRequest, db: Db, device_id: FromPath[int]) -> Template | Redirect:
        if not await service.remove_device(db, caller(request), device_id):
            raise NotFoundException(_("没有找到该设备"))
        if not is_htmx(request):
            return Redirect("/me", status_code=303)
        return await self._devices(request, db, _("已移除，这台设备不会再收到提醒"))

    async def _devices(self, request: AnyRequest, db: Db, notice: str | None) -> Template:
        devices = await service.devices_of(db, caller(request))
        return Template(
            "partials/push_devices.html",
            context={"devices": devices, "notice": notice, "name_of": service.device_name},
        )
