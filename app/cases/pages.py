"""Pages of a resident's cases: 我的办件, one case, the receipt (受理回执); and the receipt of a case a village
helper filed for a client. A window clerk's receipt (app.console.pages) is rendered by receipt_page too."""

from __future__ import annotations

from typing import Any, cast

import msgspec
from litestar import Controller, MediaType, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Template

from app.cases import corrections, qr, service, withdrawal, workflow
from app.cases.models import CaseView, KeptCasePage, TaskView, WithdrawalRequest
from app.cases.states import FINISHED_TASK_STATUSES
from app.cases.transitions import on_the_spot_title
from app.errors import Conflict, FieldErrors
from app.shell.service import OFFLINE_COPY
from app.web import caching, shared_pages
from app.web.htmx import is_htmx
from app.web.params import AppSettings, Cipher, Db
from app.web.types import AnyRequest
from auth.access import caller, roles
from i18n import N_, _, current_language

RESIDENT = roles("resident")
# How a resident reads where a case came from (in their language); unknown codes are shown as they are.
CHANNEL_LABELS = {"online": N_("网上申请"), "window": N_("窗口申请"), "helper": N_("帮办代办")}
FILED_AS_LABELS = {"self": N_("本人申请"), "helper": N_("帮办员代为申请"), "clerk": N_("窗口代为申请")}
# What a page the resident is sent back to confirms (?notice=…).
NOTICES = {
    "withdrawn": N_("已撤回申请：所选事项已停止办理，办理部门已收到撤回通知。已办结的事项不受影响。"),
}


class CasePages(Controller):
    include_in_schema = False

    @post("/cases/{case_no:str}/tasks/{task_id:int}/supplement", opt=RESIDENT, request_max_body_size=11 * 1024 * 1024)
    async def supplement(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        settings: AppSettings,
        case_no: FromPath[str],
        task_id: FromPath[int],
        data: MultipartBody[dict[str, Any]],
    ) -> Template | Redirect:
        """The resident answers a 补正告知: files (optional) and a note; the task goes back into the queue. The
        files are checked first, then the task (app.cases.workflow.answer_supplement) before any is stored."""
        user = caller(request)
        try:
            files = service.checked_supplement_files(await posted_files(data.get("file")))
            await workflow.answer_supplement(
                db, cipher, request, user, case_no, task_id, str(data.get("note") or "") or None, files
            )
        except FieldErrors as exc:
            # The services' messages are marked (N_): read here in the resident's language, as app/web/errors.py does.
            messages = {key: _(message) for key, message in exc.errors.items()}
            errors = _("；").join(messages.values())
            return await self._case(request, db, settings, case_no, errors, 400, {task_id: messages})
        except Conflict as exc:
            return await self._case(request, db, settings, case_no, _(exc.message), 409)
        return Redirect(f"/cases/{case_no}", status_code=303)

    @get("/cases", opt=RESIDENT)
    async def my_cases(self, request: AnyRequest, db: Db) -> Template:
        cases = await service.cases_for_resident(db, caller(request))
        return Template("cases.html", context={"nav": "cases", "cases": cases})

    @get("/cases/{case_no:str}", opt=RESIDENT)
    async def case_page(
        self, request: AnyRequest, db: Db, settings: AppSettings, case_no: FromPath[str], notice: FromQuery[str] = ""
    ) -> Template | Response[bytes]:
        confirmed = _notice(notice)
        # A page confirming something (?notice=) is drawn for this one view, as every answer to a form is (_case).
        kept = await _case_page_kept(request, db, settings, case_no) if confirmed is None else None
        return kept or await self._case(request, db, settings, case_no, notice=confirmed)

    @get("/cases/{case_no:str}/withdraw", opt=RESIDENT)
    async def withdraw_page(
        self, request: AnyRequest, db: Db, settings: AppSettings, case_no: FromPath[str]
    ) -> Template:
        """撤回申请, the confirmation: what will stop and what stays, the reason. A page of its own, and the fragment
        the case page swaps in where its button was (htmx)."""
        return await _withdraw_page(request, db, settings, case_no)

    @post("/cases/{case_no:str}/withdraw", opt=RESIDENT)
    async def withdraw(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        settings: AppSettings,
        case_no: FromPath[str],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        """The form's answer (works without JavaScript): the chosen tasks withdrawn, back on the case page, which says
        so; a refused choice back on the confirmation, with why."""
        return await _withdraw_posted(request, db, cipher, settings, case_no, data)

    async def _case(
        self,
        request: AnyRequest,
        db: Db,
        settings: AppSettings,
        case_no: str,
        error: str | None = None,
        status: int = 200,
        field_errors: dict[int, dict[str, str]] | None = None,
        notice: str | None = None,
    ) -> Template:
        case = await service.case_for_resident(db, settings, caller(request), case_no)
        return Template(
            "case.html",
            context=_case_context(case, error=error, field_errors=field_errors, notice=notice),
            status_code=status,
            # The resident's own case page is kept by our service worker for reading offline (wiped at sign-out).
            headers=OFFLINE_COPY if status == 200 else None,
        )

    @get("/cases/{case_no:str}/receipt", opt=RESIDENT)
    async def receipt_page(
        self, request: AnyRequest, db: Db, settings: AppSettings, case_no: FromPath[str]
    ) -> Template:
        return receipt_page(await service.case_for_resident(db, settings, caller(request), case_no), filed_for="self")

    @get("/cases/{case_no:str}/tasks/{task_id:int}/notice", opt=RESIDENT)
    async def supplement_notice(
        self, request: AnyRequest, db: Db, settings: AppSettings, case_no: FromPath[str], task_id: FromPath[int]
    ) -> Template:
        """补正告知书 of the resident's own task, to print: what the window would hand them."""
        notice = await service.notice_for_resident(db, settings, caller(request), case_no, task_id)
        return Template(
            "supplement_notice.html",
            context={"nav": "cases", "notice": notice, "back": (f"/cases/{case_no}", _("返回办件"))},
        )

    @get("/helper/cases/{case_no:str}/receipt", opt=roles("helper"))
    async def helper_receipt_page(
        self, request: AnyRequest, db: Db, settings: AppSettings, case_no: FromPath[str], notice: FromQuery[str] = ""
    ) -> Template:
        """The receipt of a case a helper filed for a client, to print for the family: its QR lets them follow
        the case without an account. Only cases this helper filed under a delegation from the applicant."""
        case = await service.case_for_helper(db, settings, caller(request), case_no)
        return receipt_page(case, filed_for="helper", notice=_notice(notice))

    @get("/helper/cases/{case_no:str}/withdraw", opt=roles("helper"))
    async def helper_withdraw_page(
        self, request: AnyRequest, db: Db, settings: AppSettings, case_no: FromPath[str]
    ) -> Template:
        """撤回申请 by the helper who filed the case, for the client beside them (under their live delegation)."""
        return await _withdraw_page(request, db, settings, case_no, for_helper=True)

    @post("/helper/cases/{case_no:str}/withdraw", opt=roles("helper"))
    async def helper_withdraw(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        settings: AppSettings,
        case_no: FromPath[str],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        return await _withdraw_posted(request, db, cipher, settings, case_no, data, for_helper=True)


def _case_context(
    case: CaseView,
    *,
    error: str | None = None,
    field_errors: dict[int, dict[str, str]] | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    """What case.html is drawn from."""
    # What each task waiting for a supplement asks for: the latest 补正告知 note on that task.
    notices = {e.task_id: e.note for e in case.timeline if e.status == "supplement_requested" and e.task_id is not None}
    return {
        "nav": "cases",
        "case": case,
        "item_names": {task.id: task.item_name for task in case.tasks},
        "channel_label": _label(CHANNEL_LABELS, case.channel),
        "filed_as_label": _label(FILED_AS_LABELS, case.filed_as),
        # A party linked to the case (一事不二办) reads it; answering a 补正告知 is the applicant's.
        "supplements": []
        if case.linked_as
        else [(t, notices.get(t.id)) for t in case.tasks if t.status == "supplement_requested"],
        "files_max": service.SUPPLEMENT_FILES_MAX,
        "error": error,
        # task id → field → message, shown beside that field of that task's supplement form.
        "field_errors": field_errors or {},
        # 撤回申请: offered while a task may still be withdrawn, never to a party linked to the case.
        "withdrawable": [] if case.linked_as else _withdrawable(case),
        # 好差评 and 申请更正, each offered by its own rule (never to a party linked to the case; 更正 of an
        # organisation's certificates is its own business: 企业变更登记).
        "rating_offered": not case.linked_as and any(t.status in FINISHED_TASK_STATUSES for t in case.tasks),
        "correction_offered": not case.for_organisation and corrections.may_be_asked(t.status for t in case.tasks),
        "notice": notice,
    }


async def _case_page_kept(request: AnyRequest, db: Db, settings: AppSettings, case_no: str) -> Response[bytes] | None:
    """The case page of a resident who reads the case as its applicant (or the parent who filed it) or a linked
    party, its own part sent as kept for every reader of their kind and language (case_pages, migration 0049) while
    nothing it shows has changed, else drawn and kept; its layout (the account's menu and device key, the session's
    banners) drawn for this view either way, so nothing of one account reaches another. A view of an unchanged page
    costs the session's read, one indexed read and drawing the layout (issue 20: in process about 2,000 Python calls,
    against 3,450 reading the tasks, steps and notices and drawing them). None: drawn as always (_case) — their
    organisation's case, or none they may read (the same 404), or a CSRF token a kept page cannot carry
    (shared_pages.visitor_token)."""
    reader = shared_pages.visitor_token(request)
    if reader is None:
        return None
    language = current_language()
    found = await service.case_on_page(db, caller(request), case_no, language)
    if found is None:
        return None
    variant = service.case_page_variant(language, found.head.linked_as)
    tag = caching.weak_etag(
        str(found.page_version),
        str(found.notices_version),
        _HEAD.encode(found.head),  # what the page shows of the case's own row (purged_at, the tracking token…)
        variant,
        settings.public_url,  # the tracking link's address
        request.app.state.release,
        shared_pages.drawing_key(request),
    )
    if found.kept is not None and found.kept.etag == tag:
        page = shared_pages.draw_around(request, "case.html", {"nav": "cases"}, found.kept.blocks)
        return _case_page_answer(request, page, reader)
    case = await service.case_view_on_page(db, settings, found)
    page, blocks = shared_pages.draw_keeping_blocks(request, "case.html", _case_context(case))
    # A cache fill after the page is sent, as the tracking page's (app.cases.routes): at most once per case, reader's
    # kind and language and change to what the page shows.
    kept = KeptCasePage(etag=tag, blocks=blocks)
    fill = (
        BackgroundTask(service.keep_case_page, db, found, variant, kept)
        if service.case_page_may_be_kept(case)
        else None
    )
    return _case_page_answer(request, page, reader, fill)


_HEAD = msgspec.json.Encoder()


def _case_page_answer(
    request: AnyRequest, page: bytes, reader: str, fill: BackgroundTask | None = None
) -> Response[bytes]:
    # As _case answers: the resident's own case page is kept by our service worker for reading offline.
    body = shared_pages.for_visitor(request, page, reader)
    return Response(body, media_type=MediaType.HTML, headers=OFFLINE_COPY, background=fill)


def _label(labels: dict[str, str], code: str) -> str:
    """A code's label in the reader's language; an unknown code as it is (never gettext(""): the catalogue's header)."""
    return _(labels[code]) if code in labels else code


def _notice(code: str) -> str | None:
    """What the page confirms (?notice=…), in the reader's language; an unknown code confirms nothing."""
    return _(NOTICES[code]) if code in NOTICES else None


def _listed(value: Any) -> list[str]:
    """A form field sent once, several times (checkboxes), or not at all."""
    if value is None:
        return []
    return [str(v) for v in cast("list[object]", value)] if isinstance(value, list) else [str(value)]


def _withdrawable(case: CaseView) -> list[TaskView]:
    return [t for t in case.tasks if withdrawal.withdrawable(t.status)]


def _chosen(posted: dict[str, Any]) -> list[int]:
    return [int(v) for v in _listed(posted.get("task_id")) if v.isdigit() and len(v) < 19]


async def _case_to_withdraw(
    request: AnyRequest, db: Db, settings: AppSettings, case_no: str, *, for_helper: bool
) -> CaseView:
    user = caller(request)
    if for_helper:
        return await service.case_for_helper(db, settings, user, case_no)
    return await service.case_for_resident(db, settings, user, case_no)


async def _withdraw_page(
    request: AnyRequest, db: Db, settings: AppSettings, case_no: str, *, for_helper: bool = False
) -> Template:
    await withdrawal.may_withdraw(db, request, caller(request), case_no)
    case = await _case_to_withdraw(request, db, settings, case_no, for_helper=for_helper)
    return _withdraw_template(case, fragment=is_htmx(request), for_helper=for_helper)


async def _withdraw_posted(
    request: AnyRequest,
    db: Db,
    cipher: Cipher,
    settings: AppSettings,
    case_no: str,
    data: dict[str, Any],
    *,
    for_helper: bool = False,
) -> Template | Redirect:
    reason, words = str(data.get("reason") or "") or None, str(data.get("reason_text") or "")
    present = for_helper and str(data.get("client_present") or "") == "yes"
    body = WithdrawalRequest(task_ids=_chosen(data), reason=reason, reason_text=words, client_present=present)
    try:
        await withdrawal.withdraw(db, cipher, request, caller(request), case_no, body)
    except (FieldErrors, Conflict) as exc:
        case = await _case_to_withdraw(request, db, settings, case_no, for_helper=for_helper)
        errors = exc.errors if isinstance(exc, FieldErrors) else {"task_ids": exc.message}
        errors = {key: _(message) for key, message in errors.items()}  # marked by the service: in the reader's words
        status = 400 if isinstance(exc, FieldErrors) else 409
        return _withdraw_template(case, errors=errors, form=data, status=status, for_helper=for_helper)
    done = f"/helper/cases/{case_no}/receipt" if for_helper else f"/cases/{case_no}"
    return Redirect(f"{done}?notice=withdrawn", status_code=303)


def _withdraw_template(
    case: CaseView,
    *,
    fragment: bool = False,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
    for_helper: bool = False,
) -> Template:
    """The confirmation of 撤回申请: the tasks that may be withdrawn (all ticked, or as the refused form had them),
    those that stay, the reasons to choose from; a helper's posts to their own path and goes back to the receipt."""
    posted = form or {}
    chosen = set(_chosen(posted))
    path = f"/helper/cases/{case.case_no}" if for_helper else f"/cases/{case.case_no}"
    return Template(
        "partials/withdraw_form.html" if fragment else "withdraw.html",
        context={
            "nav": "helper" if for_helper else "cases",
            "action": f"{path}/withdraw",
            "back": f"{path}/receipt" if for_helper else path,
            "for_helper": for_helper,
            "case": case,
            "withdrawable": _withdrawable(case),
            "staying": [t for t in case.tasks if not withdrawal.withdrawable(t.status)],
            "chosen": chosen if form is not None else {t.id for t in case.tasks},
            "reasons": {code: _(words) for code, words in withdrawal.REASONS.items()},
            "reason_text_max": withdrawal.REASON_TEXT_MAX,
            "errors": errors or {},
            "form": posted,
            "fragment": fragment,
        },
        status_code=status,
    )


async def posted_files(posted: Any) -> list[tuple[str, bytes]]:
    """(name, content) of each file a form posted under one name: none, one, or several (multiple)."""
    files = cast("list[object]", posted) if isinstance(posted, list) else [posted]
    return [
        (file.filename, await file.read(service.UPLOAD_MAX_BYTES + 1))
        for file in files
        if isinstance(file, UploadFile) and file.filename
    ]


def receipt_page(case: CaseView, *, filed_for: str, notice: str | None = None) -> Template:
    """受理回执. `filed_for`: "self" (the resident's own page), "helper" (printed on a village helper's tablet) or
    "window" (printed at the clerk's window for the resident to take home)."""
    submitted = next((e for e in case.timeline if e.status == "submitted"), None)
    names = {t.id: t.item_name for t in case.tasks}
    # 马上办: the 即办件 completed on the spot at the window say so instead of a promised date.
    on_the_spot = {
        e.task_id
        for e in case.timeline
        if e.task_id in names and e.status == "completed" and e.title == on_the_spot_title(names[e.task_id])
    }
    return Template(
        "receipt.html",
        context={
            "nav": {"self": "cases", "helper": "helper", "window": "console"}[filed_for],
            "case": case,
            "filed_for": filed_for,
            "on_the_spot": on_the_spot,
            # "由帮办员 X 代办" / "由综合窗口 X 当面收件": the note on the first step of a case filed for someone.
            "filed_by": submitted.note if submitted and case.filed_as in ("helper", "clerk") else None,
            # segno's own SVG of our tracking URL: markup we generate, never user input.
            "qr_svg": qr.qr_svg_inline(case.tracking_url),
            # 撤回申请 by the helper who filed it: offered beside their receipt while a task may still be withdrawn.
            "withdrawable": bool(_withdrawable(case)) if filed_for == "helper" else False,
            "notice": notice,
        },
        # The resident's own receipt is kept to read offline; one printed on a shared tablet or a window's computer
        # is not (and, as every signed-in answer, none is in an HTTP cache: app/web/security.py).
        headers=OFFLINE_COPY if filed_for == "self" else None,
    )
