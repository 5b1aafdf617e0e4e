"""A real HTTP receiver of webhook deliveries, in a thread or as a process of its own.

It answers the first `fail_first` requests 500 (to exercise retries), can wait `delay`
seconds before answering (a slow receiver), and keeps what it received: the time,
the headers and the body of each request. As a process (`python -m
tests.webhook_receiver PORTFILE LOGFILE [--fail-first N] [--delay S]`) it writes its
port to PORTFILE and each request as one JSON line to LOGFILE.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class Receiver:
    def __init__(self, *, fail_first: int = 0, delay: float = 0.0, log: Path | None = None):
        self.fail_first = fail_first
        self.delay = delay
        self.log = log
        self.received: list[dict[str, Any]] = []
        self.answered = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

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
        raise AssertionError(f"{count} deliveries wanted, got {self.received}")

    def _record(self, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            self.answered += 1
            status = 500 if self.answered <= self.fail_first else 204
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
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port_file", type=Path)
    parser.add_argument("log_file", type=Path)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    arguments = parser.parse_args()
    receiver = Receiver(
        fail_first=arguments.fail_first, delay=arguments.delay, log=arguments.log_file
    )
    arguments.port_file.write_text(str(receiver.server.server_address[1]))
    receiver.server.serve_forever()


if __name__ == "__main__":
    main()
