"""Speed where users feel it, side by side in one run (prints figures, not a test):

1. CLI start-up: `jobmanager --help`, and `jobmanager jobs list` against a warm local
   service; wall time (median of 5) and python -X importtime's total.
2. `jobmanager run NOTEBOOK --input DIR`: the first call in a fresh home (it starts the
   local service) and the second (the service is warm), against the papermill CLI on
   the same notebook (a cold kernel every call, as always), as ratios.
3. Sequential jobs through the service (each submitted when the one before ends):
   submit -> SUCCEEDED p50 and p95.
4. Bursts of trivial notes submitted at once: jobs per minute, peak memory of the service
   with its environments, and where one job's CPU-seconds go (the service process, the
   job's environment as its accounting counts it).

The notebook is the 3-cell one of the issue: markdown, a print, a subprocess echo. The
sandbox is on (the default). Run on a quiet machine if you can; the load average is
printed at the start and the end, since figures on a shared machine are only comparable
as ratios within one run.

Run: .venv/bin/python -m bench.speed [--repeat 5] [--sequential 40] [--burst 200 1000]
         [--isolation sandbox|process]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import nbformat
import psutil

from bench._server import Server, job_body, percentile, zeppelin_note

JOBS = "/api/jobmanager/v3/jobs"
FINAL = {"SUCCEEDED", "FAILED", "STOPPED"}
MARKDOWN = "# Report\nSome **bold** text."
PRINT = "print('hello')"
ECHO = "import subprocess\nsubprocess.run(['echo', 'hello from a subprocess'], check=True)"


def notebook(path: Path) -> Path:
    document = nbformat.v4.new_notebook()
    document.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    document.cells = [
        nbformat.v4.new_markdown_cell(MARKDOWN),
        nbformat.v4.new_code_cell(PRINT),
        nbformat.v4.new_code_cell(ECHO),
    ]
    nbformat.write(document, path)
    return path


ISOLATION: dict[str, str] = {}  # JOBMANAGER_ISOLATION when --isolation names one


def cli_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBMANAGER_")}
    env.update(ISOLATION)
    env["JOBMANAGER_HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home.parent / "config")  # no saved login
    return env


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{command} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed


def jobmanager(*args: str) -> list[str]:
    return [sys.executable, "-m", "jobmanager", *args]


def import_seconds(args: list[str], env: dict[str, str], cwd: Path) -> float:
    """The cumulative import time python -X importtime reports for the command."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "jobmanager", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    total = 0
    for line in done.stderr.splitlines():
        found = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)
        if found and not found.group(2).startswith(" "):
            total += int(found.group(1))
    return total / 1e6


def run_calls(folder: Path, repeat: int) -> dict[str, list[float]]:
    """`jobmanager run`, first and second call per fresh home, and papermill, interleaved."""
    source = notebook(folder / "three.ipynb")
    (folder / "in").mkdir(exist_ok=True)
    (folder / "in" / "data.txt").write_text("1\n")
    samples: dict[str, list[float]] = {"first": [], "second": [], "papermill": []}
    for n in range(repeat):
        home = folder / f"home-{n}"
        env = cli_env(home)
        run = jobmanager("run", source.name, "-i", "in", "-o", f"out-{n}")
        try:
            for call in ("first", "second"):
                samples[call].append(timed(run, env, folder))
        except RuntimeError as failed:  # a job that failed (a kernel that never started)
            say(f"   a jobmanager run call failed, left out: {str(failed).splitlines()[-2]}")
        finally:
            subprocess.run(jobmanager("serve", "--stop"), env=env, cwd=folder, capture_output=True)
            shutil.rmtree(home, ignore_errors=True)
        papermill = [sys.executable, "-m", "papermill", source.name, f"pm-{n}.ipynb", "--cwd", "in"]
        samples["papermill"].append(timed(papermill, os.environ.copy(), folder))
    return samples


def cli_startup(folder: Path) -> dict[str, tuple[float, float]]:
    """Median wall time of 5 calls and the import time, with a warm local service."""
    home = folder / "home-cli"
    env = cli_env(home)
    timed(jobmanager("jobs", "list"), env, folder)  # starts the local service
    figures = {}
    try:
        for args in (["--help"], ["jobs", "list"]):
            walls = [timed(jobmanager(*args), env, folder) for _ in range(5)]
            figures[" ".join(args)] = (statistics.median(walls), import_seconds(args, env, folder))
    finally:
        subprocess.run(jobmanager("serve", "--stop"), env=env, cwd=folder, capture_output=True)
    return figures


def wait_final(http: httpx.Client, job_id: str, poll: float = 0.01) -> dict[str, Any]:
    while True:
        job = http.get(f"{JOBS}/{job_id}").json()
        if job["status"] in FINAL:
            return dict(job)
        time.sleep(poll)


def wait_all_final(http: httpx.Client) -> None:
    """Until no job is waiting or live: one count query every quarter second."""
    live = '{"status":{"or":[{"eq":"SUBMITTED"},{"eq":"STARTING"},{"eq":"RUNNING"}]}}'
    while http.get(JOBS, params={"filter": live, "size": 1}).json()["page"]["totalElements"]:
        time.sleep(0.25)


def sequential(http: httpx.Client, body: dict[str, Any], count: int) -> tuple[list[float], int]:
    """Submit -> final of each SUCCEEDED job, and how many did not succeed."""
    samples, failed = [], 0
    for _ in range(count):
        started = time.perf_counter()
        done = wait_final(http, http.post(JOBS, json=body).json()["id"])
        if done["status"] == "SUCCEEDED":
            samples.append(time.perf_counter() - started)
        else:
            failed += 1
    return samples, failed


class PeakMemory:
    """Samples the resident memory of a process and all its descendants."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._done.wait(0.25):
            total = 0
            for each in [self.process, *self.process.children(recursive=True)]:
                try:
                    total += each.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)


def burst(server: Server, body: dict[str, Any], count: int) -> dict[str, float]:
    clients = [server.client() for _ in range(8)]
    service = psutil.Process(server.process.pid)
    cpu_before = sum(service.cpu_times()[:2])
    with PeakMemory(server.process.pid) as memory:
        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda n: submit(clients[n % 8], body), range(count)))
        wait_all_final(clients[0])
        elapsed = time.perf_counter() - started
    jobs = [clients[0].get(f"{JOBS}/{job_id}").json() for job_id in ids]
    service_cpu = sum(service.cpu_times()[:2]) - cpu_before
    kernel_cpu = sum(float((j.get("accounting") or {}).get("cpuSeconds") or 0) for j in jobs)
    for client in clients:
        client.close()
    return {
        "per_minute": count / elapsed * 60,
        "seconds": elapsed,
        "failed": sum(1 for j in jobs if j["status"] != "SUCCEEDED"),
        "peak_mib": memory.peak / 2**20,
        "service_cpu": service_cpu / count,
        "kernel_cpu": kernel_cpu / count,
    }


def submit(http: httpx.Client, body: dict[str, Any]) -> str:
    return str(http.post(JOBS, json=body).json()["id"])


def load() -> str:
    """The load average (1, 5, 15 minutes)."""
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def service_figures(folder: Path, count: int, bursts: list[int]) -> None:
    server = Server(folder / "home-service", **ISOLATION)
    try:
        http = server.client()
        note = zeppelin_note(f"%md\n{MARKDOWN}", f"%python\n{PRINT}", "%sh\necho hi")
        three = job_body(http, note)
        trivial = job_body(http, zeppelin_note("%python\nprint(1)"))
        time.sleep(3)  # the pool warms up, as after any start
        with PeakMemory(server.process.pid) as at_rest:
            time.sleep(1)
        samples, failed = sequential(http, three, count)
        if not samples:
            say(f"3. none of {count} sequential jobs SUCCEEDED")
            return
        p50, p95 = percentile(samples, 0.5), percentile(samples, 0.95)
        say(
            f"3. {len(samples)} sequential jobs ({failed} not SUCCEEDED): p50 {p50:.3f} s, "
            f"p95 {p95:.3f} s (p95/p50 {p95 / p50:.2f}); service with its warm pool at rest "
            f"{at_rest.peak / 2**20:.0f} MiB"
        )
        for size in bursts:
            figures = burst(server, trivial, size)
            say(
                f"4. burst of {size}: {figures['per_minute']:.0f} jobs/min "
                f"({figures['seconds']:.0f} s, {figures['failed']:.0f} not SUCCEEDED), "
                f"peak {figures['peak_mib']:.0f} MiB; CPU-s per job: service "
                f"{figures['service_cpu']:.2f}, environment {figures['kernel_cpu']:.2f}"
            )
    finally:
        server.stop()


def say(line: str) -> None:
    print(f"{line}  [load {load()}]", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sequential", type=int, default=40)
    parser.add_argument("--burst", type=int, nargs="*", default=[200, 1000])
    parser.add_argument(
        "--isolation",
        choices=["sandbox", "process"],
        default="sandbox",
        help="process: no sandbox, no cgroups (to tell the service's part from the sandbox's)",
    )
    args = parser.parse_args()
    ISOLATION["JOBMANAGER_ISOLATION"] = args.isolation
    folder = Path(tempfile.mkdtemp(prefix="bench-speed-"))
    say(f"machine: {os.cpu_count()} CPUs; isolation {args.isolation}; figures as they come")
    for command, (wall, imports) in cli_startup(folder).items():
        say(f"1. jobmanager {command}: {wall:.2f} s wall (median of 5), imports {imports:.2f} s")
    calls = run_calls(folder, args.repeat)
    pm = statistics.median(calls["papermill"])
    say(f"2. over {args.repeat} calls, medians: papermill {pm:.2f} s")
    for name in ("first", "second"):
        if calls[name]:
            ours = statistics.median(calls[name])
            say(f"   jobmanager run, {name} call: {ours:.2f} s = {ours / pm:.2f}x papermill")
    service_figures(folder, args.sequential, args.burst)


if __name__ == "__main__":
    main()
