"""Run the `jobmanager` CLI as a user would: a subprocess with its own environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.server import ServerProcess


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def assert_ok(self) -> Result:
        assert self.code == 0, f"exit {self.code}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"
        return self

    def assert_one_line_error(self, *fragments: str) -> str:
        """Failed with exit code 1, one `error:` line on stderr, no traceback."""
        assert self.code == 1, f"exit {self.code}\n{self.stdout}\n{self.stderr}"
        line = self.stderr.strip()
        assert "\n" not in line, line
        assert line.startswith("error: "), line
        assert "Traceback" not in self.stderr + self.stdout
        for fragment in fragments:
            assert fragment in line, line
        return line


@dataclass
class Cli:
    """The CLI with a private config folder and working directory."""

    cwd: Path
    env: dict[str, str] = field(default_factory=dict)

    def __call__(
        self, *args: str, input: str | None = None, timeout: float = 120, **extra_env: str
    ) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "jobmanager", *args],
            cwd=self.cwd,
            env=self.environment(extra_env),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def start(self, *args: str) -> subprocess.Popen[str]:
        """The command running in the background, its stdout a pipe of lines."""
        return subprocess.Popen(
            [sys.executable, "-m", "jobmanager", *args],
            cwd=self.cwd,
            env=self.environment({}),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def environment(self, extra_env: dict[str, str]) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("JOBMANAGER_")
            and key.lower() not in ("http_proxy", "https_proxy")
        }
        env.update(
            {
                "XDG_CONFIG_HOME": str(self.cwd / "config"),
                "JOBMANAGER_HOME": str(self.cwd / ".jobmanager"),
                "COLUMNS": "200",
                "NO_COLOR": "1",
            }
        )
        env.update(self.env)
        env.update(extra_env)
        self.cwd.mkdir(parents=True, exist_ok=True)
        return env

    @classmethod
    def for_server(cls, cwd: Path, server: ServerProcess) -> Cli:
        """Configured for `server` through the environment variables."""
        credentials = server.dev_credentials()
        return cls(
            cwd,
            {
                "JOBMANAGER_URL": server.url,
                "JOBMANAGER_CLIENT_ID": credentials["clientId"],
                "JOBMANAGER_CLIENT_SECRET": credentials["clientSecret"],
            },
        )


def module_server(**env: str) -> Any:
    """A module-scoped `server` fixture: one real server per test module, with the
    settings `env` (`JOBMANAGER_*` variables) besides the defaults.

    Use as `server = module_server()` at the top of the module."""

    @pytest.fixture(scope="module")
    def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
        home = tmp_path_factory.mktemp("server") / "home"
        process = ServerProcess(home, extra_env=env).start()
        yield process
        process.stop()

    return server
