"""The back office API: task queues and transitions (staff only, within department and region)."""

from __future__ import annotations

from typing import cast
from urllib.parse import urlencode

from litestar import Controller, MediaType, Response, delete, get, post
from litestar.datastructures import ResponseHeader
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from app.cases import notes, workflow
from app.cases import service as cases
from app.cases.models import TaskNote
from app.console import service, undelivered
from app.console.models import (
    ByHandBody,
    ConsoleTask,
    DuplicateDecision,
    EnrollmentIssued,
    InPersonCheck,
    KeepBothBody,
    MergeBody,
    NoteBody,
    StaffCase,
    TransitionBody,
    WalkInView,
    WindowOrganisationCheck,
)
from app.console.queue import KeptQueues, KeptTaskPage, sent_task_page
from app.notifications.models import StaffNotice
from app.web.params import AppSettings, Cipher, Db
from app.web.types import AnyRequest
from auth import walk_in
from auth.access import caller, roles
from i18n import N_

STAFF = roles("clerk", "approver")


CLERK = roles("clerk")


class ConsoleApi(Controller):
    path = "/api/v1/console"
    tags = ["console"]

    @get(
        "/tasks",
        opt=STAFF,
        summary="A page of the caller's queue: clerks by region, approvers by department, soonest due first",
        description="The next page: `cursor` = the `X-Next-Cursor` header of this one (also in its `Link` header, "
        'rel="next"); no such header on the last page. `limit`: tasks on a page, 1 to 200 (50).',
        response_headers=[
            ResponseHeader(
                name="X-Next-Cursor",
                documentation_only=True,
                description="Where the next page starts; absent on the last page",
            ),
            ResponseHeader(
                name="Link",
                documentation_only=True,
                description='The next page\'s URL, rel="next"; absent on the last page',
            ),
        ],
    )
    async def tasks(
        self,
        request: AnyRequest,
        db: Db,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = service.QUEUE_PAGE,
    ) -> Response[list[ConsoleTask]]:
        page = await sent_task_page(db, caller(request), cursor, limit, _kept_task_pages(request))
        headers: dict[str, str] = {}
        if page.next_cursor is not None:
            following = urlencode(
                {"cursor": page.next_cursor, **({"limit": limit} if limit != service.QUEUE_PAGE else {})}
            )
            headers = {"X-Next-Cursor": page.next_cursor, "Link": f'</api/v1/console/tasks?{following}>; rel="next"'}
        # The page as Litestar encoded it when it was read (app/console/queue.py: sent_task_page), sent as it is: the
        # contract's list of tasks, as its schema (this handler's return type) says.
        sent = Response(page.body, media_type=MediaType.JSON, headers=headers)
        return cast("Response[list[ConsoleTask]]", sent)

    @get(
        "/cases/{case_no:str}",
        opt=STAFF,
        summary="One case as the caller may see it: an approver only their own department's answers and materials",
    )
    async def case(self, request: AnyRequest, db: Db, cipher: Cipher, case_no: FromPath[str]) -> StaffCase:
        return await service.case_for_staff(db, cipher, request, caller(request), case_no)

    @post(
        "/tasks/{task_id:int}/transition",
        opt=STAFF,
        status_code=HTTP_200_OK,
        summary="Move a task; 409 names the allowed actions when the action is not allowed now",
    )
    async def transition(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        task_id: FromPath[int],
        data: JSONBody[TransitionBody],
    ) -> ConsoleTask:
        user = caller(request)
        moved = await workflow.move_task(
            db,
            cipher,
            request,
            user,
            task_id,
            data.action,
            data.note,
            data.delivery_method,
            data.delivery_ref,
            data.child_id_number,
            credit_code=data.credit_code,
        )
        return await service.task_view(db, user, moved)

    @get(
        "/notices",
        opt=CLERK,
        summary="未送达: notices that must arrive which neither push nor a text delivered, in the clerk's region",
    )
    async def undelivered_notices(self, request: AnyRequest, db: Db) -> list[StaffNotice]:
        return await undelivered.undelivered_for(db, caller(request))

    @post(
        "/notices/{notice_id:int}/by-hand",
        opt=CLERK,
        status_code=HTTP_200_OK,
        summary="Record that the clerk told the resident by phone or with a paper notice (on the timeline, audited)",
    )
    async def notice_by_hand(
        self, request: AnyRequest, db: Db, notice_id: FromPath[int], data: JSONBody[ByHandBody]
    ) -> StaffNotice:
        return await undelivered.record_by_hand(db, request, caller(request), notice_id, data.channel, data.note)

    @post(
        "/tasks/{task_id:int}/notes",
        opt=STAFF,
        status_code=HTTP_201_CREATED,
        summary="A staff note on a task: visibility resident (the applicant reads it) or internal (staff only)",
    )
    async def note(self, request: AnyRequest, db: Db, task_id: FromPath[int], data: JSONBody[NoteBody]) -> TaskNote:
        return await notes.add_note(db, request, caller(request), task_id, data.text, data.visibility)

    @post(
        "/duplicates/{flag_id:int}/merge",
        opt=CLERK,
        status_code=HTTP_200_OK,
        summary="一事不二办: keep one case of a flagged pair (`keep`: its number), withdraw the other into it",
    )
    async def merge_duplicates(
        self, request: AnyRequest, db: Db, cipher: Cipher, flag_id: FromPath[int], data: JSONBody[MergeBody]
    ) -> DuplicateDecision:
        flag = await cases.merge_duplicates(db, cipher, request, caller(request), flag_id, data.keep)
        return service.decision_view(flag)

    @post(
        "/duplicates/{flag_id:int}/keep-both",
        opt=CLERK,
        status_code=HTTP_200_OK,
        summary="一事不二办: a flagged pair is not one matter; both cases go on",
    )
    async def keep_both(
        self, request: AnyRequest, db: Db, flag_id: FromPath[int], data: JSONBody[KeepBothBody]
    ) -> DuplicateDecision:
        flag = await cases.keep_both_cases(db, request, caller(request), flag_id, data.note)
        return service.decision_view(flag)

    @post("/enrollment-codes", opt=CLERK, summary="Issue a one-time enrollment code after an in-person ID check")
    async def enrollment_code(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        settings: AppSettings,
        data: JSONBody[InPersonCheck],
    ) -> EnrollmentIssued:
        return await service.issue_enrollment_code(db, cipher, settings.secret_key, request, caller(request), data)

    @post(
        "/walk-ins",
        opt=CLERK,
        status_code=HTTP_201_CREATED,
        summary="窗口收件: after an in-person ID check, file for this resident (on_behalf_of) for the next 30 minutes",
    )
    async def start_walk_in(
        self, request: AnyRequest, db: Db, cipher: Cipher, data: JSONBody[InPersonCheck]
    ) -> WalkInView:
        return service.walk_in_view(await service.start_walk_in(db, cipher, request, caller(request), data))

    @get("/walk-ins/current", opt=CLERK, summary="The resident being received at this clerk's window, if any")
    async def current_walk_in(self, request: AnyRequest) -> WalkInView:
        started = walk_in.peek(request)
        if started is None:
            raise NotFoundException(N_("当前没有正在接待的来办群众"))
        return service.walk_in_view(started)

    @post(
        "/walk-ins/current/organisation",
        opt=CLERK,
        status_code=HTTP_200_OK,
        summary="为企业办理: the resident at the window files for this organisation (legal rep, 经办人, or a paper "
        "授权委托书 the clerk checked: paper_checked)",
    )
    async def file_for_organisation(
        self, request: AnyRequest, db: Db, data: JSONBody[WindowOrganisationCheck]
    ) -> WalkInView:
        return service.walk_in_view(await service.file_for_organisation(db, request, caller(request), data))

    @delete(
        "/walk-ins/current/organisation",
        opt=CLERK,
        summary="改为个人办理: the resident at the window files for themself again",
    )
    async def stop_filing_for_organisation(self, request: AnyRequest) -> None:
        service.stop_filing_for_organisation(request)

    @delete("/walk-ins/current", opt=CLERK, summary="End receiving the resident at the window")
    async def end_walk_in(self, request: AnyRequest, db: Db) -> None:
        await service.end_walk_in(db, request, caller(request))


def _kept_task_pages(request: AnyRequest) -> KeptQueues[KeptTaskPage]:
    """The pages of the API's queue this app keeps, made at its first page."""
    kept: KeptQueues[KeptTaskPage] = request.app.state.setdefault("kept_task_pages", KeptQueues[KeptTaskPage]())
    return kept
