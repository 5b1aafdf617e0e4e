"""What a configuration's `resources` become: the limits of its environments, with the
service's defaults where it sets none; and what its `network` becomes: no network, or
a network with the egress rules the operator and the configuration set."""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from jobmanager.common.home import environments_folder
from jobmanager.domain.egress import BLOCKED_RANGES
from jobmanager.engine.network import NetworkStack
from jobmanager.engine.sandbox import Sandbox
from jobmanager.jobrun.environment_pool import Isolation, NetworkRefused, spec_for

MIB = 1024 * 1024


@dataclass
class Configuration:
    memory_mib: int | None = None
    max_processes: int | None = None
    disk_mib: int | None = None
    cpus: float | None = None
    runtime: str = "python3"
    packages: tuple[str, ...] = ()
    network: str = "none"
    network_allow: tuple[str, ...] = ()
    environment_variables: dict[str, str] = field(default_factory=dict)


STACK = NetworkStack("bwrap", "slirp4netns", "nsenter", "ip")


def isolation(tmp_path: Path) -> Isolation:
    return Isolation(
        home=tmp_path,
        sandbox=Sandbox("bwrap"),
        cgroups=None,
        default_memory_mib=4096,
        default_max_processes=512,
        default_disk_mib=2048,
        seed=tmp_path / "seed",
    )


def test_a_configuration_without_resources_gets_the_service_defaults(tmp_path: Path) -> None:
    spec = spec_for(Configuration(), isolation(tmp_path), max_seconds=3600)
    assert spec.python == sys.executable
    assert spec.limits.memory_bytes == 4096 * MIB
    assert spec.limits.max_processes == 512
    assert spec.limits.disk_bytes == 2048 * MIB
    assert spec.limits.cpus is None and spec.limits.cpu_seconds is None
    assert not spec.limits.network and spec.egress is None
    assert spec.sandbox == Sandbox("bwrap") and spec.seed == tmp_path / "seed"
    assert spec.base_dir == environments_folder(tmp_path)
    assert not spec.base_dir.is_relative_to(tmp_path)  # the home: no sandbox names it


def test_a_configuration_s_resources_are_its_limits(tmp_path: Path) -> None:
    asked = Configuration(memory_mib=512, max_processes=64, disk_mib=100, cpus=0.5)
    spec = spec_for(asked, isolation(tmp_path), max_seconds=600)
    assert spec.limits.memory_bytes == 512 * MIB
    assert spec.limits.max_processes == 64
    assert spec.limits.disk_bytes == 100 * MIB
    assert spec.limits.cpus == 0.5
    assert spec.limits.cpu_seconds == 600 * 0.5 + 30
    offline = spec_for(Configuration(network="none"), isolation(tmp_path), max_seconds=60)
    assert not offline.limits.network


def test_network_brings_the_blocked_ranges_the_host_and_what_the_operator_allows(
    tmp_path: Path,
) -> None:
    operated = dataclasses.replace(
        isolation(tmp_path),
        network=STACK,
        network_allow=("10.9.0.0/16", "mirror"),
        network_destinations=(("mirror", "pypi.internal:443"), ("warehouse", "10.1.2.3:5432")),
    )
    picked = Configuration(network="allowed", network_allow=("warehouse", "gone"))
    spec = spec_for(picked, operated, max_seconds=60)
    assert spec.limits.network and spec.egress is not None
    assert spec.egress.stack == STACK
    assert spec.egress.allowed == (
        ("10.9.0.0/16", None),
        ("pypi.internal", 443),
        ("10.1.2.3", 5432),
    )
    ranges = [cidr for cidr, _ in BLOCKED_RANGES]
    assert list(spec.egress.blocked[: len(ranges)]) == ranges
    assert spec.egress.blocked[len(ranges) :]  # the host's own addresses follow
    other = spec_for(Configuration(network="allowed"), operated, max_seconds=60)
    assert other.egress is not None and other.egress.allowed == (
        ("10.9.0.0/16", None),
        ("pypi.internal", 443),
    )


def test_network_where_the_stack_is_missing_is_refused_saying_why(tmp_path: Path) -> None:
    missing = dataclasses.replace(
        isolation(tmp_path), network_missing="slirp4netns is not installed (apt-get install ...)"
    )
    with pytest.raises(NetworkRefused, match="asks for network, and slirp4netns is not"):
        spec_for(Configuration(network="allowed"), missing, max_seconds=60)
    assert spec_for(Configuration(), missing, max_seconds=60).egress is None
    unsandboxed = dataclasses.replace(missing, sandbox=None)
    shared = spec_for(Configuration(network="allowed"), unsandboxed, max_seconds=60)
    assert shared.limits.network and shared.egress is None  # `process`: the host's network
