"""A real HTTP receiver of webhook deliveries, in a thread or as a process of its own.

It answers the first `fail_first` requests 500 (to exercise retries), can wait `delay`
seconds before answering (a slow receiver), or send every request elsewhere
(`redirect_to`: a 307 with that `Location`), and keeps what it received: the time, the
headers and the body of each request. It listens on `host` (127.0.0.1 unless told). As a
process (`python -m tests.webhook_receiver PORTFILE LOGFILE [--fail-first N] [--delay S]
[--host H]`) it writes its port to PORTFILE and each request as one JSON line to LOGFILE.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class Receiver:
    def __init__(
        self,
        *,
        fail_first: int = 0,
        delay: float = 0.0,
        log: Path | None = None,
        host: str = "127.0.0.1",
        redirect_to: str | None = None,
    ):
        self.fail_first = fail_first
        self.delay = delay
        self.log = log
        self.host = host
        self.redirect_to = redirect_to
        self.received: list[dict[str, Any]] = []
        self.answered = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, 0), self._handler())
        self.server.daemon_threads = True

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    def start(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        """The first `count` requests that were answered 2xx, waiting for them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                ok = [r for r in self.received if r["answered"] == 204]
            if len(ok) >= count:
                return ok
            time.sleep(0.02)
        raise AssertionError(f"{count} deliveries wanted, {len(self.received)} received")

    def _record(self, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            self.answered += 1
            status = 500 if self.answered <= self.fail_first else 204
            if self.redirect_to is not None:
                status = 307
            entry = {
                "time": time.time(),
                "headers": headers,
                "body": body.decode(),
                "answered": status,
            }
            self.received.append(entry)
            if self.log is not None:
                with self.log.open("a") as handle:
                    handle.write(json.dumps(entry) + "\n")
        return status

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver._record(dict(self.headers.items()), body)
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                if receiver.redirect_to is not None:
                    self.send_header("Location", receiver.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


class ReceiverProcess:
    """The receiver as a process of its own, as a real receiver is."""

    def __init__(
        self, folder: Path, *, fail_first: int = 0, delay: float = 0.0, host: str = "127.0.0.1"
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.port_file, self.log_file = folder / "port", folder / "requests.jsonl"
        self.files = [str(self.port_file), str(self.log_file)]
        self.args = ["--fail-first", str(fail_first), "--delay", str(delay), "--host", host]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ReceiverProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.webhook_receiver", *self.files, *self.args],
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not (self.port_file.exists() and self.port_file.read_text()):
            assert time.monotonic() < deadline, "the receiver did not start"
            time.sleep(0.05)
        return self

    @property
    def port(self) -> int:
        return int(self.port_file.read_text())

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    def requests(self) -> list[dict[str, Any]]:
        if not self.log_file.exists():
            return []
        return [json.loads(line) for line in self.log_file.read_text().splitlines() if line]

    def wait_for(self, check: Any, timeout: float = 60) -> list[dict[str, Any]]:
        """The requests once `check(requests)` holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.requests()
            if check(found):
                return found
            time.sleep(0.05)
        raise AssertionError(f"the receiver never got what was wanted: {self.requests()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port_file", type=Path)
    parser.add_argument("log_file", type=Path)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--host", default="127.0.0.1")
    arguments = parser.parse_args()
    receiver = Receiver(
        fail_first=arguments.fail_first,
        delay=arguments.delay,
        log=arguments.log_file,
        host=arguments.host,
    )
    arguments.port_file.write_text(str(receiver.server.server_address[1]))
    receiver.server.serve_forever()


if __name__ == "__main__":
    main()
