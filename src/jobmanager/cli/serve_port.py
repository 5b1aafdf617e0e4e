"""The port `jobmanager serve` listens on: bound first, before anything else starts, so that a
port in use ends the start at once with one line saying who holds it and how to choose
another, and a service never says "listening" on a port that is not its own."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import psutil

from jobmanager.common.home import serve_lock

PORT_CHOICE = "choose another with --port or JOBMANAGER_PORT"


class PortUnavailable(RuntimeError):
    """The port cannot be bound; the message is the line to show."""


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on `host:port` for the server to serve on."""
    try:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        return socket.create_server(address, family=family, backlog=2048)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortUnavailable(
                f"port {port} on {host} is in use{holder(port)}; {PORT_CHOICE}"
            ) from None
        if error.errno == errno.EACCES:
            raise PortUnavailable(
                f"port {port} on {host} needs privileges this user lacks; {PORT_CHOICE}"
            ) from None
        raise PortUnavailable(f"cannot listen on {host}:{port}: {error}") from None


def holder(port: int) -> str:
    """` by another jobmanager (pid N, home H)`, ` by <name> (pid N)`, or nothing when the
    holder cannot be seen (another user's process)."""
    for connection in _listening(port):
        if connection.pid is None:
            continue
        try:
            process = psutil.Process(connection.pid)
            words = process.cmdline()
            if not any(word.endswith("jobmanager") for word in words) or "serve" not in words:
                return f" by {process.name()} (pid {process.pid})"
            home = _home_of(process)
        except psutil.Error:
            continue
        where = f", home {home}" if home is not None else ""
        return f" by another jobmanager (pid {process.pid}{where})"
    return ""


def _listening(port: int) -> list[psutil._common.sconn]:
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.Error:
        return []
    return [
        each
        for each in connections
        if each.status == psutil.CONN_LISTEN and each.laddr and each.laddr.port == port
    ]


def _home_of(process: psutil.Process) -> Path | None:
    """The home whose `serve.lock` the service holds open."""
    for opened in process.open_files():
        path = Path(opened.path)
        if path.name == serve_lock(path.parent).name:
            return path.parent
    return None
