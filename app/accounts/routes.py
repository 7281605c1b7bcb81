"""Sign-up, sign-in, sign-out and the profile: JSON for the ceremonies, pages for people."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, delete, get, patch, post
from litestar.background_tasks import BackgroundTask
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from app.accounts import service
from app.accounts.models import CredentialBody, Me, MeOnDevice, RegisterStart, RenameBody, VerificationSent
from app.web.params import AppSettings, Cipher, Db
from app.web.redirects import local_path
from app.web.types import AnyRequest
from auth.access import caller, public, signed_in, user_of
from auth.audit import audit
from auth.models import CredentialListing
from auth.sessions import ceremony_owner, sign_in, sign_out
from i18n import _
from sms import outbox as sms


def _signed_out(request: AnyRequest) -> Response[None]:
    """Sign out; a plain form post (the profile page without JS) goes home, the API gets 204."""
    sign_out(request)
    if "text/html" in request.headers.get("accept", ""):
        return Redirect("/", status_code=303)  # type: ignore[return-value]
    return Response(None, status_code=HTTP_204_NO_CONTENT)


class AuthApi(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/register/options",
        opt=public(),
        status_code=HTTP_200_OK,
        summary="Start a passkey sign-up",
        description=(
            "Without a code: 202 {verification: 'sms'} for every well-formed request; a 6-digit code goes to the "
            "phone on the population register if the name and number belong together and no account exists. "
            "The same call with `sms_code` (or an `enrollment_code` from the window) answers the creation options."
        ),
        responses={
            202: ResponseSpec(
                VerificationSent, description="a code was texted if the details are right", generate_examples=False
            )
        },
    )
    async def register_options(
        self, request: AnyRequest, db: Db, settings: AppSettings, cipher: Cipher, data: JSONBody[RegisterStart]
    ) -> Response[Any]:
        step = await service.registration_options(db, settings, cipher, request, ceremony_owner(request), data)
        if step.options is not None:
            return Response(step.options, status_code=HTTP_200_OK)
        # The text goes after the answer: a slow gateway must not tell a right pair (texted) from a wrong one.
        background = BackgroundTask(sms.send_now, request.app.state.sms, step.sms) if step.sms else None
        return Response(VerificationSent(), status_code=HTTP_202_ACCEPTED, background=background)

    @post("/register/verify", opt=public(), status_code=HTTP_201_CREATED, summary="Finish a passkey sign-up")
    async def register_verify(
        self, request: AnyRequest, db: Db, settings: AppSettings, data: JSONBody[CredentialBody]
    ) -> Me:
        account_id = await service.complete_registration(
            db, settings, request, ceremony_owner(request), data.credential
        )
        sign_in(request, account_id)
        return await service.me(db, account_id)

    @post("/passkeys/options", opt=signed_in(), status_code=HTTP_200_OK, summary="Add a passkey on this device")
    async def add_passkey_options(self, request: AnyRequest, db: Db, settings: AppSettings) -> dict[str, Any]:
        return await service.adding_passkey_options(db, settings, ceremony_owner(request), caller(request).account_id)

    @post("/login/options", opt=public(), status_code=HTTP_200_OK, summary="Start a discoverable passkey sign-in")
    async def login_options(self, request: AnyRequest, db: Db, settings: AppSettings) -> dict[str, Any]:
        return await service.login_options(db, settings, ceremony_owner(request))

    @post("/login/verify", opt=public(), status_code=HTTP_200_OK, summary="Finish a passkey sign-in")
    async def login_verify(
        self, request: AnyRequest, db: Db, settings: AppSettings, data: JSONBody[CredentialBody]
    ) -> Me:
        account_id = await service.complete_login(db, settings, request, ceremony_owner(request), data.credential)
        sign_in(request, account_id)
        return await service.me(db, account_id)

    @post("/logout", opt=public(), status_code=HTTP_204_NO_CONTENT, summary="Sign out of this device")
    async def logout(self, request: AnyRequest, db: Db) -> Response[None]:
        user = user_of(request)
        if user is not None:
            await audit(db, request, "signout", "ok", subject=f"account:{user.account_id}")
        return _signed_out(request)

    @post("/logout-everywhere", opt=signed_in(), status_code=HTTP_204_NO_CONTENT, summary="Sign out on every device")
    async def logout_everywhere(self, request: AnyRequest, db: Db) -> Response[None]:
        await service.sign_out_everywhere(db, request, caller(request).account_id)
        return _signed_out(request)


class MeApi(Controller):
    path = "/api/v1/me"
    tags = ["auth"]

    @get("", opt=signed_in(), summary="The signed-in person (ID number masked)")
    async def me(self, request: AnyRequest, db: Db, settings: AppSettings) -> MeOnDevice:
        account_id = caller(request).account_id
        me = msgspec.structs.asdict(await service.me(db, account_id))
        return MeOnDevice(**me, local_key=service.local_key(settings.secret_key, account_id))

    @get("/passkeys", opt=signed_in(), summary="The caller's passkeys")
    async def passkeys(self, request: AnyRequest, db: Db) -> list[CredentialListing]:
        return await service.passkeys_of(db, caller(request).account_id)

    @patch("/passkeys/{passkey_id:int}", opt=signed_in(), summary="Rename a passkey")
    async def rename(self, request: AnyRequest, db: Db, passkey_id: FromPath[int], data: JSONBody[RenameBody]) -> None:
        await service.rename_passkey(db, caller(request).account_id, passkey_id, data.name)

    @delete("/passkeys/{passkey_id:int}", opt=signed_in(), summary="Remove a passkey (never the last one)")
    async def remove(self, request: AnyRequest, db: Db, passkey_id: FromPath[int]) -> None:
        await service.remove_passkey(db, request, caller(request).account_id, passkey_id)


class AccountPages(Controller):
    include_in_schema = False

    @get("/register", opt=public())
    async def register_page(self, request: AnyRequest, next: FromQuery[str] = "/me") -> Template:
        # Where the person was going before signing up; a path on this site only (app.web.redirects).
        context = {"nav": "me", "sms_sent": service.SMS_SENT, "next": local_path(next, "/me")}
        return Template("register.html", context=context)

    @get("/login", opt=public())
    async def login_page(self, request: AnyRequest, next: FromQuery[str] = "/") -> Template:
        return Template("login.html", context={"nav": "me", "next": local_path(next)})

    @post("/me/passkeys/{passkey_id:int}/rename", opt=signed_in())
    async def rename_form(
        self,
        request: AnyRequest,
        db: Db,
        passkey_id: FromPath[int],
        data: URLEncodedBody[dict[str, str]],
    ) -> Template | Redirect:
        await service.rename_passkey(db, caller(request).account_id, passkey_id, str(data.get("name", "")))
        return await self._passkeys_fragment(request, db, _("已重命名"))

    @post("/me/passkeys/{passkey_id:int}/remove", opt=signed_in())
    async def remove_form(self, request: AnyRequest, db: Db, passkey_id: FromPath[int]) -> Template | Redirect:
        await service.remove_passkey(db, request, caller(request).account_id, passkey_id)
        return await self._passkeys_fragment(request, db, _("已删除"))

    async def _passkeys_fragment(self, request: AnyRequest, db: Db, notice: str) -> Template | Redirect:
        if request.headers.get("hx-request") != "true":
            return Redirect("/me", status_code=303)
        passkeys = await service.passkeys_of(db, caller(request).account_id)
        return Template("partials/passkeys.html", context={"passkeys": passkeys, "notice": notice})
