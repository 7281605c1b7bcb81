"""How long the personal data of the one-network platform is kept (个人信息保存期限; PIPL 第十九条: no longer than
the purpose needs), in dates. No I/O: app/cases gathers a case's facts and `python -m app purge` (app/purge.py)
removes what these rules say is past its time.

- A finished case (every task 出件, refused or withdrawn: app/cases/states.py) is kept after the day it ended for the
  longest of its tasks' periods: an item whose result was delivered keeps it for the years the item declares
  (db/seed/items.json `retention`, with its source); an item refused or withdrawn for WITHOUT_RESULT_YEARS.
- A form never sent (a draft, and files uploaded for it) is kept UNSENT_FORM_DAYS after it was last touched.
- Past that, the case keeps its skeleton (number, items, dates, outcome, public step titles) and the certificates
  it issued; its answers, files, notes and consent requests go.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import msgspec

# A refused (不予受理, 不予批准) or withdrawn case's data serves one purpose after it ends: answering a challenge of the
# refusal, by 行政复议 within 60 days or a lawsuit within six months (《行政诉讼法》第四十六条) of the resident learning
# of it — and they learn of it the moment it is decided, with its reason (inbox, push, text). One year covers both with
# room to spare; keeping it as long as a completed case of the same item would serve nothing (PIPL 第十九条).
WITHOUT_RESULT_YEARS = 1

# A draft nobody has saved for half a year is abandoned: there is no case, so no purpose for the answers and files it
# holds. Our policy choice; long enough for forms prepared well ahead (退休) or filled in over weeks (公民身后).
UNSENT_FORM_DAYS = 180


class TaskOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """One task of a finished case, as retention sees it."""

    delivered: bool  # 出件: the item's result reached the resident; False: refused or withdrawn
    item_years: int | None  # the item's declared retention; None: it declares none


def years_later(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February in a year that has none."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def kept_until(ended_on: date, tasks: Sequence[TaskOutcome]) -> date | None:
    """The last day a finished case's data is kept: the day it ended plus the longest period any of its tasks needs.
    None when it is kept with no end: a delivered item declares no retention (or the case has no task)."""
    periods: list[int] = []
    for task in tasks:
        if not task.delivered:
            periods.append(WITHOUT_RESULT_YEARS)
        elif task.item_years is None:
            return None
        else:
            periods.append(task.item_years)
    return years_later(ended_on, max(periods)) if periods else None


def past_retention(last_day_kept: date | None, today: date) -> bool:
    return last_day_kept is not None and today > last_day_kept
