"""How many failed sign-ins a caller may make: the rule, without the counting.

Checking a client secret costs a deliberately slow hash (scrypt), so wrong secrets sent
without end would be a way to burn the service's cores, as well as to guess. Failures
are counted per minute on two keys: the address they come from, and the pair of that
address and the client id tried. A caller over either limit is refused before any hash is
computed, until its minute is over. The pair's limit is the tighter: someone who mistypes
a secret is slowed without shutting out the others behind the same address, and guessing
one client's secret from one address gets ten tries a minute; the address's limit stops
one address from trying many client ids (an IPv6 caller counts as its /64). A client's
own holder, calling from elsewhere, is never slowed by someone else's failures.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import IPv6Address, ip_address, ip_network

WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class FailureLimits:
    """Failures allowed within `WINDOW`: per (client id, address), and per address."""

    per_client: int = 10
    per_address: int = 30

    def keys(self, client_id: str, address: str) -> dict[str, int]:
        """The counters an attempt counts on, each with its limit. The client id is hashed:
        it is whatever a caller sent, of any length."""
        tried = hashlib.sha256(client_id.encode()).hexdigest()[:32]
        where = caller_of(address)
        return {f"address {where}": self.per_address, f"client {tried} {where}": self.per_client}


def caller_of(address: str) -> str:
    """Whom an address stands for: an IPv4 address itself; an IPv6 address its /64, the
    least a host is given (one caller could otherwise try from 2^64 addresses)."""
    try:
        parsed = ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(parsed, IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


@dataclass(frozen=True)
class FailureCount:
    """One counter: failures since `window_start`."""

    window_start: datetime
    failures: int

    def wait(self, limit: int, now: datetime) -> int | None:
        """Seconds before another attempt may be made (at least 1), or None when one may
        be made now: under the limit, or the window is over."""
        ends = self.window_start + WINDOW
        if self.failures < limit or now >= ends:
            return None
        return max(1, math.ceil((ends - now).total_seconds()))


def wait_seconds(
    counts: dict[str, FailureCount], limits: dict[str, int], now: datetime
) -> int | None:
    """The longest wait any counter imposes, or None when the attempt may go ahead."""
    waits = [
        wait
        for key, limit in limits.items()
        if key in counts and (wait := counts[key].wait(limit, now)) is not None
    ]
    return max(waits, default=None)
