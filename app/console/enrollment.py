"""补发开户码 at the window (/console/enrollment): a resident whose phone is lost or new, or who has no phone on
the population register, shows their ID card; the clerk checks it in person and issues a one-time code.

The same in-person check as receiving a walk-in (app.console.service.check_in_person: the number's checksum, the
name as registered, the clerk's tick, the hall's region), audited; the account holder is told who issued the code,
in which hall and when (app.accounts.service.issue_enrollment_code). The code is shown once, on this answer only,
printable, and never cached.
"""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import URLEncodedBody
from litestar.response import Template

from app.console import service
from app.console.models import EnrollmentIssued, InPersonCheck

# The form's reading of the clerk's ID-card check, shared with 窗口收件.
from app.console.routes import CLERK
from app.errors import FieldErrors
from app.web.params import AppSettings, Cipher, Db
from app.web.texts import translated
from app.web.types import AnyRequest
from auth.access import caller
from auth.enrollment import DEFAULT_TTL


def _page(
    *,
    issued: EnrollmentIssued | None = None,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Template:
    return Template(
        "console_enrollment.html",
        context={
            "nav": "console",
            "issued": issued,
            "errors": errors or {},
            "form": form or {},
            "hours": int(DEFAULT_TTL.total_seconds() // 3600),
        },
        status_code=400 if errors else 200,
    )


class EnrollmentPages(Controller):
    path = "/console/enrollment"
    include_in_schema = False

    @get("", opt=CLERK)
    async def form(self) -> Template:
        return _page()

    @post("", opt=CLERK)
    async def issue(
        self, request: AnyRequest, db: Db, cipher: Cipher, settings: AppSettings, data: URLEncodedBody[dict[str, str]]
    ) -> Template:
        check = InPersonCheck.from_form(data)
        try:
            issued = await service.issue_enrollment_code(
                db, cipher, settings.secret_key, request, caller(request), check
            )
        except FieldErrors as exc:
            return _page(errors=translated(exc.errors), form={"name": check.name, "id_number": check.id_number})
        return _page(issued=issued)
