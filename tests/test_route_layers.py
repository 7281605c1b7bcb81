"""Layers a request passes through only where they have work to do: the revalidation of unversioned static files on the
static files' router alone (app/web/assets.py), and no forwarded-address layer without trusted proxies
(app/web/proxies.py). Every other route's request used to pass through both, to find nothing to do."""

from __future__ import annotations

from pathlib import Path

from litestar.types import Receive, Scope, Send

from app.main import create_app
from app.web.assets import unversioned_static_middleware
from app.web.proxies import forwarded_client_middleware
from config.settings import load_settings


def test_unversioned_static_files_are_revalidated_by_a_layer_of_the_static_router_only(tmp_path: Path) -> None:
    app = create_app(load_settings({"DATA_DIR": str(tmp_path)}))
    layered = {
        route.path
        for route in app.routes
        for handler in route.route_handlers  # type: ignore[attr-defined]
        if unversioned_static_middleware in handler.resolve_middleware()
    }
    assert layered == {"/static/{file_path:path}"}


def test_without_trusted_proxies_there_is_no_forwarded_address_layer() -> None:
    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    assert forwarded_client_middleware(())(answer) is answer
    assert forwarded_client_middleware(("10.0.0.0/8",))(answer) is not answer
