"""What a job's network is tried against, all of it on this machine: a test host in a
network namespace of the test's own (`HostNetwork`) holding a private address (its
bridge address), the cloud metadata address 169.254.169.254 and a public-looking one,
each routed to it as a /32 (nothing sent there leaves the machine); and listeners on
this machine's own loopback and addresses. Each answers a connection with a line
naming itself, so a job that reached it can say what it reached.

`PROBE` is the code a job runs to try a destination: `reach(host, port)` answers
`REACHED <the line>` or `refused <error>`.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from tests.acceptance.netns import HostNetwork
from tests.conftest import require_service

OPEN_PORT, ALLOWED_PORT, NAMED_PORT = 8000, 8001, 8002
METADATA = "169.254.169.254"
# Listens on every address of its host; answers each connection with `<name>:<port>`.
SERVE = """
import socket, sys, threading
name, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
def serve(port):
    listener = socket.create_server(("0.0.0.0", port), reuse_port=True)
    while True:
        connection, _ = listener.accept()
        connection.sendall(f"{name}:{port}\\n".encode())
        connection.close()
for port in ports:
    threading.Thread(target=serve, args=(port,), daemon=True).start()
print("listening", flush=True)
threading.Event().wait()
"""
PROBE = """
import socket
def reach(host, port):
    try:
        with socket.create_connection((host, int(port)), timeout=3) as connection:
            connection.settimeout(3)
            return 'REACHED ' + connection.makefile().readline().strip()
    except OSError as error:
        return 'refused ' + (type(error).__name__ if error.errno is None else str(error.errno))
"""


def probe_code(attempts: dict[str, tuple[str, int]]) -> str:
    """Python that tries each of `attempts` and prints `name: outcome` for each."""
    return PROBE + "".join(
        f"print({name!r}, reach({host!r}, {port}), sep=': ')\n"
        for name, (host, port) in attempts.items()
    )


def outcomes(text: str) -> dict[str, str]:
    """What `probe_code` printed, by name."""
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


@dataclass
class Outside:
    """The test host `outside` and its three addresses."""

    network: HostNetwork
    private: str
    public: str
    process: subprocess.Popen[bytes]
    metadata: str = METADATA

    @classmethod
    def open(cls, network: HostNetwork, metadata: str = METADATA) -> Outside:
        """The host on `network` (which must have namespaces: else the test fails on CI
        and is skipped elsewhere), serving `OPEN_PORT`, `ALLOWED_PORT` and `NAMED_PORT`,
        with the link-local address `metadata`. One test network at a time may route an
        address: a test that needs not the metadata service's own takes another one
        (`link_local`) and waits for no other test."""
        if not network.isolated:
            require_service(
                "Network namespaces", "run the tests as root", Exception(network.reason)
            )
        network.add_host("outside")
        public = f"198.51.100.{random.randint(2, 250)}"
        network.add_address("outside", metadata)
        network.add_address("outside", public)
        ports = [str(port) for port in (OPEN_PORT, ALLOWED_PORT, NAMED_PORT)]
        argv = [sys.executable, "-c", SERVE, "outside", *ports]
        process = subprocess.Popen(
            network.command("outside", argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert process.stdout is not None
        said = process.stdout.readline()
        assert said == b"listening\n", said
        return cls(network, network.addresses["outside"], public, process, metadata)

    def close(self) -> None:
        self.process.kill()
        self.process.communicate(timeout=10)


@dataclass
class Listener:
    """A listener on this machine (`host`: an address of it, or every one), answering
    each connection with `machine:<port>`."""

    host: str = "127.0.0.1"
    server: socket.socket = field(init=False)

    def __post_init__(self) -> None:
        self.server = socket.create_server((self.host, 0))
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.server.getsockname()[1])

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            connection.sendall(f"machine:{self.port}\n".encode())
            connection.close()

    def close(self) -> None:
        self.server.close()


def link_local() -> str:
    """A link-local address other than the metadata service's."""
    return f"169.254.{random.randint(1, 168)}.{random.randint(1, 254)}"


def machine_address() -> str:
    """An address of this machine other than loopback (a job must not reach it)."""
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                return str(address.address)
    pytest.skip("this machine has no address but loopback")


def wait_listening(host: str, port: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {host}:{port}")


def path_without(program: str, folder: Path) -> str:
    """A PATH holding every program of this one but `program`."""
    folder.mkdir()
    for entry in os.environ.get("PATH", os.defpath).split(os.pathsep):
        if not Path(entry).is_dir():
            continue
        for found in Path(entry).iterdir():
            if found.name != program and not (folder / found.name).exists():
                (folder / found.name).symlink_to(found)
    assert shutil.which(program, path=str(folder)) is None
    return str(folder)
