"""Every route declares who may call it: a new route without a rule fails here before it ships."""

from pathlib import Path

from app.main import create_app
from auth.access import ACCESS_KEY, PUBLIC, ROLES, SIGNED_IN, ClientScopes
from auth.clients import SCOPES
from config.settings import load_settings


def test_every_route_declares_its_access_rule(tmp_path: Path) -> None:
    app = create_app(load_settings({"DATA_DIR": str(tmp_path)}))
    undeclared = []
    for route in app.routes:
        for handler in route.route_handlers:  # type: ignore[attr-defined]
            if handler.fn.__module__.startswith("litestar."):
                continue  # Litestar's own automatic OPTIONS answers
            rule = handler.opt.get(ACCESS_KEY)
            if isinstance(rule, ClientScopes):  # the data-exchange API: API clients holding one of these scopes
                valid = bool(rule) and rule <= set(SCOPES) and route.path.startswith("/api/exchange/")
            else:
                valid = rule in (PUBLIC, SIGNED_IN) or (isinstance(rule, frozenset) and rule and rule <= ROLES)
            if not valid:
                undeclared.append(f"{route.path} {sorted(getattr(handler, 'http_methods', []))}")
    assert undeclared == []
