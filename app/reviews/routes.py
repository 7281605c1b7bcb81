"""好差评 over HTTP: the contract's API, the resident's rating page (and the fragment the case page loads), and the
window tablet's one-time rating screen.

The tablet: the clerk presses 「请办事人评价」 on the console, which makes a one-time link (15 minutes, one case, one
rating) and opens it. /rate/{token} is a public route: it never reads the session, so the clerk's authority does not
reach it, and it answers only the link's own case, with no navigation to anywhere else. The clerk has no control that
picks a level: only the resident's tap on the screen does, recorded as channel 'window' with no account behind it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from app.errors import Conflict, FieldErrors
from app.reviews import service
from app.reviews.models import CHANNEL_LABELS, LEVEL_LABELS, REASON_TAGS, TEXT_MAX, ReviewBody, ReviewView
from app.web.htmx import is_htmx
from app.web.params import Db
from app.web.types import AnyRequest
from auth.access import caller, public, roles

RATERS = roles("resident", "helper")
RESIDENT = roles("resident")
CLERK = roles("clerk")


def now() -> datetime:
    return datetime.now(UTC)


def _listed(value: Any) -> list[str]:
    """A form field sent once, several times (checkboxes), or not at all."""
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]


def _level(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


class ReviewsApi(Controller):
    path = "/api/v1/cases/{case_no:str}/reviews"
    tags = ["reviews"]

    @post("", opt=RATERS, summary="好差评: rate a finished task of the case, or the case as a whole (task_id omitted)")
    async def rate(
        self, request: AnyRequest, db: Db, case_no: FromPath[str], data: JSONBody[ReviewBody]
    ) -> Response[ReviewView]:
        review, created = await service.rate(db, request, caller(request), case_no, data, now())
        return Response(review, status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @get("", opt=RATERS, summary="The case's ratings, with each bad one's follow-up (回访, 整改 result)")
    async def list_reviews(self, request: AnyRequest, db: Db, case_no: FromPath[str]) -> list[ReviewView]:
        return await service.reviews_of(db, caller(request), case_no, now())


def _context(**extra: Any) -> dict[str, Any]:
    return {
        "levels": sorted(LEVEL_LABELS.items(), reverse=True),
        "reason_tags": REASON_TAGS,
        "text_max": TEXT_MAX,
        "channel_labels": CHANNEL_LABELS,
        **extra,
    }


class ReviewPages(Controller):
    include_in_schema = False

    @get("/cases/{case_no:str}/reviews", opt=RESIDENT)
    async def rating_page(self, request: AnyRequest, db: Db, case_no: FromPath[str]) -> Template:
        """The rating forms of a case: a page of its own, and the fragment the case page loads into itself."""
        screen = await service.rating_screen(db, caller(request), case_no, now())
        name = "partials/review_forms.html" if is_htmx(request) else "reviews.html"
        return Template(name, context=_context(nav="cases", screen=screen, errors={}, form={}))

    @post("/cases/{case_no:str}/reviews", opt=RESIDENT)
    async def rate_by_form(
        self, request: AnyRequest, db: Db, case_no: FromPath[str], data: URLEncodedBody[dict[str, Any]]
    ) -> Template | Redirect:
        target = str(data.get("task_id") or "")
        body = ReviewBody(
            level=_level(data.get("level")),
            task_id=int(target) if target.isdigit() else None,
            tags=_listed(data.get("tags")),
            text=str(data.get("text") or "") or None,
        )
        user = caller(request)
        try:
            await service.rate(db, request, user, case_no, body, now())
        except (FieldErrors, Conflict) as exc:
            errors = exc.errors if isinstance(exc, FieldErrors) else {"level": exc.message}
            screen = await service.rating_screen(db, user, case_no, now())
            return Template(
                "reviews.html",
                context=_context(nav="cases", screen=screen, errors={target: errors}, form=data),
                status_code=400 if isinstance(exc, FieldErrors) else 409,
            )
        return Redirect(f"/cases/{case_no}/reviews?rated={target or 'case'}", status_code=303)

    @post("/console/cases/{case_no:str}/rating-link", opt=CLERK)
    async def open_tablet(self, request: AnyRequest, db: Db, case_no: FromPath[str]) -> Redirect:
        """出件 at the window: the tablet turns to the resident's rating screen for this case."""
        token = await service.open_kiosk_link(db, request, caller(request), case_no, now())
        return Redirect(f"/rate/{token}", status_code=303)

    @get("/rate/{token:str}", opt=public(personal=True))
    async def tablet_screen(self, db: Db, token: FromPath[str]) -> Template:
        screen = await service.kiosk_screen(db, token[:100], now())
        return Template("review_kiosk.html", context=_context(screen=screen, token=token, errors={}, done=False))

    @post("/rate/{token:str}", opt=public(personal=True))
    async def tablet_rate(
        self, request: AnyRequest, db: Db, token: FromPath[str], data: URLEncodedBody[dict[str, Any]]
    ) -> Template:
        token = token[:100]
        try:
            await service.rate_at_kiosk(
                db,
                request,
                token,
                _level(data.get("level")),
                _listed(data.get("tags")),
                str(data.get("text") or "") or None,
                now(),
            )
        except FieldErrors as exc:
            screen = await service.kiosk_screen(db, token, now())
            return Template(
                "review_kiosk.html",
                context=_context(screen=screen, token=token, errors=exc.errors, done=False),
                status_code=400,
            )
        return Template("review_kiosk.html", context=_context(screen=None, token=None, errors={}, done=True))
