"""A configuration's network through HTTP: the named destinations of the service it may
allow (`networkAllow`), and the egress rules in force for its jobs (`egress`), which the
API shows with every configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobmanager.domain.egress import BLOCKED_RANGES
from jobmanager.startup.settings import Settings
from tests.conftest import TenantClient, assert_error

CONFIGURATIONS = "/api/prl/v3/configurations"
NAMED = {"warehouse": "10.1.2.3:5432", "mirror": "pypi.internal:443"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The service names two destinations and allows one network to every job."""
    return settings.model_copy(
        update={"network_destinations": NAMED, "network_allow": ["10.9.0.0/16"]}
    )


def create(client: TestClient, tenant: TenantClient, **body: Any) -> Any:
    return client.post(CONFIGURATIONS, json={"name": "c", **body}, headers=tenant.headers)


def test_the_rules_in_force_are_the_service_s_and_the_names_the_configuration_picked(
    client: TestClient, tenant_a: TenantClient
) -> None:
    answer = create(client, tenant_a, network="allowed", networkAllow=["warehouse"])
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["networkAllow"] == ["warehouse"]
    assert made["egress"]["allowed"] == [
        {"destination": "10.9.0.0/16", "name": None},
        {"destination": "10.1.2.3:5432", "name": "warehouse"},
    ]
    blocked = made["egress"]["blocked"]
    assert blocked[:2] == ["the worker host's loopback", "the worker host's own addresses"]
    assert blocked[2:] == [cidr for cidr, _ in BLOCKED_RANGES]
    assert "169.254.0.0/16" in blocked and "10.0.0.0/8" in blocked
    read = client.get(f"{CONFIGURATIONS}/{made['id']}", headers=tenant_a.headers).json()
    assert read == made


@pytest.mark.parametrize(
    "allow",
    [["nowhere"], ["10.0.0.0/8"], ["169.254.169.254:80"], ["warehouse", 5], "warehouse"],
)
def test_a_tenant_cannot_allow_what_the_service_does_not_name(
    client: TestClient, tenant_a: TenantClient, allow: Any
) -> None:
    error = assert_error(create(client, tenant_a, network="allowed", networkAllow=allow), 400)
    assert "networkAllow" in error["message"]
    listed = client.get(CONFIGURATIONS, headers=tenant_a.headers).json()
    assert listed["configurations"] == []


def test_an_unknown_name_is_refused_naming_the_ones_there_are(
    client: TestClient, tenant_a: TenantClient
) -> None:
    error = assert_error(create(client, tenant_a, networkAllow=["nowhere"]), 400)
    assert "'nowhere' is not a destination this service names" in error["message"]
    assert "mirror, warehouse" in error["message"]


def test_patching_the_allowances_and_the_network(
    client: TestClient, tenant_a: TenantClient
) -> None:
    made = create(client, tenant_a).json()
    assert made["egress"] == {"allowed": [], "blocked": ["0.0.0.0/0", "::/0"]}
    url = f"{CONFIGURATIONS}/{made['id']}"
    changed = client.patch(
        url, json={"network": "allowed", "networkAllow": ["mirror"]}, headers=tenant_a.headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["egress"]["allowed"][-1] == {
        "destination": "pypi.internal:443",
        "name": "mirror",
    }
    refused = client.patch(url, json={"networkAllow": ["gone"]}, headers=tenant_a.headers)
    assert_error(refused, 400)
    assert client.get(url, headers=tenant_a.headers).json()["networkAllow"] == ["mirror"]


def test_bad_service_destinations_stop_the_settings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="network_allow"):
        Settings(home=tmp_path, network_allow=["not a destination"])
    with pytest.raises(ValueError, match="network_destinations"):
        Settings(home=tmp_path, network_destinations={"bad name!": "10.0.0.1"})
    named = Settings(home=tmp_path, network_destinations=NAMED, network_allow=["mirror"])
    assert named.network_allow == ["mirror"]
