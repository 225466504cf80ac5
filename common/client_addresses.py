"""Which client a request comes from, as the web app's rate limits, the audit trail and the
verification guard (through the channels' per-client key) all count it.

An IPv6 client is its /64, which one subscriber usually has whole: counting each address would
let them rotate. Behind a reverse proxy every request comes from the proxy's address; the
client's is then the nearest `X-Forwarded-For` hop the trusted proxies did not add themselves.
Standard library only: both interpreters use it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(spec: str) -> tuple[Network, ...]:
    """`SUPPORTBOT_TRUSTED_PROXIES`: comma-separated addresses or networks.

    Raises:
        ValueError: for an entry that is neither.
    """
    return tuple(
        ipaddress.ip_network(item.strip(), strict=False) for item in spec.split(",") if item.strip()
    )


def client_group(
    peer: str, forwarded_for: str | None = None, trusted: Sequence[Network] = ()
) -> str:
    """The client of a request from `peer`, as one stable string."""
    host = peer
    if forwarded_for and _within(peer, trusted):
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            host = hop
            if not _within(hop, trusted):
                break
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _within(host: str, networks: Sequence[Network]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)
