"""A brute-force recount of the public statistics straight from the records — every task, timeline step, rating,
follow-up and certificate read row by row and counted in Python, written apart from app/stats — for the tests to
hold the rollups (and so the figures published) to."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime
from zoneinfo import ZoneInfo

import asyncpg

from app.calendar.service import current_calendar

BEIJING = ZoneInfo("Asia/Shanghai")
CITY = "320400"
Key = tuple[date, str, str, str, str]  # day, department, office, item, channel


def _nonzero(counts: dict[str, int]) -> Counter[str]:
    """Without its zero counts (a negative one, which no rollup should ever hold, stays to be seen)."""
    return Counter({k: v for k, v in counts.items() if v != 0})


def beijing_day(moment: datetime) -> date:
    return moment.astimezone(BEIJING).date()


def office_of(office_region: str | None, applicant_region: str) -> str:
    """The routed office, or — a 全城通办 task nobody took — the applicant's district (the city's for no region)."""
    if office_region:
        return office_region
    return applicant_region[:6] if len(applicant_region) >= 6 and applicant_region.startswith("3204") else CITY


async def daily(conn: asyncpg.Connection) -> dict[Key, Counter[str]]:
    calendar = await current_calendar(conn)
    rows: dict[Key, Counter[str]] = defaultdict(Counter)
    steps: dict[tuple[int, str], datetime] = {}
    for step in await conn.fetch("SELECT task_id, status, at FROM timeline_events WHERE task_id IS NOT NULL"):
        key = (step["task_id"], step["status"])
        steps[key] = min(steps.get(key, step["at"]), step["at"])
    held = {(r["case_id"], r["kind"]) for r in await conn.fetch("SELECT case_id, kind FROM e_certificates")}
    tasks = await conn.fetch(
        "SELECT t.id, t.case_id, t.department_code, t.office_region, coalesce(p.region_code, '') AS region, "
        "t.item_code, c.channel, i.kind, c.created_at, t.due_on, t.delivery_method, "
        "i.result_certificate ->> 'kind' AS certificate "
        "FROM tasks t JOIN cases c ON c.id = t.case_id JOIN people p ON p.id = c.applicant_person_id "
        "JOIN service_items i ON i.code = t.item_code"
    )
    for t in tasks:
        office = office_of(t["office_region"], t["region"])
        received = beijing_day(t["created_at"])
        of_task = (t["department_code"], office, t["item_code"], t["channel"])
        rows[(received, *of_task)].update(received=1, received_instant=int(t["kind"] == "即办件"))
        if (t["id"], "completed") in steps:
            done = beijing_day(steps[(t["id"], "completed")])
            certificate = t["certificate"]
            rows[(done, *of_task)].update(
                completed=1,
                completed_on_time=int(t["due_on"] is None or done <= t["due_on"]),
                working_days=calendar.working_days_between(received, done) if done >= received else 0,
                certificates_due=int(certificate is not None),
                certificates_issued=int(certificate is not None and (t["case_id"], certificate) in held),
            )
        if (t["id"], "delivered") in steps:
            out = beijing_day(steps[(t["id"], "delivered")])
            no_visit = t["channel"] != "window" and t["delivery_method"] != "window"
            rows[(out, *of_task)].update(delivered=1, delivered_no_visit=int(no_visit))
    for r in await conn.fetch(
        "SELECT r.department_code, r.region_code, t.item_code, c.channel, r.created_at, r.level FROM reviews r "
        "JOIN cases c ON c.id = r.case_id LEFT JOIN tasks t ON t.id = r.task_id"
    ):
        day = beijing_day(r["created_at"])
        rows[(day, r["department_code"] or "", r["region_code"], r["item_code"] or "", r["channel"])].update(
            ratings=1, ratings_good=int(r["level"] >= 4)
        )
    for f in await conn.fetch(
        "SELECT department_code, region_code, contact_due_on, result_due_on, contacted_at, resolved_at "
        "FROM review_followups"
    ):
        resolved, contacted = f["resolved_at"], f["contacted_at"] or f["resolved_at"]
        on_time = (
            resolved is not None
            and beijing_day(resolved) <= f["result_due_on"]
            and beijing_day(contacted) <= f["contact_due_on"]
        )
        rows[(f["result_due_on"], f["department_code"] or "", f["region_code"], "", "")].update(
            follow_ups=1, follow_ups_on_time=int(on_time)
        )
    return {k: _nonzero(v) for k, v in rows.items() if _nonzero(v)}


def monthly(rows: dict[Key, Counter[str]]) -> dict[tuple[date, str, str], Counter[str]]:
    """What stats_monthly holds: per (month, department, district of the office), the channel in columns; no
    follow-ups (those are read by day)."""
    months: dict[tuple[date, str, str], Counter[str]] = defaultdict(Counter)
    for (day, department, office, _item, channel), counts in rows.items():
        kept = Counter({k: v for k, v in counts.items() if not k.startswith("follow_ups")})
        if channel and kept["received"]:
            kept[f"received_{channel}"] = kept["received"]
        months[(day.replace(day=1), department, office[:6])].update(kept)
    return {k: _nonzero(v) for k, v in months.items() if _nonzero(v)}


async def stored_daily(conn: asyncpg.Connection) -> dict[Key, Counter[str]]:
    rows = await conn.fetch("SELECT * FROM stats_daily")
    found = {
        (r["day"], r["department_code"], r["office_region"], r["item_code"], r["channel"]): _nonzero(
            {k: v for k, v in dict(r).items() if isinstance(v, int)}
        )
        for r in rows
    }
    return {k: v for k, v in found.items() if v}


async def stored_monthly(conn: asyncpg.Connection) -> dict[tuple[date, str, str], Counter[str]]:
    rows = await conn.fetch("SELECT * FROM stats_monthly")
    found = {
        (r["month"], r["department_code"], r["district"]): _nonzero(
            {k: v for k, v in dict(r).items() if isinstance(v, int)}
        )
        for r in rows
    }
    return {k: v for k, v in found.items() if v}
