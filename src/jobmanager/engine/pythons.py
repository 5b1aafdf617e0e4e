"""The Python an environment runs: the service's own, or a cached virtual environment.

A configuration that lists packages, or asks for another Python (`runtime`
`python3.12` on a 3.11 service), gets a virtual environment keyed by the hash of the
runtime and the requirements, built once (under a file lock, so concurrent jobs and
processes build it once) and reused by every later environment that asks the same.
On the service's own Python, its packages (ipykernel, pandas, matplotlib, ...) stay
importable through a `.pth` file and the configuration's are installed on top; on
another Python, ipykernel is installed beside the configuration's packages.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import site
import subprocess
import sys
import threading
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

READY = ".ready"
INSTALL_TIMEOUT_SECONDS = 900
OWN_RUNTIME = f"python3.{sys.version_info.minor}"


class PythonBuildError(RuntimeError):
    """The Python asked for is not here, or its environment could not be built."""


def python_for(runtime: str, packages: Sequence[str], cache_dir: Path) -> str:
    """The interpreter for a runtime (`python3`, `python3.X`) and its requirements."""
    own = runtime in ("python3", OWN_RUNTIME)
    if own and not packages:
        return sys.executable
    base = sys.executable if own else shutil.which(runtime)
    if base is None:
        raise PythonBuildError(
            f"The runtime {runtime} is not installed on this machine (the service runs "
            f"{OWN_RUNTIME}; install {runtime} or use python3)"
        )
    key = hashlib.sha256("\n".join([runtime, sys.version, *sorted(packages)]).encode())
    target = cache_dir / key.hexdigest()[:20]
    python = target / "bin" / "python"
    if (target / READY).exists():
        return str(python)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with (target.parent / f"{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / READY).exists():
            _build(target, base, list(packages), share_service_packages=own)
    return str(python)


def _build(target: Path, base: str, packages: list[str], *, share_service_packages: bool) -> None:
    shutil.rmtree(target, ignore_errors=True)  # a build that died half-way
    python = target / "bin" / "python"
    if share_service_packages:
        _run([base, "-m", "venv", "--without-pip", str(target)], "create it")
        service_site = "\n".join(site.getsitepackages()) + "\n"
        (_site_packages(python) / "_jobmanager_service.pth").write_text(service_site)
    else:
        _run([base, "-m", "venv", str(target)], f"create a virtual environment of {base}")
        packages = ["ipykernel", *packages]
    pip = [str(python), "-m", "pip", "install", "--no-input", "--disable-pip-version-check"]
    _run([*pip, "--quiet", *packages], "install the configuration's packages")
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


# What `package_set` found, by interpreter path and the times its environment changed.
_PACKAGE_SETS: dict[tuple[str, float, float], tuple[str, ...]] = {}
_PACKAGE_SETS_LOCK = threading.Lock()
_LIST_PACKAGES = (
    "import json, importlib.metadata as m\n"
    "print(json.dumps(sorted({(d.metadata['Name'] or '') + '==' + d.version "
    "for d in m.distributions() if d.metadata['Name']})))"
)


def package_set(python: str) -> tuple[str, ...]:
    """The exact package set (`name==version`, as `pip freeze` lists it) of an
    interpreter's environment: asked once per interpreter and kept while neither the
    interpreter nor its environment's `.ready` mark changes (no pip run per job)."""
    key = (python, _mtime(Path(python)), _mtime(Path(python).parent.parent / READY))
    with _PACKAGE_SETS_LOCK:
        known = _PACKAGE_SETS.get(key)
    if known is not None:
        return known
    found = _own_packages() if python == sys.executable else _packages_of(python)
    with _PACKAGE_SETS_LOCK:
        _PACKAGE_SETS[key] = found
    return found


def _own_packages() -> tuple[str, ...]:
    names = {
        f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions() if d.metadata["Name"]
    }
    return tuple(sorted(names))


def _packages_of(python: str) -> tuple[str, ...]:
    answer = subprocess.run(
        [python, "-c", _LIST_PACKAGES], capture_output=True, text=True, check=True, timeout=60
    )
    return tuple(json.loads(answer.stdout))


def _mtime(path: Path) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0
