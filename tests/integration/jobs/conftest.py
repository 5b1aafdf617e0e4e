"""Fixtures of the job tests: folders made through the API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantClient
from tests.integration.jobs.api import make_folder


@pytest.fixture
def folders(client: TestClient, tenant_a: TenantClient) -> tuple[str, str]:
    """An input and an output folder of tenant A."""
    return make_folder(client, tenant_a, "in"), make_folder(client, tenant_a, "out")
