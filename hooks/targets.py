"""Where a webhook may go (WEBHOOK_ALLOWED_HOSTS): a URL we will POST to from inside the government network is a
way for whoever sets it to make us send requests (SSRF), so a target must be named in the setting — a host name
(*.suffix allowed) or an address or CIDR — and every address a name resolves to must be public unless that address
is listed as well (an intranet department system: its name and its network both listed). Checked when a client
subscribes, and again on every request the worker makes (the name's addresses at connection time, so a name that
changes its answer after the check gains nothing); redirects are not followed.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from hooks.models import URL_MAX

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(allowed: tuple[str, ...]) -> list[Network]:
    found: list[Network] = []
    for entry in allowed:
        try:
            found.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    return found


def _address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def address_allowed(address: str, allowed: tuple[str, ...]) -> bool:
    """A public address, or one inside a listed network (loopback and private ones only so)."""
    parsed = _address(address)
    if parsed is None:
        return False
    return any(parsed in network for network in _networks(allowed)) or (parsed.is_global and not parsed.is_multicast)


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """A listed name (or under a listed *.suffix); an address only when inside a listed network."""
    host = host.lower().rstrip(".")
    parsed = _address(host)
    if parsed is not None:
        return any(parsed in network for network in _networks(allowed))
    for pattern in allowed:
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
        if host == pattern:
            return True
    return False


def url_problem(url: str, allowed: tuple[str, ...]) -> str | None:
    """Why this webhook URL is refused, in Chinese; None when it may be subscribed."""
    if not allowed:
        return "本平台未开放回调地址（WEBHOOK_ALLOWED_HOSTS 未设置），请联系平台管理员"
    if len(url) > URL_MAX:
        return f"回调地址不能超过{URL_MAX}个字符"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        return "回调地址格式不正确，应为 https://主机/路径"
    if parts.username or parts.password or not host or parts.fragment:
        return "回调地址格式不正确，应为 https://主机/路径（不含用户名、密码和#片段）"
    # Plain http only to an address listed as such (a receiver inside the government network, a test's own).
    literal = _address(host) is not None
    if parts.scheme != "https" and not (parts.scheme == "http" and literal):
        return "回调地址必须使用 https"
    if not host_allowed(host, allowed):
        return f"回调主机 {host} 不在平台允许的范围内（WEBHOOK_ALLOWED_HOSTS），请联系平台管理员"
    return None
