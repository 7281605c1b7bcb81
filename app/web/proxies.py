"""The client's own address behind a reverse proxy (TRUSTED_PROXIES).

Behind a TLS proxy every request arrives from the proxy's address: limits keyed by address would
lump every resident together, and the audit log would name the proxy. The proxy says who it
serves in X-Forwarded-For; that header is believed only when the peer itself is a trusted proxy
(anyone else can write it), and only as far back as the chain runs through trusted proxies.

The middleware rewrites `scope["client"]`, so everything that reads `request.client` (audit,
rate limits, the tracking-scan counter) sees the same address: one place, no second rule.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from litestar.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.5:51234"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: Address, networks: Iterable[Network]) -> bool:
    return any(address in network for network in networks)


def forwarded_client(peer: str | None, forwarded_for: list[str], networks: tuple[Network, ...]) -> str | None:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the right-most
    address of X-Forwarded-For that is not itself a trusted proxy. A malformed entry ends the walk
    (the request keeps the last address we could trust), so a forged header never picks the address."""
    if peer is None or not networks:
        return peer
    current = _address(peer)
    if current is None or not _trusted(current, networks):
        return peer
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break
        current = address
        if not _trusted(address, networks):
            break
    return str(current)


def forwarded_client_middleware(trusted_proxies: tuple[str, ...]) -> Callable[[ASGIApp], ASGIApp]:
    """An ASGI middleware (first in the stack) that puts the forwarded client address into the scope; without trusted
    proxies no header is believed, so there is no layer at all."""
    networks = tuple(ipaddress.ip_network(cidr) for cidr in trusted_proxies)

    def middleware(app: ASGIApp) -> ASGIApp:
        if not networks:
            return app

        async def handle(scope: Scope, receive: Receive, send: Send) -> None:
            # Not every ASGI server sends "client" (Litestar's scope types say it is always there).
            peer: tuple[str, int] | None = cast("Mapping[str, Any]", scope).get("client")
            if scope["type"] in ("http", "websocket") and peer:
                host, port = peer
                forwarded_for = [
                    value.decode("latin-1") for name, value in scope["headers"] if name == b"x-forwarded-for"
                ]
                client = forwarded_client(host, forwarded_for, networks) if forwarded_for else host
                if client != host:
                    scope["client"] = (client, port)  # type: ignore[typeddict-item]
            await app(scope, receive, send)

        return handle

    return middleware
