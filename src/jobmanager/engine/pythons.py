"""The Python an environment runs: the service's own, or a cached virtual environment.

A configuration that lists packages gets a virtual environment keyed by the hash of
its requirements, built once (under a file lock, so concurrent jobs and processes
build it once) and reused by every later environment of the same requirements. The
service's own packages (ipykernel, pandas, matplotlib, ...) stay importable there
through a `.pth` file; the configuration's packages are installed on top and win.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import site
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

READY = ".ready"
INSTALL_TIMEOUT_SECONDS = 900


class PythonBuildError(RuntimeError):
    """The virtual environment could not be made or its packages not installed."""


def python_for(packages: Sequence[str], cache_dir: Path) -> str:
    """The interpreter for these requirements: `sys.executable` when there are none."""
    if not packages:
        return sys.executable
    key = hashlib.sha256("\n".join([sys.version, *sorted(packages)]).encode()).hexdigest()[:20]
    target = cache_dir / key
    python = target / "bin" / "python"
    if (target / READY).exists():
        return str(python)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with (cache_dir / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / READY).exists():
            _build(target, list(packages))
    return str(python)


def _build(target: Path, packages: list[str]) -> None:
    shutil.rmtree(target, ignore_errors=True)  # a build that died half-way
    _run([sys.executable, "-m", "venv", "--without-pip", str(target)], "create it")
    python = target / "bin" / "python"
    own_site = _site_packages(python)
    (own_site / "_jobmanager_service.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--no-input",
            "--disable-pip-version-check",
            "--quiet",
            *packages,
        ],
        "install the configuration's packages",
    )
    (target / READY).touch()


def _site_packages(python: Path) -> Path:
    answer = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(answer.stdout.strip())


def _run(argv: list[str], what: str) -> None:
    try:
        subprocess.run(
            argv, capture_output=True, text=True, check=True, timeout=INSTALL_TIMEOUT_SECONDS
        )
    except subprocess.CalledProcessError as error:
        lines = (error.stderr or error.stdout or "").strip().splitlines()
        detail = [line for line in lines if line.startswith("ERROR")] or lines[-3:]
        raise PythonBuildError(f"Could not {what}: {' '.join(detail)}") from None
    except subprocess.TimeoutExpired:
        raise PythonBuildError(f"Could not {what} within {INSTALL_TIMEOUT_SECONDS} s") from None
