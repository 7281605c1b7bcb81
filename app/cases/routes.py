"""Cases over HTTP: submit, list, read, receipt QR, drafts, uploads, and public tracking."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post, put
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, TooManyRequestsException
from litestar.openapi import ResponseSpec
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Template
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_304_NOT_MODIFIED

from app.cases import corrections, qr, service, tracking, withdrawal
from app.cases.models import (
    CaseCreated,
    CaseSubmission,
    CaseSummary,
    CaseView,
    CorrectionCreated,
    CorrectionRequest,
    DraftBody,
    DraftSaved,
    DraftView,
    KeptPage,
    TrackedPage,
    TrackView,
    UploadView,
    WithdrawalRequest,
)
from app.errors import FieldErrors
from app.filing import service as filing
from app.shell import service as shell
from app.web import caching, shared_pages
from app.web.params import AppSettings, Cipher, Db, OnBehalfOfHeader, OnBehalfOfOrgHeader, behalf_of
from app.web.types import AnyRequest
from auth.access import caller, public, roles, user_of
from i18n import N_, N_plural, _

RESIDENT = roles("resident")
# 更正: a resident for their own (or their minor child's) certificate; a window clerk for the resident whose ID card and
# papers they have just checked in person (auth.walk_in).
CORRECTORS = roles("resident", "clerk")
# Residents file for themselves; clerks at a window and helpers under a delegation file for someone.
FILERS = roles("resident", "clerk", "helper")
# 撤回申请: the applicant (their organisation's legal representative or 经办人), or the helper who filed it under the
# applicant's live delegation (app.cases.withdrawal decides, case by case).
WITHDRAWERS = roles("resident", "helper")


def _limit_scans(request: AnyRequest) -> None:
    """Public tracking is unauthenticated: a per-address limit keeps token guessing and scraping slow."""
    client = request.client.host if request.client else "unknown"
    retry_after = request.app.state.scan_limiter.retry_after(client)
    if retry_after:
        raise TooManyRequestsException(
            N_plural("查询过于频繁，请%(seconds)s秒后再试", "查询过于频繁，请%(seconds)s秒后再试"),
            headers={"Retry-After": str(retry_after)},
            extra={"params": {"seconds": retry_after}, "plural": "seconds"},
        )


class CasesApi(Controller):
    path = "/api/v1"
    tags = ["cases"]

    @post("/cases", opt=FILERS, status_code=HTTP_201_CREATED, summary="Submit a life event: one case, a task per item")
    async def submit(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        settings: AppSettings,
        data: Annotated[CaseSubmission, Body(media_type=RequestEncodingType.JSON)],
        on_behalf_of_org_header: OnBehalfOfOrgHeader = None,
    ) -> CaseCreated:
        data.on_behalf_of_org = data.on_behalf_of_org or on_behalf_of_org_header or None
        return await service.submit_case(db, cipher, settings, caller(request), data, request)

    @get("/cases", opt=RESIDENT, summary="The caller's cases")
    async def list_cases(self, request: AnyRequest, db: Db) -> list[CaseSummary]:
        return await service.cases_for_resident(db, caller(request))

    @get(
        "/organisations/{uscc:str}/cases",
        opt=RESIDENT,
        summary="An organisation's cases, to its legal representative and 经办人 (法人办事)",
    )
    async def organisation_cases(self, request: AnyRequest, db: Db, uscc: FromPath[str]) -> list[CaseSummary]:
        return (await service.cases_for_organisation(db, request, caller(request), uscc))[1]

    @get("/cases/{case_no:str}", opt=RESIDENT, summary="One of the caller's cases with tasks and timeline")
    async def read_case(self, request: AnyRequest, db: Db, settings: AppSettings, case_no: FromPath[str]) -> CaseView:
        return await service.case_for_resident(db, settings, caller(request), case_no)

    @post(
        "/cases/{case_no:str}/corrections",
        opt=CORRECTORS,
        status_code=HTTP_201_CREATED,
        summary="更正: ask to correct one field of a certificate the case issued; a correction task for the issuing "
        "department",
    )
    async def ask_correction(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        case_no: FromPath[str],
        data: Annotated[CorrectionRequest, Body(media_type=RequestEncodingType.JSON)],
    ) -> CorrectionCreated:
        return await corrections.request_correction(db, cipher, request, caller(request), case_no, data)

    @post(
        "/cases/{case_no:str}/withdraw",
        opt=WITHDRAWERS,
        status_code=HTTP_200_OK,
        summary="撤回申请: withdraw the case's tasks not yet decided (task_ids omitted: all of them); the case as it "
        "is now. 409 naming the tasks when none can be; a repeat answers as the first did",
    )
    async def withdraw(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        settings: AppSettings,
        case_no: FromPath[str],
        data: Annotated[WithdrawalRequest, Body(media_type=RequestEncodingType.JSON)],
    ) -> CaseView:
        user = caller(request)
        await withdrawal.withdraw(db, cipher, request, user, case_no, data)
        if user.kind == "resident":
            return await service.case_for_resident(db, settings, user, case_no)
        return await service.case_for_helper(db, settings, user, case_no)

    @get("/cases/{case_no:str}/qr.svg", opt=RESIDENT, summary="Receipt QR (SVG) encoding the tracking URL")
    async def qr_svg(
        self, request: AnyRequest, db: Db, settings: AppSettings, case_no: FromPath[str]
    ) -> Response[bytes]:
        case = await service.case_for_resident(db, settings, caller(request), case_no)
        return Response(qr.qr_svg(case.tracking_url), media_type="image/svg+xml")

    @get("/cases/{case_no:str}/qr.png", opt=RESIDENT, summary="Receipt QR (PNG) encoding the tracking URL")
    async def qr_png(
        self, request: AnyRequest, db: Db, settings: AppSettings, case_no: FromPath[str]
    ) -> Response[bytes]:
        case = await service.case_for_resident(db, settings, caller(request), case_no)
        return Response(qr.qr_png(case.tracking_url), media_type="image/png")

    @get(
        "/track/{token:str}",
        opt=public(),
        summary="Public progress by tracking token: no personal data",
        # No generated examples: they are random on every start (an unstable, meaningless document).
        responses={
            200: ResponseSpec(
                data_container=TrackView, description="The case's public progress", generate_examples=False
            )
        },
    )
    async def track(self, request: AnyRequest, db: Db, token: FromPath[str]) -> Response[bytes]:
        _limit_scans(request)
        # The stored snapshot is already this answer's JSON: sent as it is.
        snapshot = await service.track(db, token, request.app.state.scans)
        return Response(snapshot, media_type="application/json")

    @get("/drafts/{life_event_code:str}", opt=FILERS, summary="The caller's server draft of a merged form")
    async def get_draft(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        life_event_code: FromPath[str],
        on_behalf_of: FromQuery[str | None] = None,
        on_behalf_of_header: OnBehalfOfHeader = None,
        on_behalf_of_org: FromQuery[str | None] = None,
        on_behalf_of_org_header: OnBehalfOfOrgHeader = None,
    ) -> DraftView:
        user = caller(request)
        behalf, org = behalf_of(on_behalf_of, on_behalf_of_header), behalf_of(on_behalf_of_org, on_behalf_of_org_header)
        filed = await filing.resolve_filing(db, cipher, user, behalf, life_event_code, request, on_behalf_of_org=org)
        return await service.get_draft(db, cipher, user, life_event_code, filed.person_id, filed.org_credit_code)

    @put("/drafts/{life_event_code:str}", opt=FILERS, summary="Save a draft; 409 with the current one when stale")
    async def put_draft(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        life_event_code: FromPath[str],
        data: Annotated[DraftBody, Body(media_type=RequestEncodingType.JSON)],
        on_behalf_of: FromQuery[str | None] = None,
        on_behalf_of_header: OnBehalfOfHeader = None,
        on_behalf_of_org: FromQuery[str | None] = None,
        on_behalf_of_org_header: OnBehalfOfOrgHeader = None,
    ) -> Response[Any]:
        try:
            user = caller(request)
            behalf = behalf_of(on_behalf_of, on_behalf_of_header)
            org = behalf_of(on_behalf_of_org, on_behalf_of_org_header)
            filed = await filing.resolve_filing(
                db, cipher, user, behalf, life_event_code, request, on_behalf_of_org=org
            )
            version = await service.save_draft(
                db, cipher, user, life_event_code, data, filed.person_id, filed.org_credit_code
            )
        except service.StaleDraft as stale:
            return Response(
                {"status_code": 409, "detail": _("草稿已在其他设备上更新，请选择保留哪一份"), "current": stale.current},
                status_code=409,
            )
        return Response(DraftSaved(version=version))

    @post(
        "/uploads",
        opt=FILERS,
        status_code=HTTP_201_CREATED,
        request_max_body_size=11 * 1024 * 1024,
        summary="Upload a material (PDF, JPEG or PNG, ≤ 10 MB; the type is checked by content)",
    )
    async def upload(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
        on_behalf_of_org_header: OnBehalfOfOrgHeader = None,
    ) -> UploadView:
        file = data.get("file")
        if not isinstance(file, UploadFile):
            raise FieldErrors({"file": N_("请选择要上传的文件")})
        content = await file.read(service.UPLOAD_MAX_BYTES + 1)
        user, life_event = caller(request), str(data.get("life_event", ""))
        on_behalf_of = str(data["on_behalf_of"]) if data.get("on_behalf_of") else None
        org = str(data["on_behalf_of_org"]) if data.get("on_behalf_of_org") else on_behalf_of_org_header
        filed = await filing.resolve_filing(db, cipher, user, on_behalf_of, life_event, request, on_behalf_of_org=org)
        material = str(data.get("material_code", ""))
        return await service.store_upload(
            db, user, life_event, material, file.filename or "upload", content, filed.person_id, filed.org_credit_code
        )

    @get("/uploads/{token:str}", opt=RESIDENT, summary="An uploaded material, to the person who uploaded it")
    async def download(self, request: AnyRequest, db: Db, token: FromPath[str]) -> Response[bytes]:

        row = await service.upload_for_account(db, token, caller(request).account_id)
        if row is None:
            raise NotFoundException(N_("没有找到该文件"))
        return Response(
            row.content,
            media_type=row.content_type,
            headers={"Content-Disposition": "inline"},
        )


class TrackingPages(Controller):
    include_in_schema = False

    @get("/t/{token:str}", opt=public())
    async def tracking_page(self, request: AnyRequest, db: Db, token: FromPath[str]) -> Template | Response[bytes]:
        _limit_scans(request)
        scans = request.app.state.scans
        if user_of(request) is not None:
            # Its menu names the signed-in account: drawn afresh each time, never revalidated, never kept.
            tracked = await service.track_page(db, token, scans)
            return Template("track.html", context=await _tracking_context(db, tracked))
        display = shell.display_of(None, request.cookies)
        tracked = await service.track_page(db, token, scans, display.key)
        # The notices' delivery changes with no new timeline event (the worker's outcomes): counted beside the
        # snapshot (migration 0048), part of the tag too.
        notices = str(tracked.notices_version)
        release = request.app.state.release
        tag = caching.weak_etag(tracked.snapshot, notices, display.key, release, shared_pages.drawing_key(request))
        headers = {"ETag": tag, "Cache-Control": caching.NO_CACHE}
        if caching.not_modified(request.headers.get("if-none-match"), tag):
            return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
        visitor = shared_pages.visitor_token(request)
        if visitor is None or request.url.query or request.url.path != f"/t/{token}":
            # The page brings the visitor back to this very address (its forms' `next`, 登录): one with a query or
            # another spelling is drawn for them alone, neither kept nor sent from what is kept.
            return Template("track.html", context=await _tracking_context(db, tracked), headers=headers)
        kept = tracked.kept
        if kept is not None and kept.etag == tag:
            # The page every anonymous visitor of this display is sent while the tag stands: not drawn again.
            return shared_pages.answer(request, kept.body, kept.gzip, visitor, headers)
        page = shared_pages.draw_for_anyone(request, "track.html", await _tracking_context(db, tracked))
        drawn = KeptPage(etag=tag, body=page, gzip=shared_pages.compressed_parts(request, page))
        # The one write on this read path, a cache fill: at most once per case, display and version of the page (a
        # timeline event, a delivery, a release), one row per case and display overwritten, after the page is sent
        # (a background task), and never failing it (the service logs a refusal). Without it every view of
        # thousands of receipts is drawn again (about 2 ms of Python each), which a per-process cache cannot spare
        # as visits spread evenly over the city's cases.
        fill = BackgroundTask(service.keep_tracking_page, db, tracked, display.key, drawn)
        return shared_pages.answer(request, drawn.body, drawn.gzip, visitor, headers, background=fill)


async def _tracking_context(db: Db, tracked: TrackedPage) -> dict[str, Any]:
    """What the page is drawn from; its notices are read here, only when it is drawn (a second statement)."""
    return {"track": tracking.decode(tracked.snapshot), "notices": await service.tracking_notices(db, tracked)}
