"""Failed sign-ins are limited per address and per (client id, address), on every way in
(`/oauth/token`, the technical token manager, `POST /session`, the console's form), and
checked before the secret is: over the limit even the right secret is refused 429 with
`Retry-After`. The counters are in the database: a second replica on it refuses as well.
The right client calling from another address is not slowed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from jobmanager.store.types import utcnow
from jobmanager.web.app import create_app
from tests.conftest import TenantClient, assert_error, basic

ATTACKER = ("127.0.0.1", 40000)
OWNER = ("127.0.0.2", 40000)


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the counting is one statement per key on either (the store's tests)


def calling_from(services: Services, address: tuple[str, int]) -> TestClient:
    app = create_app(services.settings, services)
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False, client=address)


@pytest.fixture
def attacker(services: Services) -> Iterator[TestClient]:
    with calling_from(services, ATTACKER) as client:
        yield client


@pytest.fixture
def owner(services: Services) -> Iterator[TestClient]:
    with calling_from(services, OWNER) as client:
        yield client


def token(client: TestClient, client_id: str, secret: str) -> int:
    answer = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic(client_id, secret)},
    )
    return int(answer.status_code)


def test_ten_wrong_secrets_a_minute_then_429_even_for_the_right_one(
    attacker: TestClient, owner: TestClient, tenant_a: TenantClient
) -> None:
    statuses = [token(attacker, tenant_a.client_id, f"wrong-{n}") for n in range(10)]
    assert statuses == [401] * 10
    refused = attacker.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic(tenant_a.client_id, tenant_a.client_secret)},
    )
    error = assert_error(refused, 429)
    assert error["code"] == "jobmanager.tooManyRequests"
    assert "too many failed sign-ins" in error["message"]
    assert 55 <= int(refused.headers["Retry-After"]) <= 60
    # The client's holder, elsewhere, is not slowed; another client id from the attacker's
    # address still has tries left (the address's own limit is higher).
    assert token(owner, tenant_a.client_id, tenant_a.client_secret) == 200
    assert token(attacker, "someone-else", "wrong") == 401


def test_an_address_trying_many_client_ids_is_stopped_too(
    attacker: TestClient, owner: TestClient, tenant_a: TenantClient
) -> None:
    statuses = [token(attacker, f"guess-{n}", "wrong") for n in range(31)]
    assert statuses == [401] * 30 + [429]
    assert token(attacker, tenant_a.client_id, tenant_a.client_secret) == 429
    assert token(owner, tenant_a.client_id, tenant_a.client_secret) == 200


def test_every_way_to_sign_in_counts_and_is_refused(
    attacker: TestClient, tenant_a: TenantClient
) -> None:
    wrong = basic(tenant_a.client_id, "wrong")
    technical = "/api/technicaltokenmanager/v3/oauth/token"
    body = {"appName": "a", "appVersion": "1", "hostTenant": "a", "userTenant": "a"}
    attacker.get("/signin")
    form = {
        "client_id": tenant_a.client_id,
        "client_secret": "wrong",
        "xsrf_token": attacker.cookies["XSRF-TOKEN"],
    }
    for _ in range(3):
        assert (
            attacker.post(technical, json=body, headers={"X-SPACE-AUTH-KEY": wrong}).status_code
            == 401
        )
        assert attacker.post("/session", headers={"Authorization": wrong}).status_code == 401
        assert attacker.post("/signin", data=form).status_code == 401  # the form, in words
    assert token(attacker, tenant_a.client_id, "wrong") == 401  # the tenth
    right = basic(tenant_a.client_id, tenant_a.client_secret)
    limited = [
        attacker.post(technical, json=body, headers={"X-SPACE-AUTH-KEY": right}),
        attacker.post("/session", headers={"Authorization": right}),
    ]
    for answer in limited:
        assert_error(answer, 429)
        assert int(answer.headers["Retry-After"]) >= 1
    page = attacker.post("/signin", data={**form, "client_secret": tenant_a.client_secret})
    assert page.status_code == 429
    assert "too many failed sign-ins" in page.text


def test_the_counters_hold_across_replicas_and_end_with_their_minute(
    services: Services, settings: Settings, attacker: TestClient, tenant_a: TenantClient
) -> None:
    for n in range(10):
        assert token(attacker, tenant_a.client_id, f"wrong-{n}") == 401
    other = Services.open(settings, migrate=False)  # another replica: its own process state
    try:
        with calling_from(other, ATTACKER) as replica:
            assert token(replica, tenant_a.client_id, tenant_a.client_secret) == 429
    finally:
        other.close()
    # A minute on, the counters are over: the service forgets them and lets the caller in.
    assert services.store.sign_ins.forget_expired(utcnow() + timedelta(minutes=1)) == 2
    assert token(attacker, tenant_a.client_id, tenant_a.client_secret) == 200
