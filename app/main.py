"""The composition root: the only place that wires settings, database, templates and routes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from app.accounts.routes import AccountPages, AuthApi, MeApi
from app.calendar.service import china_time
from app.cases.apply import ApplyPages
from app.cases.pages import CasePages
from app.cases.routes import CasesApi, TrackingPages
from app.cases.scans import ScanCounter
from app.catalogue.routes import CatalogueApi, CataloguePages
from app.certificates.routes import my_certificates
from app.console.enrollment import EnrollmentPages
from app.console.pages import ConsolePages
from app.console.routes import ConsoleApi
from app.database import open_pool
from app.delegations.pages import HelperPages
from app.delegations.routes import DelegationsApi
from app.forms.routes import FormApi
from app.health import healthz
from app.notifications.routes import NotificationPages, NotificationsApi, PushApi
from app.people.identity import grouped_id_number
from app.settings import Settings, load_settings
from app.shell import service as shell
from app.shell.routes import PreferencesApi, ShellPages
from app.sms.service import backend_named as sms_backend_named
from app.web import errors, redirects, unavailable
from app.web.assets import STATIC_DIR, StaticAssets, unversioned_static_middleware
from app.web.input_checks import refuse_unstorable_input
from app.web.logging import logging_config
from app.web.proxies import forwarded_client_middleware
from app.web.ratelimit import SlidingWindowLimiter
from app.web.security import security_headers
from auth import walk_in
from auth.access import access_guard, public
from auth.pii import PiiCipher
from auth.session_store import PostgresSessionStore
from auth.sessions import SESSIONLESS_PATHS, SessionPolicy, current_user_middleware, session_config
from push.keys import load_or_create as load_vapid_keys

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "pwa" / "templates"


def _provide_db(state: State) -> asyncpg.Pool:
    return state.pool


def _provide_settings(state: State) -> Settings:
    return state.settings


def _provide_cipher(state: State) -> PiiCipher:
    return state.cipher


def _template_engine(settings: Settings, assets: StaticAssets) -> TemplateConfig[JinjaTemplateEngine]:
    def configure(engine: JinjaTemplateEngine) -> None:
        engine.engine.globals["static_url"] = assets.url
        engine.engine.globals["public_url"] = settings.public_url
        # 长辈版 and its text size, drawn by the server so the first paint is already right.
        engine.engine.globals["display_for"] = lambda request: shell.display_of(
            request.scope.get("user") if request else None, request.cookies if request else {}
        )
        # The name under which the device keeps the signed-in account's drafts and queued submissions.
        engine.engine.globals["local_key_for"] = lambda user: shell.local_key(settings.secret_key, user.account_id)
        # The resident a clerk is receiving at the window, named in the banner on every page while it is live.
        engine.engine.globals["walk_in_of"] = lambda request: walk_in.peek(request) if request else None
        # Every time a page shows, in Beijing time whatever the server's time zone: {{ moment|china_time }}.
        engine.engine.filters["china_time"] = china_time
        # A read-only ID number in groups of 6-8-4, as people read it out: {{ masked|id_groups }}.
        engine.engine.filters["id_groups"] = grouped_id_number
        # 登录 and 注册 links that bring the person back to where they were (app.web.redirects: local paths only).
        engine.engine.globals["login_url"] = lambda request: (
            redirects.sign_in_url("/login", request.url.path, dict(request.query_params)) if request else "/login"
        )
        engine.engine.globals["register_url"] = lambda request: (
            redirects.sign_in_url("/register", request.url.path, dict(request.query_params)) if request else "/register"
        )
        # When that visit ends, in Beijing time.
        engine.engine.globals["walk_in_until"] = lambda visit: china_time(
            datetime.fromtimestamp(visit.expires_at, UTC), "%H:%M"
        )

    return TemplateConfig(directory=TEMPLATES_DIR, engine=JinjaTemplateEngine, engine_callback=configure)


def create_app(settings: Settings | None = None, pool: asyncpg.Pool | None = None) -> Litestar:
    """Build the app. Tests pass their own settings and pool; production reads the environment."""
    settings = settings or load_settings()
    assets = StaticAssets()

    session_store = PostgresSessionStore()
    if pool is not None:
        session_store.bind(pool)

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        if pool is None:
            app.state.pool = await open_pool(settings)
            session_store.bind(app.state.pool)
        flusher = asyncio.create_task(app.state.scans.run(app.state.pool))
        # Everything loaded at start-up lives as long as the worker: keep it out of the garbage
        # collector's scans, which otherwise show up as tail latency under load.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            if pool is None:  # a caller's (a test's) pool is theirs to close
                await app.state.pool.close()

    static = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        opt=public(),
        # Every page links static files by content hash (?v=…), so a year-long immutable cache is safe.
        cache_control=CacheControlHeader(max_age=31_536_000, public=True, immutable=True),
    )
    return Litestar(
        route_handlers=[
            healthz,
            CataloguePages,
            CatalogueApi,
            FormApi,
            AuthApi,
            MeApi,
            AccountPages,
            CasesApi,
            TrackingPages,
            CasePages,
            ConsoleApi,
            DelegationsApi,
            HelperPages,
            ConsolePages,
            EnrollmentPages,
            my_certificates,
            ApplyPages,
            PushApi,
            NotificationsApi,
            NotificationPages,
            ShellPages,
            PreferencesApi,
            static,
        ],
        guards=[access_guard],
        # NUL characters, integers past bigint and deep JSON: a 400 naming the field, for every route.
        before_request=refuse_unstorable_input,
        dependencies={
            "db": Provide(_provide_db, sync_to_thread=False),
            "settings": Provide(_provide_settings, sync_to_thread=False),
            "cipher": Provide(_provide_cipher, sync_to_thread=False),
        },
        lifespan=[database],
        # Every log line masks ID numbers (they reach URLs, e.g. ?on_behalf_of=, and error messages).
        logging_config=logging_config(),
        state=State(
            {
                "settings": settings,
                "cipher": PiiCipher(settings.secret_key),
                "assets": assets,
                "service_worker": shell.ServiceWorker(assets),
                "scan_limiter": SlidingWindowLimiter(settings.track_scans_per_minute),
                "scans": ScanCounter(),
                # How texts leave (SMS_BACKEND): sign-up codes, "you already have an account".
                "sms": sms_backend_named(settings.sms_backend),
                # Generated on first start; only the public half is kept in the web process.
                "vapid_public_key": load_vapid_keys(settings.data_dir).public_key,
                "pool": pool,
                "session_policy": SessionPolicy(
                    resident_idle=settings.resident_idle_minutes,
                    staff_idle=settings.staff_idle_minutes,
                    helper_idle=settings.helper_idle_minutes,
                    max_hours=settings.session_max_hours,
                ),
            }
        ),
        stores={"sessions": session_store},
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="csrftoken",
            header_name="x-csrftoken",
            cookie_secure=settings.secure_cookies,
            cookie_samesite="lax",
            # Paths that never take a form or an unsafe request need no CSRF cookie minted per response.
            exclude=SESSIONLESS_PATHS,
        ),
        template_config=_template_engine(settings, assets),
        compression_config=CompressionConfig(backend="gzip", minimum_size=500, gzip_compress_level=6),
        # On every answer, including those Litestar makes before routing or from an exception.
        before_send=[security_headers(https=settings.secure_cookies)],
        middleware=[
            # First: every later layer (sessions, audit, limits) sees the client's own address.
            forwarded_client_middleware(settings.trusted_proxies),
            unversioned_static_middleware,
            session_config(secure=settings.secure_cookies, max_hours=settings.session_max_hours).middleware,
            current_user_middleware,
        ],
        exception_handlers={
            ValidationException: errors.validation_exception_handler,
            HTTPException: errors.http_exception_handler,
            # The database out of reach is a 503 wherever it shows (a route, the session middleware); anything
            # else unexpected is a logged 500.
            Exception: unavailable.unless_database_unavailable(errors.internal_error_handler),
        },
        openapi_config=OpenAPIConfig(
            title="常州一网通办 API",
            version="1",
            render_plugins=[JsonRenderPlugin()],
            openapi_router=Router(path="/schema", route_handlers=[], opt=public()),
        ),
    )
