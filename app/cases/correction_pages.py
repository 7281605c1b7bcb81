"""申请更正 pages: a resident asks to correct a certificate a case of theirs issued (/cases/{no}/corrections/new, from
我的证照 or the certificate's page), and a window clerk does so for the resident whose ID card and papers they have just
checked (/console/cases/{no}/corrections/new, from 窗口收件). One question at a time and no JavaScript needed: which
certificate, which field (with what it says now), then the right value, why and the evidence files. The rules are
app.cases.corrections', shared with POST /api/v1/cases/{no}/corrections."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, MultipartBody
from litestar.response import Redirect, Template

from app.cases import corrections, service
from app.cases.models import CheckedFile, CorrectionRequest
from app.cases.pages import posted_files
from app.errors import Conflict, FieldErrors
from app.web.params import Cipher, Db
from app.web.types import AnyRequest
from auth.access import caller, roles
from i18n import N_, _

RESIDENT = roles("resident")
CLERK = roles("clerk")
_BODY_MAX_BYTES = 11 * 1024 * 1024
# The order the page asks in, for its error summary.
_ORDER = ("certificate_id", "field", "value", "reason", "evidence")


def _text(data: dict[str, Any], key: str) -> str:
    raw = data.get(key)
    return raw if isinstance(raw, str) else ""


def _certificate_id(data: dict[str, Any]) -> int | None:
    raw = _text(data, "certificate_id")
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


class CorrectionPages(Controller):
    include_in_schema = False

    @get("/cases/{case_no:str}/corrections/new", opt=RESIDENT)
    async def resident_form(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        case_no: FromPath[str],
        certificate: FromQuery[int | None] = None,
        field: FromQuery[str | None] = None,
    ) -> Template:
        return await _render(request, db, cipher, case_no, certificate, field)

    @post("/cases/{case_no:str}/corrections", opt=RESIDENT, request_max_body_size=_BODY_MAX_BYTES)
    async def resident_ask(
        self, request: AnyRequest, db: Db, cipher: Cipher, case_no: FromPath[str], data: MultipartBody[dict[str, Any]]
    ) -> Template | Redirect:
        return await _ask(request, db, cipher, case_no, data)

    @get("/console/cases/{case_no:str}/corrections/new", opt=CLERK)
    async def window_form(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        case_no: FromPath[str],
        certificate: FromQuery[int | None] = None,
        field: FromQuery[str | None] = None,
    ) -> Template:
        return await _render(request, db, cipher, case_no, certificate, field)

    @post("/console/cases/{case_no:str}/corrections", opt=CLERK, request_max_body_size=_BODY_MAX_BYTES)
    async def window_ask(
        self, request: AnyRequest, db: Db, cipher: Cipher, case_no: FromPath[str], data: MultipartBody[dict[str, Any]]
    ) -> Template | Redirect:
        return await _ask(request, db, cipher, case_no, data)


async def _ask(request: AnyRequest, db: Db, cipher: Cipher, case_no: str, data: dict[str, Any]) -> Template | Redirect:
    """Asked: to the case (the resident's page, or the console's), where the request is the newest step. Refused: the
    same question again, each problem beside its field, what was typed kept."""
    user = caller(request)
    certificate_id, field = _certificate_id(data), _text(data, "field")
    posted = {"value": _text(data, "value"), "reason": _text(data, "reason")}
    if certificate_id is None:
        return await _render(request, db, cipher, case_no, None, None, {"certificate_id": N_("请选择要更正的证照")})
    try:
        files: list[CheckedFile] = service.checked_supplement_files(await posted_files(data.get("file")))
        created = await corrections.request_correction(
            db,
            cipher,
            request,
            user,
            case_no,
            CorrectionRequest(
                certificate_id=certificate_id, field=field, value=posted["value"], reason=posted["reason"]
            ),
            files,
        )
    except FieldErrors as exc:
        errors = {("evidence" if key == "file" else key): message for key, message in exc.errors.items()}
        return await _render(request, db, cipher, case_no, certificate_id, field, errors, posted)
    except Conflict as exc:
        return await _render(
            request, db, cipher, case_no, certificate_id, field, {"certificate_id": exc.message}, status=409
        )
    if "clerk" in user.roles:
        return Redirect(f"/console/cases/{created.case_no}#task-{created.task_id}", status_code=303)
    return Redirect(f"/cases/{created.case_no}", status_code=303)


async def _render(
    request: AnyRequest,
    db: Db,
    cipher: Cipher,
    case_no: str,
    certificate_id: int | None,
    field: str | None,
    errors: dict[str, str] | None = None,
    posted: dict[str, str] | None = None,
    *,
    status: int = 400,
) -> Template:
    """The page at the question it has reached: a certificate chosen (or refused beside the list), a field chosen
    (or refused beside the list of fields), then the answer."""
    user = caller(request)
    errors = dict(errors or {})
    try:
        shown = await corrections.page(db, cipher, request, user, case_no, certificate_id, field)
    except (FieldErrors, Conflict) as exc:  # a certificate that cannot be corrected here, or was already
        message = exc.errors.get("certificate_id", exc.message) if isinstance(exc, FieldErrors) else exc.message
        errors["certificate_id"] = message
        shown = await corrections.page(db, cipher, request, user, case_no, None, None)
    if shown.target is not None and field and shown.field is None:
        errors.setdefault("field", N_("请从列表中选择要更正的项目"))
    base = f"/console/cases/{shown.case_no}" if shown.channel == "clerk" else f"/cases/{shown.case_no}"
    return Template(
        "correction.html",
        context={
            "nav": "console" if shown.channel == "clerk" else "cases",
            "page": shown,
            "base": base,
            # Ours and the services' messages are marked (N_): read here in the reader's language.
            "errors": {key: _(message) for key, message in errors.items()},
            "error_order": [key for key in _ORDER if key in errors],
            "posted": posted or {},
            "files_max": corrections.EVIDENCE_MAX,
            "reason_max": corrections.REASON_MAX,
        },
        status_code=status if errors else 200,
    )
