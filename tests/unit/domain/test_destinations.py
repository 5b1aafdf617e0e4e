"""Where webhook deliveries may go, pure rules: every way to write an address in a URL,
which addresses are public, what the operator's networks allow."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import pytest

from jobmanager.domain.destinations import LOOPBACK_NETWORKS, Destinations, literal_address

PUBLIC_ONLY = Destinations()


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),  # one decimal number
        ("0x7f000001", "127.0.0.1"),  # one hexadecimal number
        ("0177.0.0.1", "127.0.0.1"),  # octal parts
        ("0x7f.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),  # short forms: the last part fills the rest
        ("127.0.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),  # a trailing dot
        ("0", "0.0.0.0"),
        ("::1", "::1"),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
        ("0:0:0:0:0:0:0:1", "::1"),
    ],
)
def test_every_form_a_resolver_reads_as_an_address_is_one(host: str, address: str) -> None:
    assert literal_address(host) == ip_address(address)


@pytest.mark.parametrize(
    "host", ["example.com", "hooks", "1e100.net", "08.0.0.1", "1.2.3.4.5", "256.1.1.1", "0xg", ""]
)
def test_names_are_not_addresses(host: str) -> None:
    assert literal_address(host) is None


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:5432/", "a loopback address"),
        ("http://127.0.0.1:6379/", "a loopback address"),
        ("http://2130706433/", "a loopback address"),
        ("http://0177.0.0.1/", "a loopback address"),
        ("http://[::1]:8080/", "a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("http://[fe80::1]/", "a link-local address"),
        ("http://10.0.0.8/", "a private address"),
        ("http://172.16.5.4/", "a private address"),
        ("http://192.168.1.1/", "a private address"),
        ("http://[fd00::1]/", "a private address"),
        ("http://0/", "the unspecified address"),
        ("http://0.0.0.0:8080/", "the unspecified address"),
        ("http://224.0.0.1/", "a multicast address"),
        ("http://100.64.0.1/", "not a public address"),  # shared address space (CGNAT)
        ("http://[2002:7f00:1::]/", "an IPv6 form of 127.0.0.1"),  # 6to4
        ("http://[64:ff9b::a9fe:a9fe]/", "not a public address"),  # NAT64 of 169.254.169.254
    ],
)
def test_urls_naming_an_inside_address_are_refused_saying_what_it_is(url: str, kind: str) -> None:
    refusal = PUBLIC_ONLY.refusal_of_url(url)
    assert refusal is not None and kind in refusal
    assert "public addresses only" in refusal


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/jobs",
        "http://localhost:8080/",  # a name: checked when a delivery resolves it
        "http://8.8.8.8/",
        "https://[2606:4700:4700::1111]/",
        "http://[::ffff:8.8.8.8]/",
    ],
)
def test_public_addresses_and_names_pass_at_creation(url: str) -> None:
    assert PUBLIC_ONLY.refusal_of_url(url) is None


def test_the_operators_networks_are_allowed_and_nothing_beside_them() -> None:
    rule = Destinations((ip_network("10.20.0.0/16"), *LOOPBACK_NETWORKS))
    assert rule.refusal(IPv4Address("10.20.3.4")) is None
    assert rule.refusal(IPv4Address("127.0.0.1")) is None
    assert rule.refusal(IPv6Address("::ffff:127.0.0.1")) is None  # mapped: the same address
    assert rule.refusal(IPv6Address("::1")) is None
    assert rule.refusal(IPv4Address("10.21.0.1")) == "a private address"
    assert rule.refusal(IPv4Address("169.254.169.254")) == "a link-local address"
    assert "10.20.0.0/16" in rule.describe() and "127.0.0.0/8" in rule.describe()
    assert PUBLIC_ONLY.describe() == "webhook deliveries go to public addresses only"


def test_a_name_is_refused_when_any_of_its_addresses_is_and_the_words_name_none() -> None:
    public, inside = IPv4Address("93.184.216.34"), IPv4Address("10.1.2.3")
    assert PUBLIC_ONLY.refusal_of_resolved("hooks.example", [public]) is None
    refusal = PUBLIC_ONLY.refusal_of_resolved("db.internal", [public, inside])
    assert refusal is not None and "db.internal" in refusal
    assert "10.1.2.3" not in refusal
