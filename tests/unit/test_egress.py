"""The egress rules as data: what a destination is, which names a configuration may pick,
what is allowed and blocked, and the routing rules that put them in force."""

from __future__ import annotations

import pytest

from jobmanager.domain.egress import (
    BLOCKED_RANGES,
    Allowed,
    Destination,
    EgressRuleError,
    allowed,
    blocked,
    check_names,
    parse_destination,
)
from jobmanager.engine.network import Egress, NetworkStack, host_addresses

STACK = NetworkStack("bwrap", "slirp4netns", "nsenter", "ip")


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("10.20.0.0/16", Destination("10.20.0.0/16")),
        ("10.20.1.7/16", Destination("10.20.0.0/16")),
        ("10.1.2.3", Destination("10.1.2.3/32")),
        ("fd00::/8", Destination("fd00::/8")),
        ("10.1.2.3:5432", Destination("10.1.2.3", 5432)),
        ("[fd00::1]:5432", Destination("fd00::1", 5432)),
        ("PyPI.Internal.:443", Destination("pypi.internal", 443)),
        (" mirror:1 ", Destination("mirror", 1)),
    ],
)
def test_a_destination_is_a_network_an_address_or_host_and_port(
    text: str, parsed: Destination
) -> None:
    assert parse_destination(text) == parsed


@pytest.mark.parametrize(
    "text",
    [
        "",
        "pypi.internal",
        "10.1.2.3:0",
        "10.1.2.3:65536",
        "a b:80",
        "-bad.example:80",
        "[not-v6]:80",
        "10.1.2.3:",
        "x" * 301,
        "10.0.0.0/33",
        "[fd00::1]",
        "http://x:80",
    ],
)
def test_anything_else_is_refused_saying_what_a_destination_is(text: str) -> None:
    with pytest.raises(EgressRuleError):
        parse_destination(text)


def test_destinations_read_back_as_written() -> None:
    assert str(Destination("fd00::1", 5432)) == "[fd00::1]:5432"
    assert str(Destination("pypi.internal", 443)) == "pypi.internal:443"
    assert str(Destination("10.0.0.0/8")) == "10.0.0.0/8"


def test_a_configuration_picks_among_the_service_s_names_only() -> None:
    named = {"mirror": "pypi.internal:443"}
    assert check_names(["mirror", "mirror"], named) == ["mirror"]
    with pytest.raises(EgressRuleError, match="it names mirror"):
        check_names(["10.0.0.0/8"], named)
    with pytest.raises(EgressRuleError, match="named no destinations"):
        check_names(["mirror"], {})


def test_allowed_joins_the_service_s_list_and_the_picked_names() -> None:
    named = {"mirror": "pypi.internal:443", "db": "10.1.2.3:5432"}
    found = allowed(["10.9.0.0/16", "mirror"], named, ["db", "mirror", "gone"])
    assert found == (
        Allowed(Destination("10.9.0.0/16")),
        Allowed(Destination("pypi.internal", 443), "mirror"),
        Allowed(Destination("10.1.2.3", 5432), "db"),
    )


def test_blocked_are_the_ranges_then_the_host_s_addresses() -> None:
    ranges = [cidr for cidr, _ in BLOCKED_RANGES]
    assert {
        "169.254.0.0/16",
        "fe80::/10",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",
    } <= set(ranges)
    assert blocked(["192.0.2.2/32"]) == (*ranges, "192.0.2.2/32")


def test_the_host_s_addresses_without_loopback() -> None:
    found = host_addresses([["127.0.0.1", "::1"], ["192.0.2.2", "fe80::1%eth0", "fd00::2"]])
    assert found == ("192.0.2.2/32", "fd00::2/128", "fe80::1/128")


def test_the_routing_rules_allow_the_resolver_and_allowances_before_the_blocked_table() -> None:
    rules = Egress(
        STACK,
        blocked=("10.0.0.0/8", "fc00::/7", "192.0.2.2/32"),
        allowed=(("10.1.2.3", 5432), ("10.9.0.0/16", None), ("fd00::1", 80)),
    ).rules()
    assert rules.splitlines() == [
        "rule add pref 100 to 10.0.2.3 lookup main",
        "rule add pref 100 to 10.1.2.3/32 ipproto tcp dport 5432 lookup main",
        "rule add pref 100 to 10.1.2.3/32 ipproto udp dport 5432 lookup main",
        "rule add pref 100 to 10.9.0.0/16 lookup main",
        "rule add pref 200 lookup 200",
        "route add prohibit 10.0.0.0/8 table 200",
        "route add prohibit 192.0.2.2/32 table 200",
    ]
