"""The composition root: the only place that wires settings, database, templates and routes."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import re
import shutil
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import asyncpg
from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException, MethodNotAllowedException, ValidationException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components

# Its `directories` parameter is annotated with a bare PathLike (an unknown type argument to pyright).
from litestar.static_files import create_static_files_router  # pyright: ignore[reportUnknownVariableType]
from litestar.template import TemplateConfig
from markupsafe import Markup

import i18n
from app.accounts import service as accounts
from app.accounts.routes import AccountPages, AuthApi, MeApi
from app.appointments.pages import AppointmentPages, ConsoleAppointmentPages
from app.appointments.routes import AppointmentsApi, ConsoleAppointmentsApi, HallsApi
from app.calendar.service import china_time
from app.cases import consent_flow, drawing
from app.cases import service as cases
from app.cases.apply import ApplyPages
from app.cases.consent_pages import ConsentPages, ConsentsApi
from app.cases.correction_pages import CorrectionPages
from app.cases.pages import CasePages
from app.cases.routes import CasesApi, TrackingPages
from app.cases.scans import ScanCounter
from app.catalogue import translations as catalogue_translations
from app.catalogue.routes import CatalogueApi, CataloguePages
from app.certificates.routes import my_certificates, share_certificate, verify_certificate
from app.console.enrollment import EnrollmentPages
from app.console.pages import ConsolePages
from app.console.routes import ConsoleApi
from app.consultations.routes import ConsultationPages, ConsultationsApi
from app.delegations.pages import HelperPages
from app.delegations.routes import DelegationsApi
from app.delegations.service import OpenCases
from app.enterprise.pages import EnterprisePages
from app.enterprise.routes import EnterpriseApi
from app.errors import DomainError
from app.exchange.routes import SECURITY_SCHEMES, ExchangeApi, TokenApi
from app.family.routes import FamilyPages, my_family
from app.forms.routes import FormApi
from app.health import healthz
from app.me.pages import MePages
from app.notifications.routes import NotificationPages, NotificationsApi, PushApi
from app.notifications.service import step_title
from app.ops import logs as ops_logs
from app.ops.context import current_request_id
from app.ops.metrics import CountedSms, DatabaseGauges, metrics, process_metrics
from app.ops.probes import live, ready
from app.ops.requests import request_context
from app.ops.tracing import tracing
from app.organisations.routes import OrganisationsApi
from app.people.identity import grouped_id_number
from app.reviews.routes import ReviewPages, ReviewsApi
from app.shell import service as shell
from app.shell.models import Display
from app.shell.routes import PreferencesApi, ShellPages
from app.stats import page as stats_page
from app.stats import service as stats
from app.stats.routes import StatsApi, StatsPages
from app.supervision.routes import SupervisionApi, SupervisionPages
from app.wallet.pages import WalletPages
from app.web import absent, errors, options, redirects, unavailable
from app.web.assets import IMMUTABLE, STATIC_DIR, SentPrecompressed, StaticAssets, unversioned_static_middleware
from app.web.caching import release_fingerprint
from app.web.compression import GZIP_LEVEL, CompressionWhenNeeded
from app.web.csrf import CsrfMiddleware
from app.web.database import provide_db, request_pool_middleware
from app.web.dependencies import resolve_plain_dependencies_in_turn
from app.web.input_checks import refuse_unstorable_input
from app.web.language import account_language_middleware, language_middleware
from app.web.proxies import forwarded_client_middleware
from app.web.ratelimit import SlidingWindowLimiter
from app.web.security import security_headers
from app.web.templates import TemplatesPerLanguage
from app.web.types import AnyRequest
from auth import clients, walk_in
from auth.access import access_guard, guards_read_the_route_handler_itself, public, user_of
from auth.models import CurrentUser
from auth.pii import PiiCipher
from auth.sessions import (
    SESSIONLESS_PATHS,
    PostgresSessionStore,
    SessionPolicy,
    current_user_middleware,
    session_config,
)
from config.settings import Settings, load_settings
from db.connect import open_pool
from push.keys import load_or_create as load_vapid_keys
from sms.backends import backend_for as sms_backend_for

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "pwa" / "templates"
# Everything a page is drawn from besides its data: templates, static files, the languages' catalogues and the
# catalogue's own English (db/seed). A change to any of them is a new release, so a kept page's ETag changes too.
RELEASE_FOLDERS = (TEMPLATES_DIR, STATIC_DIR, i18n.LOCALE_DIR, catalogue_translations.SEED_DIR)
# And the Python that draws it (template filters and globals, the pages' contexts, the texts' rules): a deploy that
# changes only code may change a page kept in the database (tracking_pages), so it is a new release too.
RELEASE_CODE = (Path(__file__).resolve().parent, Path(i18n.__file__).resolve().parent)
# Below DATA_DIR: each release's compiled templates (about 2.5 MB), in a folder named by its fingerprint.
COMPILED_TEMPLATES = "compiled-templates"
# What makes a translated text more than plain text: HTML's specials, and % (formatting, %% for a percent sign).
_NOT_PLAIN = re.compile(r"[<>&\"'%]")


def _provide_settings(state: State) -> Settings:
    return state.settings


def _provide_cipher(state: State) -> PiiCipher:
    return state.cipher


def _provide_open_cases() -> OpenCases:
    return cases.open_cases_of


def _template_gettext(message: str, /, **variables: object) -> str:
    """`{{ _(value) }}` in our templates (all autoescaped: Litestar's engine): a value translated as it is drawn, in
    the request's language, %-formatted with each variable escaped; HTML only when it is a text of ours. (A text
    written in the template, `{{ _("首页") }}`, is translated when the template is compiled: app/web/templates.py.)
    A text with nothing to format and nothing HTML would escape comes back as it is: it is drawn the same, and
    each Markup drawn costs Jinja a new Markup."""
    text = i18n.gettext(message)
    if not variables and not _NOT_PLAIN.search(text):
        return text
    known = i18n.known_messages()
    if known and message not in known:
        # Not a text of ours (a value drawn through _(), a label from a table that was never marked): drawn as text,
        # escaped, whatever it holds; never as HTML, and formatted only when the template passes variables.
        return Markup.escape(text) % variables if variables else text
    return Markup(text) % variables  # noqa: S704 -- our catalogue's texts, marked safe as Jinja marks them


def _catalogue_name(name: str) -> str:
    return _catalogue_name_in(name, i18n.current_language())


# A name reads the same in a language for as long as the process runs (our texts and the catalogue's translations are
# read once), and a case page draws two dozen of them: each is looked up once per name and language, not on every page
# (issue 20). The catalogue names a few hundred things; the bound keeps any other text drawn through it from growing.
@functools.lru_cache(maxsize=2048)
def _catalogue_name_in(name: str, language: str) -> str:
    with i18n.use_language(language):
        return catalogue_translations.text(i18n.gettext(name))


def _template_engine(
    settings: Settings, assets: StaticAssets, script_messages: shell.ScriptMessages, release: str
) -> TemplateConfig[TemplatesPerLanguage]:
    def configure(engine: TemplatesPerLanguage) -> None:
        # Jinja annotates its globals and filters with the types of its own defaults; any value may go in.
        environment = engine.engine
        # Templates ship with the code: no stat() of every template on every render to see whether it changed.
        environment.auto_reload = False
        # Texts in the request's language (i18n): {{ _("首页") }}, {% trans %}…{% endtrans %}; the Chinese is the key.
        environment.add_extension("jinja2.ext.i18n")
        environment.install_gettext_callables(  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
            gettext=i18n.gettext, ngettext=i18n.ngettext, pgettext=i18n.pgettext, newstyle=True
        )
        template_globals = cast("dict[str, object]", environment.globals)  # pyright: ignore[reportUnknownMemberType]
        # Values drawn through _() (texts written in a template are translated when it is compiled, per language:
        # app/web/templates.py): as the newstyle gettext above draws them, without its three lookups in the
        # template's context per text.
        template_globals["_"] = template_globals["gettext"] = _template_gettext
        template_filters = cast("dict[str, object]", environment.filters)  # pyright: ignore[reportUnknownMemberType]

        def display_for(request: AnyRequest | None) -> Display:
            return shell.display_of(user_of(request) if request else None, request.cookies if request else {})

        def local_key_for(user: CurrentUser) -> str:
            return accounts.local_key(settings.secret_key, user.account_id)

        def walk_in_of(request: AnyRequest | None) -> walk_in.WalkIn | None:
            return walk_in.peek(request) if request else None

        def login_url_for(request: AnyRequest | None) -> str:
            return (
                redirects.sign_in_url("/login", request.url.path, dict(request.query_params)) if request else "/login"
            )

        def register_url_for(request: AnyRequest | None) -> str:
            if request is None:
                return "/register"
            return redirects.sign_in_url("/register", request.url.path, dict(request.query_params))

        def walk_in_until(visit: walk_in.WalkIn) -> str:
            return china_time(datetime.fromtimestamp(visit.expires_at, UTC), "%H:%M")

        template_globals["static_url"] = assets.url
        template_globals["public_url"] = settings.public_url
        # 长辈版 and its text size, drawn by the server so the first paint is already right.
        template_globals["display_for"] = display_for
        # The name under which the device keeps the signed-in account's drafts and queued submissions.
        template_globals["local_key_for"] = local_key_for
        # The resident a clerk is receiving at the window, named in the banner on every page while it is live.
        template_globals["walk_in_of"] = walk_in_of
        # Every time a page shows, in Beijing time whatever the server's time zone: {{ moment|china_time }}.
        template_filters["china_time"] = china_time
        # A code the catalogue configures (网上办理, 即办件, 市级: app.catalogue.models.VOCABULARY) in the reader's
        # language as plain text, escaped like any value: {{ item.level|gettext }}, channels|map("gettext").
        template_filters["gettext"] = i18n.gettext
        # A name the catalogue configures (a case's life event, items and departments, a district, a hall), or one of
        # ours standing among them (市本级, marked), in the reader's language, drawn from data the database or a cache
        # keeps in Chinese for every language (a case's views, its tracking snapshot, the statistics' figures):
        # {{ g.name|catalogue }}, as plain text escaped like any value.
        template_filters["catalogue"] = _catalogue_name
        # A case's pieces as every page draws them (app/cases/drawing.py): {{ task.status|chip(task.status_label) }},
        # {{ step.at|when }}, {{ task|due }}, {{ value|day }}.
        template_filters["chip"] = drawing.chip
        template_filters["when"] = drawing.when
        template_filters["day"] = drawing.day
        template_filters["due"] = drawing.due
        # A read-only ID number in groups of 6-8-4, as people read it out: {{ masked|id_groups }}.
        template_filters["id_groups"] = grouped_id_number
        # A timeline step's title, stored in Chinese as written, in the reader's language: {{ step.title|step_title }}
        # (app.notifications.titles reads a title back through the template it was written from).
        template_filters["step_title"] = step_title
        # 登录 and 注册 links that bring the person back to where they were (app.web.redirects: local paths only).
        template_globals["login_url"] = login_url_for
        template_globals["register_url"] = register_url_for
        # When that visit ends, in Beijing time.
        template_globals["walk_in_until"] = walk_in_until
        # The id of the request being answered (X-Request-ID), which the error page prints for a call to 12345.
        template_globals["request_id"] = current_request_id
        # The home page's three figures of this month, as last read by this worker (no query per page), and how a
        # published figure is written ("<5" where it is not published): {{ stats_figure(cell, 'received') }}.
        template_globals["stats_headline"] = stats.current_headline
        template_globals["stats_figure"] = stats_page.figure
        # <html lang> and the language switch: the language of this request, and each one by its own name.
        template_globals["html_lang"] = i18n.html_lang
        template_globals["current_language"] = i18n.current_language
        template_globals["languages"] = i18n.LANGUAGES
        # Where our scripts' texts in the request's language are, linked by every page for t("…") (js/i18n.js).
        template_globals["script_messages_url"] = script_messages.url
        template_globals["script_plural_rule"] = script_messages.plural_rule
        # Those of the globals above whose answer depends only on the language and a literal argument, answered when a
        # template is compiled (per language: app/web/templates.py) rather than called on every page.
        engine.fold_when_compiled(
            static_url=assets.url,
            html_lang=i18n.html_lang,
            current_language=i18n.current_language,
            script_messages_url=script_messages.url,
            script_plural_rule=script_messages.plural_rule,
        )
        # Compiled once per release for every worker, after a restart too (what a template compiles to depends on
        # the release: RELEASE_FOLDERS, RELEASE_CODE).
        engine.keep_compiled_in(settings.data_dir / COMPILED_TEMPLATES / release)

    return TemplateConfig(directory=TEMPLATES_DIR, engine=TemplatesPerLanguage, engine_callback=configure)


def create_web_worker_app() -> Litestar:
    """The app as each of granian's workers builds it (`python -m app serve`): without the installed packages it never
    uses, which Litestar would otherwise load (app/web/absent.py)."""
    settings = load_settings()
    absent.leave_out(absent.unused_by_web_workers(tracing_on=settings.otel_endpoint is not None))
    return create_app(settings)


def compile_every_template() -> int:
    """Every template in every language compiled into this release's compiled copies (TemplatesPerLanguage:
    keep_compiled_in), as a web worker would compile them, and the copies of earlier releases removed: `python -m app
    serve` has it done in a process of its own before the workers start, so that none of them pays the memory
    compiling takes. The number compiled."""
    app = create_web_worker_app()
    # Litestar types the engine by its type argument, which a built app has lost; ours is TemplatesPerLanguage.
    engine = cast("TemplatesPerLanguage", app.template_engine)  # pyright: ignore[reportUnknownMemberType]
    names = [path.relative_to(TEMPLATES_DIR).as_posix() for path in sorted(TEMPLATES_DIR.rglob("*.html"))]
    for language in i18n.LANGUAGES:
        environment = engine.environment_for(language)
        for name in names:
            environment.get_template(name)
    settings: Settings = app.state.settings
    for folder in (settings.data_dir / COMPILED_TEMPLATES).iterdir():
        if folder.name != app.state.release:
            shutil.rmtree(folder, ignore_errors=True)
    return len(names) * len(i18n.LANGUAGES)


def create_app(settings: Settings | None = None, pool: asyncpg.Pool | None = None) -> Litestar:
    """Build the app. Tests pass their own settings and pool; production reads the environment."""
    settings = settings or load_settings()
    assets = StaticAssets()
    script_messages = shell.ScriptMessages(assets)
    traces = tracing(settings)  # nothing unless OTEL_EXPORTER_OTLP_ENDPOINT is set
    # The dependencies below return at once: each route's are resolved in turn, not in a task group (app/web).
    resolve_plain_dependencies_in_turn()
    # The access guard reads the route's rule from its handler, not from a copy made per request (auth/access.py).
    guards_read_the_route_handler_itself()
    release = release_fingerprint(RELEASE_FOLDERS, RELEASE_CODE)

    # The session middleware reads each request's session with its account in one statement (app.accounts).
    session_store = PostgresSessionStore(read_with_user=accounts.session_with_user)
    if pool is not None:
        session_store.bind(pool)

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncGenerator[None, None]:
        if pool is None:
            app.state.pool = await open_pool(settings)
            session_store.bind(app.state.pool)
        flusher = asyncio.create_task(app.state.scans.run(app.state.pool))
        sweeper = asyncio.create_task(consent_flow.sweep_forever(app.state.pool))
        # The public statistics: increments folded into the rollups every few seconds, the home page's figures read
        # once before the first request and then every minute.
        with contextlib.suppress(Exception):  # the database may be away at start: the loop reads them later
            await stats.refresh_headline(app.state.pool)
        folder = asyncio.create_task(stats.keep_folding(app.state.pool))
        # Everything loaded at start-up lives as long as the worker: keep it out of the garbage
        # collector's scans, which otherwise show up as tail latency under load.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            for task in (flusher, sweeper, folder):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if pool is None:  # a caller's (a test's) pool is theirs to close
                await app.state.pool.close()

    static = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        opt=public(),
        # Every page links static files by content hash (?v=…), so a year-long immutable cache is safe.
        cache_control=IMMUTABLE,
        middleware=[
            # Those asked for without it are revalidated instead: on this router, not as a layer of every route.
            unversioned_static_middleware,
            # Each file gzipped once, not for each answer (app/web/assets.py).
            DefineMiddleware(SentPrecompressed, assets=assets),
        ],
    )
    csrf = CSRFConfig(
        secret=settings.secret_key,
        cookie_name="csrftoken",
        header_name="x-csrftoken",
        cookie_secure=settings.secure_cookies,
        cookie_samesite="lax",
        # Paths that never take a form or an unsafe request need no CSRF cookie minted per response.
        exclude=SESSIONLESS_PATHS,
    )
    app = Litestar(
        route_handlers=[
            healthz,
            live,
            ready,
            metrics,
            CataloguePages,
            CatalogueApi,
            FormApi,
            AuthApi,
            MeApi,
            AccountPages,
            MePages,
            FamilyPages,
            WalletPages,
            CasesApi,
            TrackingPages,
            CasePages,
            CorrectionPages,
            ConsoleApi,
            DelegationsApi,
            OrganisationsApi,
            EnterpriseApi,
            EnterprisePages,
            HelperPages,
            ConsolePages,
            ConsultationsApi,
            ConsultationPages,
            ReviewsApi,
            ReviewPages,
            StatsApi,
            StatsPages,
            SupervisionApi,
            SupervisionPages,
            EnrollmentPages,
            HallsApi,
            AppointmentsApi,
            ConsoleAppointmentsApi,
            AppointmentPages,
            ConsoleAppointmentPages,
            my_certificates,
            share_certificate,
            verify_certificate,
            my_family,
            ApplyPages,
            ConsentsApi,
            ConsentPages,
            PushApi,
            NotificationsApi,
            NotificationPages,
            ShellPages,
            PreferencesApi,
            TokenApi,
            ExchangeApi,
            static,
        ],
        guards=[access_guard],
        # NUL characters, integers past bigint and deep JSON: a 400 naming the field, for every route.
        before_request=refuse_unstorable_input,
        dependencies={
            # A page view's own RequestPool (one connection for the view: app/web/database.py), else the pool.
            "db": Provide(provide_db, sync_to_thread=False),
            "settings": Provide(_provide_settings, sync_to_thread=False),
            "cipher": Provide(_provide_cipher, sync_to_thread=False),
            # A delegation's open cases are app.cases' to decide, which imports app.delegations (OpenCases there).
            "open_cases": Provide(_provide_open_cases, sync_to_thread=False),
        },
        lifespan=[database, process_metrics, *traces.lifespan],
        # Litestar's OPTIONS handler per path, which the access guard refuses, left out: one answer for all of them.
        plugins=[options.WithoutRefusedOptions(), *traces.plugins],
        # Every log line masks ID numbers (they reach URLs, e.g. ?on_behalf_of=, and error messages) and carries
        # its request's id; LOG_FORMAT=json writes one JSON object per line.
        logging_config=ops_logs.logging_config(settings.log_format),
        state=State(
            {
                "settings": settings,
                "cipher": PiiCipher(settings.secret_key),
                "assets": assets,
                "script_messages": script_messages,
                "service_worker": shell.ServiceWorker(assets, messages=script_messages),
                "scan_limiter": SlidingWindowLimiter(settings.track_scans_per_minute, kind="track-scan"),
                "scans": ScanCounter(),
                # What every page is drawn with (RELEASE_FOLDERS): part of each page's ETag (app/web/caching).
                "release": release,
                # How texts leave (SMS_BACKEND): sign-up codes, "you already have an account".
                "sms": CountedSms(sms_backend_for(settings)),
                # The database's gauges on /metrics, read at most every few seconds per worker.
                "database_gauges": DatabaseGauges(),
                # Generated on first start; only the public half is kept in the web process.
                "vapid_public_key": load_vapid_keys(settings.data_dir).public_key,
                "pool": pool,
                # The data-exchange API's bearer tokens (auth.clients) and each client's calls per minute.
                "api_tokens": clients.TokenIssuer(
                    settings.secret_key, settings.public_url, settings.exchange_requests_per_minute
                ),
                "session_policy": SessionPolicy(
                    resident_idle=settings.resident_idle_minutes,
                    staff_idle=settings.staff_idle_minutes,
                    helper_idle=settings.helper_idle_minutes,
                    max_hours=settings.session_max_hours,
                ),
            }
        ),
        stores={"sessions": session_store},
        template_config=_template_engine(settings, assets, script_messages, release),
        compression_config=CompressionConfig(
            backend="gzip", minimum_size=500, gzip_compress_level=GZIP_LEVEL, middleware_class=CompressionWhenNeeded
        ),
        middleware=[
            # First: every later layer (sessions, audit, limits) sees the client's own address.
            forwarded_client_middleware(settings.trusted_proxies),
            # A page view's statements, the session's read first, on one pool connection (app/web/database.py).
            request_pool_middleware,
            session_config(secure=settings.secure_cookies, max_hours=settings.session_max_hours).middleware,
            # Who is signed in: the account read with the session (the store's reader above), unless its sign-in lapsed.
            current_user_middleware,
            # The language again, now that the account (and its choice) is known.
            account_language_middleware,
            # The API client behind a bearer token, on the routes declared for clients only (auth.access.clients).
            clients.api_client_middleware,
            *traces.middleware,
            # Last, so innermost, where Litestar puts its own: CSRF checks on every unsafe request (app/web/csrf.py).
            DefineMiddleware(CsrfMiddleware, config=csrf),
        ],
        exception_handlers={
            # What services refuse (app/errors.py), each with its status: the one mapping.
            DomainError: errors.domain_error_handler,
            ValidationException: errors.validation_exception_handler,
            HTTPException: errors.http_exception_handler,
            MethodNotAllowedException: options.method_not_allowed,
            # The database out of reach is a 503 wherever it shows (a route, the session middleware); anything
            # else unexpected is a logged 500.
            Exception: unavailable.unless_database_unavailable(errors.internal_error_handler),
        },
        openapi_config=OpenAPIConfig(
            title="常州一网通办 API",  # i18n: data (the API's name, for developers)
            version="1",
            render_plugins=[JsonRenderPlugin()],
            # The data-exchange API's OAuth 2.0 client credentials and bearer tokens (docs/exchange.md).
            components=Components(security_schemes=dict(SECURITY_SCHEMES)),
            openapi_router=Router(path="/schema", route_handlers=[], opt=public()),
        ),
    )
    # Around routing itself, so that unknown paths and errors raised in middleware get a request id, an access-log
    # line and their place in the metrics too (Litestar's `middleware` runs per route, after routing).
    app.asgi_handler = request_context(
        language_middleware(app.asgi_handler),
        on_answer=[
            # On every answer, including those Litestar makes before routing or from an exception.
            security_headers(https=settings.secure_cookies),
            # Every answer of the data-exchange API is audited with its client's id and status.
            clients.audit_api_calls(),
        ],
    )
    return app
