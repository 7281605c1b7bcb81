"""GET /api/v1/life-events/{code}/form: the merged form, prefilled for the signed-in resident."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from app.catalogue import store as catalogue_store
from app.forms import service
from app.forms import store as form_store
from app.forms.answers import FieldAnswer, FormAnswer, MaterialsAnswer, SectionAnswer
from app.forms.models import ECertificate, MergedForm, Prefill
from app.people import store as people_store
from app.web.params import Cipher, Db
from auth.access import public
from auth.models import CurrentUser
from auth.pii import PiiCipher


async def _personal_sources(
    db: Db, cipher: PiiCipher, user: CurrentUser | None, form: MergedForm
) -> tuple[dict[str, Prefill], list[ECertificate]]:
    if user is None or user.person_id is None:
        return {}, []
    person = await people_store.get_person(db, user.person_id)
    if person is None:
        return {}, []
    certificates = await form_store.person_certificates(db, person.id)
    # The form shows the applicant's own number masked; the case takes it from the account, not the page.
    values = service.prefill(form, person.name, person.phone, person.id_number_masked, certificates)
    return values, certificates


def _answer(form: MergedForm, values: dict[str, Prefill], certificates: list[ECertificate]) -> FormAnswer:
    held, to_upload = service.split_materials(form, certificates)
    return FormAnswer(
        life_event=form.life_event,
        checksum=form.checksum,
        sections=[
            SectionAnswer(
                key=section.key,
                title=section.title,
                fields=[
                    FieldAnswer(
                        key=f.key,
                        label=f.label,
                        type=f.type,
                        required=f.required,
                        prefill=values.get(f.key),
                        options=f.options,
                        help=f.help,
                        max_length=f.max_length,
                    )
                    for f in section.fields
                ],
            )
            for section in form.sections
        ],
        materials=MaterialsAnswer(
            held=[service.held_material(need, cert) for need, cert in held],
            to_upload=to_upload,
            issued_in_case=[m for m in form.materials if m.issued_by_item is not None],
        ),
    )


class FormApi(Controller):
    path = "/api/v1/life-events"
    tags = ["forms"]

    @get("/{code:str}/form", opt=public(), summary="The merged form of a life event (prefilled when signed in)")
    async def merged_form(
        self, request: Request[Any, Any, Any], db: Db, cipher: Cipher, code: FromPath[str]
    ) -> FormAnswer:
        items = await catalogue_store.items_of_life_event(db, code)
        if not items:
            raise NotFoundException("没有找到这件事")
        form = service.merge_form(code, items, await form_store.load_catalogue(db))
        user = request.scope.get("user")
        values, certificates = await _personal_sources(
            db, cipher, user if isinstance(user, CurrentUser) else None, form
        )
        return _answer(form, values, certificates)
