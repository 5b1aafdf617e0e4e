"""The pure parts of confinement: cgroup discovery, limits as rlimits, paths inside a
sandbox, reading outputs without following links."""

from __future__ import annotations

import os
from pathlib import Path

from jobmanager.engine.cgroups import _cgroup_mounts, _inside, _own_cgroups
from jobmanager.engine.confinement import Limits, SandboxConfinement
from jobmanager.engine.layout import Layout, regular_files
from jobmanager.engine.sandbox import Sandbox

V1_CGROUP = "9:name=systemd:/\n4:memory:/process_api/abc\n3:cpu,cpuacct:/\n0::/\n"
V1_MOUNTS = (
    "30 25 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
    "32 25 0:28 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
    "33 25 0:29 / /proc rw - proc proc rw\n"
)
V2_CONTAINER_MOUNTS = "40 30 0:35 /kube/pod1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"


def test_own_cgroups_per_controller() -> None:
    own = _own_cgroups(V1_CGROUP)
    assert own["memory"] == "/process_api/abc"
    assert own["cpu"] == own["cpuacct"] == "/"
    assert own[""] == "/"


def test_cgroup_mounts_and_our_folder_under_them() -> None:
    memory, cpu, unified = _cgroup_mounts(V1_MOUNTS)
    assert (memory.fstype, memory.point, "memory" in memory.options) == (
        "cgroup",
        Path("/sys/fs/cgroup/memory"),
        True,
    )
    assert {"cpu", "cpuacct"} <= cpu.options and unified.fstype == "cgroup2"
    assert _inside(memory, "/process_api/abc") == Path("/sys/fs/cgroup/memory/process_api/abc")
    assert _inside(cpu, "/") == Path("/sys/fs/cgroup/cpu,cpuacct")
    (namespaced,) = _cgroup_mounts(V2_CONTAINER_MOUNTS)
    assert _inside(namespaced, "/kube/pod1/app") == Path("/sys/fs/cgroup/app")
    assert _inside(namespaced, "/kube/pod1") == Path("/sys/fs/cgroup")


def test_limits_as_ulimit() -> None:
    limits = Limits(memory_bytes=1 << 30, cpu_seconds=90, max_processes=64, disk_bytes=1 << 20)
    assert limits.ulimit() == "ulimit -v 1048576 -t 90 -u 64 -f 1024 || exit 97"
    held_by_cgroups = limits.ulimit(address_space=False, processes=False)
    assert held_by_cgroups == "ulimit -t 90 -f 1024 || exit 97"
    assert Limits().ulimit() == ""


def test_paths_inside_a_sandbox(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "jm-env-x")
    box = SandboxConfinement(Sandbox("bwrap"), "python", layout, Limits(), None)
    assert box.inside(layout.input_dir / "a.csv") == Path("/job/input/a.csv")
    assert box.inside(layout.kernel_dir("python") / "kernel.json") == Path(
        "/run/jobmanager/.python-kernel/kernel.json"
    )
    assert box.inside(Path("/tmp/jm-ipc-1")) == Path("/tmp/jm-ipc-1")


def test_outputs_are_read_without_following_links(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("the service's")
    output = tmp_path / "output"
    (output / "sub").mkdir(parents=True)
    (output / "kept.txt").write_text("ok")
    (output / "sub" / "deep.txt").write_text("ok")
    os.symlink(secret, output / "link.txt")
    os.symlink(tmp_path, output / "sub" / "folder-link")
    assert [name for name, _ in regular_files(output)] == ["kept.txt", "sub/deep.txt"]
    replaced = tmp_path / "replaced"
    os.symlink(tmp_path, replaced)
    assert list(regular_files(replaced)) == []
    assert list(regular_files(tmp_path / "missing")) == []
