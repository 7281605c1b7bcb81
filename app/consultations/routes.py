"""征求意见 over HTTP: the contract's API (ask on a task, answer — each as JSON, or as multipart/form-data with files),
the asked department's list, a file's download, and the page of one consultation where it is answered. The form that
asks is on the console's case page (app/console/pages.py)."""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar, cast
from urllib.parse import quote

import msgspec
from litestar import Controller, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, MultipartBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from app.cases.pages import posted_files
from app.cases.service import UPLOAD_MAX_BYTES
from app.consultations import service
from app.consultations.models import AnswerBody, Consultation, ConsultationAsked, ConsultationBody
from app.errors import Conflict, FieldErrors
from app.web.params import Db
from app.web.security import NO_STORE
from app.web.texts import translated
from app.web.types import AnyRequest
from auth.access import caller, roles
from i18n import N_, _

APPROVER = roles("approver")
STAFF = roles("clerk", "approver")
NOTICES = {"answered": N_("已答复，征求意见的部门会收到通知。")}
# Every file a question or an answer may carry, and one more (so that one file too many is told so, by name, rather
# than refused as a body too large), with room for the words.
BODY_MAX_BYTES = (service.ATTACHMENTS_MAX + 1) * UPLOAD_MAX_BYTES + 1024 * 1024
FILES = "file"  # the multipart field of the files, several times for several files

# The contract's JSON body, or the same fields as multipart/form-data with the files under `file` (repeated).
JsonOrFiles = Annotated[
    dict[str, Any],
    Body(
        media_type=RequestEncodingType.MULTI_PART,
        description="application/json as the contract says (no files), or multipart/form-data: the same fields and "
        f"up to {service.ATTACHMENTS_MAX} files under `file` (PDF, JPEG or PNG, ≤ 10 MB each)",
    ),
]
S = TypeVar("S", bound=msgspec.Struct)


async def _posted(request: AnyRequest, form: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """A body's fields and files (name, content): JSON carries fields only (app/web/input_checks.py checked it as
    JSON); a form carries text fields and the files under FILES."""
    if request.content_type[0] == RequestEncodingType.JSON:
        decoded = await request.json()
        if not isinstance(decoded, dict):
            raise FieldErrors({"body": N_("请提交一个 JSON 对象")}, detail=N_("提交的内容格式不正确"))
        return cast("dict[str, Any]", decoded), []
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    return fields, await posted_files(form.get(FILES))


def _decoded(fields: dict[str, Any], kind: type[S]) -> S:
    """The fields as the contract's Struct; a form's numbers come as text (strict=False reads "3" as 3). A field of
    the wrong kind or missing is named, as Litestar names it for a JSON body."""
    try:
        return msgspec.convert(fields, kind, strict=False)
    except msgspec.ValidationError as exc:
        named = re.search(r"`\$\.(\w+)`|field `(\w+)`", str(exc))
        field = next((g for g in named.groups() if g), "body") if named else "body"
        raise FieldErrors({field: N_("格式不正确")}, detail=N_("提交的内容格式不正确")) from None


class ConsultationsApi(Controller):
    path = "/api/v1/console"
    tags = ["consultations"]

    @post(
        "/tasks/{task_id:int}/consultations",
        opt=APPROVER,
        status_code=HTTP_201_CREATED,
        request_max_body_size=BODY_MAX_BYTES,
        summary="征求意见: the task's approver asks another department, due in working days (1–20), with files",
    )
    async def ask(self, request: AnyRequest, db: Db, task_id: FromPath[int], data: JsonOrFiles) -> ConsultationAsked:
        fields, files = await _posted(request, data)
        body = _decoded(fields, ConsultationBody)
        return await service.ask(db, request, caller(request), task_id, body, files)

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
        request_max_body_size=BODY_MAX_BYTES,
        summary="Answer a consultation asked of the caller's department, with files (once: 409 after)",
    )
    async def answer(
        self, request: AnyRequest, db: Db, consultation_id: FromPath[int], data: JsonOrFiles
    ) -> Consultation:
        fields, files = await _posted(request, data)
        body = _decoded(fields, AnswerBody)
        return await service.answer(db, request, caller(request), consultation_id, body.text, files)

    @get(
        "/consultations/{consultation_id:int}/attachments/{attachment_id:int}",
        opt=STAFF,
        summary="A file of a consultation, to the asking or asked staff (each download audited)",
    )
    async def attachment(
        self, request: AnyRequest, db: Db, consultation_id: FromPath[int], attachment_id: FromPath[int]
    ) -> Response[bytes]:
        return await _download(request, db, consultation_id, attachment_id)


class ConsultationPages(Controller):
    path = "/console/consultations"
    include_in_schema = False

    @get("/{consultation_id:int}", opt=STAFF)
    async def page(
        self, request: AnyRequest, db: Db, consultation_id: FromPath[int], notice: FromQuery[str] = ""
    ) -> Template:
        consultation = await service.for_staff(db, request, caller(request), consultation_id)
        shown = NOTICES.get(notice)
        return _page(consultation, notice=_(shown) if shown else None)

    @get("/{consultation_id:int}/attachments/{attachment_id:int}", opt=STAFF)
    async def attachment(
        self, request: AnyRequest, db: Db, consultation_id: FromPath[int], attachment_id: FromPath[int]
    ) -> Response[bytes]:
        """The file as the API sends it, from the console's pages: a link a person follows, so a session that has
        lapsed meanwhile is taken to sign in and brought back (the API's address answers a JSON 401, which the
        browser would have saved as the file)."""
        return await _download(request, db, consultation_id, attachment_id)

    @post("/{consultation_id:int}/answer", opt=APPROVER, request_max_body_size=BODY_MAX_BYTES)
    async def answer(
        self, request: AnyRequest, db: Db, consultation_id: FromPath[int], data: MultipartBody[dict[str, Any]]
    ) -> Template | Redirect:
        user = caller(request)
        text = data.get("text")
        text = text if isinstance(text, str) else ""
        try:
            await service.answer(db, request, user, consultation_id, text, await posted_files(data.get(FILES)))
        except (FieldErrors, Conflict) as exc:
            consultation = await service.for_staff(db, request, user, consultation_id)
            errors = translated(exc.errors) if isinstance(exc, FieldErrors) else {}
            message = None if isinstance(exc, FieldErrors) else _(exc.message)
            return _page(
                consultation,
                errors=errors,
                message=message,
                typed=text[: service.ANSWER_MAX],
                status=400 if errors else 409,
            )
        return Redirect(f"/console/consultations/{consultation_id}?notice=answered", status_code=303)


async def _download(request: AnyRequest, db: Db, consultation_id: int, attachment_id: int) -> Response[bytes]:
    """A file of a consultation to staff who may read it (each download audited by the service)."""
    found = await service.attachment_for_staff(db, request, caller(request), consultation_id, attachment_id)
    return Response(
        found.content,
        media_type=found.content_type,
        headers={
            # Saved, never shown in the console's own origin; not kept by any cache on the way.
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename, safe='')}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": NO_STORE,
        },
    )


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
            "files_max": service.ATTACHMENTS_MAX,
        },
        status_code=status,
    )
