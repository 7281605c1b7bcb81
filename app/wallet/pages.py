"""我的证照: /certificates (the resident's e-certificates and their minor children's), /certificates/{id} (one, with
its 亮证 QR code, refreshed before it expires), /certificates/{id}/qr (that code alone, for the refresh) and the public
/verify/{token} a scan opens. A package of its own because it draws the receipt's QR code (app.cases.qr), and
app.cases imports app.certificates."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, get
from litestar.params import FromPath
from litestar.response import Template

from app.calendar.service import today_in_china
from app.cases import corrections, qr
from app.catalogue import service as catalogue
from app.certificates import service as certificates
from app.certificates.sharing import SHARE_LIFETIME, ShareToken
from app.filing.service import own_person_id
from app.web.params import AppSettings, Cipher, Db
from app.web.types import AnyRequest
from auth.access import caller, public, roles
from i18n import _

RESIDENT = roles("resident")


def _shown(share: ShareToken, now: datetime) -> dict[str, object]:
    """The 亮证 code and how many seconds it has left by the server's clock: the page counts down from that, so a
    phone whose clock is wrong still refreshes in time (and never in a loop)."""
    left = min(SHARE_LIFETIME, share.expires_at - now)
    return {
        "share": share,
        "qr_svg": qr.qr_svg_inline(share.url, title=_("亮证二维码")),
        "seconds_left": int(left.total_seconds()),
    }


class WalletPages(Controller):
    include_in_schema = False

    @get("/certificates", opt=RESIDENT)
    async def wallet(self, request: AnyRequest, db: Db) -> Template:
        person_id = own_person_id(caller(request))
        return Template(
            "certificates.html",
            context={
                "nav": "me",
                "wallets": await certificates.wallet_of(db, person_id, today_in_china()),
                # 申请更正 is offered on the certificates a case issued, of a kind a correction item corrects.
                "correctable": await catalogue.correctable_kinds(db),
            },
        )

    @get("/certificates/{certificate_id:int}", opt=RESIDENT)
    async def certificate(
        self, request: AnyRequest, db: Db, cipher: Cipher, settings: AppSettings, certificate_id: FromPath[int]
    ) -> Template:
        """One certificate with its 亮证 code; a void one (replaced by a corrected certificate) says so instead, with a
        link to the one that replaced it; a corrected one says what was corrected and what it replaced."""
        person_id = own_person_id(caller(request))
        holder, certificate = await certificates.viewable(db, person_id, certificate_id, today_in_china())
        context: dict[str, object] = {
            "nav": "me",
            "holder": holder,
            "certificate": certificate,
            "replaced": await certificates.replaced_by_correction(db, certificate.id),
            "corrected": await corrections.what_corrected(db, cipher, certificate.id),
            "correctable": certificate.kind in await catalogue.correctable_kinds(db),
        }
        if not certificate.void:
            now = datetime.now(UTC)
            share = await certificates.share(
                db, request, settings.secret_key, settings.public_url, person_id, certificate_id, now
            )
            context |= _shown(share, now)
        return Template("certificate.html", context=context)

    @get("/certificates/{certificate_id:int}/qr", opt=RESIDENT)
    async def fresh_qr(
        self, request: AnyRequest, db: Db, settings: AppSettings, certificate_id: FromPath[int]
    ) -> Template:
        """A new 亮证 code before the shown one expires (certificate-share.js swaps it in)."""
        now = datetime.now(UTC)
        person_id = own_person_id(caller(request))
        share = await certificates.share(
            db, request, settings.secret_key, settings.public_url, person_id, certificate_id, now
        )
        return Template("partials/certificate_qr.html", context=_shown(share, now))

    # Personal (no-store): it names a holder, masked, and is only true for five minutes.
    @get("/verify/{token:str}", opt=public(personal=True))
    async def verify(self, db: Db, settings: AppSettings, token: FromPath[str]) -> Template:
        """What a scan of a shown certificate opens, for anyone: genuine and current or not, the holder masked."""
        checked = await certificates.verify(db, settings.secret_key, token, datetime.now(UTC))
        return Template("verify.html", context={"checked": checked})
