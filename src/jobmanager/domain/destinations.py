"""Where webhook deliveries may go: public addresses, and the networks the operator allows.

A tenant names a receiver by URL, and the service connects to it from inside the
operator's network. Without a rule, a tenant could aim deliveries at the service's own
database, broker or API, at the cloud's metadata service, or at anything else only the
service can reach, and read from the delivery log which ports answer. So a delivery goes
only to an address that is public — globally routable unicast, not loopback, private,
link-local, shared (CGNAT), multicast, reserved or unspecified, nor an IPv6 form that
carries such an IPv4 address (mapped, 6to4, Teredo, NAT64) — or to one in a network the
operator allows (`Destinations.allowed`).

The check is made twice: on a URL whose host is a literal address, when the webhook is
made (`literal_address`: every form a resolver reads as an address, `2130706433` and
`0177.0.0.1` included), and on every address a host name resolves to, when a delivery
connects (`jobmanager.service.vetted_http`).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from urllib.parse import urlsplit

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

LOOPBACK_NETWORKS: tuple[IPNetwork, ...] = (IPv4Network("127.0.0.0/8"), IPv6Network("::1/128"))
# NAT64's IPv6 addresses (RFC 6052): a gateway turns each into the IPv4 address it ends with.
_NAT64 = IPv6Network("64:ff9b::/96")
# The old numeric forms of an IPv4 address that inet_aton, and so the resolver, accept:
# 1 to 4 parts, each decimal, octal (leading 0) or hexadecimal (0x).
_IPV4_CHARACTERS = frozenset("0123456789abcdefxABCDEFX.")
REFUSED_BECAUSE = (
    "webhooks are delivered to public addresses only, unless the operator allows the network"
)


@dataclass(frozen=True)
class Destinations:
    """The rule for one service: public addresses, plus the networks in `allowed`."""

    allowed: tuple[IPNetwork, ...] = ()

    def refusal(self, address: IPAddress) -> str | None:
        """None when a delivery may go to `address`; else what the address is, in words
        ("a loopback address")."""
        if any(address in network for network in self.allowed):
            return None
        mapped = address.ipv4_mapped if isinstance(address, IPv6Address) else None
        if mapped is not None:
            return self.refusal(mapped)
        return _not_public(address)

    def refusal_of_url(self, url: str) -> str | None:
        """Why a webhook's URL is refused when its host is a literal address, in words
        naming the address; None for a permitted address or a host name (names are
        checked when a delivery resolves them)."""
        host = urlsplit(url).hostname or ""
        address = literal_address(host)
        if address is None:
            return None
        kind = self.refusal(address)
        if kind is None:
            return None
        written = "" if str(address) == host else f" ({host})"
        return f"the URL's host {address}{written} is {kind}: {REFUSED_BECAUSE}"

    def refusal_of_resolved(self, host: str, addresses: list[IPAddress]) -> str | None:
        """Why a delivery to `host` is refused when it resolves to `addresses`: one refused
        address refuses the host (no trying the others: a resolver could answer the
        refused one first next time). The words name no address, which a tenant could
        otherwise use to map the names of the operator's network."""
        if any(self.refusal(address) is not None for address in addresses):
            return f"{host} resolves to an address that is not public: {REFUSED_BECAUSE}"
        return None

    def describe(self) -> str:
        """The rule in words, for the start-up log."""
        if not self.allowed:
            return "webhook deliveries go to public addresses only"
        networks = ", ".join(str(network) for network in self.allowed)
        return f"webhook deliveries go to public addresses and to {networks}"


def literal_address(host: str) -> IPAddress | None:
    """The address a URL's host (as `urlsplit` gives it: no brackets, lower case) names
    literally, in any form the resolver reads as an address; None for a name."""
    host = host.removesuffix(".")
    try:
        return ip_address(host)
    except ValueError:
        pass
    if not host or not set(host) <= _IPV4_CHARACTERS or not host[0].isdigit():
        return None
    try:
        return IPv4Address(socket.inet_aton(host))
    except OSError:  # not an address after all (`08`, `1.2.3.4.5`): a name to resolve
        return None


def _not_public(address: IPAddress) -> str | None:
    """What makes `address` unfit for a delivery, or None for a public one."""
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if address.is_reserved or not address.is_global:
        return "not a public address"
    carried = _carried_ipv4(address) if isinstance(address, IPv6Address) else None
    if carried is not None and _not_public(carried) is not None:
        return f"an IPv6 form of {carried}, which is {_not_public(carried)}"
    return None


def _carried_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address a 6to4, Teredo or NAT64 address leads to, if any."""
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None
