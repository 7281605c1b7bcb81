"""督办 and the audit viewer over HTTP: the contract's API (/api/v1/console/supervision, …/tasks/{id}/urge), the
follow-up answers, the audit search and its CSV; and the pages /console/supervision and /console/audit."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from app.errors import Conflict, FieldErrors, NotFound
from app.reviews import service as reviews
from app.supervision import service
from app.supervision.models import AuditPage, AuditQuery, FollowUpAnswer, SupervisionView, UrgeBody, Urged
from app.web.params import Cipher, Db
from app.web.texts import translated
from app.web.types import AnyRequest
from auth.access import caller, roles
from i18n import N_, _

SUPERVISOR = roles("supervisor")
AUDITORS = roles("supervisor", "admin")
Text = Annotated[str | None, QueryParameter(max_length=60)]
PersonHeader = Annotated[str | None, HeaderParameter(name="x-audit-person", max_length=60)]
_STEPS = ("contact", "result")


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise FieldErrors({"since": N_("日期格式应为 YYYY-MM-DD")}) from None


def _query(
    case_no: str | None, person: str | None, actor: str | None, action: str | None, since: str | None, until: str | None
) -> AuditQuery:
    return AuditQuery(case_no=case_no, person=person, actor=actor, action=action, since=_day(since), until=_day(until))


class SupervisionApi(Controller):
    path = "/api/v1/console"
    tags = ["supervision"]

    @get("/supervision", opt=SUPERVISOR, summary="督办: overdue and due-soon tasks by office, and open 整改 items")
    async def supervision(self, request: AnyRequest, db: Db) -> SupervisionView:
        return await service.supervision(db, caller(request))

    @post("/tasks/{task_id:int}/urge", opt=SUPERVISOR, status_code=HTTP_201_CREATED, summary="督办 one task")
    async def urge(self, request: AnyRequest, db: Db, task_id: FromPath[int], data: JSONBody[UrgeBody]) -> Urged:
        return await service.urge(db, request, caller(request), task_id, data.note)

    @post("/follow-ups/{follow_up_id:int}/{step:str}", opt=SUPERVISOR, summary="整改: record the 回访 or the result")
    async def answer(
        self,
        request: AnyRequest,
        db: Db,
        follow_up_id: FromPath[int],
        step: FromPath[str],
        data: JSONBody[FollowUpAnswer],
    ) -> Response[None]:
        if step not in _STEPS:
            raise NotFound(N_("没有这一步：contact（回访）或 result（整改结果）"))
        await reviews.answer_follow_up(
            db, request, caller(request), follow_up_id, step=step, text=data.text, now=datetime.now(UTC)
        )
        return Response(None, status_code=204)

    @get("/audit", opt=AUDITORS, summary="Search the audit log (each search is itself audited)")
    async def audit_search(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        case_no: Text = None,
        person: PersonHeader = None,
        actor: Text = None,
        action: Text = None,
        since: Text = None,
        until: Text = None,
        cursor: Text = None,
    ) -> AuditPage:
        """`X-Audit-Person`: an ID number or a masked one, in a header so that it never sits in a URL."""
        query = _query(case_no, person, actor, action, since, until)
        return await service.search_audit(db, cipher, request, query, cursor)


class SupervisionPages(Controller):
    path = "/console"
    include_in_schema = False

    @get("/supervision", opt=SUPERVISOR)
    async def supervision_page(self, request: AnyRequest, db: Db, notice: FromQuery[str | None] = None) -> Template:
        view = await service.supervision(db, caller(request))
        return Template(
            "supervision.html",
            context={"nav": "supervision", "view": view, "notice": notice, "error": None},
        )

    @post("/supervision/tasks/{task_id:int}/urge", opt=SUPERVISOR)
    async def urge_by_form(
        self, request: AnyRequest, db: Db, task_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        user = caller(request)
        try:
            urged = await service.urge(db, request, user, task_id, str(data.get("note") or ""))
        except (FieldErrors, Conflict) as exc:
            message = _("；").join(translated(exc.errors).values()) if isinstance(exc, FieldErrors) else _(exc.message)
            view = await service.supervision(db, user)
            context = {"nav": "supervision", "view": view, "notice": None, "error": message}
            return Template("supervision.html", context=context, status_code=400)
        return Redirect(f"/console/supervision?notice=urged-{urged.case_no}", status_code=303)

    @post("/supervision/follow-ups/{follow_up_id:int}/{step:str}", opt=SUPERVISOR)
    async def answer_by_form(
        self,
        request: AnyRequest,
        db: Db,
        follow_up_id: FromPath[int],
        step: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Template | Redirect:
        if step not in _STEPS:
            raise NotFound(N_("没有这一步"))
        user = caller(request)
        try:
            await reviews.answer_follow_up(
                db, request, user, follow_up_id, step=step, text=str(data.get("text") or ""), now=datetime.now(UTC)
            )
        except (FieldErrors, Conflict) as exc:
            message = _("；").join(translated(exc.errors).values()) if isinstance(exc, FieldErrors) else _(exc.message)
            view = await service.supervision(db, user)
            context = {"nav": "supervision", "view": view, "notice": None, "error": message}
            return Template("supervision.html", context=context, status_code=400)
        return Redirect(f"/console/supervision?notice={step}", status_code=303)

    @get("/audit", opt=AUDITORS)
    async def audit_page(self) -> Template:
        """The search form. A search is POSTed (the person's ID number must not sit in a URL: logs, history)."""
        return _audit_template({}, None, {})

    @post("/audit", opt=AUDITORS, status_code=HTTP_200_OK)
    async def audit_results(
        self, request: AnyRequest, db: Db, cipher: Cipher, data: URLEncodedBody[dict[str, str]]
    ) -> Template:
        form = {k: str(data.get(k) or "").strip()[:60] or None for k in _FIELDS}
        try:
            page = await service.search_audit(db, cipher, request, _query(**form), data.get("cursor"))
        except FieldErrors as exc:
            return _audit_template(form, None, translated(exc.errors))
        return _audit_template(form, page, {})

    @post("/audit.csv", opt=AUDITORS, status_code=HTTP_200_OK)
    async def audit_export(
        self, request: AnyRequest, db: Db, cipher: Cipher, data: URLEncodedBody[dict[str, str]]
    ) -> Response[bytes]:
        form = {k: str(data.get(k) or "").strip()[:60] or None for k in _FIELDS}
        text = await service.audit_csv(db, cipher, request, _query(**form))
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M")
        return Response(
            ("\ufeff" + text).encode(),  # the BOM: Excel opens UTF-8 Chinese text correctly
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'},
        )


_FIELDS = ("case_no", "person", "actor", "action", "since", "until")


def _audit_template(form: dict[str, str | None], page: AuditPage | None, errors: dict[str, str]) -> Template:
    return Template(
        "audit.html",
        context={"nav": "audit", "form": form, "page": page, "errors": errors},
        status_code=400 if errors else 200,
    )
