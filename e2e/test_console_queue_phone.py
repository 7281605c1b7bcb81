"""The back office's queue on a phone and by keyboard: each case's tasks read as a short list at 360 px (not four
columns that set 状态 one character a line), and 加载更多 leaves the keyboard's focus on the first case it loaded."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from db.pool import create_pool
from e2e.conftest import LiveServer
from e2e.helpers import register_staff
from e2e.layout import assert_fits, assert_not_squeezed
from e2e.test_accessibility import violations
from tests.database_fixtures import run_sync

OFFICE = "320481"  # 溧阳市: the clerk's hall, where the cases below are routed
CASES = 24  # more than a page of the queue (20): 加载更多 brings the rest
KEY = "e2e-queue-phone-"


async def _open_cases(database_url: str) -> None:
    """CASES single-item cases (of a resident on the register, filed by the first account), each with its task 申办
    at the 溧阳 office, due in a month or more (after any other test's tasks there)."""
    pool = await create_pool(database_url, min_size=1, max_size=2)
    try:
        added = await pool.execute(
            """
            WITH item AS (
                SELECT e.code, i.department_code FROM life_events e JOIN service_items i ON i.code = e.single_item
                WHERE i.level = '区级' AND NOT i.citywide ORDER BY e.code LIMIT 1
            ), folk AS (SELECT id FROM people ORDER BY id LIMIT 1),
            filer AS (SELECT id FROM accounts ORDER BY id LIMIT 1),
            added AS (
                INSERT INTO cases (case_no, tracking_token, life_event_code, applicant_person_id, filed_by_account_id,
                                   filed_as, channel, data_enc, form_checksum, idempotency_key)
                SELECT 'CZ20990303' || lpad(n::text, 6, '0'), md5($3 || n) || md5($3 || 't' || n), item.code,
                       folk.id, filer.id, 'self', 'online', '\\x00', 'x', $3 || n
                FROM generate_series(1, $2::int) n, item, folk, filer
                RETURNING id, life_event_code
            )
            INSERT INTO tasks (case_id, item_code, department_code, position, status, due_on, office_region,
                               receiving_region)
            SELECT added.id, item.code, item.department_code, 0, 'submitted', current_date + 30 + (added.id % 20)::int,
                   $1, $1
            FROM added JOIN item ON item.code = added.life_event_code
            """,
            OFFICE,
            CASES,
            KEY,
        )
        assert added == f"INSERT 0 {CASES}", added
    finally:
        await pool.close()


async def _remove_cases(database_url: str) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=2)
    try:
        cases = "SELECT id FROM cases WHERE idempotency_key LIKE $1 || '%'"
        await pool.execute(f"DELETE FROM tasks WHERE case_id IN ({cases})", KEY)
        await pool.execute("DELETE FROM cases WHERE idempotency_key LIKE $1 || '%'", KEY)
    finally:
        await pool.close()


@pytest.fixture
def full_queue(live_server: LiveServer) -> Iterator[Callable[[], None]]:
    """Fills the 溧阳 clerk's queue with more than a page of cases, for this test only: they are removed after it
    (other tests' queues stay as theirs)."""
    try:
        yield lambda: run_sync(_open_cases(live_server.database_url))
    finally:
        run_sync(_remove_cases(live_server.database_url))


# Each task's 状态 cell as drawn: its text, and how many lines it takes.
STATUS_CELLS = """() => [...document.querySelectorAll(".queue-tasks tbody tr")].map((row) => {
  const cell = row.querySelectorAll("td")[1];
  const height = cell.getBoundingClientRect().height;
  return { text: cell.textContent.trim(), lines: Math.round(height / parseFloat(getComputedStyle(cell).lineHeight)) };
})"""


def test_a_clerk_reads_the_queue_on_a_phone_and_loads_more_by_keyboard(
    phone: Page, live_server: LiveServer, full_queue: Callable[[], None]
) -> None:
    register_staff(phone, live_server, "溧阳窗口", "--role", "clerk", "--department", "hrss", "--region", OFFICE)
    # Tests run before this one in the same server may have left cases in this office's queue (a helper's filing in
    # 溧阳): counted first, so that 加载更多 is expected to bring ours and theirs, due before ours.
    phone.goto("/console")
    others = phone.locator(".queue-case").count()
    assert others + CASES <= 40, f"{others} cases were already in the queue: more than this test's two pages hold"
    full_queue()
    phone.goto("/console")
    expect(phone.locator(".queue-case")).to_have_count(20)

    cells = phone.evaluate(STATUS_CELLS)
    assert cells and all(cell["lines"] == 1 for cell in cells), cells
    assert_fits(phone, "the queue at 360 px")
    assert_not_squeezed(phone, "the queue at 360 px")
    assert violations(phone) == [], "the queue at 360 px"

    more = phone.get_by_role("link", name="加载更多待办（下一页）")
    more.focus()
    phone.keyboard.press("Enter")
    expect(phone.locator(".queue-case")).to_have_count(others + CASES)
    expect(phone.locator(".queue-case").nth(20).locator(".queue-case-no")).to_be_focused()
