"""A small tmpfs the test mounts (it runs as root), for a disk that really fills up, and
a folder mounted read-only.

`small_disk(folder, size)` mounts it and unmounts it whatever happens; `read_only(folder)`
bind-mounts a folder on itself read-only, as a Kubernetes Secret is. Where it cannot be
mounted (not root, no mount namespace), the test fails on CI (`CI=true`) and skips
elsewhere, saying why.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ON_CI

MIB = 1024 * 1024


@contextlib.contextmanager
def small_disk(folder: Path, size_mib: int, options: str = "") -> Iterator[Path]:
    """`folder` as a tmpfs of `size_mib` MiB (extra mount `options`, e.g. `uid=...`)."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = f"size={size_mib}m" + (f",{options}" if options else "")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", settings, "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        reason = f"cannot mount a tmpfs at {folder}: {mounted.stderr.strip() or mounted.returncode}"
        if ON_CI:
            pytest.fail(f"{reason} (the full-disk tests need root and mount)")
        pytest.skip(reason)
    try:
        yield folder
    finally:
        unmount(folder)


def unmount(folder: Path) -> None:
    """Unmount, waiting a little for processes that still hold it; lazily at last."""
    for _ in range(50):
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    subprocess.run(["umount", "-l", str(folder)], check=True)


def free_bytes(folder: Path) -> int:
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


def fill(path: Path) -> int:
    """Write zeros to `path` until the disk is full; the bytes written."""
    written = 0
    block = b"\0" * (64 * 1024)
    with path.open("wb", buffering=0) as handle:
        while True:
            try:
                written += handle.write(block)
            except OSError:
                break
        # What is left is smaller than a block.
        while True:
            try:
                if not handle.write(b"\0" * 4096):
                    break
                written += 4096
            except OSError:
                break
    return written


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """`folder` bind-mounted on itself read-only (the test runs as root)."""
    bound = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
    if bound.returncode != 0:
        reason = f"cannot bind-mount {folder}: {bound.stderr.decode().strip()}"
        if ON_CI:
            pytest.fail(f"{reason} (a read-only mount needs root and mount)")
        pytest.skip(reason)
    try:
        remount = ["mount", "-o", "remount,ro,bind", str(folder)]
        subprocess.run(remount, check=True, capture_output=True)
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)
