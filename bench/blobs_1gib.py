"""Upload then download a 1 GiB model payload through a real `jobmanager serve`.

Run: .venv/bin/python bench/blobs_1gib.py [--mib 1024]

The client streams the multipart body from a generator and counts the download as it
arrives, so neither side holds the payload. Prints MiB/s each way and the server's
peak RSS growth over its idle RSS (server process and its children, sampled every
20 ms). Targets: >= 200 MiB/s each way, < 100 MiB RSS growth.
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
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.acceptance.server import ServerProcess

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=1024, help="payload size in MiB")
    args = parser.parse_args()
    block = os.urandom(MIB)
    with tempfile.TemporaryDirectory(prefix="jm-bench-") as folder:
        server = ServerProcess(Path(folder) / "home").start()
        try:
            run(server, block, args.mib)
        finally:
            server.stop()


def run(server: ServerProcess, block: bytes, mib: int) -> None:
    assert server.process is not None
    headers = {"Authorization": f"Bearer {server.token()}"}
    timeout = httpx.Timeout(600.0)
    with httpx.Client(base_url=server.url, headers=headers, timeout=timeout) as client:
        sampler = RssSampler(server.process.pid)
        idle = sampler.current()
        with sampler:
            sent = hashlib.sha256()
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
    print(f"payload          {mib} MiB (random), byte-identical round trip: yes")
    memory = psutil.virtual_memory().total / 2**30
    print(f"machine          {os.cpu_count()} CPUs, {memory:.0f} GiB RAM")
    print(f"upload           {upload_seconds:7.2f} s  {mib / upload_seconds:8.1f} MiB/s")
    print(f"download         {download_seconds:7.2f} s  {mib / download_seconds:8.1f} MiB/s")
    print(f"server idle RSS  {idle / MIB:7.1f} MiB")
    growth = (sampler.peak - idle) / MIB
    print(f"server peak RSS  {sampler.peak / MIB:7.1f} MiB  (growth {growth:.1f} MiB)")


if __name__ == "__main__":
    main()
