"""Broker traffic of a burst (issue 28's drill): API replicas with Celery dispatch, a
private PostgreSQL, Redis broker and moto_server S3, `jobmanager worker` hosts, and N
trivial jobs submitted at once through the replicas.

Run (as root, for the namespaces): .venv/bin/python bench/broker_traffic.py [--jobs 60]
    [--replicas 2] [--workers 1] [--slots 2]

Prints broker messages per job (Redis LPUSH/RPUSH calls from the first submission until
every job ended and each replica swept once more), the queue's peak depth beside the
peak of waiting jobs, how many jobs did not end SUCCEEDED (lost) and how many ran more
than once (doubled: a second attempt, or a second file in the job's output folder).
The bars: messages per job <= 2, peak depth <= waiting jobs + slots, 0 lost, 0 doubled.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.acceptance.broker_drill import burst
from tests.acceptance.cluster import Backends, Cluster
from tests.acceptance.netns import HostNetwork


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=60)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--slots", type=int, default=2, help="job slots of each worker")
    args = parser.parse_args()
    # A SIGTERM unwinds like Ctrl-C: the processes, namespaces and folders made go.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    network = HostNetwork.open()
    logs = Path(tempfile.mkdtemp(prefix="jm-bench-"))
    backends = Backends.start(network.address, logs)
    shared = {**backends.settings_env(), "JOBMANAGER_LOG_LEVEL": "WARNING"}
    slots = args.workers * args.slots
    try:
        with Cluster.running(shared, network, show_logs=False) as cluster:
            for _ in range(args.replicas):
                cluster.start_replica()
            for n in range(args.workers):
                cluster.start_worker(f"host-{n + 1}", slots=args.slots)
            traffic = burst(cluster, backends, args.jobs, slots)
    finally:
        backends.close()
        network.close()
        shutil.rmtree(logs, ignore_errors=True)
    print(
        f"{args.replicas} replicas, {args.workers} worker(s) x {args.slots} slots: "
        f"{traffic.line()}; load {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    bars = (
        traffic.per_job <= 2,
        traffic.peak_depth <= traffic.peak_waiting + slots,
        traffic.lost == 0,
        traffic.doubled == 0,
    )
    print("bars met" if all(bars) else "bars NOT met")


if __name__ == "__main__":
    main()
