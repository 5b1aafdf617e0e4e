"""A job's network: a network namespace of its environment's own, reaching out through a
user-mode network stack (slirp4netns), never through the host's network namespace.

```
 host network namespace                │ the environment's network namespace
                                       │ (held by a sleeping `holder` process)
 slirp4netns ── sockets of its own ◄───┤ tap0 10.0.2.100/24, default via 10.0.2.2
   (no route to the host's loopback:   │ rules: to 10.0.2.3 (DNS) and allowed
    --disable-host-loopback)           │   destinations: main table;
                                       │ everything else: table 200 first, where the
                                       │   blocked ranges are `prohibit` routes
                                       │ lo: the job's own loopback
```
Every process of the environment (its kernels, `%sh`) joins that one namespace
(`nsenter --user --net`, then bubblewrap), so they share its loopback. The namespace
belongs to a user namespace of the holder, where the service's user is root: the
routes and rules are set there without any privilege on the host, and the job, in a
user namespace below it with no capabilities, cannot change them.

Egress rules are routing rules: a connection to a blocked range fails at once with
EACCES (a `prohibit` route), before any packet leaves; an allowed destination (a network,
or an address and port) is looked up in the main table first. slirp4netns makes its
connections from the host's network namespace with the host's routes, so what is
allowed reaches what the host reaches; DNS queries to 10.0.2.3 go to the host's resolver.
IPv6 has no route out: slirp4netns runs IPv4 only here.

Set-up costs a few milliseconds (measured in `bench/network.py`); the warm pool does it
ahead of jobs, with the rest of an environment's start.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from jobmanager.engine.spawner import spawn

log = logging.getLogger("jobmanager.engine")

# slirp4netns's network inside the namespace (its defaults).
ADDRESS = "10.0.2.100"
GATEWAY = "10.0.2.2"  # the host's loopback, were it not disabled
RESOLVER = "10.0.2.3"  # slirp4netns forwards DNS queries to the host's resolver
DEVICE = "tap0"
MTU = 65520
BLOCKED_TABLE = 200
ALLOW_PREFERENCE = 100  # rules before the blocked table's
BLOCK_PREFERENCE = 200
START_SECONDS = 10.0
STOP_SECONDS = 2.0
PACKAGE = "slirp4netns"
_HOLD = "ip -batch - && echo ready && exec sleep infinity"


class NetworkUnavailable(RuntimeError):
    """A job's network cannot be made here; the message says what to install or allow."""


@dataclass(frozen=True)
class NetworkStack:
    """The programs that give a job its own network, found at start-up (see `find`)."""

    bwrap: str
    slirp4netns: str
    nsenter: str
    ip: str

    @classmethod
    def find(cls, bwrap: str) -> NetworkStack:
        """The stack on this host; `NetworkUnavailable` saying what to install if any
        program is missing."""
        found = {name: shutil.which(name) for name in ("slirp4netns", "nsenter", "ip")}
        packages = {"slirp4netns": PACKAGE, "nsenter": "util-linux", "ip": "iproute2"}
        missing = [packages[name] for name, path in found.items() if path is None]
        if missing:
            raise NetworkUnavailable(
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed "
                f"(apt-get install {' '.join(missing)})"
            )
        return cls(bwrap, *(str(found[name]) for name in ("slirp4netns", "nsenter", "ip")))

    def start(self, egress: Egress, log: Path) -> JobNetwork:
        """A new network namespace with the egress rules in force, connected; what its
        programs say goes to `log`."""
        return JobNetwork.start(self, egress, log)


@dataclass(frozen=True)
class Egress:
    """Where a job's connections may go: anywhere but the `blocked` networks (CIDRs),
    except to the `allowed` destinations, which win over the blocked ones: each a network,
    an address or a host name (`10.1.0.0/16`, `10.1.2.3`, `pypi.internal`), on every port
    or on one only (TCP and UDP)."""

    stack: NetworkStack
    blocked: tuple[str, ...]
    allowed: tuple[tuple[str, int | None], ...] = ()

    def rules(self) -> str:
        """The `ip -batch` commands that put the rules in force (IPv4: the only way out)."""
        lines = [f"rule add pref {ALLOW_PREFERENCE} to {RESOLVER} lookup main"]
        for host, port in self.allowed:
            for network in resolve(host):
                if network.version != 4:
                    continue
                if port is None:
                    lines.append(f"rule add pref {ALLOW_PREFERENCE} to {network} lookup main")
                    continue
                for protocol in ("tcp", "udp"):
                    lines.append(
                        f"rule add pref {ALLOW_PREFERENCE} to {network} ipproto {protocol} "
                        f"dport {port} lookup main"
                    )
        lines.append(f"rule add pref {BLOCK_PREFERENCE} lookup {BLOCKED_TABLE}")
        for blocked in self.blocked:
            network = ipaddress.ip_network(blocked, strict=False)
            if network.version == 4:
                lines.append(f"route add prohibit {network} table {BLOCKED_TABLE}")
        return "".join(f"{line}\n" for line in lines)


def resolve(host: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The networks `host` names: itself if it is one (or an address), else the addresses
    its name has now (none, logged, when it does not resolve)."""
    with contextlib.suppress(ValueError):
        return [ipaddress.ip_network(host, strict=False)]
    try:
        answers = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as error:
        log.warning("allowed destination %s does not resolve (%s): not allowed", host, error)
        return []
    addresses = sorted({str(answer[4][0]) for answer in answers})
    return [ipaddress.ip_network(address) for address in addresses]


def host_addresses(interfaces: Iterable[Sequence[str]]) -> tuple[str, ...]:
    """The host's own addresses (`interfaces`: each interface's addresses) as /32 and
    /128 networks, loopback aside: a job must not reach the host's services through them."""
    found = set()
    for addresses in interfaces:
        for address in addresses:
            with contextlib.suppress(ValueError):
                parsed = ipaddress.ip_address(address.split("%")[0])
                if not parsed.is_loopback:
                    found.add(str(ipaddress.ip_network(parsed)))
    return tuple(sorted(found))


class JobNetwork:
    """One environment's network namespace, its holder and its slirp4netns."""

    def __init__(self, holder: subprocess.Popen[bytes], pid: int, nsenter: str) -> None:
        self.holder = holder
        self.pid = pid  # the holder's command: its namespaces are the environment's
        self.nsenter = nsenter
        self.slirp: subprocess.Popen[bytes] | None = None
        self._exit: int | None = None  # slirp4netns ends when this pipe's end closes

    @classmethod
    def start(cls, stack: NetworkStack, egress: Egress, log: Path) -> JobNetwork:
        with log.open("ab") as said:
            network = cls._hold(stack, egress.rules(), said, log)
            try:
                network._connect(stack, said, log)
            except BaseException:
                network.close()
                raise
        return network

    @classmethod
    def _hold(cls, stack: NetworkStack, rules: str, said: BinaryIO, log: Path) -> JobNetwork:
        """Start the holder (forked by the spawner thread: it dies with the service) and
        set its rules; answer once they are in force."""
        info, info_end = os.pipe()
        command = [
            stack.bwrap,
            "--unshare-user",
            "--unshare-net",
            "--uid",
            "0",
            "--gid",
            "0",
            "--cap-add",
            "CAP_NET_ADMIN",
            "--die-with-parent",
            "--new-session",
            "--ro-bind",
            "/",
            "/",
            "--info-fd",
            str(info_end),
            "--",
            "sh",
            "-c",
            _HOLD,
        ]
        try:
            holder = spawn(
                subprocess.Popen,
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=said,
                pass_fds=(info_end,),
            )
        finally:
            os.close(info_end)
        child = _read_within(info, START_SECONDS)
        os.close(info)
        assert holder.stdin is not None
        assert holder.stdout is not None
        with contextlib.suppress(BrokenPipeError):
            holder.stdin.write(rules.encode())
            holder.stdin.close()
        ready = _read_within(holder.stdout.fileno(), START_SECONDS, until=b"\n")
        holder.stdout.close()
        if ready.strip() != b"ready" or not child:
            _end(holder)
            raise NetworkUnavailable(f"the job's network namespace failed: {_last_line(log)}")
        return cls(holder, int(json.loads(child)["child-pid"]), stack.nsenter)

    def _connect(self, stack: NetworkStack, said: BinaryIO, log: Path) -> None:
        """Attach slirp4netns to the namespace; answer once its interface is up."""
        ready, ready_end = os.pipe()
        exit_end, self._exit = os.pipe()
        command = [
            stack.slirp4netns,
            "--configure",
            f"--mtu={MTU}",
            "--disable-host-loopback",
            "--enable-sandbox",
            "--enable-seccomp",
            f"--ready-fd={ready_end}",
            f"--exit-fd={exit_end}",
            f"--userns-path=/proc/{self.pid}/ns/user",
            str(self.pid),
            DEVICE,
        ]
        try:
            self.slirp = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=said,
                stderr=said,
                pass_fds=(ready_end, exit_end),
            )
        finally:
            os.close(ready_end)
            os.close(exit_end)
        answer = _read_within(ready, START_SECONDS, until=b"1")
        os.close(ready)
        if answer != b"1":
            raise NetworkUnavailable(f"slirp4netns failed: {_last_line(log)}")

    @property
    def enter(self) -> list[str]:
        """The command prefix that runs a command in this network namespace."""
        return [self.nsenter, f"--target={self.pid}", "--user", "--net", "--"]

    def close(self) -> None:
        """End slirp4netns and the holder (the namespace goes with them)."""
        if self._exit is not None:
            os.close(self._exit)
            self._exit = None
        for process in (self.slirp, self.holder):
            if process is not None:
                _end(process)


def _end(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL `process` and reap it (a process stuck in the kernel is left to end)."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(STOP_SECONDS)


def _read_within(descriptor: int, seconds: float, until: bytes | None = None) -> bytes:
    """What is written to `descriptor` until `until` is, its writer closes it, or
    `seconds` pass."""
    deadline = time.monotonic() + seconds
    read = b""
    while (left := deadline - time.monotonic()) > 0 and not (until and until in read):
        ready, _, _ = select.select([descriptor], [], [], left)
        if not ready:
            break
        chunk = os.read(descriptor, 4096)
        if not chunk:
            break
        read += chunk
    return read


def _last_line(log: Path) -> str:
    """The last thing the network's programs said."""
    try:
        lines = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        lines = []
    return lines[-1] if lines else "no reason given"
