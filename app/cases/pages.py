"""Pages of a resident's cases: 我的办件, one case, the receipt (受理回执)."""

from __future__ import annotations

from litestar import Controller


class CasePages(Controller):
    include_in_schema = False
