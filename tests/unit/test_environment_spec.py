"""What a configuration's `resources` become: the limits of its environments, with the
service's defaults where it sets none."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from jobmanager.engine.sandbox import Sandbox
from jobmanager.environments import Isolation, spec_for

MIB = 1024 * 1024


@dataclass
class Configuration:
    memory_mib: int | None = None
    max_processes: int | None = None
    disk_mib: int | None = None
    cpus: float | None = None
    runtime: str = "python3"
    packages: tuple[str, ...] = ()
    network: str = "allowed"
    environment_variables: dict[str, str] = field(default_factory=dict)


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
    assert spec.limits.network
    assert spec.sandbox == Sandbox("bwrap") and spec.seed == tmp_path / "seed"
    assert spec.base_dir == tmp_path / "environments"


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
