"""The official client, `mdsp` of `@mindconnect/mindconnect-nodejs`, driven against a real server.

`install_mdsp()` installs the pinned package with npm into a cache folder once and
reuses it afterwards (`JOBMANAGER_TEST_CACHE`, default `~/.cache/jobmanager-tests`).
`Mdsp` runs the CLI with its own HOME (so `~/.mc/auth.json` is the test's), no proxy
variables (the client would send even 127.0.0.1 requests through a proxy), service
credentials added with `mdsp service-credentials --mode add`, and `MDSP_PASSKEY` set.
`Mdsp.sdk(code)` runs the package's SDK (`MindSphereSdk`) in Node.js with the same
credentials, for the calls the CLI does not make.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import NamedTuple

from tests.acceptance.server import ServerProcess

PACKAGE = "@mindconnect/mindconnect-nodejs"
VERSION = "3.24.2"
PASSKEY = "jobmanager-test-passkey"
PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
)


# The SDK as a program would use it: `sdk` is a MindSphereSdk logged in with the stored
# credentials; the snippet's last value is printed as JSON.
SDK_PROGRAM = """
const { MindSphereSdk } = require("@mindconnect/mindconnect-nodejs");
const { loadAuth, decrypt } = require("@mindconnect/mindconnect-nodejs/dist/src/api/utils");
const auth = loadAuth();
const sdk = new MindSphereSdk({ ...auth, basicAuth: decrypt(auth, process.env.MDSP_PASSKEY) });
(async () => { %s })().then(
  (value) => console.log(JSON.stringify(value === undefined ? null : value)),
  (error) => { console.error(String(error)); process.exit(1); },
);
"""


class MdspUnavailable(Exception):
    """Node.js, npm or the package cannot be had; the message says why."""


class MdspResult(NamedTuple):
    code: int
    stdout: str
    stderr: str

    def check(self) -> MdspResult:
        """This result, or an AssertionError that shows what the client printed."""
        assert self.code == 0, (
            f"mdsp exited {self.code}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"
        )
        return self


def cache_folder() -> Path:
    base = os.environ.get("JOBMANAGER_TEST_CACHE", "~/.cache/jobmanager-tests")
    return Path(base).expanduser() / "mdsp"


def install_mdsp(cache: Path | None = None, timeout: float = 600) -> Path:
    """The path of the `mdsp` executable, installing the package the first time.

    The install goes into a fresh sibling folder that is then renamed into place, so an
    interrupted install is never mistaken for a good one, and parallel sessions are safe.
    """
    cache = cache or cache_folder()
    if _installed_version(cache) == VERSION:
        return _binary(cache)
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise MdspUnavailable("Node.js and npm are needed to run the official client")
    cache.parent.mkdir(parents=True, exist_ok=True)
    staging = cache.parent / f"{cache.name}.installing-{uuid.uuid4().hex[:8]}"
    try:
        _npm_install(npm, staging, timeout)
        if cache.exists():
            shutil.rmtree(cache, ignore_errors=True)
        try:
            staging.rename(cache)
        except OSError:
            if _installed_version(cache) != VERSION:  # not a parallel session's good install
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if _installed_version(cache) != VERSION:
        raise MdspUnavailable(f"npm finished but {PACKAGE}@{VERSION} is not in {cache}")
    return _binary(cache)


def _npm_install(npm: str, folder: Path, timeout: float) -> None:
    folder.mkdir(parents=True)
    command = [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund"]
    try:
        done = subprocess.run(
            [*command, f"{PACKAGE}@{VERSION}"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise MdspUnavailable(f"npm install took longer than {timeout} s") from error
    if done.returncode != 0:
        tail = (done.stderr or done.stdout)[-2000:]
        raise MdspUnavailable(f"npm install {PACKAGE}@{VERSION} failed:\n{tail}")


def _installed_version(cache: Path) -> str | None:
    manifest = cache / "node_modules" / PACKAGE / "package.json"
    if not manifest.is_file() or not _binary(cache).exists():
        return None
    try:
        return str(json.loads(manifest.read_text())["version"])
    except (ValueError, KeyError):
        return None


def _binary(cache: Path) -> Path:
    return cache / "node_modules" / ".bin" / "mdsp"


class Mdsp:
    """The CLI as one user of one server: its own HOME, logged in with service credentials."""

    def __init__(self, binary: Path, server: ServerProcess, home: Path) -> None:
        self.binary = binary
        self.server = server
        self.home = home
        self.home.mkdir(parents=True, exist_ok=True)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
        env.update({"HOME": str(self.home), "MDSP_PASSKEY": PASSKEY, "FORCE_COLOR": "0"})
        env.pop("MDSP_HOST", None)  # would switch the client to borrowed browser cookies
        return env

    def login(self, client_id: str, secret: str, tenant: str) -> None:
        """Store SERVICE credentials for the server, as a user would with the CLI."""
        self.run(
            "service-credentials",
            "--mode",
            "add",
            "--type",
            "SERVICE",
            "--user",
            client_id,
            "--password",
            secret,
            "--gateway",
            self.server.url,
            "--tenant",
            tenant,
            "--passkey",
            PASSKEY,
        ).check()

    def login_dev(self) -> None:
        """Log in with the server's dev tenant credentials."""
        creds = self.server.dev_credentials()
        self.login(creds["clientId"], creds["clientSecret"], creds["tenant"])

    def sdk(self, code: str, timeout: float = 60) -> MdspResult:
        """Run `code`, the body of an async function with `sdk` in scope, in Node.js; its
        return value is printed as JSON on stdout."""
        node = shutil.which("node")
        assert node is not None, "mdsp is installed, so node is there"
        done = subprocess.run(
            [node, "-e", SDK_PROGRAM % code],
            cwd=self.binary.parent.parent.parent,  # the folder whose node_modules hold it
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return MdspResult(done.returncode, done.stdout, done.stderr)

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 120) -> MdspResult:
        """Run `mdsp <args>`; answer (exit code, stdout, stderr)."""
        done = subprocess.run(
            [str(self.binary), *args],
            cwd=cwd or self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return MdspResult(done.returncode, done.stdout, done.stderr)
