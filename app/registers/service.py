"""Written back when a task completes (记录 → 基础库). Three items change the registers, in the transaction that
completes their task and with its timeline event, audited, or not at all:

- 出生户口登记 (CZ-GA-001): the police approver enters the newborn's new 公民身份号码; the child enters the
  population register (name, sex and birth date from the form, the household's 户号, mother and father when the
  register has them), the case's 出生医学证明 is given to the child, and the child's page of the 户口簿 is issued.
- 企业设立登记 (CZ-SJ-001): the market-supervision approver assigns the new 统一社会信用代码 (GB 32100 check, unique);
  the organisation enters the legal-person register with the applicant as legal representative, its 营业执照 goes
  into the organisation's own library, and the case is the organisation's from then on (法人办事).
- 企业变更登记 (CZ-SJ-002): the organisation's changed name, address or legal representative (a living person of the
  population register, by the name and number the form gives) enters the register, each change kept in its history
  with the value before; a new 营业执照 replaces the old one in the organisation's library.
- 企业简易注销登记 (CZ-SJ-003): once the 20-day 公告 from its 受理 has run (a waiting step on the timeline) and the
  organisation's library holds its 清税证明, the organisation's status becomes 注销 (kept in its history), every 经办人
  authorisation of it ends, and its certificates become void but those of the case itself (清税证明, the 准予注销登记
  通知书 it issues).
- 死亡人员户口注销 (CZ-GA-003): the deceased is marked 已注销 with the date of death; their account is closed (no
  session counts, no new sign-in), push to their devices stops and the delegations they gave end.

What a form must say before such an item is filed (企业变更登记: at least one change; a new legal representative by
name and number) is checked here too (filing_problems), at submission.

It lives beside the registers it writes (app.people, app.certificates, app.accounts, app.delegations, push), called
by app.cases.workflow when a task completes; it imports nothing of app.cases.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, timedelta
from typing import Any

from app.accounts import service as accounts
from app.calendar.service import today_in_china
from app.certificates import service as certificates
from app.delegations import service as delegations
from app.errors import Conflict, FieldErrors
from app.forms import service as forms
from app.organisations import service as organisations
from app.organisations.models import CHANGE_LABELS, Registration
from app.people import service as people
from app.people.identity import (
    birth_date_of,
    credit_code_problem,
    id_number_problem,
    normalize_credit_code,
    normalize_id_number,
    sex_of,
)
from app.people.models import Person
from app.registers.models import CompletedTask, WriteBack
from auth.audit import audit
from auth.pii import PiiCipher
from db.pool import Tx
from i18n import N_, _
from push import subscriptions

BIRTH_REGISTRATION = "CZ-GA-001"
BIRTH_CERTIFICATE_ITEM = "CZ-WJ-001"
DEREGISTRATION = "CZ-GA-003"
BUSINESS_REGISTRATION = "CZ-SJ-001"
BUSINESS_CHANGE = "CZ-SJ-002"
BUSINESS_DEREGISTRATION = "CZ-SJ-003"
# 简易注销: the 公告 on 国家企业信用信息公示系统 runs this many calendar days from 受理 before 注销 may be registered.
NOTICE_DAYS = 20
TAX_CLEARANCE = "tax_clearance"
# 企业变更登记's fields for the new values (db/seed/form.json): left empty, that part is not changed.
NEW_NAME, NEW_ADDRESS, NEW_SCOPE = "change.name", "change.address", "change.business_scope"
COMPANY_SCOPE = "company.business_scope"  # 企业设立登记's 经营范围
NEW_REP_NAME, NEW_REP_NUMBER = "new_legal_rep.name", "new_legal_rep.id_number"
# The completion form's field for the new organisation's 统一社会信用代码 (the console's 办结 form and the API's body).
CREDIT_CODE_FIELD = "credit_code"
# The form field whose option's label (db/seed/form.json) is the 企业类型 the register records: llc → 有限责任公司.
ORG_TYPE_FIELD = "company.type"
# The completion form's field for the newborn's number (the console's 办结 form and the API's body).
CHILD_NUMBER_FIELD = "child_id_number"
_SEX_LABELS = {"M": N_("男"), "F": N_("女")}
_RELATIONSHIP_LABELS = {
    "son": N_("子"),
    "daughter": N_("女"),
    "grandson": N_("孙子"),
    "granddaughter": N_("孙女"),
    "grandson_maternal": N_("外孙子"),
    "granddaughter_maternal": N_("外孙女"),
}
_OPEN_STATUSES = frozenset({"submitted", "accepted", "supplement_requested", "resubmitted", "in_review", "approved"})


# The form fields whose values a write-back puts into the population register: the newborn's name, sex and birth date
# (出生户口登记), the deceased's name and date of death (户口注销).
REGISTER_FIELDS = frozenset({"child.name", "child.sex", "child.birth_date", "deceased.name", "deceased.death_date"})


def register_note(field: str) -> str | None:
    """What the resident is told when a certificate's correction (更正) concerns a value the register holds. It is not
    written back: the population register is the police's and changes only by its own procedure (户口登记项目变更更正,
    with its own checks), never because another department corrected its certificate."""
    if field not in REGISTER_FIELDS:
        return None
    return N_(
        "人口库（户籍）中的登记信息不随本次更正改变；如户口簿上的信息也有误，请向户籍所在地派出所申请户口登记项目更正。"
    )


def asks_for_child_number(item_code: str) -> bool:
    """Whether completing this item needs the newborn's new 公民身份号码 (the console shows the field)."""
    return item_code == BIRTH_REGISTRATION


def asks_for_credit_code(item_code: str) -> bool:
    """Whether completing this item needs the new organisation's 统一社会信用代码 (the console shows the field)."""
    return item_code == BUSINESS_REGISTRATION


def writes_back(item_code: str) -> bool:
    """Whether completing this item writes the registers (and so replaces the item's generic result certificate)."""
    return item_code in (
        BIRTH_REGISTRATION,
        DEREGISTRATION,
        BUSINESS_REGISTRATION,
        BUSINESS_CHANGE,
        BUSINESS_DEREGISTRATION,
    )


def step_on_acceptance(item_code: str, today: date) -> tuple[str, str] | None:
    """The waiting step the timeline shows once the item is 受理 (title, note): 简易注销's 公告; None for others."""
    if item_code != BUSINESS_DEREGISTRATION:
        return None
    ends = today + timedelta(days=NOTICE_DAYS)
    return (
        N_("企业简易注销：公告期%(notice_days)s日") % {"notice_days": NOTICE_DAYS},
        N_(
            "已在国家企业信用信息公示系统公告，公告期至%(year)s年%(month)02d月%(day)02d日；期间无异议的，期满后办结注销登记"
        )
        % {"year": ends.year, "month": ends.month, "day": ends.day},
    )


def _text(answers: Mapping[str, Any], key: str) -> str:
    value = answers.get(key)
    return value.strip() if isinstance(value, str) else ""


def filing_problems(item_codes: Collection[str], answers: Mapping[str, Any]) -> dict[str, str]:
    """What a form filing these items must say for their write-back to be possible, by field: 企业变更登记 changes at
    least one thing, and names a new legal representative by both name and number (whether that person is on the
    register is checked at 办结, never here: the form must not tell who is registered)."""
    if BUSINESS_CHANGE not in item_codes:
        return {}
    problems: dict[str, str] = {}
    rep_name, rep_number = _text(answers, NEW_REP_NAME), _text(answers, NEW_REP_NUMBER)
    if rep_name and not rep_number:
        problems[NEW_REP_NUMBER] = N_("请填写新任法定代表人的公民身份号码（与姓名一并填写）")
    if rep_number and not rep_name:
        problems[NEW_REP_NAME] = N_("请填写新任法定代表人的姓名（与公民身份号码一并填写）")
    if not any(_text(answers, key) for key in (NEW_NAME, NEW_ADDRESS, NEW_SCOPE, NEW_REP_NAME, NEW_REP_NUMBER)):
        problems[NEW_NAME] = N_("请至少填写一项变更内容：变更后的名称、住所、法定代表人或经营范围")
    return problems


async def on_completion(
    tx: Tx,
    cipher: PiiCipher,
    task: CompletedTask,
    answers: dict[str, Any],
    child_id_number: str | None,
    credit_code: str | None = None,
) -> WriteBack | None:
    """The write-back of a task being completed, in its transaction; None for an item that writes nothing back.
    A refusal (FieldErrors, Conflict) rolls the completion back with it."""
    if task.item_code == BIRTH_REGISTRATION:
        return await _register_birth(tx, cipher, task, answers, child_id_number or "")
    if task.item_code == BUSINESS_REGISTRATION:
        return await _register_company(tx, cipher, task, answers, credit_code or "")
    if task.item_code == DEREGISTRATION:
        return await _deregister(tx, cipher, task, answers)
    if task.item_code == BUSINESS_CHANGE:
        return await _change_company(tx, cipher, task, answers)
    if task.item_code == BUSINESS_DEREGISTRATION:
        return await _deregister_company(tx, cipher, task)
    return None


# --- 出生户口登记 -------------------------------------------------------------------------------------------------


def _child_number_problem(number: str, answers: dict[str, Any], today: date) -> str | None:
    """What is wrong with the newborn's number for this form, in words the approver can act on; None if nothing."""
    if problem := id_number_problem(number, today):
        return _("新生儿公民身份号码：%(problem)s") % {"problem": problem}
    born, sex = birth_date_of(number), sex_of(number)
    if str(answers.get("child.birth_date", "")) != born.isoformat():
        return _(
            "号码中的出生日期（第7至14位）为%(year)s年%(month)02d月%(day)02d日，"
            "与申请表中新生儿的出生日期%(typed)s不一致，请核对号码"
        ) % {
            "year": born.year,
            "month": born.month,
            "day": born.day,
            "typed": answers.get("child.birth_date") or _("（未填）"),
        }
    if answers.get("child.sex") != sex:
        form_sex = _SEX_LABELS.get(str(answers.get("child.sex")), N_("未填"))
        return _("号码第17位表示性别为%(sex_labels)s，与申请表中新生儿性别“%(form_sex)s”不一致，请核对号码") % {
            "sex_labels": _SEX_LABELS[sex],
            "form_sex": form_sex,
        }
    return None


async def _parent(tx: Tx, cipher: PiiCipher, answers: dict[str, Any], role: str) -> Person | None:
    """The mother or father as the form names them, when the register holds that number under that name."""
    number, name = answers.get(f"{role}.id_number"), answers.get(f"{role}.name")
    if not isinstance(number, str) or not isinstance(name, str) or id_number_problem(number):
        return None
    return await people.registered_person(tx, cipher, number, name)


async def _register_birth(
    tx: Tx, cipher: PiiCipher, task: CompletedTask, answers: dict[str, Any], raw_number: str
) -> WriteBack:
    today = today_in_china()
    if problem := _child_number_problem(raw_number, answers, today):
        raise FieldErrors({CHILD_NUMBER_FIELD: problem})
    number = normalize_id_number(raw_number)
    if await people.person_by_number(tx, cipher, number) is not None:
        raise FieldErrors({CHILD_NUMBER_FIELD: N_("该公民身份号码已在人口库中登记给他人，请核对是否输错")})
    if task.sibling_statuses.get(BIRTH_CERTIFICATE_ITEM) in _OPEN_STATUSES:
        raise Conflict(N_("出生医学证明尚未签发：请待卫健部门办结“出生医学证明签发”后，再办结户口登记"))
    applicant = await people.get_person(tx, task.applicant_person_id)
    mother, father = await _parent(tx, cipher, answers, "mother"), await _parent(tx, cipher, answers, "father")
    # The newborn settles on the applicant's 户口簿 (随父或随母 as declared); the mother's when the applicant has none.
    settled_with = next((p for p in (applicant, mother, father) if p is not None and p.household_no), applicant)
    household_no = settled_with.household_no if settled_with else None
    child_id = await people.register_newborn(
        tx,
        cipher,
        id_number=number,
        name=str(answers.get("child.name", "")).strip(),
        birth_date=birth_date_of(number),
        sex=sex_of(number),
        region_code=settled_with.region_code if settled_with else None,
        household_no=household_no,
        mother_id=mother.id if mother else None,
        father_id=father.id if father else None,
    )
    if child_id is None:  # registered by someone else since the check above
        raise FieldErrors({CHILD_NUMBER_FIELD: N_("该公民身份号码已在人口库中登记给他人，请核对是否输错")})
    given = await certificates.give_to(
        tx, case_id=task.case_id, kind="birth_medical", from_person_id=task.applicant_person_id, to_person_id=child_id
    )
    sex = sex_of(number)
    relationship = _RELATIONSHIP_LABELS.get(
        str(answers.get("household.relationship")), N_("子") if sex == "M" else N_("女")
    )
    await certificates.issue_to_person(
        tx,
        cipher,
        person_id=child_id,
        kind="hukou",
        title=N_("居民户口簿"),
        number=household_no or f"{task.case_no}-{task.item_code}",
        issued_by=task.department_full_name,
        issued_on=today,
        data={
            "name": str(answers.get("child.name", "")).strip(),
            "head_name": answers.get("household.head_name"),
            "address": answers.get("household.address"),
            "relationship": relationship,
        },
        case_id=task.case_id,
    )
    await audit(
        tx,
        None,
        "register.birth",
        "ok",
        subject=f"person:{child_id}",
        actor=f"account:{task.actor_account_id}",
        case=task.case_no,
        mother=mother.id if mother else None,
        father=father.id if father else None,
        birth_certificate_given=given,
    )
    return WriteBack(
        title=N_("出生户口登记：已将新生儿登记入人口库"),
        note=N_("新生儿已登记入户，户口簿已增加其页") + (N_("，出生医学证明已归入新生儿名下") if given else ""),
    )


# --- 企业设立登记 -------------------------------------------------------------------------------------------------


async def _register_company(
    tx: Tx, cipher: PiiCipher, task: CompletedTask, answers: dict[str, Any], raw_code: str
) -> WriteBack:
    """The new organisation in the register (its legal representative the applicant, as 企业开办 is filed by the person
    who will run it), its 营业执照 in its own library; a code that fails GB 32100 or is taken is refused beside its
    field, and nothing is written."""
    code = normalize_credit_code(raw_code)
    if problem := credit_code_problem(code):
        raise FieldErrors({CREDIT_CODE_FIELD: problem})  # each problem names the code already
    applicant = await people.get_person(tx, task.applicant_person_id)
    name, address = str(answers.get("company.name", "")).strip(), str(answers.get("company.address", "")).strip()
    scope = _text(answers, COMPANY_SCOPE) or None
    org_type = await forms.option_label(tx, ORG_TYPE_FIELD, answers.get(ORG_TYPE_FIELD))
    if applicant is None or not applicant.region_code or not name or not address or org_type is None:
        raise Conflict(N_("申请表中缺少企业名称、类型或住所，或申请人不在人口库中，不能办结设立登记"))
    today = today_in_china()
    added = await organisations.register_new(
        tx,
        credit_code=code,
        name=name,
        org_type=org_type,
        legal_rep_person_id=applicant.id,
        address=address,
        region_code=applicant.region_code[:6],
        established_on=today,
        business_scope=scope,
    )
    if not added:
        raise FieldErrors({CREDIT_CODE_FIELD: N_("该统一社会信用代码已登记给其他企业，请核对是否输错")})
    await certificates.issue_to_organisation(
        tx,
        cipher,
        credit_code=code,
        kind="business_license",
        title=N_("营业执照"),
        number=code,
        issued_by=task.department_full_name,
        issued_on=today,
        data={
            "name": name,
            "type": org_type,
            "legal_rep_name": applicant.name,
            "address": address,
            **({"business_scope": scope} if scope else {}),
        },
        case_id=task.case_id,
    )
    await audit(
        tx,
        None,
        "register.organisation",
        "ok",
        subject=f"org:{code}",
        actor=f"account:{task.actor_account_id}",
        case=task.case_no,
        legal_rep=applicant.id,
    )
    return WriteBack(
        title=N_("企业设立登记：企业已登记入法人库"),
        note=N_("统一社会信用代码 %(code)s；营业执照已归入企业电子证照库，可切换为企业办事使用") % {"code": code},
        subject_org_credit_code=code,
    )


# --- 企业变更登记 -------------------------------------------------------------------------------------------------

_NOT_ACTIVE = N_("该办件的申请单位不在法人库中，或已注销、吊销，不能办结")


async def _new_legal_rep(tx: Tx, cipher: PiiCipher, answers: dict[str, Any]) -> Person | None:
    """The new legal representative the form names, checked against the population register at 办结: a living person
    registered under that name and number; None when the form names nobody. Conflict otherwise (the approver asks
    for a 补正 or refuses)."""
    name, number = _text(answers, NEW_REP_NAME), _text(answers, NEW_REP_NUMBER)
    if not name and not number:
        return None
    person = None if id_number_problem(number) else await people.registered_person(tx, cipher, number, name)
    if person is None:
        raise Conflict(
            _(
                "新任法定代表人“%(name)s”的姓名与公民身份号码在人口库中不一致（或未登记），不能办结：请告知申请人补正，或不予批准"
            )
            % {"name": name}
        )
    if person.deceased:
        raise Conflict(N_("新任法定代表人在人口库中已注销户口，不能担任法定代表人：请不予批准"))
    return person


async def _change_company(tx: Tx, cipher: PiiCipher, task: CompletedTask, answers: dict[str, Any]) -> WriteBack:
    """The changed name, address and legal representative into the register (history kept), and a new 营业执照 into
    the organisation's library in place of the old one. Nothing changed, or the organisation not active: Conflict."""
    current = await organisations.by_credit_code(tx, task.subject_org_credit_code or "")
    if current is None:
        raise Conflict(_NOT_ACTIVE)
    representative = await _new_legal_rep(tx, cipher, answers)
    wanted = Registration(
        name=_text(answers, NEW_NAME) or current.name,
        address=_text(answers, NEW_ADDRESS) or current.address,
        legal_rep_person_id=representative.id if representative else current.legal_rep_person_id,
        business_scope=_text(answers, NEW_SCOPE) or current.business_scope,
    )
    today = today_in_china()
    changed = await organisations.change_registration(tx, current.credit_code, wanted, case_id=task.case_id, on=today)
    if changed is None:
        raise Conflict(_NOT_ACTIVE)
    organisation, fields = changed
    if not fields:
        raise Conflict(N_("申请表中的变更内容与法人库登记相同，没有需要变更的事项，不能办结：请不予批准"))
    holder = representative or await people.get_person(tx, organisation.legal_rep_person_id)
    data = {
        "name": wanted.name,
        "type": organisation.org_type,
        "legal_rep_name": holder.name if holder else "",
        "address": wanted.address,
        "established_on": organisation.established_on.isoformat(),
        **({"business_scope": wanted.business_scope} if wanted.business_scope else {}),
    }
    await certificates.issue_to_organisation(
        tx,
        cipher,
        credit_code=organisation.credit_code,
        kind="business_license",
        title=N_("营业执照"),
        number=organisation.credit_code,
        issued_by=task.department_full_name,
        issued_on=today,
        data=data,
        case_id=task.case_id,
    )
    labels = [CHANGE_LABELS[f] for f in fields]
    await audit(
        tx,
        None,
        "register.organisation.change",
        "ok",
        subject=f"org:{organisation.credit_code}",
        actor=f"account:{task.actor_account_id}",
        case=task.case_no,
        fields=fields,
    )
    return WriteBack(
        title=N_("企业变更登记：法人库已更新，营业执照已换发"),
        note=N_("已变更：%(join)s；新营业执照已归入企业电子证照库，原执照作废") % {"join": "、".join(labels)},
    )


# --- 企业简易注销登记 ---------------------------------------------------------------------------------------------


async def _deregister_company(tx: Tx, cipher: PiiCipher, task: CompletedTask) -> WriteBack:
    """After the 公告 and with a 清税证明 held: the organisation 注销 in the register, its 经办人 authorisations ended,
    its certificates void but this case's own, and a 准予注销登记通知书 in its library (for the bank, and the
    record)."""
    today = today_in_china()
    code = task.subject_org_credit_code or ""
    if task.accepted_on is None or today < task.accepted_on + timedelta(days=NOTICE_DAYS):
        ends = (task.accepted_on or today) + timedelta(days=NOTICE_DAYS)
        raise Conflict(
            _("简易注销公告期至%(year)s年%(month)02d月%(day)02d日届满，期满无异议后方可办结注销登记")
            % {"year": ends.year, "month": ends.month, "day": ends.day}
        )
    if not any(c.kind == TAX_CLEARANCE for c in await certificates.held_by_organisation(tx, code)):
        raise Conflict(N_("企业电子证照库中没有清税证明：请待税务部门办结“税务注销（清税）”后，再办结注销登记"))
    ended = await organisations.deregister(tx, code, case_id=task.case_id, case_no=task.case_no, on=today)
    if ended is None:
        raise Conflict(_NOT_ACTIVE)
    organisation, agents_ended = ended
    voided = await certificates.void_for_organisation(
        tx, organisation.credit_code, reason=N_("企业已注销"), keep_case_id=task.case_id
    )
    await certificates.issue_to_organisation(
        tx,
        cipher,
        credit_code=organisation.credit_code,
        kind="deregistration_notice",
        title=N_("准予注销登记通知书"),
        number=f"{task.case_no}-{task.item_code}",
        issued_by=task.department_full_name,
        issued_on=today,
        data={"name": organisation.name, "deregistered_on": today.isoformat()},
        case_id=task.case_id,
    )
    await audit(
        tx,
        None,
        "register.organisation.deregister",
        "ok",
        subject=f"org:{organisation.credit_code}",
        actor=f"account:{task.actor_account_id}",
        case=task.case_no,
        agents_ended=agents_ended,
        certificates_void=voided,
    )
    return WriteBack(
        title=N_("企业注销：已在法人库中注销"),
        note=(
            N_(
                "营业执照等%(voided)s份电子证照已作废，%(agents_ended)s位经办人的授权已终止；准予注销登记通知书已归入企业电子证照库，请持其到开户银行撤销银行账户"
            )
            % {"voided": voided, "agents_ended": agents_ended}
        ),
    )


# --- 死亡人员户口注销 ---------------------------------------------------------------------------------------------


def _death_date(answers: dict[str, Any]) -> date | None:
    try:
        return date.fromisoformat(str(answers.get("deceased.death_date", "")))
    except ValueError:
        return None


async def _deregister(tx: Tx, cipher: PiiCipher, task: CompletedTask, answers: dict[str, Any]) -> WriteBack:
    """The deceased marked 已注销; their account closed (sessions ended), devices forgotten, delegations ended. A form
    whose deceased the register does not hold (or holds under another name) completes without it, said on the
    timeline and audited, for the police to correct by hand: the completion itself is not held up."""
    died_on = _death_date(answers)
    deceased = await _parent(tx, cipher, answers, "deceased")
    subject = f"person:{deceased.id}" if deceased else None
    actor = f"account:{task.actor_account_id}"
    if deceased is None or died_on is None or not await people.record_death(tx, deceased.id, died_on):
        await audit(tx, None, "register.death", "unmatched", subject=subject, actor=actor, case=task.case_no)
        return WriteBack(
            title=N_("户口注销：人口库未自动更新"),
            note=N_("人口库中没有与申请表一致的在册人员（号码、姓名），请派出所人工核对"),
        )
    account_id = await accounts.close_for_deceased(tx, deceased.id, task.case_no)
    devices = await subscriptions.forget_all_devices(tx, account_id) if account_id is not None else 0
    ended = await delegations.end_for_deceased(tx, deceased.id, task.case_no)
    await audit(
        tx,
        None,
        "register.death",
        "ok",
        subject=subject,
        actor=actor,
        case=task.case_no,
        account_closed=account_id,
        devices_removed=devices,
        delegations_ended=ended,
    )
    return WriteBack(title=N_("户口注销：已在人口库中注销"), note=N_("逝者的账号已停用，代办授权已终止"))
