"""Webhooks cannot reach inside: a URL naming an inside address is refused when the
webhook is made, a name resolving inside is refused when a delivery connects (the
address checked is the one connected to), a redirect is not followed; a network the
operator allows is delivered to, with the receiver's name kept.

Names are resolved by a stub (`resolving`) that answers for made-up names and asks the
system for every other (`localhost` is the system's own). The receivers are real HTTP
servers on 127.0.0.1 and 127.0.0.2.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from jobmanager.domain.destinations import IPAddress
from jobmanager.service.notifier import Notifier
from jobmanager.service.vetted_http import Resolver, system_resolver
from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from tests.conftest import TenantClient, assert_error
from tests.integration.webhooks.api import WEBHOOKS, create_webhook, deliveries, stopped_job
from tests.webhook_receiver import Receiver

PERMITTED = "127.0.0.2"


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the rule is the notifier's and the API's, not the database's


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.job_slots = 0
    settings.webhook_allowed_networks = [ip_network(f"{PERMITTED}/32")]
    return settings


@pytest.fixture
def inside() -> Iterator[Receiver]:
    """A service of the operator's, on loopback: what a tenant must not reach."""
    made = Receiver().start()
    yield made
    made.stop()


@pytest.fixture
def permitted() -> Iterator[Receiver]:
    """A receiver in the network the operator allows."""
    made = Receiver(host=PERMITTED).start()
    yield made
    made.stop()


def resolving(names: dict[str, list[str]]) -> Resolver:
    """A resolver that answers `names` itself and asks the system for every other."""

    def resolve(host: str, port: int) -> list[IPAddress]:
        if host in names:
            return [ip_address(address) for address in names[host]]
        return system_resolver(host, port)

    return resolve


def notifier_of(services: Services, names: dict[str, list[str]]) -> Notifier:
    rule = services.settings.webhook_destinations
    return Notifier(services.store, rule, resolve=resolving(names))


def delivered_once(
    client: TestClient, tenant: TenantClient, notifier: Notifier, hooks: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each webhook's one delivery, after one attempt."""
    notifier.run_once()  # the outbox reads from now on
    stopped_job(client, tenant)
    notifier.run_once()
    notifier.stop()
    found = []
    for hook in hooks:
        (delivery,) = deliveries(client, tenant, hook["id"])
        found.append(delivery)
    return found


@pytest.mark.parametrize(
    ("host", "said"),
    [
        ("127.0.0.1:5432", "127.0.0.1 is a loopback address"),
        ("127.0.0.1:6379", "127.0.0.1 is a loopback address"),
        ("169.254.169.254", "169.254.169.254 is a link-local address"),
        ("2130706433:8080", "127.0.0.1 (2130706433) is a loopback address"),
        ("0177.0.0.1", "(0177.0.0.1) is a loopback address"),
        ("0x7f.1", "(0x7f.1) is a loopback address"),
        ("[::1]:8080", "::1 is a loopback address"),
        ("[::ffff:127.0.0.1]", "(::ffff:127.0.0.1) is a loopback address"),
        ("10.1.2.3", "10.1.2.3 is a private address"),
        ("0.0.0.0:8080", "0.0.0.0 is the unspecified address"),
        ("127.0.0.3", "127.0.0.3 is a loopback address"),  # beside the permitted one
    ],
)
def test_a_url_naming_an_inside_address_is_refused_when_made(
    client: TestClient, tenant_a: TenantClient, host: str, said: str
) -> None:
    answer = client.post(
        WEBHOOKS,
        headers=tenant_a.headers,
        json={"url": f"http://{host}/hook", "events": ["stopped"]},
    )
    error = assert_error(answer, 400)
    assert error["message"].startswith("url: the URL's host ")
    assert said in error["message"] and "public addresses only" in error["message"]
    assert client.get(WEBHOOKS, headers=tenant_a.headers).json()["webhooks"] == []


def test_names_resolving_inside_are_refused_when_a_delivery_connects(
    client: TestClient, tenant_a: TenantClient, services: Services, inside: Receiver
) -> None:
    names = {
        "hooks.example": ["127.0.0.1"],
        "split.example": ["93.184.216.34", "127.0.0.1"],  # one public, one inside
        "metadata.example": ["169.254.169.254"],
        "six.example": ["::ffff:127.0.0.1"],
    }
    urls = [f"http://{name}:{inside.port}/hook" for name in names]
    urls.append(f"http://localhost:{inside.port}/hook")  # the system's own name for loopback
    hooks = [create_webhook(client, tenant_a, url=url, events=["stopped"]) for url in urls]
    found = delivered_once(client, tenant_a, notifier_of(services, names), hooks)
    for delivery, url in zip(found, urls, strict=True):
        host = url.split("//")[1].split(":")[0]
        assert delivery["status"] == "pending" and delivery["lastStatusCode"] is None, url
        assert delivery["lastError"] == (
            f"ConnectError: {host} resolves to an address that is not public: webhooks are "
            "delivered to public addresses only, unless the operator allows the network"
        )
    assert inside.received == []


def test_a_permitted_network_gets_deliveries_under_the_receivers_name(
    client: TestClient,
    tenant_a: TenantClient,
    services: Services,
    inside: Receiver,
    permitted: Receiver,
) -> None:
    names = {"hooks.example": [PERMITTED], "inside.example": ["127.0.0.1"]}
    allowed = create_webhook(
        client, tenant_a, url=f"http://hooks.example:{permitted.port}/hook", events=["stopped"]
    )
    literal = create_webhook(client, tenant_a, url=permitted.url, events=["stopped"])
    refused = create_webhook(
        client, tenant_a, url=f"http://inside.example:{inside.port}/hook", events=["stopped"]
    )
    notifier = notifier_of(services, names)
    found = delivered_once(client, tenant_a, notifier, [allowed, literal, refused])
    assert [d["status"] for d in found] == ["delivered", "delivered", "pending"]
    hosts = sorted(request["headers"]["Host"] for request in permitted.wait_for(2))
    assert hosts == sorted([f"hooks.example:{permitted.port}", f"{PERMITTED}:{permitted.port}"])
    assert inside.received == []


def test_a_redirect_is_not_followed(
    client: TestClient,
    tenant_a: TenantClient,
    services: Services,
    inside: Receiver,
) -> None:
    redirecting = Receiver(host=PERMITTED, redirect_to=inside.url).start()
    try:
        hook = create_webhook(client, tenant_a, url=redirecting.url, events=["stopped"])
        (delivery,) = delivered_once(client, tenant_a, notifier_of(services, {}), [hook])
    finally:
        redirecting.stop()
    assert (delivery["status"], delivery["lastStatusCode"]) == ("pending", 307)
    assert len(redirecting.received) == 1
    assert inside.received == []


def self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    """A certificate for `name` that no authority signed, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_https_keeps_the_receivers_name_for_tls(
    client: TestClient, tenant_a: TenantClient, services: Services, tmp_path: Path
) -> None:
    """The connection goes to the checked address, and TLS still speaks to the name: the
    server is asked for `hooks.example` (SNI) and its certificate is checked against it
    (one no authority signed is refused)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed(tmp_path, "hooks.example"))
    asked: list[str | None] = []

    def note_name(_socket: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        asked.append(name)

    context.sni_callback = note_name
    listener = socket.create_server((PERMITTED, 0))
    port = listener.getsockname()[1]

    def serve_one() -> None:
        connection, _ = listener.accept()
        with (
            contextlib.suppress(ssl.SSLError, OSError),
            context.wrap_socket(connection, server_side=True),
        ):
            pass

    server = threading.Thread(target=serve_one, daemon=True)
    server.start()
    hook = create_webhook(
        client, tenant_a, url=f"https://hooks.example:{port}/hook", events=["stopped"]
    )
    try:
        notifier = notifier_of(services, {"hooks.example": [PERMITTED]})
        (delivery,) = delivered_once(client, tenant_a, notifier, [hook])
    finally:
        server.join(30)
        listener.close()
    assert asked == ["hooks.example"]
    assert delivery["lastStatusCode"] is None
    assert "CERTIFICATE_VERIFY_FAILED" in delivery["lastError"]
