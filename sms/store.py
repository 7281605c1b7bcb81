"""SQL for texts: the queued messages, their pgqueuer jobs and the per-number daily counts. The only store of
sms_messages and sms_daily_counts."""

from __future__ import annotations

import msgspec

from db.enqueue import enqueue_jobs_after
from db.pool import DB
from sms.models import CaseText, ClaimedSms, TextState

SEND_ENTRYPOINT = "sms.send"


# The text, and its sending queued (once per text: its dedupe key), in one statement; the text's id is the job's `ord`.
_QUEUE_CASE_TEXT = enqueue_jobs_after(
    """text AS (
           INSERT INTO sms_messages (phone, template, params, case_id, event_id, once_key)
           VALUES ($1, $6, $2, $3, $4, $5 || ':' || txid_current())
           ON CONFLICT (once_key) DO NOTHING RETURNING id)""",
    "SELECT $7::int, $8::text, convert_to(id::text, 'UTF8'), interval '0', 'sms:' || id, NULL::jsonb, id FROM text",
)


async def queue_case_text(tx: DB, text: CaseText, priority: int) -> int | None:
    """The text queued for the worker to send, with its job; its id, or None when this transaction has queued the
    same step for the case already (and nothing is queued again)."""
    row = await tx.fetchrow(
        _QUEUE_CASE_TEXT,
        text.phone,
        {"case_no": text.case_no, "step": text.step, "path": text.tracking_path}
        | ({"step_en": text.step_en} if text.step_en else {}),
        text.case_id,
        text.event_id,
        text.once_key,
        "case_step_en" if text.step_en else "case_step",
        priority,
        SEND_ENTRYPOINT,
    )
    return row["ord"] if row else None


async def claim(db: DB, message_id: int) -> ClaimedSms | None:
    """Count a try of a text still to send; None when it has ended (a repeated job)."""
    row = await db.fetchrow(
        """UPDATE sms_messages SET status = 'sending', attempts = attempts + 1
           WHERE id = $1 AND status IN ('created', 'sending', 'temporary-failure')
           RETURNING id, phone, template, params, attempts""",
        message_id,
    )
    return msgspec.convert(dict(row), ClaimedSms) if row else None


async def mark(db: DB, message_id: int, status: str, error: str | None, provider_id: str | None = None) -> None:
    await db.execute(
        "UPDATE sms_messages SET status = $2, last_error = $3, provider_id = coalesce($4, provider_id), "
        "sent_at = CASE WHEN $2 = 'delivered' THEN now() ELSE sent_at END WHERE id = $1",
        message_id,
        status,
        error,
        provider_id,
    )


async def end_unsent(db: DB, message_id: int, error: str) -> bool:
    """A text whose job the worker gave up on (db/jobs.py) ends as a technical failure, unless it had ended already;
    whether it had not."""
    status = await db.execute(
        "UPDATE sms_messages SET status = 'technical-failure', last_error = $2 "
        "WHERE id = $1 AND status IN ('created', 'sending', 'temporary-failure')",
        message_id,
        error,
    )
    return status != "UPDATE 0"


async def text_state(db: DB, message_id: int) -> TextState | None:
    row = await db.fetchrow("SELECT status, sent_at, last_error FROM sms_messages WHERE id = $1", message_id)
    return TextState(**dict(row)) if row else None


async def count_towards_cap(db: DB, phone: str, cap: int) -> bool:
    """Count one more text for the number today (Beijing time); False, counting nothing, when the cap is reached.
    One statement, so two hosts texting the same number at once cannot both pass the last place."""
    sent = await db.fetchval(
        """INSERT INTO sms_daily_counts AS c (phone, day, sent)
           VALUES ($1, (now() AT TIME ZONE 'Asia/Shanghai')::date, 1)
           ON CONFLICT (phone, day) DO UPDATE SET sent = c.sent + 1 WHERE c.sent < $2
           RETURNING sent""",
        phone,
        cap,
    )
    return sent is not None


async def sent_today(db: DB, phone: str) -> int:
    return (
        await db.fetchval(
            "SELECT sent FROM sms_daily_counts WHERE phone = $1 AND day = (now() AT TIME ZONE 'Asia/Shanghai')::date",
            phone,
        )
        or 0
    )


async def purge_counts(db: DB, keep_days: int = 2) -> int:
    status = await db.execute(
        "DELETE FROM sms_daily_counts WHERE day < (now() AT TIME ZONE 'Asia/Shanghai')::date - $1::integer", keep_days
    )
    return int(status.split()[-1])


async def purge_finished(db: DB, retention_days: int) -> int:
    status = await db.execute(
        "DELETE FROM sms_messages WHERE status IN ('delivered', 'permanent-failure', 'technical-failure') "
        "AND created_at < now() - make_interval(days => $1)",
        retention_days,
    )
    return int(status.split()[-1])
