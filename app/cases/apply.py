"""The merged form page: /life-events/{code}/apply.

It works without JavaScript (one long form posted as multipart, uploads and all); with it, pwa/static/js/apply.js
shows one section per step, uploads each file as it is chosen, keeps a server draft and submits to the JSON API.
Either way the answers meet the same rules: app.forms.service.validate via app.cases.service.submit_case.

A village helper uses the same page for the client chosen on the roster (app.delegations.current, kept in the
session), and a window clerk for the resident whose ID card they checked (auth.walk_in, started on
/console/walk-in): prefill and held materials are that person's, the page carries their number as `on_behalf_of`
for every request, and each of those requests is checked again in the server.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import Any, NamedTuple, cast

import asyncpg
from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK, HTTP_400_BAD_REQUEST, HTTP_409_CONFLICT

from app.calendar.service import today_in_china
from app.cases import service as cases
from app.cases.models import CaseSubmission
from app.catalogue import service as catalogue
from app.delegations import current
from app.errors import DuplicateCase, FieldErrors
from app.filing import service as filing
from app.filing.models import Subject
from app.forms import choice, parties, presenter
from app.forms import service as forms
from app.forms.answers import StepCheck, StepProblems
from app.forms.models import MergedForm
from app.forms.presenter import UploadedMaterial
from app.organisations import current as acting_org
from app.shell.service import OFFLINE_COPY
from app.web.params import AppSettings, Cipher, Db
from app.web.types import AnyRequest
from auth import ratelimit, walk_in
from auth.access import caller, roles
from auth.models import CurrentUser
from auth.pii import PiiCipher
from config.settings import Settings
from i18n import N_, _

# Residents fill it for themselves; village helpers for the client they work for; window clerks for the resident
# whose ID card they have just checked (窗口收件).
FILERS = roles("resident", "helper", "clerk")
HELPER_HOME = "/helper"
WALK_IN_HOME = "/console/walk-in"
_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,64}")
# Without JavaScript every file arrives in one request: room for several materials at their 10 MB limit.
_FORM_MAX_BYTES = 64 * 1024 * 1024


def _text(raw: Any) -> str:
    """One posted value as text: a repeated name arrives as a list (the last one counts, as in validate)."""
    if isinstance(raw, list):
        values = cast("list[object]", raw)
        raw = values[-1] if values else ""
    return raw if isinstance(raw, str) else ""


async def _view(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    person_id: int | None,
    code: str,
    asked: Sequence[str] | None,
    *,
    idempotency_key: str | None = None,
    posted: dict[str, str] | None = None,
    uploaded: dict[str, UploadedMaterial] | None = None,
    errors: dict[str, str] | None = None,
    company: parties.Company | None = None,
) -> tuple[presenter.ApplyView, choice.ChosenForm]:
    lookups = parties.Lookups()  # the registers read once for the choice of items and the materials
    chosen = await choice.chosen_form(db, cipher, code, asked, person_id, posted, lookups)
    form, items = chosen.form, chosen.items
    prefills, resolved = await presenter.personal_sources(db, cipher, person_id, form, posted, company, lookups)
    view = presenter.apply_view(
        chosen.event,
        form,
        {item.code: item.name for item in items},
        prefills,
        resolved,
        # Made when the page is rendered, so posting the same page twice (a double tap, a retry) is one case.
        idempotency_key=idempotency_key or secrets.token_urlsafe(18),
        today=today_in_china().isoformat(),
        posted=posted,
        uploaded=uploaded,
        errors=errors,
    )
    return view, chosen


def _asked(values: Sequence[str]) -> list[str] | None:
    """The items chosen on the life event's page (?items=…, repeated), or None when none were chosen there."""
    return [value[:40] for value in values[:50]] or None


async def _store_files(
    db: asyncpg.Pool,
    user: CurrentUser,
    person_id: int | None,
    org_credit_code: str | None,
    form: MergedForm,
    data: dict[str, Any],
) -> tuple[dict[str, UploadedMaterial], dict[str, str]]:
    """(uploads by material code, errors by material key) of a form posted without JavaScript."""
    # A file uploaded by an earlier post of this page (it showed errors) is carried in hidden inputs.
    uploaded = _kept_uploads(form, data)
    errors: dict[str, str] = {}
    for need in form.materials:
        file = data.get(presenter.material_key(need.code))
        if not isinstance(file, UploadFile):  # no file chosen for this material
            continue
        content = await file.read(cases.UPLOAD_MAX_BYTES + 1)
        try:
            stored = await cases.store_upload(
                db, user, form.life_event, need.code, file.filename, content, person_id, org_credit_code
            )
        except FieldErrors as problem:
            uploaded.pop(need.code, None)  # the resident meant to replace it
            errors[presenter.material_key(need.code)] = next(iter(problem.errors.values()))
        else:
            uploaded[need.code] = UploadedMaterial(token=stored.token, filename=stored.filename)
    return uploaded, errors


def _kept_uploads(form: MergedForm, data: dict[str, Any]) -> dict[str, UploadedMaterial]:
    """Files uploaded earlier on this page, as its hidden inputs carry them (checked again at submission)."""
    kept: dict[str, UploadedMaterial] = {}
    for need in form.materials:
        token = _text(data.get(f"uploaded.{need.code}"))
        if _TOKEN.fullmatch(token):
            name = _text(data.get(f"uploaded_name.{need.code}"))[:100] or _("已上传的文件")
            kept[need.code] = UploadedMaterial(token=token, filename=name)
    return kept


class _ChooseClient(Exception):
    """A helper or a clerk opened the form without choosing whom it is for: `home` is where they choose."""

    def __init__(self, home: str) -> None:
        super().__init__(home)
        self.home = home


def _home(user: CurrentUser) -> str:
    """Where a helper or a clerk chooses whom they file for."""
    return WALK_IN_HOME if "clerk" in user.roles else HELPER_HOME


async def _subject(
    request: AnyRequest, db: asyncpg.Pool, cipher: PiiCipher, user: CurrentUser, code: str
) -> Subject | None:
    """A helper's client, the resident at a clerk's window, or a resident's minor child (?for=, checked), or None: a
    resident fills it for themself."""
    if not user.roles & {"helper", "clerk"}:
        child = request.query_params.get("for", "")
        if not child.isdigit():
            return None
        await catalogue.life_event(db, code)
        return await filing.subject_for(
            db, cipher, request, user, await filing.for_minor_child(db, user, int(child)), code
        )
    await catalogue.life_event(db, code)  # a code that is not a life event is a 404 before anything else
    if "clerk" in user.roles:
        started = walk_in.peek(request)
        if started is None:
            raise _ChooseClient(WALK_IN_HOME)
        served = filing.at_window(started)
    else:
        chosen = await current.live(db, request, user, cases.open_cases_of)
        if chosen is None:
            raise _ChooseClient(HELPER_HOME)
        served = await filing.for_client(db, user, chosen[0])
    return await filing.subject_for(db, cipher, request, user, served, code)


async def _company(
    request: AnyRequest, db: asyncpg.Pool, cipher: PiiCipher, user: CurrentUser, subject: Subject | None, code: str
) -> parties.Company | None:
    """The organisation a resident acts for now (企业办事, kept in the session), or the one the resident at a clerk's
    window came for (chosen on /console/walk-in), checked again for this life event (app.filing: its legal
    representative, or a 经办人 in scope and in force, or a paper 授权委托书 the clerk checked); None for 个人办事."""
    if subject is not None and subject.at_window:
        started = walk_in.peek(request)
        uscc = started.organisation.credit_code if started and started.organisation else None
        behalf = subject.on_behalf_of
    else:
        chosen = acting_org.peek(request) if subject is None and "resident" in user.roles else None
        uscc, behalf = (chosen.uscc if chosen else None), None
    if uscc is None:
        return None
    # Forbidden (a 403 page naming why) when the authorisation ended or does not cover this life event; the banner's
    # 切换为个人办事 and /org/cases (which drops an organisation no longer acted for) lead back.
    filed = await filing.resolve_filing(db, cipher, user, behalf, code, request, on_behalf_of_org=uscc)
    return await parties.company_of(db, cipher, filed.org_credit_code)


def _org_home(user: CurrentUser) -> str:
    """Where a person chooses to act for an organisation: 我的 › 办事身份, or the clerk's 窗口收件 (为企业办理)."""
    if "clerk" in user.roles:
        return "/console/walk-in?notice=org-only#org-heading"
    if "helper" in user.roles:
        return f"{HELPER_HOME}?notice=org-only"
    return "/me?notice=org-only#identity-heading"


def _person_id(user: CurrentUser, subject: Subject | None) -> int | None:
    return subject.person_id if subject else user.person_id


def _receipt_prefix(subject: Subject | None) -> str:
    if subject is None or subject.channel == "parent":
        return "/cases/"
    return "/console/cases/" if subject.at_window else "/helper/cases/"


def _read_only_hint(subject: Subject | None) -> str | None:
    if subject is None:
        return None
    if subject.channel == "parent":
        return _("%(name)s的信息，取自人口库，不能修改") % {"name": subject.name}
    if subject.at_window:
        return _("%(name)s本人的信息，取自人口库（已当面核验身份证件），不能修改") % {"name": subject.name}
    return _("%(name)s本人的信息，取自代办授权，不能修改") % {"name": subject.name}


def _duplicate_link(subject: Subject | None) -> tuple[str, str]:
    """Where a filer goes when the matter is already being processed (一事不二办): the resident to 我的办件 (the case
    is there: their own, or linked to them as a party); a helper or a clerk back to whom they serve."""
    if subject is None or subject.channel == "parent":
        return "/cases", _("查看我的办件")
    return (WALK_IN_HOME, _("返回窗口收件")) if subject.at_window else (HELPER_HOME, _("返回代办名单"))


def _apply_path(chosen: choice.ChosenForm) -> str:
    """Where the form posts: a single item's page or the life event's."""
    return _apply_path_of(chosen.event.code, bool(chosen.event.single_item))


def _apply_path_of(code: str, single: bool) -> str:
    return f"/items/{code}/apply" if single else f"/life-events/{code}/apply"


def _page(
    view: presenter.ApplyView,
    chosen: choice.ChosenForm,
    subject: Subject | None = None,
    status_code: int = HTTP_200_OK,
    company: parties.Company | None = None,
) -> Template:
    return Template(
        "apply.html",
        context={
            "page": view,
            "chosen": chosen,
            "apply_path": _apply_path(chosen),
            "dom_id": presenter.dom_id,
            "material_key": presenter.material_key,
            "own_library": _(parties.OWN),
            "max_upload_bytes": cases.UPLOAD_MAX_BYTES,
            "subject": subject,
            "receipt_prefix": _receipt_prefix(subject),
            "read_only_hint": _read_only_hint(subject),
            "company": company.organisation if company else None,
            "duplicate": None,
            "duplicate_link": _duplicate_link(subject),
        },
        status_code=status_code,
        # Never in an HTTP cache (app/web/security.py); our service worker keeps a resident's own form (not a helper's
        # client's) so that it opens offline; it is wiped from the device at sign-out.
        headers=None if subject or company or status_code != HTTP_200_OK else OFFLINE_COPY,
    )


class _Opening(NamedTuple):
    """Who a filing page is opened by and for: the caller, whom they file for (None: themself), whose data fills it,
    the organisation acted for and its credit code, and the items asked for in the address (?items=)."""

    user: CurrentUser
    subject: Subject | None
    person_id: int | None
    company: parties.Company | None
    uscc: str | None
    asked: list[str] | None


async def _opening(
    request: AnyRequest, db: asyncpg.Pool, cipher: PiiCipher, code: str, single: bool
) -> _Opening | Redirect:
    """What the apply and choose pages open with, or where the caller must go first: a helper or a clerk to choose
    whom they file for, a person filing for themself to act for an organisation (an organisation's life event)."""
    user = caller(request)
    await choice.life_event_or_item(db, code, single)
    try:
        subject = await _subject(request, db, cipher, user, code)
    except _ChooseClient as choose:
        return Redirect(f"{choose.home}?notice=choose", status_code=303)
    company = await _company(request, db, cipher, user, subject, code)
    if company is None and await catalogue.only_for_organisations(db, code):
        return Redirect(_org_home(user), status_code=303)
    return _Opening(
        user=user,
        subject=subject,
        person_id=_person_id(user, subject),
        company=company,
        uscc=company.organisation.credit_code if company else None,
        asked=_asked(request.query_params.getall("items", [])),
    )


async def _open_page(
    request: AnyRequest, db: asyncpg.Pool, cipher: PiiCipher, code: str, single: bool
) -> Template | Redirect:
    opening = await _opening(request, db, cipher, code, single)
    if isinstance(opening, Redirect):
        return opening
    asked, person_id = opening.asked, opening.person_id
    if asked is None and not single and person_id is not None:
        # Opened again without a choice (a link, the offline list): the draft's choice stands.
        asked = await cases.drafted_items(db, opening.user, code, person_id, opening.uscc)
    view, chosen = await _view(db, cipher, person_id, code, asked, company=opening.company)
    return _page(view, chosen, opening.subject, company=opening.company)


async def _post_page(
    request: AnyRequest,
    db: asyncpg.Pool,
    cipher: PiiCipher,
    settings: Settings,
    code: str,
    data: dict[str, Any],
    single: bool,
) -> Redirect | Template:
    """The form posted without JavaScript: store the chosen files, then submit like the JSON API does."""
    user = caller(request)
    await choice.life_event_or_item(db, code, single)
    try:
        subject = await _subject(request, db, cipher, user, code)
    except _ChooseClient as choose:
        return Redirect(f"{choose.home}?notice=choose", status_code=303)
    if subject and _text(data.get("on_behalf_of")) != subject.on_behalf_of:
        # Filled for the client before a switch: never file one person's answers for another.
        return Redirect(f"{_home(user)}?notice=switched", status_code=303)
    company = await _company(request, db, cipher, user, subject, code)
    uscc = company.organisation.credit_code if company else ""
    if _text(data.get("on_behalf_of_org")) != uscc:
        # Filled as 个人办事 and posted as 企业办事 (or for another organisation) after a switch: never mixed.
        return Redirect(f"{_apply_path_of(code, single)}?notice=switched", status_code=303)
    person_id = _person_id(user, subject)
    asked = None if single else _asked(_texts(data.get("items")))
    try:
        chosen = await choice.chosen_form(db, cipher, code, asked, person_id)
    except FieldErrors:
        raise NotFoundException(N_("事项清单有误，请返回重新勾选")) from None
    form = chosen.form
    answers = {f.key: _text(data[f.key]) for f in form.fields() if f.key in data}
    key = _text(data.get("idempotency_key"))
    key = key if _KEY.fullmatch(key) else secrets.token_urlsafe(18)

    uploaded, errors = await _store_files(db, user, person_id, uscc or None, form, data)
    if errors:
        # Never submit past a file that was refused, even an optional one; show the answers' errors too.
        _clean, field_errors = forms.validate(form, answers, today_in_china())
        read_only = presenter.account_fields(form)
        errors = {**{k: v for k, v in field_errors.items() if k not in read_only}, **errors}
    else:
        submission = CaseSubmission(
            life_event=None if single else code,
            item=code if single else None,
            items=None if single else chosen.chosen,
            data=answers,
            idempotency_key=key,
            on_behalf_of=subject.on_behalf_of if subject else None,
            on_behalf_of_org=uscc or None,
            uploads=[u.token for u in uploaded.values()],
        )
        try:
            created = await cases.submit_case(db, cipher, settings, user, submission, request)
        except FieldErrors as problem:
            errors = problem.errors
        except DuplicateCase as duplicate:
            return _duplicate_page(chosen, subject, duplicate)
        else:
            return Redirect(f"{_receipt_prefix(subject)}{created.case_no}/receipt", status_code=303)

    # The services' messages are marked (N_) and read here in the filer's language, as app/web/errors.py does.
    errors = {key: _(message) for key, message in errors.items()}
    view, chosen = await _view(
        db,
        cipher,
        person_id,
        code,
        chosen.chosen,
        idempotency_key=key,
        posted=answers,
        uploaded=uploaded,
        errors=errors,
        company=company,
    )
    return _page(view, chosen, subject, HTTP_400_BAD_REQUEST, company)


def _duplicate_page(chosen: choice.ChosenForm, subject: Subject | None, duplicate: DuplicateCase) -> Template:
    """The form posted without JavaScript was an exact duplicate (一事不二办): the same words the API answers with,
    and the way to the case, instead of the form."""
    return Template(
        "case_duplicate.html",
        context={
            "event": chosen.event,
            "subject": subject,
            "duplicate": duplicate,
            "duplicate_message": _(duplicate.message),
            "duplicate_link": _duplicate_link(subject),
        },
        status_code=HTTP_409_CONFLICT,
    )


def _texts(raw: Any) -> list[str]:
    """A repeated posted name (items=…&items=…) as its texts."""
    values = cast("list[object]", raw) if isinstance(raw, list) else [raw]
    return [value for value in values if isinstance(value, str)]


class ApplyPages(Controller):
    include_in_schema = False

    @get("/life-events/{code:str}/apply", opt=FILERS)
    async def apply_page(self, request: AnyRequest, db: Db, cipher: Cipher, code: FromPath[str]) -> Template | Redirect:
        return await _open_page(request, db, cipher, code, single=False)

    @get("/life-events/{code:str}/choose", opt=FILERS)
    async def choose_page(
        self, request: AnyRequest, db: Db, cipher: Cipher, code: FromPath[str]
    ) -> Template | Redirect:
        """Which of the life event's items apply (按需组合): the required ones fixed, the optional ones ticked as the
        draft chose them, or as the registers say (with the reason). A GET form to the apply page."""
        opening = await _opening(request, db, cipher, code, single=False)
        if isinstance(opening, Redirect):
            return opening
        person_id, asked = opening.person_id, opening.asked
        draft = None
        if person_id is not None:
            draft = await cases.get_draft(db, cipher, opening.user, code, person_id, opening.uscc)
        if asked is None and draft is not None:
            asked = draft.items
        chosen = await choice.chosen_form(db, cipher, code, asked, person_id, draft.data if draft else None)
        return Template(
            "choose_items.html",
            context={
                "event": chosen.event,
                "choices": chosen.choices,
                "subject": opening.subject,
                "errors": {},
                "company": opening.company.organisation if opening.company else None,
            },
        )

    @get("/items/{code:str}/apply", opt=FILERS)
    async def apply_item_page(
        self, request: AnyRequest, db: Db, cipher: Cipher, code: FromPath[str]
    ) -> Template | Redirect:
        """One service item offered 网上办理, applied for on its own: the same form, with that item's fields alone."""
        return await _open_page(request, db, cipher, code, single=True)

    @post("/life-events/{code:str}/check", opt=FILERS, status_code=HTTP_200_OK)
    async def check_field(
        self, db: Db, code: FromPath[str], field: FromQuery[str], data: URLEncodedBody[dict[str, Any]]
    ) -> Template:
        """One field's error slot, for htmx: the same rules as a submission, applied to that field alone."""
        form, _items = await forms.merged_form_of(db, code)
        if field not in {f.key for f in form.fields()}:
            raise NotFoundException(N_("表单中没有这一项"))
        _clean, errors = forms.validate(form, {field: data.get(field)}, today_in_china())
        return Template(
            "partials/apply_field_error.html",
            context={"slot_id": f"{presenter.dom_id(field)}-error", "message": errors.get(field)},
        )

    @post("/life-events/{code:str}/materials", opt=FILERS, status_code=HTTP_200_OK)
    async def materials_block(
        self, request: AnyRequest, db: Db, cipher: Cipher, code: FromPath[str], data: URLEncodedBody[dict[str, Any]]
    ) -> Template:
        """The materials step again, for htmx, once another party's number is typed or changed (母亲公民身份号码): each
        material about that party resolved by that number. Limited per account; it answers the same for a stranger's
        number as for a made-up one (app.forms.parties)."""
        user = caller(request)
        try:
            subject = await _subject(request, db, cipher, user, code)
        except _ChooseClient:
            raise NotFoundException(N_("请先选择办理对象")) from None
        await ratelimit.count_attempt(
            db, {ratelimit.party_lookup_subject(user.account_id): ratelimit.PARTY_LOOKUPS_PER_ACCOUNT}
        )
        form, _items = await forms.merged_form_of(db, code)
        answers = {f.key: _text(data[f.key]) for f in form.fields() if f.key in data}
        kept = _kept_uploads(form, data)
        asked = _asked(_texts(data.get("items")))
        company = await _company(request, db, cipher, user, subject, code)
        person_id = _person_id(user, subject)
        view, _chosen = await _view(db, cipher, person_id, code, asked, posted=answers, uploaded=kept, company=company)
        return Template(
            "partials/apply_materials.html",
            context={
                "page": view,
                "dom_id": presenter.dom_id,
                "material_key": presenter.material_key,
                "own_library": _(parties.OWN),
                "subject": subject,
            },
        )

    @post("/life-events/{code:str}/check-step", opt=FILERS, status_code=HTTP_200_OK)
    async def check_step(
        self, db: Db, code: FromPath[str], data: JSONBody[StepCheck], items: FromQuery[list[str] | None] = None
    ) -> StepProblems:
        """One step's fields before 下一步 (apply-steps.js): the rules of a submission, applied to all the answers so
        far (a field may depend on another step's, as 母亲's on 申请人是新生儿的), reporting only that step's fields;
        `items`: the items chosen, whose form it is."""
        event = await catalogue.life_event(db, code)
        chosen = choice.chosen_items(event, _asked(items or []), {}) if items else None
        form, _ = await forms.merged_form_of(db, code, chosen)
        step = set(data.fields)
        _clean, errors = forms.validate(form, data.data, today_in_china())
        return StepProblems(errors={key: message for key, message in errors.items() if key in step})

    @post("/life-events/{code:str}/apply", opt=FILERS, request_max_body_size=_FORM_MAX_BYTES)
    async def submit_form(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        settings: AppSettings,
        code: FromPath[str],
        data: MultipartBody[dict[str, Any]],
    ) -> Redirect | Template:
        return await _post_page(request, db, cipher, settings, code, data, single=False)

    @post("/items/{code:str}/apply", opt=FILERS, request_max_body_size=_FORM_MAX_BYTES)
    async def submit_item_form(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        settings: AppSettings,
        code: FromPath[str],
        data: MultipartBody[dict[str, Any]],
    ) -> Redirect | Template:
        return await _post_page(request, db, cipher, settings, code, data, single=True)
