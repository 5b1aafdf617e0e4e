"""A hostile network tenant against a real `jobmanager serve` (and, below, a cluster's
Celery worker on a host of its own): from a job whose configuration allows network, it
goes after what the worker host reaches — its PostgreSQL, Redis and RabbitMQ, the API's
port, a listener on its loopback and on its own address, the host's loopback through the
network stack's gateway — then the cloud metadata address and a private address. Every
attempt is refused; in the same job a public-looking address, a host:port the operator
allows every job and one the configuration picked among the operator's names work.

Every address tried is on this machine: its loopback and addresses, and a test host in a
network namespace the test makes (`tests/egress_hosts.py`), holding a private address,
169.254.169.254 and a public-looking one, routed to it as /32s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.api import FINAL, Caller, note
from tests.acceptance.cluster import Backends, Cluster
from tests.acceptance.cluster_fixtures import backends, cluster, network  # noqa: F401
from tests.acceptance.netns import HostNetwork
from tests.acceptance.server import ServerProcess
from tests.egress_hosts import (
    ALLOWED_PORT,
    NAMED_PORT,
    OPEN_PORT,
    SERVE,
    Listener,
    Outside,
    machine_address,
    outcomes,
    path_without,
    probe_code,
)

pytestmark = pytest.mark.timeout(600)


def network_settings(outside: Outside) -> dict[str, str]:
    """The operator allows every job one host:port, and names one a configuration may pick."""
    return {
        "JOBMANAGER_NETWORK_ALLOW": json.dumps([f"{outside.private}:{ALLOWED_PORT}"]),
        "JOBMANAGER_NETWORK_DESTINATIONS": json.dumps(
            {"warehouse": f"{outside.private}:{NAMED_PORT}"}
        ),
    }


def permitted(outside: Outside) -> dict[str, tuple[str, int]]:
    return {
        "public": (outside.public, OPEN_PORT),
        "allowed by the service": (outside.private, ALLOWED_PORT),
        "picked by the configuration": (outside.private, NAMED_PORT),
    }


def outside_attacks(outside: Outside) -> dict[str, tuple[str, int]]:
    return {
        "metadata": (outside.metadata, OPEN_PORT),
        "metadata, allowed port": (outside.metadata, ALLOWED_PORT),
        "private": (outside.private, OPEN_PORT),
    }


@dataclass
class Probe:
    job: dict[str, Any]
    outputs: dict[str, bytes]

    def printed(self, paragraph: int) -> str:
        """What a paragraph of the executed note printed."""
        executed = json.loads(next(v for k, v in self.outputs.items() if k.endswith(".zpln")))
        messages = executed["paragraphs"][paragraph].get("results", {}).get("msg", [])
        return "".join(message["data"] for message in messages)

    @property
    def found(self) -> dict[str, str]:
        """What each attempt of the first paragraph came to."""
        return outcomes(self.printed(0))


def run_probe(
    caller: Caller, configuration: str, attempts: dict[str, tuple[str, int]], *more: str
) -> Probe:
    """A job trying each of `attempts`, then running the paragraphs `more`."""
    model = caller.model(note("%python\n" + probe_code(attempts), *more), "probe")
    output = caller.folder(f"probe-{os.urandom(4).hex()}")
    job_id = caller.submit(model, configuration, output, maximumExecutionTimeInSeconds="120")
    job = caller.wait(job_id, lambda j: j["status"] in FINAL, timeout=240)
    return Probe(job, caller.files(output))


def assert_held(probe: Probe, refused: list[str], reached: dict[str, str]) -> None:
    """The job succeeded, every attempt of `refused` was refused, each of `reached` got
    its answer."""
    assert probe.job["status"] == "SUCCEEDED", probe.job["message"]
    found = probe.found
    let_through = {
        name: found.get(name) for name in refused if not found.get(name, "").startswith("refused")
    }
    assert not let_through, f"a job reached what it must not: {let_through}"
    assert {name: found.get(name) for name in reached} == {
        name: f"REACHED {answer}" for name, answer in reached.items()
    }, found


# What each permitted destination answers.
ANSWERS = {
    "public": f"outside:{OPEN_PORT}",
    "allowed by the service": f"outside:{ALLOWED_PORT}",
    "picked by the configuration": f"outside:{NAMED_PORT}",
}


# ------------------------------------------------------------------ one machine


@dataclass
class Site:
    server: ServerProcess
    caller: Caller
    outside: Outside
    loopback: Listener
    everywhere: Listener
    picking: str  # network allowed, picks "warehouse"
    plain: str  # network allowed, picks nothing
    offline: str  # the default: network none


@pytest.fixture(scope="class")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    test_network = HostNetwork.open()
    try:
        outside = Outside.open(test_network)
    except BaseException:
        test_network.close()
        raise
    loopback, everywhere = Listener("127.0.0.1"), Listener("0.0.0.0")
    home = tmp_path_factory.mktemp("hostile-network") / "home"
    server = ServerProcess(
        home, extra_env={"JOBMANAGER_JOB_SLOTS": "2", **network_settings(outside)}
    ).start()
    caller = Caller(server.url, server.token())
    try:
        yield Site(
            server,
            caller,
            outside,
            loopback,
            everywhere,
            picking=caller.configuration(network="allowed", networkAllow=["warehouse"]),
            plain=caller.configuration(network="allowed"),
            offline=caller.configuration(),
        )
    finally:
        caller.close()
        server.stop()
        loopback.close()
        everywhere.close()
        outside.close()
        test_network.close()


def host_attacks(site: Site) -> dict[str, tuple[str, int]]:
    return {
        "postgresql": ("127.0.0.1", 5432),
        "redis": ("127.0.0.1", 6379),
        "rabbitmq": ("127.0.0.1", 5672),
        "the api": ("127.0.0.1", site.server.port),
        "a loopback listener": ("127.0.0.1", site.loopback.port),
        "the host's address": (machine_address(), site.everywhere.port),
        "the api on the host's address": (machine_address(), site.server.port),
        "the host's loopback through the gateway": ("10.0.2.2", site.server.port),
    }


class TestOneMachine:
    """A `serve` with its own job slots; the test host holds the metadata service's own
    address while the class runs (the cluster's test below routes it once this is over)."""

    def test_every_attack_is_refused_and_the_permitted_destinations_work(self, site: Site) -> None:
        attacks = {**host_attacks(site), **outside_attacks(site.outside)}
        probe = run_probe(site.caller, site.picking, {**attacks, **permitted(site.outside)})
        assert_held(probe, list(attacks), ANSWERS)

    def test_a_configuration_reaches_only_the_names_it_picked(self, site: Site) -> None:
        probe = run_probe(site.caller, site.plain, permitted(site.outside))
        reached = {k: v for k, v in ANSWERS.items() if k != "picked by the configuration"}
        assert_held(probe, ["picked by the configuration"], reached)

    def test_network_none_reaches_nothing_at_all(self, site: Site) -> None:
        attempts = {**host_attacks(site), **permitted(site.outside)}
        assert_held(run_probe(site.caller, site.offline, attempts), list(attempts), {})

    def test_the_job_cannot_change_its_rules_nor_leave_its_namespace(self, site: Site) -> None:
        """It tries to delete the routing rules, flush the blocked table, join the service's
        network namespace, make a user namespace of its own (where it would be root): each
        fails, and the metadata address stays out of reach after."""
        escape = (
            "%sh\nfor attempt in 'ip rule del pref 200' 'ip route flush table 200' "
            "'ip route add 169.254.169.254 via 10.0.2.2' 'nsenter -t 1 -n true' "
            "'nsenter --net=/proc/1/ns/net true' 'unshare -U -r -n true' 'unshare -n true'; do\n"
            '  $attempt > /dev/null 2>&1; echo "$attempt: $?" >> $outputFolder/escape.txt\ndone'
        )
        again = probe_code({"metadata after": (site.outside.metadata, OPEN_PORT)})
        probe = run_probe(
            site.caller,
            site.picking,
            {"metadata before": (site.outside.metadata, OPEN_PORT)},
            escape,
            "%python\n" + again,
        )
        assert_held(probe, ["metadata before"], {})
        lines = probe.outputs["escape.txt"].decode().splitlines()
        escapes = dict(line.rsplit(": ", 1) for line in lines)
        assert len(escapes) == 7 and "0" not in escapes.values(), escapes
        assert outcomes(probe.printed(2))["metadata after"].startswith("refused"), probe.printed(2)

    def test_the_api_says_which_rules_are_in_force(self, site: Site) -> None:
        shown = site.caller.http.get(f"/api/prl/v3/configurations/{site.picking}").json()
        assert shown["network"] == "allowed" and shown["networkAllow"] == ["warehouse"]
        assert shown["egress"]["allowed"] == [
            {"destination": f"{site.outside.private}:{ALLOWED_PORT}", "name": None},
            {"destination": f"{site.outside.private}:{NAMED_PORT}", "name": "warehouse"},
        ]
        assert {"169.254.0.0/16", "10.0.0.0/8", "the worker host's loopback"} <= set(
            shown["egress"]["blocked"]
        )
        offline = site.caller.http.get(f"/api/prl/v3/configurations/{site.offline}").json()
        assert offline["network"] == "none"
        assert offline["egress"] == {"allowed": [], "blocked": ["0.0.0.0/0", "::/0"]}


# ------------------------------------------------------------------ a cluster


def test_a_celery_worker_s_jobs_are_held_alike(
    cluster: Cluster,  # noqa: F811
    network: HostNetwork,  # noqa: F811
    backends: Backends,  # noqa: F811
) -> None:
    """The worker lives on a host of its own (a namespace); the cluster's PostgreSQL,
    Redis and S3 listen on the network's (private) address, and the worker host has a
    listener on its own loopback: none is reached from its jobs, the permitted
    destinations are."""
    outside = Outside.open(network)
    try:
        shared = network_settings(outside)
        replica = cluster.start_replica((), **shared)
        cluster.start_worker(
            "w1",
            JOBMANAGER_NETWORK_ALLOW=shared["JOBMANAGER_NETWORK_ALLOW"],
            JOBMANAGER_NETWORK_DESTINATIONS=shared["JOBMANAGER_NETWORK_DESTINATIONS"],
        )
        argv = network.command("w1", [sys.executable, "-c", SERVE, "w1", "7000"])
        own = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            assert own.stdout is not None
            assert own.stdout.readline() == b"listening\n"
            caller = cluster.caller(replica)
            configuration = caller.configuration(network="allowed", networkAllow=["warehouse"])
            attacks = {
                "postgresql": (network.address, backends.postgres.port),
                "redis": (network.address, backends.redis.port),
                "s3": (network.address, backends.moto.port),
                "the worker host's loopback": ("127.0.0.1", 7000),
                "the worker host's address": (network.addresses["w1"], 7000),
                **outside_attacks(outside),
            }
            probe = run_probe(caller, configuration, {**attacks, **permitted(outside)})
            caller.close()
        finally:
            own.kill()
            own.communicate(timeout=10)
    finally:
        outside.close()
    assert_held(probe, list(attacks), ANSWERS)


# ------------------------------------------------------------------ without the stack


def test_without_the_stack_jobs_that_ask_for_network_are_refused_the_rest_run(
    tmp_path: Path,
) -> None:
    path = path_without("slirp4netns", tmp_path / "bin")
    server = ServerProcess(tmp_path / "home", extra_env={"PATH": path}).start()
    caller = Caller(server.url, server.token())
    try:
        asking = caller.configuration(network="allowed")
        model = caller.model(note("%python\nprint(6 * 7)"), "plain")
        refused = caller.submit(model, asking, caller.folder("refused"))
        ran = caller.submit(model, caller.configuration(), caller.folder("ran"))
        refused_job = caller.wait(refused, lambda j: j["status"] in FINAL)
        ran_job = caller.wait(ran, lambda j: j["status"] in FINAL)
    finally:
        caller.close()
        server.stop()
    assert refused_job["status"] == "FAILED"
    assert refused_job["message"] == (
        "Failed to start environment [the configuration asks for network, and slirp4netns "
        "is not installed (apt-get install slirp4netns)]"
    )
    assert ran_job["status"] == "SUCCEEDED", ran_job["message"]
    # At start, one line says so, with the package to install.
    said = [line for line in server.log().splitlines() if "network: slirp4netns is not" in line]
    assert len(said) == 1 and "(apt-get install slirp4netns)" in said[0], said
