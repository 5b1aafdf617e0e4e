"""Python client figures against a real server: streaming upload and download of one large
file (throughput, the client's peak memory), a tree of small files, and paging.

    .venv/bin/python -m bench.client_transfer [MiB]   (default 512)
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from bench._server import Server
from jobmanager.client import PUBLIC_ROOT_ID, Client
from jobmanager.client.folders import download_tree, upload_tree

MIB = 1024 * 1024


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, work, amount: float, unit: str) -> None:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    work()
    seconds = time.perf_counter() - start
    print(f"{label:<34} {seconds:7.2f} s  {amount / seconds:9.1f} {unit}")


def main() -> None:
    size_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 512
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        server = Server(root / "home")
        try:
            credentials = json.loads((server.home / "dev-credentials.json").read_text())
            with Client(server.url, credentials["clientId"], credentials["clientSecret"]) as api:
                run(api, root, size_mib)
        finally:
            server.stop()


def run(api: Client, root: Path, size_mib: int) -> None:
    big = root / "big.bin"
    with big.open("wb") as handle:
        for _ in range(size_mib):
            handle.write(os.urandom(MIB))
    folder = api.create_directory("bench", PUBLIC_ROOT_ID)
    before = peak_rss_mib()
    uploaded: list[str] = []
    timed(
        f"upload_file {size_mib} MiB",
        lambda: uploaded.append(api.upload_file(folder.id, big).id),
        size_mib,
        "MiB/s",
    )
    timed(
        f"download_file {size_mib} MiB",
        lambda: api.download_file(uploaded[0], root / "copy.bin"),
        size_mib,
        "MiB/s",
    )
    print(f"client peak RSS before / after      {before:.0f} / {peak_rss_mib():.0f} MiB")

    small = root / "small"
    for index in range(500):
        (small / f"d{index % 10}").mkdir(parents=True, exist_ok=True)
        (small / f"d{index % 10}" / f"f{index}.csv").write_bytes(os.urandom(2048))
    tree = api.create_directory("tree", folder.id)
    timed("upload_tree 500 x 2 KiB", lambda: upload_tree(api, small, tree.id), 500, "files/s")
    timed(
        "download_tree 500 x 2 KiB",
        lambda: download_tree(api, tree.id, root / "small-copy"),
        500,
        "files/s",
    )
    flat = api.create_directory("flat", folder.id)
    for index in range(300):
        api.create_directory(f"e{index}", flat.id)
    timed(
        "iter_directory 300 entries x 20",
        lambda: [list(api.iter_directory(flat.id)) for _ in range(20)],
        6000,
        "entries/s",
    )


if __name__ == "__main__":
    main()
