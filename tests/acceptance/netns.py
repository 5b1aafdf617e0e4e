"""A test network of separate hosts on one machine: a bridge with an address on the host
side, and one network namespace per "host", joined to the bridge by a veth pair.

Each namespace is held by a process of its own (`unshare --net sleep`) and entered with
`nsenter`, not named under /run/netns: names there are bind mounts on a mount point that
`ip netns add` sets up and that parallel test processes were seen to break ("setting the
network namespace failed: Invalid argument").

A process started with `HostNetwork.command` lives in its namespace and its own UTS
namespace (a host name of its own), so it reaches the services only through the
bridge's address — never the machine's loopback — and its worker id names another
host. Where namespaces cannot be made (no root, no iproute2, a container without
CAP_NET_ADMIN), `HostNetwork.open` answers a loopback network: the same processes, each
with its own home, on 127.0.0.1, and `reason` says why.
"""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


class NetworkUnavailable(RuntimeError):
    """This machine does not let the test make namespaces, a bridge or veth pairs."""


def _ip(*args: str) -> None:
    _ip_argv(["ip", *args])


def _inside(pid: int, *args: str) -> None:
    """`ip args` in the network namespace process `pid` holds."""
    _ip_argv(["nsenter", "-t", str(pid), "-n", "ip", *args])


def _ip_argv(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    if done.returncode != 0:
        raise NetworkUnavailable(f"{' '.join(argv)}: {done.stderr.strip()}")


def _hold_namespace() -> subprocess.Popen[bytes]:
    """A process in a network namespace of its own, once it is in it."""
    holder = subprocess.Popen(["unshare", "--net", "sleep", "infinity"], start_new_session=True)
    ours = os.readlink("/proc/self/ns/net")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if os.readlink(f"/proc/{holder.pid}/ns/net") != ours:
                return holder
        except OSError:
            pass
        if holder.poll() is not None:
            raise NetworkUnavailable(f"unshare --net ended with {holder.returncode}")
        time.sleep(0.01)
    holder.kill()
    raise NetworkUnavailable("unshare --net did not enter a namespace within 10 s")


def _unused_subnet() -> str:
    """A 10.x.y.0/24 no interface of the machine uses: the first three octets."""
    taken = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout
    for _ in range(100):
        prefix = f"10.{random.randint(100, 250)}.{random.randint(0, 255)}"
        if f" {prefix}." not in taken:
            return prefix
    raise NetworkUnavailable("no free 10.x.y.0/24 subnet")


@dataclass
class HostNetwork:
    """The bridge's address (`address`, where the services listen) and the hosts made."""

    address: str
    reason: str = ""  # why this is a loopback network; empty when namespaces are real
    _tag: str = ""
    _prefix: str = ""
    hosts: dict[str, int] = field(default_factory=dict)  # host name -> namespace holder pid
    _holders: list[subprocess.Popen[bytes]] = field(default_factory=list)
    addresses: dict[str, str] = field(default_factory=dict)  # host name -> bridge address
    extra: dict[str, str] = field(default_factory=dict)  # address added -> its host
    _locks: list[IO[str]] = field(default_factory=list)

    @property
    def isolated(self) -> bool:
        return not self.reason

    @classmethod
    def open(cls) -> HostNetwork:
        if shutil.which("ip") is None:
            return cls("127.0.0.1", reason="iproute2 is not installed")
        network = cls("", _tag=uuid.uuid4().hex[:6])
        try:
            network._prefix = _unused_subnet()
            network.address = f"{network._prefix}.1"
            _ip("link", "add", network._bridge, "type", "bridge")
            _ip("addr", "add", f"{network.address}/24", "dev", network._bridge)
            _ip("link", "set", network._bridge, "up")
        except NetworkUnavailable as error:
            network.close()
            return cls("127.0.0.1", reason=f"network namespaces are not allowed here: {error}")
        return network

    @property
    def _bridge(self) -> str:
        return f"jmbr{self._tag}"

    def add_host(self, name: str) -> None:
        """A namespace named after the host, on the bridge with the next address."""
        if not self.isolated:
            return
        number = len(self.hosts) + 2
        outside, inside = (f"jm{self._tag}{p}{number}" for p in ("h", "v"))
        holder = _hold_namespace()
        self._holders.append(holder)
        pid = self.hosts[name] = holder.pid
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", outside, "master", self._bridge)
        _ip("link", "set", outside, "up")
        _ip("link", "set", inside, "netns", str(pid))
        _inside(pid, "addr", "add", f"{self._prefix}.{number}/24", "dev", inside)
        _inside(pid, "link", "set", inside, "up")
        _inside(pid, "link", "set", "lo", "up")
        self.addresses[name] = f"{self._prefix}.{number}"
        for address, owner in self.extra.items():
            _inside(pid, "route", "add", f"{address}/32", "via", self.addresses[owner])

    def add_address(self, name: str, address: str) -> None:
        """Give host `name` one more address (e.g. 169.254.169.254, or a public-looking
        one), routed to it from this machine and from every host, as a /32 through the
        bridge: nothing sent there leaves the machine."""
        if not self.isolated:
            raise NetworkUnavailable(self.reason)
        # One test network at a time may route an address: others wait for it.
        lock = Path(tempfile.gettempdir()) / f"jm-test-address-{address}.lock"
        self._locks.append(lock.open("w"))
        fcntl.flock(self._locks[-1], fcntl.LOCK_EX)
        _inside(self.hosts[name], "addr", "add", f"{address}/32", "dev", "lo")
        via = self.addresses[name]
        _ip("route", "add", f"{address}/32", "via", via)
        for other, pid in self.hosts.items():
            if other != name:
                _inside(pid, "route", "add", f"{address}/32", "via", via)
        self.extra[address] = name

    def command(self, name: str, argv: list[str]) -> list[str]:
        """`argv` run on host `name`: in its namespace, under its own host name."""
        if not self.isolated:
            return argv
        rename = 'hostname "$0" && exec "$@"'
        inside = ["nsenter", "-t", str(self.hosts[name]), "-n", "unshare", "--uts"]
        return [*inside, "sh", "-c", rename, name, *argv]

    def close(self) -> None:
        """End the namespaces' holders (a namespace and its veth end go with the last
        process in it) and remove the bridge (the routes through it go with it)."""
        for holder in self._holders:
            holder.kill()
            holder.wait()
        self._holders.clear()
        self.hosts.clear()
        if self._tag:
            subprocess.run(["ip", "link", "del", self._bridge], capture_output=True)
        for lock in self._locks:
            lock.close()
        self._locks.clear()
