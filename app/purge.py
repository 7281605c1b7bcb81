"""What `python -m app purge` removes once its retention has passed (app/retention/rules.py): the personal data of
finished cases, and forms never sent. Each unit forgets its own rows through its own store; this module only puts
them in one transaction per batch of cases, with one audit row per case purged (its number, dates and counts: no
personal data), so that nothing is removed unaudited and a run cut short resumes where it stopped (a purged case is
never examined again)."""

from __future__ import annotations

from datetime import date

import msgspec

from app.cases import retention as case_retention
from app.cases.models import ForgottenForms, PurgedCase
from app.catalogue import service as catalogue
from app.consents import service as consents
from app.consultations import service as consultations
from app.consultations.models import Forgotten
from app.reviews import service as reviews
from app.sms import service as sms
from auth.audit import audit
from db.pool import Tx


class RetentionReport(msgspec.Struct, kw_only=True):
    """What one run removed, for its summary line."""

    examined: int = 0
    cases: int = 0
    uploads: int = 0
    upload_bytes: int = 0
    consultation_files: int = 0  # 征求意见's files, the question's and the answer's
    consultation_file_bytes: int = 0
    consultation_words: int = 0  # consultations whose question and answer were forgotten
    notes: int = 0
    consent_requests: int = 0
    phones: int = 0
    review_texts: int = 0
    # Items declaring no retention: their delivered cases are kept, and the summary names them.
    items_without_retention: list[str] = msgspec.field(default_factory=list[str])
    forms: ForgottenForms = msgspec.field(default_factory=lambda: ForgottenForms(drafts=0, uploads=0, upload_bytes=0))


async def purge_past_retention(
    conn: Tx, today: date, *, page_size: int = case_retention.CASES_PER_PAGE
) -> RetentionReport:
    """Every case past its retention today, a page at a time (a city has millions), then forms never sent."""
    years_by_item = await catalogue.retention_years_by_item(conn)
    report = RetentionReport(items_without_retention=sorted(code for code, y in years_by_item.items() if y is None))
    after = None
    while True:
        page = await case_retention.past_retention_page(conn, years_by_item, today, after=after, limit=page_size)
        report.examined += page.examined
        if page.due:
            async with conn.transaction():
                purged = await case_retention.forget_case_data(conn, page.due, years_by_item, today)
                await _forget_the_rest(conn, purged, today, report)
        if page.next_after is None:
            break
        after = page.next_after
    report.forms = await case_retention.forget_unsent_forms(conn, today)
    return report


async def _forget_the_rest(tx: Tx, purged: list[PurgedCase], today: date, report: RetentionReport) -> None:
    """What the other units hold of the cases just purged, and the audit row of each."""
    if not purged:
        return
    ids = [case.case_id for case in purged]
    requests = await consents.forget_of_cases(tx, ids)
    consulted = await consultations.forget_of_cases(tx, ids, today)
    phones = await sms.forget_case_phones(tx, ids)
    texts = await reviews.forget_texts_of_cases(tx, ids)
    nothing_consulted = Forgotten()
    for case in purged:
        await audit(
            tx,
            None,
            "case.purge",
            "ok",
            subject=f"case:{case.case_no}",
            actor="cli",
            ended_on=case.ended_on.isoformat(),
            kept_until=case.kept_until.isoformat(),
            answers=True,
            uploads=case.uploads,
            upload_bytes=case.upload_bytes,
            consultation_files=consulted.get(case.case_id, nothing_consulted).files,
            consultation_file_bytes=consulted.get(case.case_id, nothing_consulted).file_bytes,
            consultation_words=consulted.get(case.case_id, nothing_consulted).words,
            notes=case.notes,
            consent_requests=requests.get(case.case_id, 0),
            sms_phone=case.case_id in phones,
            review_texts=texts.get(case.case_id, 0),
        )
        report.cases += 1
        report.uploads += case.uploads
        report.upload_bytes += case.upload_bytes
        report.notes += case.notes
    report.consent_requests += sum(requests.values())
    report.consultation_files += sum(forgotten.files for forgotten in consulted.values())
    report.consultation_file_bytes += sum(forgotten.file_bytes for forgotten in consulted.values())
    report.consultation_words += sum(forgotten.words for forgotten in consulted.values())
    report.phones += len(phones)
    report.review_texts += sum(texts.values())
