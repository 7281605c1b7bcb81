"""GET /api/v1/life-events/{code}/form: the merged form, prefilled for the signed-in resident."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery

from app.cases import service as cases
from app.catalogue import store as catalogue_store
from app.forms import presenter, service
from app.forms import store as form_store
from app.forms.answers import FormAnswer
from app.web.params import Cipher, Db
from auth.access import public
from auth.models import CurrentUser


class FormApi(Controller):
    path = "/api/v1/life-events"
    tags = ["forms"]

    @get("/{code:str}/form", opt=public(), summary="The merged form of a life event (prefilled when signed in)")
    async def merged_form(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        cipher: Cipher,
        code: FromPath[str],
        on_behalf_of: FromQuery[str | None] = None,
    ) -> FormAnswer:
        items = await catalogue_store.items_of_life_event(db, code)
        if not items:
            raise NotFoundException("没有找到这件事")
        form = service.merge_form(code, items, await form_store.load_catalogue(db))
        user = request.scope.get("user")
        person_id = None
        if isinstance(user, CurrentUser) and (on_behalf_of or user.person_id):
            # A helper's client: the same server-side delegation check as every other use.
            person_id = await cases.subject_person(db, cipher, user, on_behalf_of, code, request)
        values, certificates = await presenter.personal_sources(db, person_id, form)
        return presenter.form_answer(form, values, certificates)
