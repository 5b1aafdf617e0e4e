"""Upload then download a 1 GiB model payload through a real `jobmanager serve`, with its
blobs in a local folder and on an S3 server (moto's `moto_server` process).

Run: .venv/bin/python bench/blobs_1gib.py [--mib 1024] [--store local|s3|both]

The client streams the multipart body from a generator and counts the download as it
arrives, so neither side holds the payload. Prints MiB/s each way and the server's
peak RSS growth over its idle RSS during each direction (server process and its
children, sampled every 20 ms), one column per store. Targets for the local folder:
>= 200 MiB/s each way; for both: RSS growth far below the payload (< 100 MiB).
The S3 figures include moto's own cost (a Python server on the same cores).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.acceptance.server import ServerProcess
from tests.s3 import MotoServer

MIB = 1024 * 1024
BOUNDARY = "bench-boundary-7f3a"
MODELS = "/api/modelmanagement/v3/models"


class RssSampler:
    """The peak RSS of a process tree, sampled in a background thread."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def current(self) -> int:
        total = 0
        for process in [self.process, *self.process.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self.peak = self.current()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def multipart_body(block: bytes, blocks: int, digest: hashlib._Hash) -> Iterator[bytes]:
    yield (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="metadata"\r\n'
        "Content-Type: application/json\r\n\r\n"
        f"{json.dumps({'name': 'bench-1gib', 'type': 'bench'})}\r\n"
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="payload.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    for _ in range(blocks):
        digest.update(block)
        yield block
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


@dataclass
class Figures:
    upload_seconds: float
    download_seconds: float
    idle_rss: int
    upload_peak_rss: int
    download_peak_rss: int


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=1024, help="payload size in MiB")
    parser.add_argument("--store", choices=["local", "s3", "both"], default="both")
    args = parser.parse_args()
    block = os.urandom(MIB)
    stores = ["local", "s3"] if args.store == "both" else [args.store]
    results: dict[str, Figures] = {}
    with tempfile.TemporaryDirectory(prefix="jm-bench-") as folder:
        for store in stores:
            results[store] = measure(Path(folder) / store, store, block, args.mib)
    report(results, args.mib)


def measure(folder: Path, store: str, block: bytes, mib: int) -> Figures:
    folder.mkdir()
    moto = MotoServer(folder / "moto.log").start() if store == "s3" else None
    try:
        env = {"JOBMANAGER_WARM_ENVIRONMENTS": "0"}  # no kernels starting while measured
        if moto is not None:
            env |= {**moto.settings_env(), "JOBMANAGER_BLOB_URL": f"s3://{moto.new_bucket()}/b"}
        server = ServerProcess(folder / "home", extra_env=env).start()
        try:
            return run(server, block, mib)
        finally:
            server.stop()
    finally:
        if moto is not None:
            moto.stop()


def run(server: ServerProcess, block: bytes, mib: int) -> Figures:
    assert server.process is not None
    headers = {"Authorization": f"Bearer {server.token()}"}
    timeout = httpx.Timeout(600.0)
    with httpx.Client(base_url=server.url, headers=headers, timeout=timeout) as client:
        idle = RssSampler(server.process.pid).current()
        sent = hashlib.sha256()
        with RssSampler(server.process.pid) as uploading:
            began = time.perf_counter()
            answer = client.post(
                MODELS,
                content=multipart_body(block, mib, sent),
                headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
            )
            upload_seconds = time.perf_counter() - began
        answer.raise_for_status()
        model = answer.json()
        url = f"{MODELS}/{model['id']}/versions/last"
        received = hashlib.sha256()
        size = 0
        with RssSampler(server.process.pid) as downloading:
            began = time.perf_counter()
            with client.stream(
                "GET", url, headers={"Content-Type": "application/octet-stream"}
            ) as download:
                download.raise_for_status()
                for chunk in download.iter_raw(MIB):
                    received.update(chunk)
                    size += len(chunk)
            download_seconds = time.perf_counter() - began
        assert size == mib * MIB, f"downloaded {size} bytes, sent {mib * MIB}"
        assert received.digest() == sent.digest(), "the download differs from the upload"
        client.delete(f"{MODELS}/{model['id']}").raise_for_status()
    return Figures(upload_seconds, download_seconds, idle, uploading.peak, downloading.peak)


def report(results: dict[str, Figures], mib: int) -> None:
    memory = psutil.virtual_memory().total / 2**30
    print(f"payload {mib} MiB (random), byte-identical round trip: yes")
    print(f"machine {os.cpu_count()} CPUs, {memory:.0f} GiB RAM")
    print(f"{'':28}" + "".join(f"{store:>14}" for store in results))
    rows = {
        "upload MiB/s": lambda f: f"{mib / f.upload_seconds:.1f}",
        "download MiB/s": lambda f: f"{mib / f.download_seconds:.1f}",
        "server idle RSS MiB": lambda f: f"{f.idle_rss / MIB:.1f}",
        "upload: RSS growth MiB": lambda f: f"{(f.upload_peak_rss - f.idle_rss) / MIB:.1f}",
        "download: RSS growth MiB": lambda f: f"{(f.download_peak_rss - f.idle_rss) / MIB:.1f}",
    }
    for name, shown in rows.items():
        print(f"{name:28}" + "".join(f"{shown(f):>14}" for f in results.values()))
    if "local" in results and "s3" in results:
        local, s3 = results["local"], results["s3"]
        print(
            f"s3 / local time: upload {s3.upload_seconds / local.upload_seconds:.2f}x, "
            f"download {s3.download_seconds / local.download_seconds:.2f}x"
        )


if __name__ == "__main__":
    main()
