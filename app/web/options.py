"""OPTIONS without a handler per path (issue 20: a web worker's memory).

Litestar 2 gives every path an OPTIONS handler of its own (litestar/routes/http.py, HTTPRoute), each with its
signature model, parameters model and middleware stack: 194 of the app's 414 handlers, about 2 MB of each web worker,
and no setting leaves them out. What they answer here: every route of ours declares its access rule on its own handler
(auth/access.py), which the OPTIONS handler, made by Litestar, does not inherit; so the access guard refuses OPTIONS
on every path of ours, 403 as any route without a rule (fail closed). Only the paths whose router declares the rule
(Litestar's /schema, the static files) answer 204 with Allow. The app configures no CORS: there is no preflight to
answer.

`WithoutRefusedOptions` takes Litestar's OPTIONS handler out of each path where the guard would refuse it, as the path
is registered (before its middleware stack is built, so the worker never keeps it); routing then finds no OPTIONS there
and raises its 405, which `method_not_allowed` answers as the guard did: the same 403, for the whole app at once.
tests/test_options_requests.py pins what clients get.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router
from litestar.exceptions import MethodNotAllowedException, PermissionDeniedException
from litestar.handlers import HTTPRouteHandler
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute

from app.web import errors
from app.web.security import NO_STORE
from auth.access import UNDECLARED, declared_access

OPTIONS = "OPTIONS"


class WithoutRefusedOptions(ReceiveRoutePlugin):
    """Litestar calls `receive_route` for each of the app's routes once its handlers are registered, before routing is
    built."""

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute) or OPTIONS not in route.route_handler_map:
            return
        handler, _ = route.route_handler_map[OPTIONS]
        # Litestar's own (ours declare their rule: tests/test_access_rules.py), refused by the guard for want of one.
        if handler.fn.__module__.startswith("litestar.") and declared_access(handler) is None:
            # Out of the app's route and out of the router that made it (a controller is registered as a router of
            # its own, whose routes keep their handlers for as long as the app lives).
            for layer in handler.ownership_layers:
                if isinstance(layer, Router):
                    for held in layer.routes:
                        if isinstance(held, HTTPRoute) and handler in held.route_handlers:
                            _take_out(handler, held)
            _take_out(handler, route)


def _take_out(handler: HTTPRouteHandler, route: HTTPRoute) -> None:
    if handler in route.route_handlers:
        route.route_handlers.remove(handler)
    route.route_handler_map.pop(OPTIONS, None)
    route.methods.discard(OPTIONS)


def method_not_allowed(request: Request[Any, Any, Any], exc: MethodNotAllowedException) -> Response[Any]:
    """Routing's 405; for OPTIONS on a path without its handler, the guard's 403 that handler would have met, not
    stored by a cache (as every answer of a route without the public rule: app/web/security.py)."""
    if request.method != OPTIONS:
        return errors.http_exception_handler(request, exc)
    refused = PermissionDeniedException(UNDECLARED, headers={"Cache-Control": NO_STORE})
    return errors.http_exception_handler(request, refused)
