"""How much the blob store grows when 100 jobs write the same 10 MiB file, through a real
`jobmanager serve` running real jobs, with its blobs in a local folder and on an S3 server
(moto's `moto_server` process).

Run: .venv/bin/python bench/output_dedupe.py [--jobs 100] [--mib 10] [--store local|s3|both]

Every job runs a note that writes the same `--mib` MiB file into one output folder (each
run overwrites the last: re-runs). Every job keeps its own output (its page and
`GET /jobs/{id}/outputs` list it and download its bytes), but identical bytes are stored
once. Printed per store: the store's growth (the sum of its objects' sizes after, less
before), what the jobs saved in all (the sum of their outputs' sizes, what a store
without sharing would grow by), and the check that each job's output is the file. The
target: growth at most `--mib` + 1 MiB (the executed notes differ per job, a few KiB each).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.acceptance.server import ServerProcess
from tests.s3 import MotoServer

from jobmanager.store.fsspec_blobs import FsspecBlobStore

MIB = 1024 * 1024
JOBS = "/api/jobmanager/v3/jobs"
DX = "/api/dataexchange/v3"
FINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def note(mib: int) -> bytes:
    """A Zeppelin note that writes `mib` MiB of the same bytes on every run."""
    text = (
        "%python\nimport pathlib\n"
        f"pathlib.Path(outputFolder, 'model.bin').write_bytes(bytes(range(256)) * {mib * 4096})"
    )
    paragraph = {"text": text, "config": {"enabled": True}, "id": "p1", "status": "READY"}
    document = {
        "paragraphs": [paragraph],
        "name": "same bytes",
        "id": "2BENCHSAME",
        "defaultInterpreterGroup": "python",
        "version": "0.11.2",
        "config": {},
        "info": {},
    }
    return json.dumps(document).encode()


@dataclass
class Figures:
    growth: int
    saved: int
    identical: bool
    seconds: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--mib", type=int, default=10)
    parser.add_argument("--store", choices=["local", "s3", "both"], default="both")
    args = parser.parse_args()
    stores = ["local", "s3"] if args.store == "both" else [args.store]
    results: dict[str, Figures] = {}
    with tempfile.TemporaryDirectory(prefix="jm-bench-") as folder:
        for store in stores:
            results[store] = measure(Path(folder) / store, store, args.jobs, args.mib)
    report(results, args.jobs, args.mib)


def measure(folder: Path, store: str, jobs: int, mib: int) -> Figures:
    folder.mkdir()
    moto = MotoServer(folder / "moto.log").start() if store == "s3" else None
    try:
        env = {"JOBMANAGER_LOG_LEVEL": "WARNING"}
        if moto is not None:
            url = f"s3://{moto.new_bucket()}/blobs"
            env |= {**moto.settings_env(), "JOBMANAGER_BLOB_URL": url}
            size_of = objects_size(FsspecBlobStore.for_url(url, moto.access()))
        else:
            size_of = folder_size(folder / "home" / "blobs")
        server = ServerProcess(folder / "home", extra_env=env).start(timeout=120)
        try:
            return run(server, jobs, mib, size_of)
        finally:
            server.stop()
    finally:
        if moto is not None:
            moto.stop()


def folder_size(root: Path) -> Callable[[], int]:
    def size() -> int:
        return sum(p.stat().st_size for p in root.glob("??/*") if p.is_file())

    return size


def objects_size(blobs: FsspecBlobStore) -> Callable[[], int]:
    def size() -> int:
        found = blobs.fs.find(blobs.root, detail=True)
        return sum(int(info["size"]) for path, info in found.items() if "/tmp/" not in path)

    return size


def run(server: ServerProcess, jobs: int, mib: int, size_of: Callable[[], int]) -> Figures:
    headers = {"Authorization": f"Bearer {server.token()}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=120) as api:
        metadata = {"name": "same", "description": "", "type": "zeppelin", "lastVersion": {}}
        model = api.post(
            "/api/modelmanagement/v3/models",
            files={
                "file": ("same.zpln", note(mib), "application/json"),
                "metadata": (None, json.dumps(metadata), "application/json"),
            },
        ).json()["id"]
        body = {"name": "bench", "maxEnvironments": 4}
        configuration = api.post("/api/prl/v3/configurations", json=body).json()["id"]
        folders = [
            api.post(f"{DX}/directories", json={"name": n, "parentId": "_PUBLIC_ROOT_ID"}).json()
            for n in ("in", "out")
        ]
        before = size_of()
        began = time.perf_counter()
        job = {
            "modelId": model,
            "configurationId": configuration,
            "inputFolderId": folders[0]["id"],
            "outputFolderId": folders[1]["id"],
        }
        ids = [api.post(JOBS, json=job).json()["id"] for _ in range(jobs)]
        for job_id in ids:
            wait(api, job_id)
        seconds = time.perf_counter() - began
        growth = size_of() - before
        saved, checksums = 0, set()
        for job_id in ids:
            outputs = api.get(f"{JOBS}/{job_id}/outputs").json()["outputs"]
            saved += sum(int(o["sizeInBytes"]) for o in outputs)
            checksums |= {o["sha256"] for o in outputs if o["path"] == "model.bin"}
        expected = bytes(range(256)) * (mib * 4096)
        sample = api.get(f"{JOBS}/{ids[0]}/outputs/model.bin").content
        identical = len(checksums) == 1 and sample == expected
    return Figures(growth, saved, identical, seconds)


def wait(api: httpx.Client, job_id: str) -> None:
    while True:
        job = api.get(f"{JOBS}/{job_id}").json()
        if job["status"] in FINAL:
            if job["status"] != "SUCCEEDED":
                raise RuntimeError(f"job {job_id} ended {job['status']}: {job['message']}")
            return
        time.sleep(0.2)


def report(results: dict[str, Figures], jobs: int, mib: int) -> None:
    memory = psutil.virtual_memory().total / 2**30
    print(f"{jobs} jobs each writing the same {mib} MiB file into one output folder")
    print(f"machine {os.cpu_count()} CPUs, {memory:.0f} GiB RAM, load {os.getloadavg()[0]:.1f}")
    print(f"{'':36}" + "".join(f"{store:>12}" for store in results))
    rows = {
        "store growth MiB": lambda f: f"{f.growth / MIB:.2f}",
        "saved by the jobs, in all MiB": lambda f: f"{f.saved / MIB:.1f}",
        "growth / saved": lambda f: f"{f.growth / f.saved:.4f}",
        "each job's output is the file": lambda f: "yes" if f.identical else "NO",
        "jobs' wall time s": lambda f: f"{f.seconds:.0f}",
    }
    for name, shown in rows.items():
        print(f"{name:36}" + "".join(f"{shown(f):>12}" for f in results.values()))
    limit = (mib + 1) * MIB
    within = all(f.growth <= limit and f.identical for f in results.values())
    print(f"target: growth <= {mib + 1} MiB: {'met' if within else 'NOT met'}")


if __name__ == "__main__":
    main()
