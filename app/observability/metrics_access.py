"""Who may read ``/metrics``: clients whose address is inside ``METRICS_ALLOW``.

The address is ``request.remote_addr``, so behind nginx it is the client ProxyFix took from
the trusted ``X-Forwarded-For`` entries (``TRUSTED_PROXY_HOPS``), never the proxy itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from flask import current_app, request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def address_allowed(address: str | None, networks: Iterable[Network]) -> bool:
    """Whether ``address`` lies in one of ``networks``; an IPv4-mapped IPv6 address counts
    as its IPv4 address, and anything that is not an address is refused."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def metrics_client_allowed() -> bool:
    """Whether this request's client may read the metrics (``METRICS_ALLOW``)."""
    return address_allowed(request.remote_addr, current_app.config["METRICS_ALLOW"])
