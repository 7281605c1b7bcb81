"""The back-office pages: /console (queue, find a case by number) and one case with its actions."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK

from app.cases import service as case_service
from app.cases import workflow
from app.cases.pages import receipt_page
from app.catalogue import service as catalogue
from app.console import service
from app.console.models import InPersonCheck
from app.console.routes import CLERK, STAFF
from app.errors import Conflict, FieldErrors
from app.registers import service as registers
from app.web.htmx import is_htmx
from app.web.params import AppSettings, Cipher, Db
from app.web.types import AnyRequest
from auth import walk_in
from auth.access import caller

ACTION_LABELS = {
    "accept": "受理",
    "reject": "不予受理",
    "request_supplement": "补正告知",
    "resubmit": "已收到补正",
    "review": "开始审核",
    "approve": "批准",
    "deny": "不予批准",
    "complete": "办结",
    "deliver": "出件",
}


WALK_IN_NOTICES = {
    "started": "已核验身份，请选择要办理的事。",
    "ended": "已结束接待，本机不再保留该居民的填写内容。",
    "choose": "请先当面核验来办人的居民身份证，再为其填写申请。",
    "switched": "接待对象已更换，之前那位居民的表单没有提交，请重新填写。",
}


class ConsolePages(Controller):
    path = "/console"
    include_in_schema = False

    @get("", opt=STAFF)
    async def home(self, request: AnyRequest, db: Db, q: FromQuery[str] = "") -> Template | Redirect:
        if q.strip():
            return Redirect(f"/console/cases/{q.strip().upper()}", status_code=303)
        tasks = await service.task_queue(db, caller(request))
        return Template(
            "console.html",
            context={
                "nav": "console",
                "tasks": tasks,
                "overdue": [t for t in tasks if t.overdue],
                "deceased_cases": await service.open_cases_of_deceased(db, caller(request)),
                "labels": ACTION_LABELS,
                "is_clerk": "clerk" in caller(request).roles,
                "errors": {},
                "form": {},
            },
        )

    @get("/walk-in", opt=CLERK)
    async def walk_in_page(self, request: AnyRequest, db: Db, notice: FromQuery[str] = "") -> Template:
        """窗口收件: check the ID card of the resident at the window, then fill a life event's merged form for them."""
        return await self._render_walk_in(request, db, notice=WALK_IN_NOTICES.get(notice))

    async def _render_walk_in(
        self,
        request: AnyRequest,
        db: Db,
        *,
        notice: str | None = None,
        errors: dict[str, str] | None = None,
        form: dict[str, Any] | None = None,
    ) -> Template:
        started = walk_in.peek(request)
        user = caller(request)
        return Template(
            "console_walk_in.html",
            context={
                "nav": "console",
                "walk_in": service.walk_in_view(started) if started else None,
                "events": await catalogue.life_events(db) if started else [],
                "filed": await service.walk_in_cases(db, user, started) if started else [],
                "minutes": walk_in.WALK_IN_MINUTES,
                "notice": notice,
                "errors": errors or {},
                "form": form or {},
            },
            status_code=400 if errors else 200,
        )

    @post("/walk-in", opt=CLERK)
    async def start_walk_in(
        self, request: AnyRequest, db: Db, cipher: Cipher, data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        try:
            await service.start_walk_in(db, cipher, request, caller(request), InPersonCheck.from_form(data))
        except FieldErrors as exc:
            form = {"name": data.get("name", ""), "id_number": data.get("id_number", "")}
            return await self._render_walk_in(request, db, errors=exc.errors, form=form)
        return Redirect("/console/walk-in?notice=started", status_code=303)

    @post("/walk-in/end", opt=CLERK)
    async def end_walk_in(self, request: AnyRequest, db: Db) -> Redirect:
        await service.end_walk_in(db, request, caller(request))
        return Redirect("/console/walk-in?notice=ended", status_code=303)

    @get("/cases/{case_no:str}/receipt", opt=CLERK)
    async def receipt(self, request: AnyRequest, db: Db, settings: AppSettings, case_no: FromPath[str]) -> Template:
        """The receipt of a case this clerk filed at the window, printed for the resident to take home."""
        case = await case_service.case_for_window(db, settings, caller(request), case_no)
        return receipt_page(case, filed_for="window")

    @get("/cases/{case_no:str}", opt=STAFF)
    async def case_page(self, request: AnyRequest, db: Db, cipher: Cipher, case_no: FromPath[str]) -> Template:
        return await self._render_case(request, db, cipher, case_no)

    async def _render_case(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        case_no: str,
        error: str | None = None,
        status: int = 200,
        revealed: dict[str, str] | None = None,
        field_errors: dict[str, str] | None = None,
        typed: dict[str, str] | None = None,
    ) -> Template:
        case = await service.case_for_staff(db, cipher, request, caller(request), case_no)
        return Template(
            "console_case.html",
            context={
                "nav": "console",
                "case": case,
                "labels": ACTION_LABELS,
                "error": error,
                "revealed": revealed or {},
                "field_errors": field_errors or {},
                "typed": typed or {},
                "asks_for_child_number": registers.asks_for_child_number,
            },
            status_code=status,
        )

    @post("/tasks/{task_id:int}/transition", opt=STAFF)
    async def transition(
        self, request: AnyRequest, db: Db, cipher: Cipher, task_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        case_no = str(data.get("case_no", ""))
        try:
            await workflow.move_task(
                db,
                cipher,
                request,
                caller(request),
                task_id,
                str(data.get("action", "")),
                data.get("note"),
                data.get("delivery_method"),
                data.get("delivery_ref"),
                data.get("child_id_number"),
            )
        except FieldErrors as exc:
            return await self._render_case(
                request,
                db,
                cipher,
                case_no,
                "；".join(exc.errors.values()),
                400,
                field_errors=exc.errors,
                typed={"child_id_number": str(data.get("child_id_number", ""))[:40]},
            )
        except Conflict as exc:
            return await self._render_case(request, db, cipher, case_no, exc.message, 409)
        return Redirect(f"/console/cases/{case_no}", status_code=303)

    @post("/cases/{case_no:str}/reveal/{key:str}", opt=STAFF, status_code=HTTP_200_OK)
    async def reveal(
        self, request: AnyRequest, db: Db, cipher: Cipher, case_no: FromPath[str], key: FromPath[str]
    ) -> Template:
        """显示完整号码 (audited): a POST carrying the CSRF token, never a link that a prefetch, a crawler or an
        image tag on another site could follow. With htmx the number replaces the masked one in place; without
        JavaScript the case page comes back with that number shown."""
        value = await service.reveal_id_number(db, cipher, request, caller(request), case_no, key)
        if is_htmx(request):
            return Template("partials/console_revealed.html", context={"value": value})
        return await self._render_case(request, db, cipher, case_no, revealed={key: value})

    @get("/uploads/{token:str}", opt=STAFF)
    async def upload(self, request: AnyRequest, db: Db, token: FromPath[str]) -> Response[bytes]:
        row = await service.upload_for_staff(db, request, caller(request), token)
        return Response(
            row.content,
            media_type=row.content_type,
            headers={"Content-Disposition": "inline"},
        )
