"""Written back when a task completes (记录 → 基础库). Three items change the registers, in the transaction that
completes their task and with its timeline event, audited, or not at all:

- 出生户口登记 (CZ-GA-001): the police approver enters the newborn's new 公民身份号码; the child enters the
  population register (name, sex and birth date from the form, the household's 户号, mother and father when the
  register has them), the case's 出生医学证明 is given to the child, and the child's page of the 户口簿 is issued.
- 企业设立登记 (CZ-SJ-001): the market-supervision approver assigns the new 统一社会信用代码 (GB 32100 check, unique);
  the organisation enters the legal-person register with the applicant as legal representative, its 营业执照 goes
  into the organisation's own library, and the case is the organisation's from then on (法人办事).
- 死亡人员户口注销 (CZ-GA-003): the deceased is marked 已注销 with the date of death; their account is closed (no
  session counts, no new sign-in), push to their devices stops and the delegations they gave end.

It lives beside the registers it writes (app.people, app.certificates, app.accounts, app.delegations, push), called
by app.cases.workflow when a task completes; it imports nothing of app.cases.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from app.accounts import service as accounts
from app.calendar.service import today_in_china
from app.certificates import service as certificates
from app.delegations import service as delegations
from app.errors import Conflict, FieldErrors
from app.organisations import service as organisations
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
from push import subscriptions

BIRTH_REGISTRATION = "CZ-GA-001"
BIRTH_CERTIFICATE_ITEM = "CZ-WJ-001"
DEREGISTRATION = "CZ-GA-003"
BUSINESS_REGISTRATION = "CZ-SJ-001"
# The completion form's field for the new organisation's 统一社会信用代码 (the console's 办结 form and the API's body).
CREDIT_CODE_FIELD = "credit_code"
# 企业类型 as db/seed/form.json's `company.type` options name them, as the register records them.
_ORG_TYPES = {
    "llc": "有限责任公司",
    "llc_single": "有限责任公司（自然人独资）",
    "sole_proprietorship": "个人独资企业",
    "partnership": "合伙企业",
}
# The completion form's field for the newborn's number (the console's 办结 form and the API's body).
CHILD_NUMBER_FIELD = "child_id_number"
_SEX_LABELS = {"M": "男", "F": "女"}
_RELATIONSHIP_LABELS = {
    "son": "子",
    "daughter": "女",
    "grandson": "孙子",
    "granddaughter": "孙女",
    "grandson_maternal": "外孙子",
    "granddaughter_maternal": "外孙女",
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
    return (
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
    return item_code in (BIRTH_REGISTRATION, DEREGISTRATION, BUSINESS_REGISTRATION)


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
    return None


# --- 出生户口登记 -------------------------------------------------------------------------------------------------


def _child_number_problem(number: str, answers: dict[str, Any], today: date) -> str | None:
    """What is wrong with the newborn's number for this form, in words the approver can act on; None if nothing."""
    if problem := id_number_problem(number, today):
        return f"新生儿公民身份号码：{problem}"
    born, sex = birth_date_of(number), sex_of(number)
    if str(answers.get("child.birth_date", "")) != born.isoformat():
        return (
            f"号码中的出生日期（第7至14位）为{born:%Y年%m月%d日}，与申请表中新生儿的出生日期"
            f"{answers.get('child.birth_date', '（未填）')}不一致，请核对号码"
        )
    if answers.get("child.sex") != sex:
        form_sex = _SEX_LABELS.get(str(answers.get("child.sex")), "未填")
        return f"号码第17位表示性别为{_SEX_LABELS[sex]}，与申请表中新生儿性别“{form_sex}”不一致，请核对号码"
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
        raise FieldErrors({CHILD_NUMBER_FIELD: "该公民身份号码已在人口库中登记给他人，请核对是否输错"})
    if task.sibling_statuses.get(BIRTH_CERTIFICATE_ITEM) in _OPEN_STATUSES:
        raise Conflict("出生医学证明尚未签发：请待卫健部门办结“出生医学证明签发”后，再办结户口登记")
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
        raise FieldErrors({CHILD_NUMBER_FIELD: "该公民身份号码已在人口库中登记给他人，请核对是否输错"})
    given = await certificates.give_to(
        tx, case_id=task.case_id, kind="birth_medical", from_person_id=task.applicant_person_id, to_person_id=child_id
    )
    sex = sex_of(number)
    relationship = _RELATIONSHIP_LABELS.get(str(answers.get("household.relationship")), "子" if sex == "M" else "女")
    await certificates.issue_to_person(
        tx,
        cipher,
        person_id=child_id,
        kind="hukou",
        title="居民户口簿",
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
        title="出生户口登记：已将新生儿登记入人口库",
        note="新生儿已登记入户，户口簿已增加其页" + ("，出生医学证明已归入新生儿名下" if given else ""),
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
        raise FieldErrors({CREDIT_CODE_FIELD: f"统一社会信用代码：{problem}"})
    applicant = await people.get_person(tx, task.applicant_person_id)
    name, address = str(answers.get("company.name", "")).strip(), str(answers.get("company.address", "")).strip()
    org_type = _ORG_TYPES.get(str(answers.get("company.type", "")), "有限责任公司")
    if applicant is None or not applicant.region_code or not name or not address:
        raise Conflict("申请表中缺少企业名称或住所，或申请人不在人口库中，不能办结设立登记")
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
    )
    if not added:
        raise FieldErrors({CREDIT_CODE_FIELD: "该统一社会信用代码已登记给其他企业，请核对是否输错"})
    await certificates.issue_to_organisation(
        tx,
        cipher,
        credit_code=code,
        kind="business_license",
        title="营业执照",
        number=code,
        issued_by=task.department_full_name,
        issued_on=today,
        data={"name": name, "type": org_type, "legal_rep_name": applicant.name, "address": address},
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
        title="企业设立登记：企业已登记入法人库",
        note=f"统一社会信用代码 {code}；营业执照已归入企业电子证照库，可切换为企业办事使用",
        subject_org_credit_code=code,
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
            title="户口注销：人口库未自动更新",
            note="人口库中没有与申请表一致的在册人员（号码、姓名），请派出所人工核对",
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
    return WriteBack(title="户口注销：已在人口库中注销", note="逝者的账号已停用，代办授权已终止")
