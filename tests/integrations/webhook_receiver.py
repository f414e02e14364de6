"""An independent webhook receiver for tests: a real HTTP server on 127.0.0.1 in a thread.

It verifies signatures with nothing but hmac, hashlib and the scheme of docs/webhooks.md
(it imports no Expohall code), and answers with the status codes it is told to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE_SECONDS = 300


def verify_signature(
    secret: str, header: str, body: bytes, *, now: float, tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """The documented check: parse `t=…,v1=…`, refuse an old timestamp, then compare
    HMAC-SHA256(secret, f"{t}.{body}") in constant time."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    if not fields.get("t") or not fields.get("v1"):
        return False
    try:
        timestamp = int(fields["t"][0])
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    signed = f"{timestamp}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, v) for v in fields["v1"])


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What the server got, and how it answers: `statuses` are used up in order, then
    `default_status`. `clock` gives the time signatures are checked against."""

    secret: str = ""
    statuses: list[int] = field(default_factory=list)
    default_status: int = 200
    clock: Callable[[], float] = time.time
    received: list[Received] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Event = field(default_factory=threading.Event)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        signature = headers.get("expohall-signature", "")
        verified = verify_signature(self.secret, signature, body, now=self.clock())
        with self.lock:
            self.received.append(Received(headers, body, verified))
            self.arrived.set()
            if not verified:
                return 400
            return self.statuses.pop(0) if self.statuses else self.default_status

    @property
    def verified(self) -> list[Received]:
        return [r for r in self.received if r.verified]


@contextmanager
def running(receiver: Receiver) -> Iterator[Receiver]:
    """Serve `receiver` on a free port of 127.0.0.1 for the duration of the block."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = receiver.answer(headers, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
