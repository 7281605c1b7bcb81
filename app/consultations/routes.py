"""征求意见 over HTTP: the contract's API (ask on a task, answer) with the asked department's list, and the page of one
consultation where it is answered. The form that asks is on the console's case page (app/console/pages.py)."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from app.consultations import service
from app.consultations.models import AnswerBody, Consultation, ConsultationAsked, ConsultationBody
from app.errors import Conflict, FieldErrors
from app.web.params import Db
from app.web.types import AnyRequest
from auth.access import caller, roles

APPROVER = roles("approver")
STAFF = roles("clerk", "approver")
NOTICES = {"answered": "已答复，征求意见的部门会收到通知。"}


class ConsultationsApi(Controller):
    path = "/api/v1/console"
    tags = ["consultations"]

    @post(
        "/tasks/{task_id:int}/consultations",
        opt=APPROVER,
        status_code=HTTP_201_CREATED,
        summary="征求意见: the task's approver asks another department, due in working days (1–20)",
    )
    async def ask(
        self, request: AnyRequest, db: Db, task_id: FromPath[int], data: JSONBody[ConsultationBody]
    ) -> ConsultationAsked:
        return await service.ask(db, request, caller(request), task_id, data)

    @get("/consultations", opt=APPROVER, summary="The consultations waiting for the caller's department and region")
    async def to_answer(self, request: AnyRequest, db: Db) -> list[Consultation]:
        return await service.to_answer(db, caller(request))

    @get("/consultations/{consultation_id:int}", opt=STAFF, summary="One consultation, to the asking or asked staff")
    async def one(self, request: AnyRequest, db: Db, consultation_id: FromPath[int]) -> Consultation:
        return await service.for_staff(db, request, caller(request), consultation_id)

    @post(
        "/consultations/{consultation_id:int}/answer",
        opt=APPROVER,
        status_code=HTTP_200_OK,
        summary="Answer a consultation asked of the caller's department (once: 409 after)",
    )
    async def answer(
        self, request: AnyRequest, db: Db, consultation_id: FromPath[int], data: JSONBody[AnswerBody]
    ) -> Consultation:
        return await service.answer(db, request, caller(request), consultation_id, data.text)


class ConsultationPages(Controller):
    path = "/console/consultations"
    include_in_schema = False

    @get("/{consultation_id:int}", opt=STAFF)
    async def page(
        self, request: AnyRequest, db: Db, consultation_id: FromPath[int], notice: FromQuery[str] = ""
    ) -> Template:
        consultation = await service.for_staff(db, request, caller(request), consultation_id)
        return _page(consultation, notice=NOTICES.get(notice))

    @post("/{consultation_id:int}/answer", opt=APPROVER)
    async def answer(
        self, request: AnyRequest, db: Db, consultation_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        user = caller(request)
        text = str(data.get("text") or "")
        try:
            await service.answer(db, request, user, consultation_id, text)
        except (FieldErrors, Conflict) as exc:
            consultation = await service.for_staff(db, request, user, consultation_id)
            errors = exc.errors if isinstance(exc, FieldErrors) else {}
            message = None if isinstance(exc, FieldErrors) else exc.message
            return _page(
                consultation,
                errors=errors,
                message=message,
                typed=text[: service.ANSWER_MAX],
                status=400 if errors else 409,
            )
        return Redirect(f"/console/consultations/{consultation_id}?notice=answered", status_code=303)


def _page(
    consultation: Consultation,
    *,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    typed: str = "",
    status: int = 200,
) -> Template:
    return Template(
        "consultation.html",
        context={
            "nav": "console",
            "c": consultation,
            "notice": notice,
            "errors": errors or {},
            "message": message,
            "typed": typed,
            "answer_max": service.ANSWER_MAX,
        },
        status_code=status,
    )
