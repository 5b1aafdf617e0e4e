"""Where a job with network may connect: everywhere public, never the worker host itself
nor its operator's private network, except what the operator allows.

A job whose configuration says `network: allowed` reaches public addresses. Blocked
whatever is allowed: the worker host's loopback (its database, broker, API and metrics
port). Blocked unless allowed: the worker host's own addresses, link-local addresses
(the cloud metadata service at 169.254.169.254), private ranges and the other
non-public ones below. An allowed destination wins over a blocked range.

The operator allows destinations in the service's settings, in two lists:
`JOBMANAGER_NETWORK_ALLOW`, destinations every job with network may reach, and
`JOBMANAGER_NETWORK_DESTINATIONS`, named destinations a configuration may allow by
name (`networkAllow: ["mirror"]`). A configuration's owner is a tenant, whom the
rules hold: it can pick among what the operator named, never allow an address itself.
A destination is a network (`10.20.0.0/16`), an address (`10.1.2.3`, `fd00::1`), or
a host (address or name) with a port (`10.1.2.3:5432`, `[fd00::1]:5432`,
`pypi.internal:443`; TCP and UDP). A name is resolved when an environment starts.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Blocked unless allowed, with why.
BLOCKED_RANGES = (
    ("169.254.0.0/16", "link-local: cloud metadata services"),
    ("fe80::/10", "link-local"),
    ("10.0.0.0/8", "private"),
    ("172.16.0.0/12", "private"),
    ("192.168.0.0/16", "private"),
    ("fc00::/7", "private (unique local)"),
    ("100.64.0.0/10", "shared address space: carrier-grade NAT, some clouds' services"),
    ("0.0.0.0/8", "this network"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
)
# Blocked whatever is allowed (the job's stack never routes there), and blocked unless
# allowed but known to the worker only, in words.
ALWAYS_BLOCKED = "the worker host's loopback"
HOST_ADDRESSES = "the worker host's own addresses"
NOTHING = ("0.0.0.0/0", "::/0")  # what a job without network reaches: its own loopback only
MAX_DESTINATIONS = 100
MAX_DESTINATION_CHARS = 300
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}"
_NAME = re.compile(NAME_PATTERN)
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_WITH_PORT = re.compile(r"(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:\[\]]+)):(?P<port>[0-9]{1,5})")


class EgressRuleError(ValueError):
    """A destination or a name that is not one; the message says why."""


@dataclass(frozen=True)
class Destination:
    """A destination as the rules use it: a network or a host, and a port or every port."""

    host: str
    port: int | None = None

    def __str__(self) -> str:
        if self.port is None:
            return self.host
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_destination(text: str) -> Destination:
    """`text` as a destination (see the module's words); `EgressRuleError` if it is none."""
    text = text.strip()
    if not text or len(text) > MAX_DESTINATION_CHARS:
        raise EgressRuleError(f"a destination is 1 to {MAX_DESTINATION_CHARS} characters")
    try:
        return Destination(str(ipaddress.ip_network(text, strict=False)))
    except ValueError:
        pass
    matched = _WITH_PORT.fullmatch(text)
    if matched is None:
        raise EgressRuleError(
            f"{text[:60]!r} is not a network, an address or host:port "
            "(e.g. 10.20.0.0/16, 10.1.2.3, pypi.internal:443, [fd00::1]:5432)"
        )
    port = int(matched["port"])
    if not 1 <= port <= 65535:
        raise EgressRuleError(f"{text[:60]!r}: the port must be 1 to 65535")
    host = matched["v6"] or matched["host"]
    try:
        return Destination(str(ipaddress.ip_address(host)), port)
    except ValueError:
        pass
    if matched["v6"] is not None or not _is_host_name(host):
        raise EgressRuleError(f"{text[:60]!r}: {host[:60]!r} is neither an address nor a name")
    return Destination(host.lower().rstrip("."), port)


def _is_host_name(host: str) -> bool:
    labels = host.rstrip(".").split(".")
    return len(host) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)


def check_names(names: Sequence[str], named: Mapping[str, str]) -> list[str]:
    """A configuration's `networkAllow`: names of the service's named destinations, each
    once; `EgressRuleError` naming an unknown one and the ones there are."""
    if len(names) > MAX_DESTINATIONS:
        raise EgressRuleError(f"at most {MAX_DESTINATIONS} destinations")
    for name in names:
        if name not in named:
            offered = ", ".join(sorted(named)) or "none: the operator named no destinations"
            raise EgressRuleError(
                f"{name[:60]!r} is not a destination this service names "
                f"(JOBMANAGER_NETWORK_DESTINATIONS); it names {offered}"
            )
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class Allowed:
    """An allowed destination and where the allowance comes from: the service's
    `JOBMANAGER_NETWORK_ALLOW` (`name` None) or a named destination the configuration
    picked."""

    destination: Destination
    name: str | None = None


def allowed(
    service: Sequence[str], named: Mapping[str, str], picked: Sequence[str]
) -> tuple[Allowed, ...]:
    """What a configuration that picked `picked` of the `named` destinations may reach
    beyond the public addresses, with every job's `service` allowances (a name of
    `named` there stands for its destination). Names no longer named are left out."""
    found = [
        Allowed(parse_destination(named[entry]), entry)
        if entry in named
        else Allowed(parse_destination(entry))
        for entry in service
    ]
    found += [Allowed(parse_destination(named[name]), name) for name in picked if name in named]
    return tuple(dict.fromkeys(found))


def blocked(host_addresses: Sequence[str] = ()) -> tuple[str, ...]:
    """The networks blocked unless allowed, then the host's own addresses (as given)."""
    return tuple(dict.fromkeys([cidr for cidr, _ in BLOCKED_RANGES] + list(host_addresses)))
