"""`jobmanager admin`: tenants and credentials from the command line, on the real store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JOBMANAGER_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "jobmanager", "admin", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_tenant_and_credentials_lifecycle(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run(home, "tenant", "create", "acme").returncode == 0
    listed = run(home, "tenant", "list")
    assert "acme" in listed.stdout
    made = run(home, "credentials", "create", "--tenant", "acme")
    assert made.returncode == 0, made.stderr
    lines = dict(line.split(":", 1) for line in made.stdout.splitlines() if ":" in line)
    client_id = lines["client id"].strip()
    secret = lines["client secret"].strip()
    assert client_id.startswith("acme-")
    assert len(secret) > 20
    listed = run(home, "credentials", "list", "--tenant", "acme")
    assert client_id in listed.stdout
    assert secret not in listed.stdout
    assert run(home, "credentials", "revoke", client_id).returncode == 0


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = run(home, "credentials", "create", "--tenant", "ghost")
    assert result.returncode == 1
    assert "not found" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    run(home, "tenant", "create", "acme")
    again = run(home, "tenant", "create", "acme")
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_run_note_is_a_command_of_jobmanager(tmp_path: Path) -> None:
    """`jobmanager run-note`: the example note, no server, outputs in a local folder."""
    examples = Path(__file__).resolve().parents[2] / "src" / "jobmanager" / "cli" / "examples"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "sensors.csv").write_bytes((examples / "sensors.csv").read_bytes())
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "jobmanager",
            "run-note",
            str(examples / "sensor_report.zpln"),
            "--input",
            str(tmp_path / "in"),
            "--output",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "chart.png",
        "sensor_report_2MEXAMPLE.zpln",
        "summary.csv",
    ]


def test_a_tenants_cap_on_live_jobs_is_set_shown_and_reset(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run(home, "tenant", "create", "acme")
    capped = run(home, "tenant", "cap", "acme", "--max-live-jobs", "3")
    assert capped.returncode == 0, capped.stderr
    assert "at most 3 live jobs" in capped.stdout
    assert "acme" in (listed := run(home, "tenant", "list").stdout) and " 3 " in listed
    back = subprocess.run(
        [sys.executable, "-m", "jobmanager", "admin", "tenant", "cap", "acme", "--default"],
        env={**os.environ, "JOBMANAGER_HOME": str(home), "JOBMANAGER_TENANT_MAX_LIVE_JOBS": "7"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert back.returncode == 0, back.stderr
    assert "at most 7 (default) live jobs" in back.stdout
    assert "no cap" in run(home, "tenant", "list").stdout
    neither = run(home, "tenant", "cap", "acme")
    assert neither.returncode == 1 and "--max-live-jobs" in neither.stderr
    assert run(home, "tenant", "cap", "ghost", "--max-live-jobs", "1").returncode == 1
