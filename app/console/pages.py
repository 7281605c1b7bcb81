"""The back-office pages: /console (queue, find a case by number) and one case with its actions."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, MediaType, Response, get, post
from litestar.params import FromPath, FromQuery, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK

from app.cases import corrections, notes, workflow
from app.cases import service as case_service
from app.cases.pages import posted_files, receipt_page
from app.catalogue import service as catalogue
from app.console import notice as notices
from app.console import service, undelivered
from app.console.models import ConsoleQueue, InPersonCheck, QueueFilters, WindowOrganisationCheck
from app.console.queue import (
    AT_ONCE,
    DUE_FILTERS,
    KIND_FILTERS,
    KeptQueue,
    KeptQueues,
    drawn_case_queue,
    queue_filters,
)
from app.console.routes import CLERK, STAFF
from app.consultations import service as consultations
from app.consultations.models import ConsultationBody
from app.consultations.routes import APPROVER
from app.consultations.routes import BODY_MAX_BYTES as CONSULTATION_BODY_MAX_BYTES
from app.errors import Conflict, FieldErrors
from app.registers import service as registers
from app.web import shared_pages
from app.web.htmx import is_htmx
from app.web.params import AppSettings, Cipher, Db
from app.web.texts import translated
from app.web.types import AnyRequest
from auth import walk_in
from auth.access import caller
from auth.sessions import drop_from_session, keep_in_session, session_value
from i18n import N_, _

ACTION_LABELS = {
    "accept": N_("受理"),
    "reject": N_("不予受理"),
    "request_supplement": N_("补正告知"),
    "resubmit": N_("已收到补正"),
    "review": N_("开始审核"),
    "approve": N_("批准"),
    "deny": N_("不予批准"),
    "complete": N_("办结"),
    "deliver": N_("出件"),
    "complete_on_the_spot": N_("当场办结"),
}

# What a confirmation says was done: the step's past tense, as the resident's timeline reads it.
DONE_LABELS = {
    "accept": N_("已受理"),
    "reject": N_("已不予受理"),
    "request_supplement": N_("已发出补正告知"),
    "resubmit": N_("已登记收到补正材料"),
    "review": N_("已开始审核"),
    "approve": N_("已批准"),
    "deny": N_("已不予批准"),
    "complete": N_("已办结"),
    "deliver": N_("已出件"),
    "complete_on_the_spot": N_("已当场办结"),
    "note_resident": N_("已添加说明（申请人可见）"),
    "note_internal": N_("已添加内部备注（仅工作人员可见）"),
    "consult": N_("已发出征求意见"),
}

# The task card's other forms, besides its actions: a note, and 征求意见.
FORM_LABELS = {"note": N_("添加说明"), "consult": N_("征求意见")}


WALK_IN_NOTICES = {
    "started": N_("已核验身份，请选择要办理的事。"),
    "ended": N_("已结束接待，本机不再保留该居民的填写内容。"),
    "choose": N_("请先当面核验来办人的居民身份证，再为其填写申请。"),
    "switched": N_("接待对象已更换，之前那位居民的表单没有提交，请重新填写。"),
    "checked_in": N_("预约已签到，身份已核验，请选择要办理的事。"),
    "org": N_("已核验企业授权，请选择要为企业办理的事。"),
    "person": N_("已改为个人办理。"),
    "org-only": N_("这件事须为企业办理：请先在下方核验来办人的企业授权（为企业办理）。"),
}


# What the case page says after the clerk decided on a pair flagged as perhaps one matter (一事不二办).
DUPLICATE_DECIDED = {
    "merged": N_("已合并：另一件已撤回，其材料已转入本件，两件的办理记录和审计日志均已记录。"),
    "kept": N_("已保留两件：经核查不是同一事项，两件分别办理，已记入两件的办理记录和审计日志。"),
}

# The session key of the confirmation shown once on the case page after an action (Post/Redirect/Get).
DONE = "console_done"


class Done(msgspec.Struct, frozen=True, kw_only=True):
    """An action just taken on a task: "已受理：出生医学证明签发"."""

    task_id: int
    action: str
    item_name: str

    @property
    def message(self) -> str:
        done = _(DONE_LABELS.get(self.action, N_("已完成")))
        return _("%(done)s：%(item)s") % {"done": done, "item": self.item_name}


class TaskError(msgspec.Struct, frozen=True, kw_only=True):
    """An action refused on a task: which task, what is missing (per field, or one message), and what was typed.
    `form`: which of the task card's forms it was — its actions, a note, or 征求意见 (`typed` keeps the last two's)."""

    task_id: int | None
    action: str | None
    fields: dict[str, str]
    message: str | None
    form: str = "transition"
    typed: dict[str, str] = msgspec.field(default_factory=dict[str, str])
    note: str = ""
    delivery_method: str = ""
    delivery_ref: str = ""
    child_id_number: str = ""  # 出生户口登记's 办结: the newborn's number as the approver typed it
    credit_code: str = ""  # 企业设立登记's 办结: the new organisation's code as the approver typed it
    item_name: str | None = None


class NoticeError(msgspec.Struct, frozen=True, kw_only=True):
    """A phone call or paper notice that could not be recorded: which notice, why, and what was typed."""

    notice_id: int
    message: str
    channel: str = ""
    note: str = ""


def _kept_queues(request: AnyRequest) -> KeptQueues[KeptQueue]:
    """The pages of queues this app keeps, made at its first page."""
    kept: KeptQueues[KeptQueue] = request.app.state.setdefault("kept_queues", KeptQueues[KeptQueue]())
    return kept


def _queue_rows(request: AnyRequest, queue: ConsoleQueue) -> str:
    """A page of the queue's cases as partials/queue_page.html draws them, in the request's language, drawn to be
    kept (it carries no token, so the slot shared_pages leaves for one never shows)."""
    return shared_pages.draw_for_anyone(
        request, "partials/queue_page.html", {"queue": queue, "at_once": AT_ONCE}
    ).decode()


class ConsolePages(Controller):
    path = "/console"
    include_in_schema = False

    @get("", opt=STAFF)
    async def home(
        self,
        request: AnyRequest,
        db: Db,
        q: FromQuery[str] = "",
        status: FromQuery[str] = "",
        department: FromQuery[str] = "",
        due: FromQuery[str] = "",
        kind: FromQuery[str] = "",
        cursor: FromQuery[str] = "",
    ) -> Template | Redirect | Response[str]:
        if q.strip():
            return Redirect(f"/console/cases/{q.strip().upper()}", status_code=303)
        filters = queue_filters(status, department, due, kind)
        queue, rows = await drawn_case_queue(
            db, caller(request), filters, cursor or None, _kept_queues(request), lambda q: _queue_rows(request, q)
        )
        if cursor and is_htmx(request):
            # 加载更多: the next page's cases, appended where its link was (no script: the link opens that page).
            return Response(rows, media_type=MediaType.HTML)
        return Template(
            "console.html",
            context={
                "nav": "console",
                "queue": queue,
                "queue_rows": rows,
                "at_once": AT_ONCE,
                "due_filters": DUE_FILTERS,
                "kind_filters": KIND_FILTERS,
                "filtered": filters != QueueFilters(),
                "deceased_cases": await service.open_cases_of_deceased(db, caller(request)),
                "undelivered": await undelivered.undelivered_for(db, caller(request)),
                "consultations": await consultations.to_answer(db, caller(request)),
                "is_clerk": "clerk" in caller(request).roles,
            },
        )

    @get("/walk-in", opt=CLERK)
    async def walk_in_page(self, request: AnyRequest, db: Db, notice: FromQuery[str] = "") -> Template:
        """窗口收件: check the ID card of the resident at the window, then fill a life event's merged form for them."""
        shown = WALK_IN_NOTICES.get(notice)
        return await self._render_walk_in(request, db, notice=_(shown) if shown else None)

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
        # For the resident themself, the life events of a person; for an organisation, those that act on one.
        for_org = started is not None and started.organisation is not None
        events = [e for e in await catalogue.life_events(db) if e.for_organisation == for_org] if started else []
        return Template(
            "console_walk_in.html",
            context={
                "nav": "console",
                "walk_in": service.walk_in_view(started) if started else None,
                "events": events,
                "filed": await service.walk_in_cases(db, user, started) if started else [],
                # 更正 at the window: the certificates a case issued to this resident (or their minor child).
                "correctable": await corrections.correctable_of_person(db, started.person_id) if started else [],
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
            return await self._render_walk_in(request, db, errors=translated(exc.errors), form=form)
        return Redirect("/console/walk-in?notice=started", status_code=303)

    @post("/walk-in/organisation", opt=CLERK)
    async def file_for_organisation(
        self, request: AnyRequest, db: Db, data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        """为企业办理: the organisation the resident at the window came for, its authority checked (by the register,
        or the paper 授权委托书 the clerk has checked)."""
        check = WindowOrganisationCheck.from_form(data)
        try:
            await service.file_for_organisation(db, request, caller(request), check)
        except FieldErrors as exc:
            form = {"uscc": check.uscc, "paper_checked": check.paper_checked}
            return await self._render_walk_in(request, db, errors=translated(exc.errors), form=form)
        return Redirect("/console/walk-in?notice=org", status_code=303)

    @post("/walk-in/organisation/end", opt=CLERK)
    async def stop_filing_for_organisation(self, request: AnyRequest) -> Redirect:
        service.stop_filing_for_organisation(request)
        return Redirect("/console/walk-in?notice=person", status_code=303)

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
    async def case_page(
        self, request: AnyRequest, db: Db, cipher: Cipher, case_no: FromPath[str], decided: FromQuery[str] = ""
    ) -> Template:
        # The confirmation of the action that brought the clerk back here (Post/Redirect/Get), shown once.
        done = session_value(request, DONE, Done)
        if done is not None:
            drop_from_session(request, DONE)
        shown = DUPLICATE_DECIDED.get(decided)
        return await self._render_case(request, db, cipher, case_no, done=done, decided=_(shown) if shown else None)

    @post("/duplicates/{flag_id:int}/merge", opt=CLERK)
    async def merge_duplicates(
        self, request: AnyRequest, db: Db, cipher: Cipher, flag_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        """一事不二办 合并: the case kept stays; the other is withdrawn into it. Back on the kept case's page."""
        try:
            flag = await case_service.merge_duplicates(
                db, cipher, request, caller(request), flag_id, str(data.get("keep", ""))
            )
        except (FieldErrors, Conflict) as exc:
            return await self._duplicate_refused(request, db, cipher, data, exc)
        return Redirect(f"/console/cases/{flag.kept_case_no}?decided=merged#duplicates", status_code=303)

    @post("/duplicates/{flag_id:int}/keep", opt=CLERK)
    async def keep_both(
        self, request: AnyRequest, db: Db, cipher: Cipher, flag_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        """一事不二办 保留两件: not one matter; both go on. Back on the case page it was decided from."""
        try:
            flag = await case_service.keep_both_cases(db, request, caller(request), flag_id, data.get("note"))
        except (FieldErrors, Conflict) as exc:
            return await self._duplicate_refused(request, db, cipher, data, exc)
        pressed_on = data.get("case_no")
        back = pressed_on if pressed_on in (flag.case_no, flag.earlier_case_no) else flag.case_no
        return Redirect(f"/console/cases/{back}?decided=kept#duplicates", status_code=303)

    async def _duplicate_refused(
        self, request: AnyRequest, db: Db, cipher: Cipher, data: dict[str, str], exc: FieldErrors | Conflict
    ) -> Template:
        message = _(next(iter(exc.errors.values())) if isinstance(exc, FieldErrors) else exc.message)
        error = TaskError(task_id=None, action=None, fields={}, message=message, note=str(data.get("note") or ""))
        status = 400 if isinstance(exc, FieldErrors) else 409
        return await self._render_case(request, db, cipher, str(data.get("case_no", "")), error, status)

    async def _render_case(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        case_no: str,
        error: TaskError | None = None,
        status: int = 200,
        revealed: dict[str, str] | None = None,
        done: Done | None = None,
        notice_error: NoticeError | None = None,
        decided: str | None = None,
    ) -> Template:
        case = await service.case_for_staff(db, cipher, request, caller(request), case_no)
        if error is not None and error.task_id is not None:
            # The message names the task (by the page's own record of it, never by what was posted).
            item = next((t.item_name for t in case.tasks if t.id == error.task_id), None)
            error = msgspec.structs.replace(error, item_name=item)
        return Template(
            "console_case.html",
            context={
                "nav": "console",
                "case": case,
                "labels": translated(ACTION_LABELS),
                "delivery_labels": translated(workflow.DELIVERY_LABELS),
                "error": error,
                "revealed": revealed or {},
                "done": done if done is not None and any(t.id == done.task_id for t in case.tasks) else None,
                "asks_for_child_number": registers.asks_for_child_number,
                "asks_for_credit_code": registers.asks_for_credit_code,
                "notice_error": notice_error,
                "form_labels": translated(FORM_LABELS),
                "departments": await catalogue.departments(db) if case.consult_tasks else [],
                "due_days": (consultations.DUE_DAYS_MIN, consultations.DUE_DAYS_DEFAULT, consultations.DUE_DAYS_MAX),
                "consult_files_max": consultations.ATTACHMENTS_MAX,
                "decided": decided,
            },
            status_code=status,
        )

    @post("/tasks/{task_id:int}/transition", opt=STAFF)
    async def transition(
        self, request: AnyRequest, db: Db, cipher: Cipher, task_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        """One action on a task. Done: back to the case page at that task (Post/Redirect/Get), which says what was
        done. Refused: the case page again, naming the task and what is missing, with what was typed kept."""
        case_no = str(data.get("case_no", ""))
        action = str(data.get("action", ""))
        try:
            moved = await workflow.move_task(
                db,
                cipher,
                request,
                caller(request),
                task_id,
                action,
                data.get("note"),
                data.get("delivery_method"),
                data.get("delivery_ref"),
                data.get("child_id_number"),
                credit_code=data.get("credit_code"),
            )
        except (FieldErrors, Conflict) as exc:
            typed = TaskError(
                task_id=task_id,
                action=action if action in ACTION_LABELS else None,
                fields=translated(exc.errors) if isinstance(exc, FieldErrors) else {},
                message=None if isinstance(exc, FieldErrors) else _(exc.message),
                note=str(data.get("note") or "")[: workflow.NOTE_MAX],
                delivery_method=str(data.get("delivery_method") or ""),
                delivery_ref=str(data.get("delivery_ref") or "")[:40],
                child_id_number=str(data.get("child_id_number") or "")[:40],
                credit_code=str(data.get("credit_code") or "")[:40],
            )
            code = 400 if isinstance(exc, FieldErrors) else 409
            return await self._render_case(request, db, cipher, case_no, typed, code)
        keep_in_session(request, DONE, Done(task_id=moved.id, action=action, item_name=moved.item_name))
        return Redirect(f"/console/cases/{moved.case_no}#task-{moved.id}", status_code=303)

    @post("/notices/{notice_id:int}/by-hand", opt=CLERK)
    async def notice_by_hand(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        notice_id: FromPath[int],
        data: URLEncodedBody[dict[str, str]],
    ) -> Template | Redirect:
        """未送达 → the clerk phoned the resident or gave them a paper notice: back to the case at that notice, which
        now says so. Refused: the case page again, the reason beside the notice, what was typed kept."""
        channel, note = str(data.get("channel") or ""), data.get("note")
        try:
            recorded = await undelivered.record_by_hand(db, request, caller(request), notice_id, channel, note)
        except (FieldErrors, Conflict) as exc:
            message = _("；").join(translated(exc.errors).values()) if isinstance(exc, FieldErrors) else _(exc.message)
            error = NoticeError(notice_id=notice_id, message=message, channel=channel, note=str(note or "")[:200])
            code = 400 if isinstance(exc, FieldErrors) else 409
            case_no = str(data.get("case_no", ""))
            return await self._render_case(request, db, cipher, case_no, status=code, notice_error=error)
        return Redirect(f"/console/cases/{recorded.case_no}#notice-{recorded.id}", status_code=303)

    @post("/tasks/{task_id:int}/notes", opt=STAFF)
    async def note(
        self, request: AnyRequest, db: Db, cipher: Cipher, task_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        """A note on a task, for the resident or internal: back at the task, or the case page naming what is missing."""
        case_no = str(data.get("case_no", ""))
        typed = {"text": str(data.get("text") or "")[: notes.NOTE_MAX], "visibility": str(data.get("visibility") or "")}
        try:
            added = await notes.add_note(db, request, caller(request), task_id, typed["text"], typed["visibility"])
        except FieldErrors as exc:
            fields = translated(exc.errors)
            error = TaskError(task_id=task_id, action=None, fields=fields, message=None, form="note", typed=typed)
            return await self._render_case(request, db, cipher, case_no, error, 400)
        done = Done(task_id=task_id, action=f"note_{added.visibility}", item_name=added.item_name)
        keep_in_session(request, DONE, done)
        return Redirect(f"/console/cases/{added.case_no}#task-{task_id}", status_code=303)

    @post("/tasks/{task_id:int}/consultations", opt=APPROVER, request_max_body_size=CONSULTATION_BODY_MAX_BYTES)
    async def consult(
        self, request: AnyRequest, db: Db, cipher: Cipher, task_id: FromPath[int], data: MultipartBody[dict[str, Any]]
    ) -> Template | Redirect:
        """征求意见 from the task card, with files: back at the task, or the case page naming what is missing (the
        files are chosen again: a browser never refills a file input)."""
        text = {key: value for key, value in data.items() if isinstance(value, str)}
        case_no = text.get("case_no", "")
        typed = {
            "department": text.get("department", "")[:40],
            "question": text.get("question", "")[: consultations.QUESTION_MAX],
            "due_in_days": text.get("due_in_days", "")[:4],
        }
        days = int(typed["due_in_days"]) if typed["due_in_days"].isdigit() else 0
        body = ConsultationBody(department=typed["department"], question=typed["question"], due_in_days=days)
        try:
            files = await posted_files(data.get("file"))
            asked = await consultations.ask(db, request, caller(request), task_id, body, files)
        except (FieldErrors, Conflict) as exc:
            error = TaskError(
                task_id=task_id,
                action=None,
                fields=translated(exc.errors) if isinstance(exc, FieldErrors) else {},
                message=None if isinstance(exc, FieldErrors) else _(exc.message),
                form="consult",
                typed=typed,
            )
            return await self._render_case(
                request, db, cipher, case_no, error, 400 if isinstance(exc, FieldErrors) else 409
            )
        keep_in_session(request, DONE, Done(task_id=task_id, action="consult", item_name=asked.item_name))
        return Redirect(f"/console/cases/{asked.case_no}#task-{task_id}", status_code=303)

    @get("/cases/{case_no:str}/tasks/{task_id:int}/notice", opt=STAFF)
    async def supplement_notice(
        self, request: AnyRequest, db: Db, case_no: FromPath[str], task_id: FromPath[int]
    ) -> Template:
        """补正告知书 to print for the resident: staff who may act on the task (the window clerk, or the approver of
        its department) within the hall's region."""
        notice = await notices.supplement_notice(db, request, caller(request), case_no, task_id)
        return Template(
            "supplement_notice.html",
            context={"nav": "console", "notice": notice, "back": (f"/console/cases/{notice.case_no}", _("返回办件"))},
        )

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
