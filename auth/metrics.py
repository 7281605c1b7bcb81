"""What the security side counts for the operations team's /metrics (app/ops/metrics.py serves them).

Labels are code constants only — an audit action and outcome, a limit's kind — never a subject, an address or
anything a caller typed, so the number of series stays fixed and no personal data reaches a metric.
"""

from __future__ import annotations

import re

from prometheus_client import Counter

AUDIT_EVENTS = Counter(
    "ywtb_audit_events",
    "Audited actions by action and outcome (signin/refused: failed sign-ins; */forbidden: refused access)",
    ["action", "outcome"],
)
RATE_LIMIT_REFUSALS = Counter(
    "ywtb_rate_limit_refusals", "Requests refused with 429 by a rate limit, by the limit's kind", ["limit"]
)

_CONSTANT = re.compile(r"[a-z][a-z0-9_.-]{0,39}")


def label(value: str) -> str:
    """A label value as the code spells it; anything else (which would be a bug) is counted as `other`."""
    return value if _CONSTANT.fullmatch(value) else "other"


def audited(action: str, outcome: str) -> None:
    AUDIT_EVENTS.labels(label(action), label(outcome)).inc()


def refused(subject_or_kind: str) -> None:
    """A 429: counted by the kind of limit (`ip`, `signup-number`…, the part of a subject before its colon)."""
    RATE_LIMIT_REFUSALS.labels(label(subject_or_kind.split(":", 1)[0])).inc()
