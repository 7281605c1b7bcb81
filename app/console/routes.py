"""The back office API: task queues and transitions (staff only, within department and region)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from app.console import service
from app.console.models import ConsoleTask, EnrollmentIssued, EnrollmentRequest, TransitionBody
from app.web.params import AppSettings, Cipher, Db
from auth.access import caller, roles

STAFF = roles("clerk", "approver")


CLERK = roles("clerk")


class ConsoleApi(Controller):
    path = "/api/v1/console"
    tags = ["console"]

    @get("/tasks", opt=STAFF, summary="The caller's queue: clerks by region, approvers by department, by deadline")
    async def tasks(self, request: Request[Any, Any, Any], db: Db) -> list[ConsoleTask]:
        return await service.task_queue(db, caller(request))

    @post(
        "/tasks/{task_id:int}/transition",
        opt=STAFF,
        status_code=HTTP_200_OK,
        summary="Move a task; 409 names the allowed actions when the action is not allowed now",
    )
    async def transition(
        self, request: Request[Any, Any, Any], db: Db, task_id: FromPath[int], data: JSONBody[TransitionBody]
    ) -> ConsoleTask:
        return await service.move_task(
            db, request, caller(request), task_id, data.action, data.note, data.delivery_method, data.delivery_ref
        )

    @post("/enrollment-codes", opt=CLERK, summary="Issue a one-time enrollment code after an in-person ID check")
    async def enrollment_code(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        cipher: Cipher,
        settings: AppSettings,
        data: JSONBody[EnrollmentRequest],
    ) -> EnrollmentIssued:
        return await service.issue_enrollment_code(
            db, cipher, settings.secret_key, request, caller(request), data.id_number, data.name, data.identity_checked
        )
