"""Counting receipt-QR scans without a database write per scan.

The public tracking page is the hottest read in the system; a write per view would turn every scan
into an fsync. Counts are summed in memory per process and flushed every few seconds in one
statement. A crash loses at most the last few seconds of counts, which are statistics, not records.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter

from app.cases import store
from db.pool import DB

FLUSH_SECONDS = 5.0
log = logging.getLogger("app.scans")


class ScanCounter:
    def __init__(self) -> None:
        self._pending: Counter[int] = Counter()

    def add(self, case_id: int) -> None:
        self._pending[case_id] += 1

    async def flush(self, db: DB) -> int:
        """Write what has been counted; returns how many scans were written."""
        if not self._pending:
            return 0
        pending, self._pending = self._pending, Counter()
        try:
            await store.add_scans(db, list(pending.items()))
        except Exception:
            self._pending.update(pending)  # keep them for the next flush
            raise
        return sum(pending.values())

    async def run(self, db: DB) -> None:
        """Flush periodically until cancelled; then once more."""
        try:
            while True:
                await asyncio.sleep(FLUSH_SECONDS)
                try:
                    await self.flush(db)
                except Exception:  # the database may be briefly away; counts wait for the next round
                    log.warning("scan counts not flushed yet", exc_info=True)
        finally:
            with contextlib.suppress(Exception):
                await self.flush(db)
