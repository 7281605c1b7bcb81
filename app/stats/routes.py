"""Public statistics over HTTP, for anyone, signed in or not: the page /stats, GET /api/v1/stats (JSON) and
/stats.csv. The same aggregates for everyone, so the JSON and the CSV may be kept a minute by any cache (with an ETag
to ask again cheaply); the page, drawn for the device's 长辈版, is kept but revalidated, like the tracking page."""

from __future__ import annotations

from typing import Annotated, Any, cast

import msgspec
from litestar import Controller, MediaType, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.status_codes import HTTP_200_OK, HTTP_304_NOT_MODIFIED, HTTP_400_BAD_REQUEST
from markupsafe import Markup

from app.errors import FieldErrors
from app.shell import service as shell
from app.stats import page, service
from app.stats.models import FilterChoices, StatsQuery, StatsReport
from app.web import caching, shared_pages
from app.web.params import Db
from app.web.types import AnyRequest
from auth.access import public, user_of

# Public aggregates, recomputed at most every REPORT_SECONDS: a minute in any cache is fine.
PUBLIC_MINUTE = "public, max-age=60"
FromMonth = Annotated[str | None, QueryParameter(name="from", description="first month, YYYY-MM")]
ToMonth = Annotated[str | None, QueryParameter(name="to", description="last month, YYYY-MM")]
Department = Annotated[str | None, QueryParameter(description="a department code (police, health …); empty: all")]
District = Annotated[
    str | None, QueryParameter(description="a district code, or 320400 for the city's own offices; empty: all")
]


async def _query(
    db: Db, from_month: str | None, to_month: str | None, department: str | None, district: str | None
) -> StatsQuery:
    return await service.checked_query(
        db, from_month=from_month, to_month=to_month, department=department, district=district
    )


def _tag(report: StatsReport, *parts: str) -> str:
    return caching.weak_etag(msgspec.json.encode(report), *parts)


# The page's filters and figures (tables and charts: most of its drawing) as HTML, per query and 长辈版, drawn once per
# report. Around them, for a visitor signed in, the page (its menu names them) is drawn for each request; for anyone
# else the whole page is kept too, per address and display, drawn for anyone (app.web.shared_pages: a slot where each
# visitor's own CSRF token goes) with its gzip parts.
# The figures with a digest of them (the page's ETag: hashed once per drawing, not per request).
_drawings: page.Drawings[tuple[Markup, str]] = page.Drawings(max_entries=service.REPORT_ENTRIES)
_whole_pages: page.Drawings[tuple[bytes, bytes]] = page.Drawings(max_entries=service.REPORT_ENTRIES)
# The API's answer per query: the report as JSON and its ETag, encoded once per report.
_answers: page.Drawings[tuple[bytes, str]] = page.Drawings(max_entries=service.REPORT_ENTRIES)


# How the page writes a month in the reader's language (2026年5月 / May 2026; 5月 / May), as the charts do.
_MONTHS = {"month_name": page.month_name, "month_short": page.month_short, "month_row": page.month_row}


def _engine(request: AnyRequest) -> JinjaTemplateEngine:
    # Litestar types the app's engine with an unbound type argument; it is the Jinja engine app.main configures.
    return cast("JinjaTemplateEngine", request.app.template_engine)  # pyright: ignore[reportUnknownMemberType]


def _whole_page(request: AnyRequest, context: dict[str, Any]) -> tuple[bytes, bytes]:
    """stats.html drawn for anyone, and its gzip parts."""
    drawn = shared_pages.draw_for_anyone(request, "stats.html", context)
    return drawn, shared_pages.compressed_parts(request, drawn)


def _drawn(request: AnyRequest, report: StatsReport, choices: FilterChoices, elder: bool) -> tuple[Markup, str]:
    template = _engine(request).get_template("partials/stats_figures.html")
    context = {
        "report": report,
        "charts": page.charts(report, elder=elder),
        "links": service.links(report),
        "choices": choices,
        "form": {"from": report.from_month, "to": report.to_month, **service.query_params(report)},
        **_MONTHS,
    }
    html = Markup(template.render(**context))  # noqa: S704 — our own template, autoescaped
    return html, caching.weak_etag(html)


class StatsPages(Controller):
    include_in_schema = False

    @get("/stats", opt=public())
    async def stats_page(
        self,
        request: AnyRequest,
        db: Db,
        from_month: FromMonth = None,
        to_month: ToMonth = None,
        department: Department = None,
        district: District = None,
    ) -> Template | Response[bytes]:
        user = user_of(request)
        display = shell.display_of(user, request.cookies)
        try:
            query = await _query(db, from_month, to_month, department, district)
        except FieldErrors as refused:
            # The form again, each field with what to fix (a person typed it: a page, not JSON).
            asked = {"from": from_month, "to": to_month, "department": department, "district": district}
            form = {field: value or "" for field, value in asked.items()}
            choices = await service.choices(db)
            context: dict[str, Any] = {
                "errors": refused.errors,
                "form": form,
                "choices": choices,
                "report": None,
                **_MONTHS,
            }
            return Template("stats.html", context=context, status_code=HTTP_400_BAD_REQUEST)
        report = await service.report(db, query)
        key = (query, display.elder, display.language)
        drawn = _drawings.kept(key, report)
        if drawn is None:  # the filters' choices read only when the figures are drawn (once per report)
            choices = await service.choices(db)
            drawn = _drawings.get(key, report, lambda: _drawn(request, report, choices, display.elder))
        figures, digest = drawn
        context = {"errors": {}, "report": report, "figures": figures}
        if user is not None:  # its menu names the signed-in account: drawn afresh each time
            return Template("stats.html", context=context)
        tag = caching.weak_etag(digest, display.key, request.app.state.release)
        headers = {"ETag": tag, "Cache-Control": caching.NO_CACHE}
        if caching.not_modified(request.headers.get("if-none-match"), tag):
            return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
        visitor = shared_pages.visitor_token(request)
        if visitor is None:  # a CSRF cookie not made by Litestar (by hand): drawn for this visitor alone
            return Template("stats.html", context=context, headers=headers)
        # Not signed in, the whole page is this address and this display, with the visitor's token put in.
        address = str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
        whole, parts = _whole_pages.get((address, display.key), report, lambda: _whole_page(request, context))
        return shared_pages.answer(request, whole, parts, visitor, headers)

    @get("/stats.csv", opt=public())
    async def stats_csv(
        self,
        request: AnyRequest,
        db: Db,
        from_month: FromMonth = None,
        to_month: ToMonth = None,
        department: Department = None,
        district: District = None,
    ) -> Response[str] | Response[bytes]:
        try:
            query = await _query(db, from_month, to_month, department, district)
        except FieldErrors as refused:
            # Whoever asked for a file gets a line per field to fix, as text.
            lines = "".join(f"{field}：{message}\n" for field, message in refused.errors.items())
            return Response(lines, status_code=HTTP_400_BAD_REQUEST, media_type="text/plain; charset=utf-8")
        report = await service.report(db, query)
        tag = _tag(report, "csv")
        headers = {"ETag": tag, "Cache-Control": PUBLIC_MINUTE}
        if caching.not_modified(request.headers.get("if-none-match"), tag):
            return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
        headers["Content-Disposition"] = f'attachment; filename="{service.csv_filename(report)}"'
        return Response(service.csv_text(report), media_type="text/csv; charset=utf-8", headers=headers)


class StatsApi(Controller):
    path = "/api/v1"
    tags = ["statistics"]

    @get(
        "/stats",
        opt=public(),
        summary="Public statistics per month, department and district (cells under 5 办件 suppressed)",
        description=(
            "Whole months from `from` to `to` (YYYY-MM; default: the last 12 up to this month; at most 36), of one "
            "department and/or one district (the district of the office handling the work; 320400: the city's own "
            "offices). Counts are 办件 per service item. Shares and rates are fractions of 1. A figure counted over "
            "fewer than 5 办件 is null and its name is listed in that cell's `suppressed`; a figure with nothing "
            "counted is null and not listed. A bad value is a 400 naming the field in Chinese. Cache-Control: public, "
            "max-age=60, with an ETag (If-None-Match: 304)."
        ),
        # The answer is a StatsReport, or a bodiless 304 to a current If-None-Match: the schema names the former.
        responses={
            HTTP_200_OK: ResponseSpec(data_container=StatsReport, description="The figures", generate_examples=False)
        },
    )
    async def stats(
        self,
        request: AnyRequest,
        db: Db,
        from_month: FromMonth = None,
        to_month: ToMonth = None,
        department: Department = None,
        district: District = None,
    ) -> Response[bytes]:
        query = await _query(db, from_month, to_month, department, district)
        report = await service.report(db, query)
        body, tag = _answers.get(query, report, lambda: _encoded(report))
        headers = {"ETag": tag, "Cache-Control": PUBLIC_MINUTE}
        if caching.not_modified(request.headers.get("if-none-match"), tag):
            return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
        return Response(body, media_type=MediaType.JSON, headers=headers)


def _encoded(report: StatsReport) -> tuple[bytes, str]:
    """The report as the API answers it, and its ETag."""
    body = msgspec.json.encode(report)
    return body, caching.weak_etag(body)
