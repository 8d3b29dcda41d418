"""A customer's own VOD callback receiver, on loopback: the relay's downstream, locally.

It checks each request the way a customer's receiver checks VOD's callbacks (written here
from VOD's documented formula, not with the product's code): ``X-VOD-TIMESTAMP`` within 5
minutes of its clock, and ``X-VOD-SIGNATURE`` = md5(``<its URL>|<timestamp>|<its key>``). It
keeps every request it got, and answers as scripted: 200, another status, after a delay,
refusing while a condition holds, hanging, or trickling its answer a byte at a time.

Why: the relay's tests, ``make invoke`` with the relay on, and the benchmark need a receiver
that would refuse anything VOD would not have sent it.
"""

import hashlib
import hmac
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

LOCAL_DOWNSTREAM_KEY = "local-downstream-key"
HOST = "127.0.0.1"
PATH = "/vod/notify"
MAX_SKEW_SECONDS = 300


@dataclass(frozen=True)
class Received:
    """One request as the downstream got it, and whether VOD's check passed on it."""

    headers: dict[str, str]
    body: bytes
    signature_valid: bool
    fresh: bool
    answered: int | None
    at: float

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


@dataclass
class Script:
    """How the downstream answers: ``status`` (200), after ``latency_seconds``; while
    ``refusing()`` is true, ``refused_status`` instead; ``hang`` never answers, ``trickle``
    sends its answer one byte every ``trickle_seconds``."""

    status: int = 200
    latency_seconds: float = 0.0
    refusing: Callable[[], bool] = field(default=lambda: False)
    refused_status: int = 503
    hang: bool = False
    trickle_seconds: float = 0.0
    # A debugging receiver that answers with the headers it got (signature included).
    echo_headers: bool = False


class LocalDownstream:
    """The receiver, started with ``with LocalDownstream(...) as downstream``."""

    def __init__(
        self,
        *,
        key: str = LOCAL_DOWNSTREAM_KEY,
        clock: Callable[[], float] = time.time,
        script: Script | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.key = key
        self._tls = tls
        self.clock = clock
        self.script = script or Script()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """The URL VOD was configured with, which the signature covers."""
        if self._server is None:
            msg = "the downstream is not running"
            raise RuntimeError(msg)
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://{HOST}:{self._server.server_port}{PATH}"

    def __enter__(self) -> Self:
        downstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                downstream.answer(self)

            def log_message(self, *_: Any) -> None:
                """Quiet: the tests read ``received``."""

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        if self._tls is not None:
            self._server.socket = self._tls.wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopped.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        """Check and keep the request, then answer it as scripted."""
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length)
        headers = {name.lower(): value for name, value in request.headers.items()}
        signature_valid, fresh = self._check(headers, request.path)
        script = self.script
        status = script.refused_status if script.refusing() else script.status
        if not (signature_valid and fresh):
            status = 401
        with self._lock:
            self.received.append(
                Received(headers, body, signature_valid, fresh, None if script.hang else status,
                         self.clock())
            )  # fmt: skip
        if script.hang:
            self._stopped.wait(60)
            return
        if script.latency_seconds:
            time.sleep(script.latency_seconds)
        payload = b'{"ok": true}' if status == 200 else b'{"ok": false}'
        if script.echo_headers:
            payload = json.dumps(headers).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        for byte in payload if script.trickle_seconds else [payload]:
            request.wfile.write(bytes([byte]) if isinstance(byte, int) else byte)
            request.wfile.flush()
            if script.trickle_seconds and self._stopped.wait(script.trickle_seconds):
                return

    def _check(self, headers: dict[str, str], path: str) -> tuple[bool, bool]:
        """VOD's check, as a customer's receiver makes it: (signature valid, fresh)."""
        timestamp = headers.get("x-vod-timestamp", "")
        signature = headers.get("x-vod-signature", "")
        if not timestamp.isascii() or not timestamp.isdigit() or path != PATH:
            return False, False
        expected = hashlib.md5(  # noqa: S324 - VOD's choice of digest
            f"{self.url}|{timestamp}|{self.key}".encode()
        ).hexdigest()
        fresh = abs(self.clock() - int(timestamp)) <= MAX_SKEW_SECONDS
        return hmac.compare_digest(expected, signature), fresh


@contextmanager
def local_downstream(**options: Any) -> Iterator[LocalDownstream]:
    with LocalDownstream(**options) as downstream:
        yield downstream
