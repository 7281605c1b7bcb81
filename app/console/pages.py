"""The back-office pages: /console (queue, find a case by number) and one case with its actions."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from app.console import service
from app.console.routes import STAFF
from app.web.errors import FieldErrors
from app.web.params import AppSettings, Cipher, Db
from auth.access import caller, roles

AnyRequest = Request[Any, Any, Any]
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
                "labels": ACTION_LABELS,
                "is_clerk": "clerk" in caller(request).roles,
                "errors": {},
                "form": {},
            },
        )

    @post("/enrollment-codes", opt=roles("clerk"))
    async def enrollment_code(
        self, request: AnyRequest, db: Db, cipher: Cipher, settings: AppSettings, data: URLEncodedBody[dict[str, str]]
    ) -> Template:
        try:
            issued = await service.issue_enrollment_code(
                db,
                cipher,
                settings.secret_key,
                request,
                caller(request),
                str(data.get("id_number", "")),
                str(data.get("name", "")),
                data.get("identity_checked") == "true",
            )
        except FieldErrors as exc:
            return Template(
                "partials/console_enrollment.html", context={"errors": exc.errors, "form": data}, status_code=400
            )
        return Template("partials/console_enrollment.html", context={"issued": issued, "errors": {}, "form": {}})

    @get("/cases/{case_no:str}", opt=STAFF)
    async def case_page(self, request: AnyRequest, db: Db, cipher: Cipher, case_no: FromPath[str]) -> Template:
        return await self._render_case(request, db, cipher, case_no)

    async def _render_case(
        self, request: AnyRequest, db: Db, cipher: Cipher, case_no: str, error: str | None = None, status: int = 200
    ) -> Template:
        case = await service.case_for_staff(db, cipher, request, caller(request), case_no)
        return Template(
            "console_case.html",
            context={"nav": "console", "case": case, "labels": ACTION_LABELS, "error": error},
            status_code=status,
        )

    @post("/tasks/{task_id:int}/transition", opt=STAFF)
    async def transition(
        self, request: AnyRequest, db: Db, cipher: Cipher, task_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        case_no = str(data.get("case_no", ""))
        try:
            await service.move_task(
                db,
                request,
                caller(request),
                task_id,
                str(data.get("action", "")),
                data.get("note"),
                data.get("delivery_method"),
                data.get("delivery_ref"),
            )
        except FieldErrors as exc:
            return await self._render_case(request, db, cipher, case_no, "；".join(exc.errors.values()), 400)
        except (PermissionDeniedException, NotFoundException):
            raise
        except HTTPException as exc:
            return await self._render_case(request, db, cipher, case_no, str(exc.detail), exc.status_code)
        return Redirect(f"/console/cases/{case_no}", status_code=303)

    @get("/cases/{case_no:str}/reveal/{key:str}", opt=STAFF)
    async def reveal(
        self, request: AnyRequest, db: Db, cipher: Cipher, case_no: FromPath[str], key: FromPath[str]
    ) -> Template:
        value = await service.reveal_id_number(db, cipher, request, caller(request), case_no, key)
        return Template("partials/console_revealed.html", context={"value": value})

    @get("/uploads/{token:str}", opt=STAFF)
    async def upload(self, request: AnyRequest, db: Db, token: FromPath[str]) -> Response[bytes]:
        row = await service.upload_for_staff(db, request, caller(request), token)
        return Response(
            row["content"],
            media_type=row["content_type"],
            headers={"Content-Disposition": "inline", "Cache-Control": "private, no-store"},
        )
