"""A 新生儿出生 case driven to the point where the police approver completes 出生户口登记 (tests and e2e)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, NamedTuple

import httpx

from app.calendar.service import today_in_china
from app.people.identity import check_char
from tests.auth_helpers import LI_NA, ZHANG_WEI, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import answers_for, upload_required_materials

BIRTH_REGISTRATION = "CZ-GA-001"
BIRTH_CERTIFICATE = "CZ-WJ-001"


def newborn_number(born: date, sequence: int = 1, sex: str = "M") -> str:
    """A valid 公民身份号码 for a child born in 天宁区 on `born` (odd 17th digit for a boy, even for a girl)."""
    last = sequence * 2 + (1 if sex == "M" else 0)
    first17 = f"320402{born:%Y%m%d}{last:03d}"
    return first17 + check_char(first17)


def born_days_ago(days: int = 5) -> date:
    return today_in_china() - timedelta(days=days)


def birth_answers(form: dict[str, Any], born: date, *, child_name: str = "张小宝", sex: str = "M") -> dict[str, Any]:
    """张伟 files for his and 李娜's son: the parents' real names and numbers, the household's 户号 020010001."""
    data = answers_for(form)
    data.update(
        {
            "child.name": child_name,
            "child.sex": sex,
            "child.birth_date": born.isoformat(),
            "mother.name": LI_NA["name"],
            "mother.id_number": LI_NA["id_number"],
            "father.name": ZHANG_WEI["name"],
            "father.id_number": ZHANG_WEI["id_number"],
            "household.head_name": ZHANG_WEI["name"],
            "household.relationship": "son" if sex == "M" else "daughter",
        }
    )
    return data


async def file_birth_case(client: httpx.AsyncClient, born: date, key: str, **answers: Any) -> str:
    """The signed-in resident files 新生儿出生; the case number."""
    form = (await client.get("/api/v1/life-events/birth/form")).json()
    body = {
        "life_event": "birth",
        "data": birth_answers(form, born, **answers),
        "idempotency_key": key,
        "uploads": await upload_required_materials(client, "birth", form),
    }
    created = await post(client, "/api/v1/cases", body)
    assert created.status_code == 201, created.text
    return created.json()["case_no"]


async def act(client: httpx.AsyncClient, task_id: int, action: str, **extra: Any) -> httpx.Response:
    return await post(client, f"/api/v1/console/tasks/{task_id}/transition", {"action": action, **extra})


class BirthDesk:
    """The 天宁 window clerk, the city's 卫健 approver (出生医学证明 is 市级) and 天宁's 公安 approver."""

    def __init__(self, clerk: httpx.AsyncClient, health: httpx.AsyncClient, police: httpx.AsyncClient) -> None:
        self.clerk, self.health, self.police = clerk, health, police

    @classmethod
    async def open(cls, another_client: Callable[[], httpx.AsyncClient], pool: Any, secret_key: str) -> BirthDesk:
        desk = cls(another_client(), another_client(), another_client())
        await staff_client_sign_up(
            desk.clerk, pool, secret_key, name="王窗口", role="clerk", region="320402", department="police"
        )
        await staff_client_sign_up(  # the city's 卫健 office: 出生医学证明签发 is a 市级 item
            desk.health, pool, secret_key, name="刘卫健", role="approver", region="320400", department="health"
        )
        await staff_client_sign_up(
            desk.police, pool, secret_key, name="赵户籍", role="approver", region="320402", department="police"
        )
        return desk

    async def tasks(self, case_no: str) -> dict[str, int]:
        case = (await self.clerk.get(f"/api/v1/console/cases/{case_no}")).json()
        return {t["item_code"]: t["id"] for t in case["tasks"]}

    async def complete_health_task(self, task_id: int, **extra: Any) -> None:
        """A 卫健 task of the case the whole way: accepted at the 天宁 window, reviewed, approved and completed by 卫健
        (`extra`: what the approver adds to each step, a note say)."""
        assert (await act(self.clerk, task_id, "accept")).status_code == 200
        for action in ("review", "approve", "complete"):
            assert (await act(self.health, task_id, action, **extra)).status_code == 200

    async def ready_to_register(self, case_no: str) -> int:
        """出生医学证明 issued (卫健 办结), 出生户口登记 approved: its task id, waiting for 办结 with the number."""
        tasks = await self.tasks(case_no)
        await self.complete_health_task(tasks[BIRTH_CERTIFICATE])
        assert (await act(self.clerk, tasks[BIRTH_REGISTRATION], "accept")).status_code == 200
        for action in ("review", "approve"):
            assert (await act(self.police, tasks[BIRTH_REGISTRATION], action)).status_code == 200
        return tasks[BIRTH_REGISTRATION]


class IssuedCertificate(NamedTuple):
    desk: BirthDesk
    case_no: str
    certificate: dict[str, Any]  # as 我的证照 lists it (/api/v1/certificates)


async def issued_birth_certificate(
    client: httpx.AsyncClient, another_client: Callable[[], httpx.AsyncClient], pool: Any, secret_key: str, key: str
) -> IssuedCertificate:
    """张伟 signs up on `client` and files 新生儿出生 (the child named 张小宝); the desk's 卫健 issues its 出生医学证明
    into his library."""
    assert (await sign_up(client, new_authenticator(), ZHANG_WEI)).status_code == 201
    desk = await BirthDesk.open(another_client, pool, secret_key)
    case_no = await file_birth_case(client, born_days_ago(), key)
    await desk.complete_health_task((await desk.tasks(case_no))[BIRTH_CERTIFICATE])
    return IssuedCertificate(desk, case_no, await birth_certificate_of(client, case_no))


async def birth_certificate_of(client: httpx.AsyncClient, case_no: str) -> dict[str, Any]:
    """The 出生医学证明 the case issued, as the signed-in resident's 我的证照 lists it (while it is valid)."""
    held = (await client.get("/api/v1/certificates")).json()
    return next(c for c in held if c["kind"] == "birth_medical" and c.get("case_no") == case_no)
