"""A sandboxed environment with network, at the engine level: its own network namespace
behind slirp4netns with the egress rules in force. Everything it is tried against is on
this machine (`tests/egress_hosts.py`): listeners on the loopback and on the machine's
own address, and a test host in a namespace of the test's own with a private address,
169.254.169.254 and a public-looking one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from jobmanager.domain import egress
from jobmanager.engine import Environment, Outcome
from jobmanager.engine.network import Egress, NetworkStack, NetworkUnavailable, host_addresses
from tests.acceptance.netns import HostNetwork
from tests.conftest import require_service
from tests.egress_hosts import (
    ALLOWED_PORT,
    OPEN_PORT,
    Listener,
    Outside,
    link_local,
    machine_address,
    outcomes,
    probe_code,
)
from tests.integration.engine.conftest import execute, results, write_note
from tests.integration.engine.test_sandbox import sandboxed

pytestmark = pytest.mark.timeout(300)


@dataclass
class World:
    outside: Outside
    loopback: Listener
    everywhere: Listener  # on every address of the machine
    stack: NetworkStack


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    from jobmanager.engine.sandbox import find_bwrap

    try:
        stack = NetworkStack.find(find_bwrap())
    except NetworkUnavailable as error:
        require_service("slirp4netns", "apt-get install slirp4netns", error)
    network = HostNetwork.open()
    try:
        outside = Outside.open(network, link_local())
        loopback, everywhere = Listener("127.0.0.1"), Listener("0.0.0.0")
        yield World(outside, loopback, everywhere, stack)
        loopback.close()
        everywhere.close()
        outside.close()
    finally:
        network.close()


def networked(world: World, base: Path, *allowed: tuple[str, int | None]) -> Environment:
    own = host_addresses(
        [[a.address for a in addresses] for addresses in psutil.net_if_addrs().values()]
    )
    spec = sandboxed(base, network=True)
    rules = Egress(world.stack, blocked=egress.blocked(own), allowed=allowed)
    return Environment.start(
        type(spec)(**{**spec.__dict__, "egress": rules})  # the spec, with its rules
    )


def attempts(world: World) -> dict[str, tuple[str, int]]:
    outside = world.outside
    return {
        "loopback": ("127.0.0.1", world.loopback.port),
        "postgresql": ("127.0.0.1", 5432),
        "machine": (machine_address(), world.everywhere.port),
        "gateway": ("10.0.2.2", world.loopback.port),
        "link-local": (outside.metadata, OPEN_PORT),
        "private": (outside.private, OPEN_PORT),
        "public": (outside.public, OPEN_PORT),
        "allowed": (outside.private, ALLOWED_PORT),
    }


def tried(world: World, tmp_path: Path, env: Environment) -> dict[str, str]:
    note = write_note(tmp_path / "n.zpln", probe_code(attempts(world)))
    result, executed = execute(env, note)
    assert result.outcome is Outcome.SUCCEEDED, result.message
    ((_, text),) = results(executed, 0)
    return outcomes(text)


def test_only_public_and_allowed_destinations_are_reached(world: World, tmp_path: Path) -> None:
    env = networked(world, tmp_path, (world.outside.private, ALLOWED_PORT))
    try:
        found = tried(world, tmp_path, env)
    finally:
        env.destroy()
    assert found.pop("public") == f"REACHED outside:{OPEN_PORT}", found
    assert found.pop("allowed") == f"REACHED outside:{ALLOWED_PORT}", found
    assert all(outcome.startswith("refused") for outcome in found.values()), found


def test_an_allowed_network_is_reached_on_every_port(world: World, tmp_path: Path) -> None:
    env = networked(world, tmp_path, (world.outside.metadata + "/32", None))
    try:
        found = tried(world, tmp_path, env)
    finally:
        env.destroy()
    assert found["link-local"] == f"REACHED outside:{OPEN_PORT}", found
    assert found["private"].startswith("refused"), found


def test_kernel_and_shell_share_the_environment_loopback_and_its_rules(
    world: World, tmp_path: Path
) -> None:
    env = networked(world, tmp_path)
    note = write_note(
        tmp_path / "n.zpln",
        "import socket, threading\nserver = socket.create_server(('127.0.0.1', 7000))\n"
        "def answer():\n    c, _ = server.accept(); c.sendall(b'kernel\\n'); c.close()\n"
        "threading.Thread(target=answer, daemon=True).start()",
        "%sh\nexec 3<>/dev/tcp/127.0.0.1/7000 && head -1 <&3\n"
        f"(exec 4<>/dev/tcp/{world.outside.private}/{OPEN_PORT}) 2>/dev/null || echo refused\n"
        "cat /etc/resolv.conf",
    )
    try:
        result, executed = execute(env, note)
    finally:
        env.destroy()
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert results(executed, 1) == [("TEXT", "kernel\nrefused\nnameserver 10.0.2.3\n")]


def test_destroying_the_environment_ends_its_network(world: World, tmp_path: Path) -> None:
    env = networked(world, tmp_path)
    confinement = env.confinement
    network = getattr(confinement, "network", None)
    assert network is not None and network.slirp is not None
    helpers = [network.holder.pid, network.slirp.pid]
    env.destroy()
    assert not [pid for pid in helpers if psutil.pid_exists(pid)]
