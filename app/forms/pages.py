"""The merged form page: /life-events/{code}/apply."""

from __future__ import annotations

from litestar import Controller


class ApplyPages(Controller):
    include_in_schema = False
