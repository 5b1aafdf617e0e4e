"""A command whose settings need an extra that is not installed ends with one line naming
it (`pip install 'jobmanager[celery]'`), exit code 1, no traceback. A missing package
cannot be run, so the command runs in a Python that refuses to import it
(`sys.modules[name] = None`, as an uninstalled package would fail), nothing else changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.acceptance.server import free_port

WITHOUT = (
    "import sys; sys.modules[{name!r}] = None; sys.argv[0] = 'jobmanager'; "
    "from jobmanager.cli import main; main()"
)


def run_without(
    module: str, command: list[str], home: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    """`jobmanager COMMAND` with `module` not importable."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JOBMANAGER_")}
    environment.update(
        JOBMANAGER_HOME=str(home), JOBMANAGER_PORT=str(free_port()), COLUMNS="200", **env
    )
    return subprocess.run(
        [sys.executable, "-c", WITHOUT.format(name=module), *command],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def the_one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


@pytest.mark.parametrize("command", [["serve"], ["worker"]])
def test_celery_dispatch_without_celery_names_the_extra(command: list[str], tmp_path: Path) -> None:
    done = run_without(
        "celery",
        command,
        tmp_path / "home",
        JOBMANAGER_DISPATCH="celery",
        JOBMANAGER_BROKER_URL="redis://127.0.0.1:6379/14",
    )
    assert "pip install 'jobmanager[celery]'" in the_one_line(done)


@pytest.mark.parametrize("command", [["serve"], ["worker"]])
def test_an_s3_blob_url_without_s3fs_names_the_extra(command: list[str], tmp_path: Path) -> None:
    done = run_without(
        "s3fs",
        command,
        tmp_path / "home",
        JOBMANAGER_BLOB_URL="s3://bucket/prefix",
        JOBMANAGER_BROKER_URL="redis://127.0.0.1:6379/14",
    )
    assert "pip install 'jobmanager[s3]'" in the_one_line(done)
