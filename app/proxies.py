"""Who the client is: the peer address, or what a trusted reverse proxy says it is.

`X-Forwarded-For` is just a header: anyone can send one. Believing it from any peer
let one client rotate it and pose as a crowd of networks (past the per-network cap
and rate limit). So it is believed only from peers named in
`OUTAGEWATCH_TRUSTED_PROXIES` (addresses or CIDRs; empty, the default, trusts none),
and then read from the right: the first address that is not itself a trusted proxy
is the client. A hop that is not an IP address ends the walk at the last address a
trusted proxy vouched for, so junk cannot become a network of its own.

This is the one place the client address is derived: the ASGI app rewrites
`scope["client"]` here before the intake fast path and FastAPI see the request, and
uvicorn's own proxy-header handling is switched off (`app.connections.server_options`), so every
route, and every way of running the app, agrees.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(text: str) -> IPAddress | None:
    """An address from a header hop (`1.2.3.4`, `1.2.3.4:80`, `[::1]:80`, `::1`).

    >>> parse_ip("203.0.113.9:443"), parse_ip("[2001:db8::1]:80"), parse_ip("::ffff:10.0.0.1")
    (IPv4Address('203.0.113.9'), IPv6Address('2001:db8::1'), IPv4Address('10.0.0.1'))
    >>> parse_ip("unknown") is None, parse_ip("") is None
    (True, True)
    """
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class TrustedProxies:
    """
    >>> p = TrustedProxies(["10.0.0.0/8", "127.0.0.1"])
    >>> p.client("127.0.0.1", [(b"x-forwarded-for", b"1.1.1.1, 203.0.113.9, 10.1.2.3")])
    '203.0.113.9'
    >>> p.client("198.51.100.1", [(b"x-forwarded-for", b"203.0.113.9")])  # not a proxy
    '198.51.100.1'
    >>> p.client("10.0.0.5", [(b"x-forwarded-for", b"evil, 10.0.0.9")])  # junk stops it
    '10.0.0.9'
    >>> TrustedProxies([]).client("127.0.0.1", [(b"x-forwarded-for", b"203.0.113.9")])
    '127.0.0.1'
    """

    def __init__(self, entries: Iterable[str]) -> None:
        networks = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ValueError(
                    f"OUTAGEWATCH_TRUSTED_PROXIES: {entry!r} is not an IP address or network "
                    "(use addresses or CIDRs such as 127.0.0.1,10.0.0.0/8)"
                ) from None
        self.networks = tuple(networks)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, ip: IPAddress | None) -> bool:
        return ip is not None and any(ip in net for net in self.networks)

    def client(self, peer: str, headers: Iterable[tuple[bytes, bytes]]) -> str:
        """The client's address for a request that came from `peer`."""
        if not self.networks or not self.trusts(parse_ip(peer)):
            return peer
        values = [v for k, v in headers if k == b"x-forwarded-for"]
        if not values:
            return peer
        address = peer
        for hop in reversed(b",".join(values).decode("latin-1").split(",")):
            ip = parse_ip(hop)
            if ip is None:
                break
            address = str(ip)
            if not self.trusts(ip):
                break
        return address

    def apply(self, scope: dict[str, Any] | Any) -> None:
        """Rewrite an ASGI scope's client (and scheme) from a trusted proxy's headers."""
        if not self.networks or scope["type"] not in ("http", "websocket"):
            return
        peer = scope.get("client")
        host = peer[0] if peer else ""
        if not self.trusts(parse_ip(host)):
            return
        headers = scope["headers"]
        address = self.client(host, headers)
        if address != host:
            scope["client"] = (address, 0)
        for name, value in headers:
            if name == b"x-forwarded-proto" and value in (b"http", b"https"):
                scope["scheme"] = value.decode()


class ProxyHeaders:
    """The same rewrite as ASGI middleware, for apps without the fast path (the
    broker's intake node)."""

    def __init__(self, app: Any, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.proxies.apply(scope)
        await self.app(scope, receive, send)
