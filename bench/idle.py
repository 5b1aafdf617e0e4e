"""The service at rest (issue 27): CPU of an idle `jobmanager serve` over a minute.

A real `jobmanager serve` with every default (job slots, the warm pool, the scheduler,
the notifier) and no work: after `--settle` seconds (the warm pool fills), its CPU
time over `--seconds` as a share of one core, the serve process alone and its child
processes (the warm environments) apart, from /proc through psutil. Per store: SQLite
(the embedded default) and, with `--store postgres`, a database of its own.

Run: .venv/bin/python -m bench.idle [--seconds 60] [--settle 15] [--store sqlite postgres]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import psutil

from bench._server import Server
from bench.schedule_jitter import drop_database, start_server

SLOTS = 2  # the default's job slots, and a warm pool of two more


def cpu_seconds(process: psutil.Process) -> tuple[float, float]:
    """The CPU seconds of the process, and of its living children."""
    times = process.cpu_times()
    own = times.user + times.system
    children = 0.0
    for child in process.children(recursive=True):
        try:
            child_times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        children += child_times.user + child_times.system
    return own, children


def idle_share(server: Server, settle: float, seconds: float) -> tuple[float, float]:
    """The share of a core (%) the server and its children used at rest."""
    time.sleep(settle)
    own_before, children_before = cpu_seconds(server.psutil)
    started = time.monotonic()
    time.sleep(seconds)
    own_after, children_after = cpu_seconds(server.psutil)
    elapsed = time.monotonic() - started
    return (
        100 * (own_after - own_before) / elapsed,
        100 * (children_after - children_before) / elapsed,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--settle", type=float, default=15)
    parser.add_argument("--store", nargs="+", default=["sqlite"])
    parser.add_argument("--slots", type=int, default=SLOTS)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(f"{'store':<10}{'serve % of a core':>20}{'its children %':>16}")
    for store in args.store:
        with tempfile.TemporaryDirectory(prefix="jm-idle-") as folder:
            warm = {"JOBMANAGER_WARM_ENVIRONMENTS": str(args.slots + 2 if args.slots else 0)}
            server, database = start_server(Path(folder) / "home", store, args.slots, **warm)
            try:
                own, children = idle_share(server, args.settle, args.seconds)
            finally:
                server.stop()
                if database is not None:
                    drop_database(database)
        print(f"{store:<10}{own:>20.2f}{children:>16.2f}")
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
