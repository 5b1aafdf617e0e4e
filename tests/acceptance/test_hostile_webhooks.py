"""Acceptance "hostile network tenant", the webhooks half (the jobs half is the sandbox's,
`network`'s own file): a tenant aims webhooks at everything a service can reach and a
tenant must not — PostgreSQL, Redis, the API's own port, the cloud's metadata address,
loopback written as `2130706433`, `0177.0.0.1`, `[::1]`, `[::ffff:127.0.0.1]`, names that
resolve inside, a permitted receiver that redirects inside — and every one is refused:
at creation when the URL names an address, when the delivery connects otherwise, the
delivery log telling no open port from a closed one. In the same run a destination the
operator permits gets its deliveries, signed, under its own name.

Both modes: the embedded service (`serve`, SQLite) and a cluster replica (PostgreSQL, a
broker and S3 on a private network address, which the tenant aims at too). The service
runs in a mount namespace of its own whose /etc/hosts names `internal.example` and
`metadata.example` (inside) and `hooks.example` (the permitted receiver, 127.0.0.2).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from jobmanager.common.home import local_service_log
from tests.acceptance.api import JOBS, Caller, note
from tests.acceptance.cli_runner import Cli
from tests.acceptance.cluster import Cluster
from tests.acceptance.cluster_fixtures import backends, cluster, network
from tests.acceptance.server import ServerProcess
from tests.conftest import ON_CI
from tests.webhook_receiver import Receiver

__all__ = ["backends", "cluster", "network"]  # the fixtures this module uses
WEBHOOKS = "/api/jobmanager/v3/webhooks"
PERMITTED = "127.0.0.2"
ALLOWED = {"JOBMANAGER_WEBHOOK_ALLOWED_NETWORKS": f"{PERMITTED}/32"}
SECRET = "the-permitted-receivers-secret"
HOSTS = f"""127.0.0.1 localhost
127.0.0.1 internal.example
169.254.169.254 metadata.example
{PERMITTED} hooks.example
"""
REFUSED_NAME = (
    "ConnectError: {host} resolves to an address that is not public: webhooks are "
    "delivered to public addresses only, unless the operator allows the network"
)


def namespaced(folder: Path) -> tuple[str, ...]:
    """A command prefix: what follows runs in a mount namespace of its own, where
    /etc/hosts is `HOSTS` (the machine's stays as it is)."""
    hosts = folder / "hosts"
    hosts.write_text(HOSTS)
    as_user = () if os.geteuid() == 0 else ("--map-root-user",)
    prefix = ("unshare", *as_user, "--mount", "--propagation", "private", "--")
    bind = ("sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"', str(hosts))
    probe = subprocess.run(
        [*prefix, *bind, "getent", "hosts", "internal.example"], capture_output=True, text=True
    )
    if shutil.which("unshare") is None or "127.0.0.1" not in probe.stdout:
        reason = f"no mount namespace for a hosts file here: {probe.stderr.strip()}"
        if ON_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return (*prefix, *bind)


@pytest.fixture
def receivers() -> Iterator[dict[str, Receiver]]:
    """`inside`: a canary on loopback, standing for any service of the operator's;
    `permitted`: the operator's permitted receiver; `redirecting`: a permitted one that
    sends every delivery on to the canary."""
    inside = Receiver().start()
    made = {
        "inside": inside,
        "permitted": Receiver(host=PERMITTED).start(),
        "redirecting": Receiver(host=PERMITTED, redirect_to=inside.url).start(),
    }
    yield made
    for receiver in made.values():
        receiver.stop()


def literal_attacks(api_port: int, canary: int, private: str | None) -> dict[str, str]:
    """URL -> what the refusal says the address is."""
    attacks = {
        "http://127.0.0.1:5432/": "127.0.0.1 is a loopback address",
        "http://127.0.0.1:6379/": "127.0.0.1 is a loopback address",
        f"http://127.0.0.1:{api_port}/api/jobmanager/v3/jobs": "127.0.0.1 is a loopback address",
        "http://169.254.169.254/latest/meta-data/": "169.254.169.254 is a link-local address",
        f"http://2130706433:{api_port}/": "127.0.0.1 (2130706433) is a loopback address",
        f"http://0177.0.0.1:{canary}/": "127.0.0.1 (0177.0.0.1) is a loopback address",
        f"http://[::1]:{api_port}/": "::1 is a loopback address",
        f"http://[::ffff:127.0.0.1]:{canary}/": "(::ffff:127.0.0.1) is a loopback address",
        f"http://0.0.0.0:{api_port}/": "0.0.0.0 is the unspecified address",
    }
    if private is not None:  # the cluster's PostgreSQL, on the private network's address
        loopback = ip_address(private.split(":")[0]).is_loopback  # no namespaces here
        attacks[f"http://{private}/"] = (
            "is a loopback address" if loopback else "is a private address"
        )
    return attacks


def named_attacks(api_port: int, canary: int) -> list[str]:
    return [
        "http://internal.example:5432/",
        "http://internal.example:6379/",
        f"http://internal.example:{api_port}/api/jobmanager/v3/jobs",
        f"http://internal.example:{canary}/hook",
        f"http://localhost:{canary}/hook",
        "http://metadata.example/latest/meta-data/",
    ]


def signed(request: dict[str, Any]) -> bool:
    headers = {k.lower(): v for k, v in request["headers"].items()}
    message = headers["x-jobmanager-timestamp"].encode() + b"." + request["body"].encode()
    expected = "sha256=" + hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-jobmanager-signature"])


def create(http: httpx.Client, url: str, **extra: Any) -> httpx.Response:
    return http.post(WEBHOOKS, json={"url": url, "events": ["stopped"], **extra})


def first_attempts(http: httpx.Client, hooks: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each webhook's (url -> id) delivery, once its first attempt is recorded."""
    deadline = time.monotonic() + 120
    while True:
        found = {}
        for url, hook in hooks.items():
            listed = http.get(f"{WEBHOOKS}/{hook}/deliveries").json()["deliveries"]
            if listed and listed[0]["attempts"] >= 1:
                found[url] = listed[0]
        if len(found) == len(hooks):
            return found
        assert time.monotonic() < deadline, f"no attempt yet: {set(hooks) - set(found)}"
        time.sleep(0.2)


def hostile_tenant_is_refused(
    caller: Caller, api_port: int, receivers: dict[str, Receiver], private: str | None = None
) -> None:
    http = caller.http
    canary, permitted = receivers["inside"], receivers["permitted"]
    for url, said in literal_attacks(api_port, canary.port, private).items():
        answer = create(http, url)
        assert answer.status_code == 400, (url, answer.text)
        (error,) = answer.json()["errors"]
        assert said in error["message"] and "public addresses only" in error["message"], url
    assert http.get(WEBHOOKS).json()["webhooks"] == []

    named = named_attacks(api_port, canary.port)
    allowed = [f"http://hooks.example:{permitted.port}/hook", permitted.url]
    hooks = {}
    for url in [*named, receivers["redirecting"].url, *allowed]:
        answer = create(http, url, secret=SECRET)
        assert answer.status_code == 201, (url, answer.text)
        hooks[url] = answer.json()["id"]

    model = caller.model(note("%python\nprint('never runs')"))
    job = caller.submit(model, caller.configuration(), caller.folder("hostile-out"))
    assert http.post(f"{JOBS}/{job}/stop").json()["status"] == "STOPPED"
    attempts = first_attempts(http, hooks)

    for url in named:
        host = httpx.URL(url).host
        delivery = attempts[url]
        assert delivery["lastStatusCode"] is None, url
        assert delivery["lastError"] == REFUSED_NAME.format(host=host), url
    redirected = attempts[receivers["redirecting"].url]
    assert redirected["lastStatusCode"] == 307  # answered, and not followed
    for url in allowed:
        assert attempts[url]["status"] == "delivered", attempts[url]
    delivered = permitted.wait_for(2)
    assert all(signed(request) for request in delivered)
    assert {json.loads(request["body"])["job"]["id"] for request in delivered} == {job}
    hosts = sorted(request["headers"]["Host"] for request in delivered)
    assert hosts == sorted(f"{host}:{permitted.port}" for host in ("hooks.example", PERMITTED))
    assert canary.received == []  # nothing inside was reached


def test_a_hostile_tenant_reaches_nothing_inside_the_embedded_service(
    tmp_path: Path, receivers: dict[str, Receiver]
) -> None:
    env = {**ALLOWED, "JOBMANAGER_JOB_SLOTS": "0", "JOBMANAGER_WARM_ENVIRONMENTS": "0"}
    server = ServerProcess(tmp_path / "home", extra_env=env, prefix=namespaced(tmp_path))
    server.start()
    caller = Caller(server.url, server.token())
    try:
        hostile_tenant_is_refused(caller, server.port, receivers)
    finally:
        caller.close()
        server.stop()
    assert "Traceback" not in server.log()


def test_a_hostile_tenant_reaches_nothing_inside_a_cluster(
    cluster: Cluster,
    tmp_path: Path,
    receivers: dict[str, Receiver],
) -> None:
    replica = cluster.start_replica(prefix=namespaced(tmp_path), **ALLOWED)
    database = make_url(cluster.shared["JOBMANAGER_DATABASE_URL"])
    caller = cluster.caller(replica)
    try:
        private = f"{database.host}:{database.port}"
        hostile_tenant_is_refused(caller, replica.port, receivers, private)
    finally:
        caller.close()
    assert "Traceback" not in replica.log()


def test_the_clis_local_service_lets_its_one_user_reach_loopback_and_says_so(
    tmp_path: Path, receivers: dict[str, Receiver]
) -> None:
    """The CLI's local service (`serve --local`) has one user, the machine's own: its
    webhooks may reach loopback, which its log says; public addresses stay the rule."""
    cli = Cli(tmp_path)
    canary = receivers["inside"]
    try:
        made = cli("webhooks", "create", canary.url, "-e", "stopped", "--json").assert_ok()
        assert made.json()["url"] == canary.url
        cli("webhooks", "create", "http://10.1.2.3/hook", "-e", "stopped").assert_one_line_error(
            "10.1.2.3 is a private address"
        )
    finally:
        cli("serve", "--stop")
    log = local_service_log(tmp_path / ".jobmanager").read_text()
    assert "webhook deliveries go to public addresses and to 127.0.0.0/8, ::1/128" in log
