"""A local stand-in for Alibaba Cloud VOD, served over real HTTP in a background thread.

Why: the cleanup function must be exercised end to end - real SDK, real HTTP, real
ACS3-HMAC-SHA256 signatures - without an Alibaba Cloud account, and its error handling
must meet the failures VOD produces (auth errors, throttling, 5xx, dropped connections,
slow answers). This module is the HTTP server and the ``LocalVod`` facade tests drive;
it verifies every request with ``acs3`` (from what arrived on the wire, as Alibaba Cloud's
gateway does), applies scripted faults and rate limits, runs the operation on the
``vod_catalog`` and answers with VOD's codes and JSON error bodies. Standard library only,
so it can run anywhere.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Final, Self, Unpack, cast
from urllib.parse import parse_qsl, quote, urlsplit

from vod_parts_cleanup_dev.acs3 import (
    REDACTED,
    NonceMemory,
    ReceivedRequest,
    redact_authorization,
    verify,
)
from vod_parts_cleanup_dev.vod_catalog import (
    API_VERSION,
    OPERATIONS,
    Reply,
    Video,
    VideoOptions,
    VodCatalog,
    ids_named,
)
from vod_parts_cleanup_dev.vod_errors import VodError, missing_parameter

__all__ = [
    "LOCAL_ACCESS_KEY_ID",
    "LOCAL_ACCESS_KEY_SECRET",
    "LocalVod",
    "RecordedRequest",
    "main",
]

LOCAL_ACCESS_KEY_ID: Final = "LTAI5tLocalStandIn0000"
"""Public dummy AccessKey ID the stand-in accepts by default (not a real key)."""
LOCAL_ACCESS_KEY_SECRET: Final = "local-stand-in-secret-not-a-real-key"  # noqa: S105 - public dummy
"""Public dummy AccessKey secret the stand-in accepts by default (not a real key)."""

_JSON_CONTENT_TYPE: Final = "application/json;charset=utf-8"
_DROPPED_STATUS: Final = 0
_THROTTLED: Final = "Throttling.User"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stand-in received and judged it, for assertions in tests.

    Header names are lower-case. The Authorization header keeps its Credential and
    SignedHeaders but never its Signature, and a security token is never kept, so a
    recorded request can be printed or logged without leaking anything. ``status`` is 0
    for a request whose connection was dropped on purpose (no answer was sent).
    """

    method: str
    path: str
    action: str | None
    version: str | None
    query: dict[str, str]
    headers: dict[str, str]
    signature_valid: bool
    status: int
    error_code: str | None
    request_id: str


@dataclass(frozen=True)
class _Failure:
    """A scripted error answer (``fail_next``, ``fail_video``); ``action`` None means any."""

    code: str
    status: int
    retry_after_ms: int | None
    action: str | None = None


@dataclass(frozen=True)
class _Answer:
    """How the stand-in answers one request (``drop`` means no answer at all)."""

    status: int
    body: dict[str, object]
    headers: dict[str, str]
    drop: bool = False


def _new_request_id() -> str:
    """Return a RequestId shaped like VOD's (upper-case UUID)."""
    return str(uuid.uuid4()).upper()


def _check_api(wire: ReceivedRequest) -> VodError | None:
    """Only the operations the stand-in knows, of version 2017-03-21, RPC style on path /."""
    action = wire.header("x-acs-action")
    if wire.method not in ("GET", "POST") or wire.path not in ("", "/"):
        return _api_not_found()
    if not action:
        return missing_parameter("Action")
    if action not in OPERATIONS:
        return _api_not_found()
    if wire.header("x-acs-version") != API_VERSION:
        return VodError(400, "InvalidVersion", "Specified parameter Version is not valid.")
    return None


def _api_not_found() -> VodError:
    return VodError(
        404,
        "InvalidApi.NotFound",
        "Specified api is not found, please check your url and method.",
    )


class _Server(ThreadingHTTPServer):
    """The HTTP server, knowing the stand-in whose state it serves."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], vod: LocalVod) -> None:
        self.vod = vod
        super().__init__(address, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up (its timeout hit during a delay or a trickle) is no error
        of the stand-in's; anything else is printed, as the base server does."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    """Reads one request off the wire and writes the stand-in's answer."""

    protocol_version = "HTTP/1.1"  # keep-alive, like the real gateway
    # Write status, headers and body in one segment: split writes meet Nagle's algorithm
    # and delayed ACKs and cost ~40 ms per call.
    wbufsize = -1
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        """Name the stand-in in the Server header, without Python's version."""
        return "LocalVod"

    def setup(self) -> None:
        super().setup()
        cast(_Server, self.server).vod._track(self.connection, open_=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            cast(_Server, self.server).vod._track(self.connection, open_=False)

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: tests and manual runs read the recorded requests instead."""

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        vod = cast(_Server, self.server).vod
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self.send_error(400, "Malformed body framing")
            return
        split = urlsplit(self.path)
        wire = ReceivedRequest(
            method=self.command,
            target=self.path,
            path=split.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=_lower_headers(self.headers),
            body=body,
        )
        answer = vod._answer(wire)
        if answer.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = json.dumps(answer.body).encode("utf-8")
        trickle, generation = vod._next_trickle()
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", _JSON_CONTENT_TYPE)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            for piece in _pieces(payload, trickle):
                if vod._generation != generation:  # reset since: the test that asked is over
                    self.close_connection = True
                    return
                self.wfile.write(piece)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. its read timeout hit during a delay).
            self.close_connection = True


def _pieces(payload: bytes, trickle_seconds: float) -> Iterator[bytes]:
    """The answer in one piece, or (a fault) one byte every ``trickle_seconds``."""
    if not trickle_seconds:
        yield payload
        return
    for index in range(len(payload)):
        time.sleep(trickle_seconds)
        yield payload[index : index + 1]


def _lower_headers(headers: Message) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for name, value in headers.items():
        result.setdefault(name.lower(), []).append(str(value))
    return result


class LocalVod:
    """A local VOD endpoint (the operations in ``OPERATIONS``), run in a background thread.

    Why: lets tests and manual runs drive the real Alibaba Cloud SDK against something
    that signs, checks and fails like VOD, with scripted faults. Use as a context
    manager, point the SDK at ``endpoint`` with protocol HTTP and the stand-in's keys.
    """

    def __init__(
        self,
        *,
        access_key_id: str = LOCAL_ACCESS_KEY_ID,
        access_key_secret: str = LOCAL_ACCESS_KEY_SECRET,
        security_token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._access_key_id = access_key_id
        self._access_key_secret = access_key_secret
        self._security_token = security_token
        self._host = host
        self._port = port
        self.latency_seconds: float = 0.0
        """Added to every request before it is answered (simulates network distance)."""
        self.rate_limits: dict[str, float] = {}
        """Action -> calls per sliding second. Authenticated requests for that action
        beyond the limit get Throttling.User (HTTP 400), as VOD throttles each operation
        per account (DeleteMultipartUpload ~10/s). Only admitted requests count."""
        self._lock = threading.Lock()
        self._catalog = VodCatalog()
        self._failures: list[_Failure] = []
        self._video_failures: dict[tuple[str, str | None], _Failure] = {}
        self._drops = 0
        self._delays: deque[float] = deque()
        self._trickles: deque[float] = deque()
        self._requests: list[RecordedRequest] = []
        self._nonces = NonceMemory()
        self._admitted: dict[str, deque[float]] = {}
        # Bumped by reset(): a request still sleeping in a delay when the state was reset
        # belongs to an earlier test and must not touch (or be recorded in) the new state.
        self._generation = 0
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> Self:
        """Bind the port and serve in a daemon thread; returns self for chaining."""
        if self._server is not None:
            raise RuntimeError("LocalVod is already running")
        server = _Server((self._host, self._port), self)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"LocalVod:{server.server_address[1]}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close kept-alive connections, so nothing answers afterwards."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        """``host:port`` to put in the SDK's ``Config.endpoint`` (with protocol HTTP)."""
        if self._server is None:
            raise RuntimeError("LocalVod is not running; call start() first")
        return f"{self._host}:{self._server.server_address[1]}"

    # -- state and scripting -----------------------------------------------------------

    def add_video(self, video_id: str, **video: Unpack[VideoOptions]) -> None:
        """Make a video known (or replace it), by default uploaded now, with parts left
        (the options are ``Video.new``'s)."""
        self.add_videos([Video.new(video_id, **video)])

    def add_videos(self, videos: Iterable[Video]) -> None:
        """Seed many videos at once (build them with ``Video.new``); later ids replace."""
        videos = list(videos)
        with self._lock:
            for video in videos:
                self._catalog.add(video)

    def set_status(self, video_id: str, status: str) -> None:
        """Move a known video to another of VOD's statuses (KeyError for an unknown one)."""
        with self._lock:
            self._catalog.set_status(video_id, status)

    def video_status(self, video_id: str) -> str | None:
        """The video's status, or None for an unknown video."""
        with self._lock:
            video = self._catalog.get(video_id)
        return None if video is None else video.status

    def has_parts(self, video_id: str) -> bool:
        """Whether the video still has upload parts (False for unknown videos)."""
        with self._lock:
            video = self._catalog.get(video_id)
        return video is not None and video.has_parts

    def fail_next(
        self,
        code: str,
        *,
        status: int = 400,
        times: int = 1,
        retry_after_ms: int | None = None,
        action: str | None = None,
    ) -> None:
        """Answer the next ``times`` authenticated requests (for ``action``, or any) with
        this VOD error.

        Scripted errors queue up in order and are consumed after the signature check,
        so a badly signed request still fails authentication; a request takes the first
        queued error meant for its action or for any. ``retry_after_ms`` adds the
        ``x-acs-retry-after`` header that makes the SDK raise ThrottlingException.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        _check_scripted(status, action)
        with self._lock:
            self._failures.extend([_Failure(code, status, retry_after_ms, action)] * times)

    def fail_video(
        self, video_id: str, code: str, *, status: int = 400, action: str | None = None
    ) -> None:
        """Answer every authenticated request naming this video (MediaId, VideoId or one
        of MediaIds), for ``action`` or any, with this VOD error.

        Unlike ``fail_next`` it does not depend on the order requests arrive in, so a test
        can make chosen records of a batch fail; it lasts until ``clear_video_failure``.
        """
        _check_scripted(status, action)
        with self._lock:
            self._video_failures[video_id, action] = _Failure(code, status, None, action)

    def clear_video_failure(self, video_id: str) -> None:
        """The fault is fixed: requests for this video are handled normally again."""
        with self._lock:
            for key in [key for key in self._video_failures if key[0] == video_id]:
                del self._video_failures[key]

    def drop_next(self, times: int = 1) -> None:
        """Close the connection of the next ``times`` requests without any response."""
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._drops += times

    def trickle_next(self, seconds_per_byte: float, times: int = 1) -> None:
        """Send the body of each of the next ``times`` answers one byte every
        ``seconds_per_byte`` (a fault no socket timeout catches: each read gets a byte)."""
        if times < 1 or seconds_per_byte <= 0:
            raise ValueError("times must be at least 1 and seconds_per_byte positive")
        with self._lock:
            self._trickles.extend([seconds_per_byte] * times)

    def _next_trickle(self) -> tuple[float, int]:
        """The next answer's seconds per byte (0: all at once), and the state's generation."""
        with self._lock:
            return (self._trickles.popleft() if self._trickles else 0.0), self._generation

    def delay_next(self, seconds: float, times: int = 1) -> None:
        """Sleep ``seconds`` before answering each of the next ``times`` requests."""
        if times < 1 or seconds < 0:
            raise ValueError("times must be at least 1 and seconds not negative")
        with self._lock:
            self._delays.extend([seconds] * times)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def calls(self, action: str | None = None) -> int:
        """How many requests (for ``action``, or all) arrived, dropped ones included."""
        return sum(1 for request in self.requests if action in (None, request.action))

    def throttled(self, action: str | None = None) -> int:
        """How many requests (for ``action``, or all) were answered Throttling.User,
        whether by the rate limit or by a scripted failure: what the client saw."""
        return sum(
            1
            for request in self.requests
            if action in (None, request.action) and request.error_code == _THROTTLED
        )

    def reset(self) -> None:
        """Forget videos, scripts, recorded requests, used nonces and the rate windows.

        ``latency_seconds`` and ``rate_limits`` are settings and stay as set.
        A request that arrived before the reset and is still being delayed is then
        dropped without effect, so it cannot leak into what comes after the reset.
        """
        with self._lock:
            self._generation += 1
            self._catalog.clear()
            self._failures.clear()
            self._video_failures.clear()
            self._drops = 0
            self._delays.clear()
            self._trickles.clear()
            self._requests.clear()
            self._nonces.clear()
            self._admitted.clear()

    # -- request handling (called from server threads) ---------------------------------

    def _track(self, conn: socket.socket, *, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _answer(self, wire: ReceivedRequest) -> _Answer:
        """Judge one request: faults, authentication, scripts, rate limit, operation."""
        request_id = _new_request_id()
        with self._lock:
            delay = self._delays.popleft() if self._delays else 0.0
            generation = self._generation
        pause = self.latency_seconds + delay
        if pause > 0:
            time.sleep(pause)

        verification = verify(
            wire,
            access_key_id=self._access_key_id,
            access_key_secret=self._access_key_secret,
            security_token=self._security_token,
            now=datetime.now(UTC),
        )
        signature_valid, error = verification.signature_valid, verification.error
        with self._lock:
            if generation != self._generation:
                return _Answer(_DROPPED_STATUS, {}, {}, drop=True)
            if self._drops > 0:
                self._drops -= 1
                self._record(wire, signature_valid, _DROPPED_STATUS, None, request_id)
                return _Answer(_DROPPED_STATUS, {}, {}, drop=True)
            extra: dict[str, str] = {}
            reply = error or self._judge(wire, signature_valid, extra)
            error = reply if isinstance(reply, VodError) else None
            status = 200 if error is None else error.status
            self._record(
                wire, signature_valid, status, None if error is None else error.code, request_id
            )
        headers = {"x-acs-request-id": request_id, **extra}
        if isinstance(reply, VodError):
            return _Answer(reply.status, self._error_body(wire, reply, request_id), headers)
        return _Answer(200, {"RequestId": request_id, **reply}, headers)

    def _judge(self, wire: ReceivedRequest, signature_valid: bool, extra: dict[str, str]) -> Reply:
        """Nonce, scripted faults, rate limit, then the operation (call with the lock held).

        Adds the retry-after header of a scripted fault to ``extra``.
        """
        if signature_valid:
            error = self._nonces.use(wire.header("x-acs-signature-nonce") or "", time.monotonic())
            if error is not None:
                return error
        action = wire.header("x-acs-action")
        failure = self._take_failure(action, wire.query)
        if failure is not None:
            if failure.retry_after_ms is not None:
                extra["x-acs-retry-after"] = str(failure.retry_after_ms)
            return VodError(
                failure.status,
                failure.code,
                f"The request failed with the scripted error {failure.code}.",
            )
        return self._throttle(action) or self._operate(wire)

    def _error_body(
        self, wire: ReceivedRequest, error: VodError, request_id: str
    ) -> dict[str, object]:
        """VOD's JSON error body."""
        return {
            "RequestId": request_id,
            "HostId": wire.header("host") or self._host,
            "Code": error.code,
            "Message": error.message,
            "Recommend": (
                f"https://api.aliyun.com/troubleshoot?q={quote(error.code)}"
                f"&product=Vod&requestId={request_id}"
            ),
        }

    def _take_failure(self, action: str | None, query: Mapping[str, str]) -> _Failure | None:
        """The scripted error this request meets, if any (call with the lock held)."""
        for index, failure in enumerate(self._failures):
            if failure.action in (None, action):
                return self._failures.pop(index)
        for video_id in ids_named(query):
            for key in ((video_id, action), (video_id, None)):
                if key in self._video_failures:
                    return self._video_failures[key]
        return None

    def _throttle(self, action: str | None) -> VodError | None:
        """Apply the action's sliding one-second rate limit (call with the lock held)."""
        limit = self.rate_limits.get(action or "")
        if limit is None or action is None:
            return None
        now = time.monotonic()
        admitted = self._admitted.setdefault(action, deque())
        while admitted and now - admitted[0] >= 1.0:
            admitted.popleft()
        if len(admitted) >= limit:
            return VodError(400, _THROTTLED, "Request was denied due to user flow control.")
        admitted.append(now)
        return None

    def _operate(self, wire: ReceivedRequest) -> Reply:
        """Run the requested operation on the catalog (call with the lock held)."""
        error = _check_api(wire)
        if error is not None:
            return error
        return self._catalog.answer(wire.header("x-acs-action") or "", wire.query)

    def _record(
        self,
        wire: ReceivedRequest,
        signature_valid: bool,
        status: int,
        error_code: str | None,
        request_id: str,
    ) -> None:
        """Keep the request for tests, with the signature and any token redacted."""
        headers: dict[str, str] = {}
        for name, values in wire.headers.items():
            value = ", ".join(values)
            if name == "authorization":
                value = redact_authorization(value)
            elif name == "x-acs-security-token":
                value = REDACTED
            headers[name] = value
        self._requests.append(
            RecordedRequest(
                method=wire.method,
                path=wire.path,
                action=wire.header("x-acs-action"),
                version=wire.header("x-acs-version"),
                query=dict(wire.query),
                headers=headers,
                signature_valid=signature_valid,
                status=status,
                error_code=error_code,
                request_id=request_id,
            )
        )


def _check_scripted(status: int, action: str | None) -> None:
    if not 400 <= status <= 599:
        raise ValueError("status must be an HTTP error status (400-599)")
    if action is not None and action not in OPERATIONS:
        raise ValueError(f"unknown action {action!r}: {sorted(OPERATIONS)}")


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the stand-in until interrupted, for manual runs against the real SDK."""
    parser = argparse.ArgumentParser(
        prog="python -m vod_parts_cleanup_dev",
        description=f"Local stand-in for Alibaba Cloud VOD: {', '.join(OPERATIONS)}.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to bind (0 = any free)")
    parser.add_argument(
        "--video",
        action="append",
        default=[],
        metavar="ID",
        help="a known, uploaded video with upload parts (repeatable)",
    )
    parser.add_argument(
        "--uploading",
        action="append",
        default=[],
        metavar="ID",
        help="a known video still in status Uploading, with upload parts (repeatable)",
    )
    args = parser.parse_args(argv)
    with LocalVod(port=args.port) as vod:
        for video_id in args.video:
            vod.add_video(video_id)
        for video_id in args.uploading:
            vod.add_video(video_id, status="Uploading")
        print(f"endpoint:          {vod.endpoint} (protocol HTTP)", flush=True)
        print(f"access key id:     {LOCAL_ACCESS_KEY_ID}", flush=True)
        print(f"access key secret: {LOCAL_ACCESS_KEY_SECRET}", flush=True)
        print("Ctrl-C to stop.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0
