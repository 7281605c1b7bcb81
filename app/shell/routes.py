"""The app shell over HTTP: /manifest.webmanifest, /sw.js, /offline, the QR scanner /scan, and 长辈版 preferences."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Controller, Response, get, post, put
from litestar.datastructures import CacheControlHeader, Cookie
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, URLEncodedBody
from litestar.response import Redirect, Template

import i18n
from app.accounts import service as accounts
from app.shell import service
from app.shell.models import Preferences, PreferencesBody
from app.web.assets import IMMUTABLE
from app.web.language import language_cookie
from app.web.params import AppSettings, Db
from app.web.redirects import local_path
from app.web.types import AnyRequest
from auth.access import public, user_of
from auth.models import CurrentUser

CASE_NO = re.compile(r"CZ\d{14}")
NO_CACHE = CacheControlHeader(no_cache=True)


def _user(request: AnyRequest) -> CurrentUser | None:
    return user_of(request)


class ShellPages(Controller):
    include_in_schema = False

    @get("/manifest.webmanifest", opt=public(), media_type="application/manifest+json", cache_control=NO_CACHE)
    async def manifest(self, request: AnyRequest) -> Response[bytes]:
        return Response(msgspec.json.encode(service.manifest(request.app.state.assets)))

    @get(
        "/sw.js",
        opt=public(),
        media_type="text/javascript",
        # Browsers look for a new service worker on every navigation: never let a cache hide it.
        cache_control=NO_CACHE,
    )
    async def service_worker(self, request: AnyRequest) -> Response[bytes]:
        return Response(request.app.state.service_worker.script(), headers={"Service-Worker-Allowed": "/"})

    @get("/offline", opt=public())
    async def offline(self, lang: FromQuery[str | None] = None) -> Template:
        """The app shell the service worker shows when a page cannot be reached: the same for everyone (it is
        precached once per language, `?lang=en`), so it names no one; its script lists what this device keeps for
        reading offline."""
        if lang in i18n.LANGUAGES:
            i18n.set_language(lang)
        return Template("offline.html", context={"shell": True})

    @get("/i18n/{name:str}", opt=public(), media_type="text/javascript")
    async def script_messages(
        self, request: AnyRequest, name: FromPath[str], v: FromQuery[str | None] = None
    ) -> Response[bytes]:
        """Our scripts' texts in one language (`en.js`), linked by every page and imported by the service worker.
        Under this release's content hash it never changes (a year, immutable, as a static file); asked for under
        another one (a page drawn before a release), it is the current table, checked again next time."""
        language = name.removesuffix(".js")
        if not name.endswith(".js") or language not in i18n.LANGUAGES:
            raise NotFoundException()
        messages: service.ScriptMessages = request.app.state.script_messages
        current = v == messages.version(language)
        kept = IMMUTABLE if current else NO_CACHE
        return Response(messages.script(language), headers={"Cache-Control": kept.to_header()})

    @get("/scan", opt=public())
    async def scan(self, request: AnyRequest) -> Template:
        return _scan_page(request)

    @get("/scan/case", opt=public())
    async def case_by_number(self, request: AnyRequest, no: FromQuery[str] = "") -> Template | Redirect:
        """The scanner's fallback: a case number typed in. Staff open it in the console, residents their own."""
        case_no = no.strip().upper()
        if not CASE_NO.fullmatch(case_no):
            problem = i18n.gettext("办件编号是CZ加14位数字，例如 CZ20261126000123，请核对后重新输入")
            return _scan_page(request, problem, no, 400)
        user = _user(request)
        if user is not None and user.roles & {"clerk", "approver"}:
            return Redirect(f"/console/cases/{case_no}", status_code=303)
        if user is not None and "helper" in user.roles:
            return Redirect(f"/helper/cases/{case_no}/receipt", status_code=303)
        return Redirect(f"/cases/{case_no}", status_code=303)


def _scan_page(request: AnyRequest, error: str | None = None, typed: str = "", status: int = 200) -> Template:
    user = _user(request)
    is_staff = user is not None and bool(user.roles & {"clerk", "approver"})
    return Template(
        "scan.html",
        context={"nav": "console" if is_staff else "scan", "error": error, "typed": typed, "is_staff": is_staff},
        status_code=status,
    )


class PreferencesApi(Controller):
    tags = ["preferences"]

    @put(
        "/api/v1/preferences",
        opt=public(),
        summary="长辈版, its text size and the language, for this device (and the account)",
    )
    async def save(
        self, request: AnyRequest, db: Db, settings: AppSettings, data: JSONBody[PreferencesBody]
    ) -> Response[Preferences]:
        current = service.display_of(_user(request), request.cookies)
        elder = data.elder_mode if data.elder_mode is not None else current.elder
        saved = await _save(request, db, elder, data.text_step, data.language)
        return Response(saved, cookies=_cookies(saved, settings.secure_cookies))

    @post("/preferences", opt=public(), include_in_schema=False)
    async def save_form(
        self, request: AnyRequest, db: Db, settings: AppSettings, data: URLEncodedBody[dict[str, str]]
    ) -> Redirect:
        """The same without JavaScript: the header's switch is a form that comes back to the page it was on."""
        current = service.display_of(_user(request), request.cookies)
        elder = data["elder_mode"] == "1" if "elder_mode" in data else current.elder
        step = data.get("text_step", current.text_step)
        language = data.get("language")
        saved = await _save(request, db, elder, service.text_step_of(step), language)
        return Redirect(local_path(data.get("next")), status_code=303, cookies=_cookies(saved, settings.secure_cookies))


async def _save(
    request: AnyRequest, db: Db, elder: bool, text_step: int | None, language: str | None = None
) -> Preferences:
    user = _user(request)
    if user is not None and user.elder_mode != elder:
        await accounts.set_elder_mode(db, user.account_id, elder)
    chosen = language if language in i18n.LANGUAGES else i18n.current_language()
    if user is not None and language in i18n.LANGUAGES and user.language != chosen:
        await accounts.set_language(db, user.account_id, chosen)
    step = service.text_step_of(text_step if text_step is not None else request.cookies.get(service.TEXT_COOKIE))
    return Preferences(elder_mode=elder, text_step=step, language=chosen)


def _cookies(saved: Preferences, secure: bool) -> list[Cookie]:
    # Read by the server for the first paint and by our script (not HttpOnly): nothing secret in them.
    common: dict[str, Any] = {"max_age": service.PREFERENCE_MAX_AGE, "samesite": "lax", "secure": secure, "path": "/"}
    return [
        Cookie(key=service.ELDER_COOKIE, value="1" if saved.elder_mode else "0", httponly=False, **common),
        Cookie(key=service.TEXT_COOKIE, value=str(saved.text_step), httponly=False, **common),
        language_cookie(saved.language, secure),
    ]
