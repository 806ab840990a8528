"""Who is at the other end: the peer's address, or behind a trusted proxy (the nginx cache) the
address the proxy says it serves. Counting logins per nginx would lock everyone out at once."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any

from litestar import Request


def _trusted(address: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: Request[Any, Any, Any], trusted: tuple[IPv4Network | IPv6Network, ...]) -> str:
    """The nearest address in X-Forwarded-For that is not a trusted proxy (hops are appended
    left to right, so anything left of it could have been written by the client itself)."""
    peer = request.client.host if request.client else "unknown"
    if not _trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer
