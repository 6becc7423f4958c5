"""The client's address behind a load balancer: ``X-Forwarded-For``, believed only from trusted proxies.

Per-address limits (chat sockets and message rates, session and form rates) and the loopback-only
``/metrics`` default read ``request.remote``. Behind a proxy that is the proxy's address for every
customer, so one site-wide budget would be shared by all of them, and a proxy on the same host would
make every visitor look like loopback. With ``SWITCHBOARD_TRUSTED_PROXIES`` set, a request from one
of those networks is re-addressed to the nearest untrusted hop in ``X-Forwarded-For``; anyone else's
header is ignored, so a client cannot pick its own address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def parse_networks(spec: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 127.0.0.1"`` → networks; raises ValueError naming the bad entry."""
    out = []
    for item in (s.strip() for s in spec.split(",")):
        if item:
            try:
                out.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"not an address or network: {item!r}") from None
    return tuple(out)


def _trusted(address: str | None, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    return any(ip in n for n in networks)


def client_address(remote: str | None, forwarded_for: str, networks: tuple[Network, ...]) -> str | None:
    """Walks the hops right to left, past trusted proxies, to the first address nobody vouches beyond."""
    if not _trusted(remote, networks):
        return remote
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()][-20:]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote  # garbage in the header: keep the proxy's own address
    return hops[0] if hops else remote


def middleware(networks: tuple[Network, ...]) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    @web.middleware
    async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        if networks:
            address = client_address(request.remote, request.headers.get("X-Forwarded-For", ""), networks)
            if address != request.remote:
                request = request.clone(remote=address)
        return await handler(request)

    return forwarded
