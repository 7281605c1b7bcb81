"""Sign-up, sign-in, sign-out and the profile: JSON for the ceremonies, pages for people."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, delete, get, patch, post
from litestar.background_tasks import BackgroundTask
from litestar.exceptions import HTTPException, NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from app.accounts import service
from app.accounts.models import CredentialBody, Me, MeOnDevice, RegisterStart, RenameBody, VerificationSent
from app.delegations import service as delegations
from app.shell import service as shell
from app.sms import service as sms
from app.web.errors import FieldErrors
from app.web.params import AppSettings, Cipher, Db
from app.web.redirects import local_path
from app.web.types import AnyRequest
from auth import store as auth_store
from auth.access import caller, public, signed_in
from auth.audit import audit
from auth.models import CredentialListing, CurrentUser
from auth.sessions import ceremony_owner, sign_in, sign_out

PASSKEY_NAME_MAX = 40


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
        background = (
            BackgroundTask(sms.send_quietly, request.app.state.sms, step.sms.phone, step.sms.text) if step.sms else None
        )
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
        user = request.scope.get("user")
        if isinstance(user, CurrentUser):
            await audit(db, request, "signout", "ok", subject=f"account:{user.account_id}")
        return _signed_out(request)

    @post("/logout-everywhere", opt=signed_in(), status_code=HTTP_204_NO_CONTENT, summary="Sign out on every device")
    async def logout_everywhere(self, request: AnyRequest, db: Db) -> Response[None]:
        user = caller(request)
        await auth_store.void_all_sessions(db, user.account_id)
        await audit(db, request, "signout.everywhere", "ok", subject=f"account:{user.account_id}")
        return _signed_out(request)


class MeApi(Controller):
    path = "/api/v1/me"
    tags = ["auth"]

    @get("", opt=signed_in(), summary="The signed-in person (ID number masked)")
    async def me(self, request: AnyRequest, db: Db, settings: AppSettings) -> MeOnDevice:
        account_id = caller(request).account_id
        me = msgspec.structs.asdict(await service.me(db, account_id))
        return MeOnDevice(**me, local_key=shell.local_key(settings.secret_key, account_id))

    @get("/passkeys", opt=signed_in(), summary="The caller's passkeys")
    async def passkeys(self, request: AnyRequest, db: Db) -> list[CredentialListing]:
        return await auth_store.list_credentials(db, caller(request).account_id)

    @patch("/passkeys/{passkey_id:int}", opt=signed_in(), summary="Rename a passkey")
    async def rename(self, request: AnyRequest, db: Db, passkey_id: FromPath[int], data: JSONBody[RenameBody]) -> None:
        await _rename(db, caller(request), passkey_id, data.name)

    @delete("/passkeys/{passkey_id:int}", opt=signed_in(), summary="Remove a passkey (never the last one)")
    async def remove(self, request: AnyRequest, db: Db, passkey_id: FromPath[int]) -> None:
        await _remove(db, request, caller(request), passkey_id)


async def _rename(db: Db, user: CurrentUser, passkey_id: int, name: str) -> None:
    clean = " ".join(name.split())
    if not clean or len(clean) > PASSKEY_NAME_MAX:
        raise FieldErrors({"name": f"名称不能为空，且不超过{PASSKEY_NAME_MAX}个字"})
    if not await auth_store.rename_credential(db, user.account_id, passkey_id, clean):
        raise NotFoundException("没有找到该通行密钥")


async def _remove(db: Db, request: AnyRequest, user: CurrentUser, passkey_id: int) -> None:
    async with db.acquire() as tx, tx.transaction():
        outcome = await auth_store.remove_credential_unless_last(tx, user.account_id, passkey_id)
        if outcome == "missing":
            raise NotFoundException("没有找到该通行密钥")
        if outcome == "last":
            raise HTTPException(status_code=409, detail="这是您唯一的通行密钥，不能删除；请先在新设备上添加一个")
        await audit(tx, request, "passkey.remove", "ok", subject=f"account:{user.account_id}", passkey=passkey_id)


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

    @get("/me", opt=signed_in())
    async def me_page(self, request: AnyRequest, db: Db) -> Template:
        user = caller(request)
        return Template(
            "me.html",
            context={
                "nav": "me",
                "me": await service.me(db, user.account_id),
                "passkeys": await auth_store.list_credentials(db, user.account_id),
                # The delegations this resident has given to village helpers, to see and revoke.
                "delegations": await delegations.listing(db, user) if user.person_id is not None else [],
            },
        )

    @post("/me/delegations/{delegation_id:int}/revoke", opt=signed_in())
    async def revoke_delegation(self, request: AnyRequest, db: Db, delegation_id: FromPath[int]) -> Redirect:
        await delegations.revoke(db, request, caller(request), delegation_id)
        return Redirect("/me#delegations-heading", status_code=303)

    @post("/me/passkeys/{passkey_id:int}/rename", opt=signed_in())
    async def rename_form(
        self,
        request: AnyRequest,
        db: Db,
        passkey_id: FromPath[int],
        data: URLEncodedBody[dict[str, str]],
    ) -> Template | Redirect:
        await _rename(db, caller(request), passkey_id, str(data.get("name", "")))
        return await self._passkeys_fragment(request, db, "已重命名")

    @post("/me/passkeys/{passkey_id:int}/remove", opt=signed_in())
    async def remove_form(self, request: AnyRequest, db: Db, passkey_id: FromPath[int]) -> Template | Redirect:
        await _remove(db, request, caller(request), passkey_id)
        return await self._passkeys_fragment(request, db, "已删除")

    async def _passkeys_fragment(self, request: AnyRequest, db: Db, notice: str) -> Template | Redirect:
        if request.headers.get("hx-request") != "true":
            return Redirect("/me", status_code=303)
        passkeys = await auth_store.list_credentials(db, caller(request).account_id)
        return Template("partials/passkeys.html", context={"passkeys": passkeys, "notice": notice})
