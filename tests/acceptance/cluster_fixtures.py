"""Fixtures of the cluster tests: a test network, the private backends on its address,
and a cluster of processes on them. A test module imports the ones it uses."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.acceptance.cluster import Backends, Cluster
from tests.acceptance.netns import HostNetwork
from tests.acceptance.private_services import HOW_TO_GET, ServiceUnavailable
from tests.conftest import require_service
from tests.s3 import MotoUnavailable


@pytest.fixture
def network() -> Iterator[HostNetwork]:
    made = HostNetwork.open()
    yield made
    made.close()


def _backends(network: HostNetwork, tmp_path_factory: pytest.TempPathFactory) -> Backends:
    try:
        return Backends.start(network.address, tmp_path_factory.mktemp("backends"))
    except (ServiceUnavailable, MotoUnavailable, OSError, subprocess.SubprocessError) as error:
        require_service("A private PostgreSQL, Redis and moto_server", HOW_TO_GET, error)
        raise


@pytest.fixture
def backends(network: HostNetwork, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backends]:
    """PostgreSQL, Redis and S3 of this test only, listening on the network's address."""
    started = _backends(network, tmp_path_factory)
    yield started
    started.close()


@pytest.fixture
def cluster(backends: Backends, network: HostNetwork) -> Iterator[Cluster]:
    shared = {**backends.settings_env(), "JOBMANAGER_HEARTBEAT_TIMEOUT_SECONDS": "5"}
    with Cluster.running(shared, network) as running:
        yield running
