"""What a job's network costs, and slirp4netns beside pasta, in one run on this machine.

(a) submit -> SUCCEEDED of a trivial note through a real server, with `network: allowed`
    and with `none`, in alternating batches (both see the same machine load, each first
    in every other round); p50 and p95. `none` is the configuration with every default,
    the one the pool warms at start; `allowed` differs from it in its network only. Jobs
    come `--spacing` seconds apart, time for the warm pool to start each one's
    replacement (0.3 s in `jobs_latency.py` measures the refill too).
    Target (issue 24): the job with network within 50 ms (p50) of the one without.
(b) a cold environment start (no warm pool) with and without network, and the network's
    set-up alone (namespace, rules, slirp4netns): what the warm pool takes off a job.
(c) a 100 MiB download from a test host (a network namespace of this run's own, on a
    public-looking address routed to it: nothing leaves the machine): from the host
    itself, from a job's environment through slirp4netns, and through pasta attached the
    same way (for the choice of the stack; pasta is not what jobs use).

Needs root (the test host's namespace) and slirp4netns; pasta where installed.
Run: .venv/bin/python bench/network.py [--jobs 40] [--batch 10] [--spacing 1.0] [--starts 10]
     [--parts abc]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.acceptance.netns import HostNetwork

from bench._server import Server, job_body, percentile, zeppelin_note
from bench.jobs_latency import FINAL, JOBS, wait
from jobmanager.domain import egress
from jobmanager.engine import Environment, EnvironmentSpec, Limits
from jobmanager.engine.network import Egress, NetworkStack
from jobmanager.engine.sandbox import Sandbox, find_bwrap
from jobmanager.engine.seccomp import write_filter

MIB = 1 << 20
SIZE = 100 * MIB
PORT = 9000
PASTA_READY: list[float] = []  # how long each pasta took to configure its namespace
# On the test host: every connection gets SIZE bytes.
SERVE = f"""
import socket
listener = socket.create_server(("0.0.0.0", {PORT}))
print("listening", flush=True)
chunk = bytes(range(256)) * 4096
while True:
    connection, _ = listener.accept()
    sent = 0
    while sent < {SIZE}:
        sent += connection.send(chunk[: {SIZE} - sent])
    connection.close()
"""
# Leaves the download's MiB/s in `figure`.
DOWNLOAD = """
import socket, time
started = time.perf_counter()
got = 0
with socket.create_connection(({host!r}, {port})) as connection:
    while True:
        data = connection.recv(1 << 20)
        if not data:
            break
        got += len(data)
figure = f"{{got / (time.perf_counter() - started) / (1 << 20):.0f}}"
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--spacing", type=float, default=1.0, help="seconds between jobs")
    parser.add_argument("--parts", default="abc", help="which of (a), (b), (c) to run")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-network-"))
    print(f"machine: {os.cpu_count()} CPUs; server: embedded default, 2 job slots")
    if "a" in args.parts:
        job_latency(folder, args.jobs, args.batch, args.spacing)
    if "b" in args.parts:
        cold_starts(folder, args.starts)
    if "c" in args.parts:
        downloads(folder)
    if PASTA_READY:
        print(f"    pasta's namespace configured after: p50 {_ms(PASTA_READY)} (polled)")
    shutil.rmtree(folder, ignore_errors=True)


def job_latency(folder: Path, jobs: int, batch: int, spacing: float) -> None:
    server = Server(folder / "home", JOBMANAGER_JOB_SLOTS="2")
    try:
        http = server.client()
        note = zeppelin_note("%python\nprint(1)")
        bodies = {name: job_body(http, note, network=name) for name in ("allowed", "none")}
        time.sleep(3)  # the pool warms up, as after any start
        latency: dict[str, list[float]] = {name: [] for name in bodies}
        for round_number in range(max(1, jobs // batch)):
            order = list(bodies) if round_number % 2 == 0 else list(reversed(bodies))
            for name in order:
                latency[name] += _latencies(http, bodies[name], batch, spacing)
    finally:
        server.stop()
    for name, samples in latency.items():
        print(
            f"(a) network {name:7} submit->SUCCEEDED over {len(samples)} jobs: "
            f"p50 {percentile(samples, 0.5) * 1000:.0f} ms, "
            f"p95 {percentile(samples, 0.95) * 1000:.0f} ms"
        )
    extra = percentile(latency["allowed"], 0.5) - percentile(latency["none"], 0.5)
    print(f"    allowed p50 - none p50: {extra * 1000:+.0f} ms (target: at most +50 ms)")


def _latencies(http: Any, body: dict[str, Any], count: int, spacing: float) -> list[float]:
    samples = []
    for _ in range(count):
        time.sleep(spacing)
        started = time.perf_counter()
        job = http.post(JOBS, json=body).json()
        done = wait(http, job["id"], FINAL)
        samples.append(time.perf_counter() - started)
        assert done["status"] == "SUCCEEDED", done["message"]
    return samples


def spec(folder: Path, network: bool) -> EnvironmentSpec:
    sandbox = Sandbox(find_bwrap(), seccomp=write_filter(folder / "seccomp.bpf"))
    rules = Egress(NetworkStack.find(sandbox.bwrap), egress.blocked()) if network else None
    return EnvironmentSpec(
        limits=Limits(network=network), base_dir=folder / "envs", sandbox=sandbox, egress=rules
    )


def cold_starts(folder: Path, count: int) -> None:
    specs = {"allowed": spec(folder, True), "none": spec(folder, False)}
    starts: dict[str, list[float]] = {name: [] for name in specs}
    for _ in range(count):
        for name, made in specs.items():
            started = time.perf_counter()
            environment = Environment.start(made)
            starts[name].append(time.perf_counter() - started)
            environment.destroy()
    rules = specs["allowed"].egress
    assert rules is not None
    setups = []
    for _ in range(count):
        started = time.perf_counter()
        network = rules.stack.start(rules, folder / "network.log")
        setups.append(time.perf_counter() - started)
        network.close()
    for name, samples in starts.items():
        print(f"(b) cold environment start, network {name:7}: p50 {_ms(samples)}")
    print(f"    the network's set-up alone: p50 {_ms(setups)}")


def downloads(folder: Path, rounds: int = 3) -> None:
    network = HostNetwork.open()
    if not network.isolated:
        print(f"(c) skipped: {network.reason}")
        return
    server = None
    try:
        network.add_host("source")
        address = f"198.51.100.{random.randint(2, 250)}"
        network.add_address("source", address)
        argv = network.command("source", [sys.executable, "-c", SERVE])
        server = subprocess.Popen(argv, stdout=subprocess.PIPE)
        assert server.stdout is not None
        assert server.stdout.readline() == b"listening\n"
        code = DOWNLOAD.format(host=address, port=PORT) + "print(figure)"
        ways: dict[str, Callable[[], str]] = {
            "from the host itself": lambda: _run([sys.executable, "-c", code]),
            "slirp4netns, as a job's network has it": lambda: _through_slirp(folder, code),
            "from a job's environment (slirp4netns)": lambda: _in_job(folder, code),
            "pasta, attached the same way": lambda: _through_pasta(code),
        }
        figures: dict[str, list[float]] = {way: [] for way in ways}
        for _ in range(rounds):
            for way, measure in ways.items():
                figure = measure()
                if figure:
                    figures[way].append(float(figure))
        print(f"(c) 100 MiB from a test host, MiB/s, median of {rounds} (each run):")
        for way, found in figures.items():
            shown = f"{percentile(found, 0.5):.0f} ({', '.join(f'{f:.0f}' for f in found)})"
            print(f"    {way}: {shown if found else 'not installed'}")
    finally:
        if server is not None:
            server.kill()
            server.communicate(timeout=10)
        network.close()


def _through_slirp(folder: Path, code: str) -> str:
    rules = spec(folder, True).egress
    assert rules is not None
    network = rules.stack.start(rules, folder / "network.log")
    try:
        return str(_run([*network.enter, sys.executable, "-c", code]))
    finally:
        network.close()


def _in_job(folder: Path, code: str) -> str:
    environment = Environment.start(spec(folder, True))
    try:
        report = code.replace("print(figure)", "open(outputFolder + '/figure', 'w').write(figure)")
        environment.kernel("python").run_silent(report, timeout=120)
        return (environment.output_dir / "figure").read_text()
    finally:
        environment.destroy()


def _through_pasta(code: str) -> str:
    """pasta attached to a namespace held by `unshare`, as slirp4netns is to the holder's;
    its readiness polled (this pasta has no signal for it). "" if it is not installed."""
    pasta = shutil.which("pasta")
    if pasta is None:
        return ""
    holder = subprocess.Popen(["unshare", "--user", "--map-root-user", "--net", "sleep", "60"])
    try:
        time.sleep(0.2)
        namespace = [f"--userns=/proc/{holder.pid}/ns/user", f"--netns=/proc/{holder.pid}/ns/net"]
        options = ["-t", "none", "-u", "none", "-T", "none", "-U", "none", "--no-map-gw"]
        owner = ["--runas", "0"] if os.geteuid() == 0 else []
        stack = subprocess.Popen(
            [pasta, "--config-net", "-f", "-q", *owner, *options, *namespace],
            stderr=subprocess.DEVNULL,
        )
        enter = ["nsenter", f"--target={holder.pid}", "--user", "--net", "--"]
        started = time.perf_counter()
        _wait(lambda: "default" in _run([*enter, "ip", "route"]))
        PASTA_READY.append(time.perf_counter() - started)
        figure = _run([*enter, sys.executable, "-c", code])
        stack.kill()
        stack.wait(10)
        return str(figure)
    finally:
        holder.kill()
        holder.wait(10)


def _wait(ready: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError("pasta did not configure its namespace")
        time.sleep(0.001)


def _run(argv: list[str]) -> Any:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


def _ms(samples: list[float]) -> str:
    return f"{percentile(samples, 0.5) * 1000:.0f} ms"


if __name__ == "__main__":
    main()
