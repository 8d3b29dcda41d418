"""The HTTP callback receiver: VOD's POST through API Gateway (HTTP API, payload 2.0).

VOD counts only a 200 as delivered, waits 5 seconds and tries 3 times about a second apart,
then drops the event. So the receiver does only what must happen before answering:
authenticate (before the body is read), check size and JSON, and hand the body to the work
queue, where the one paced consumer reads and cleans it (or ignores it: VOD sends every
event type to one URL). It never calls VOD, so it answers in milliseconds and its calls
never compete with the consumer's for VOD's quota. Only when the hand-off fails is the
answer 503, so VOD delivers again.

It writes every answer VOD gets, whatever happens (401, 405, 400, 413, 500, 503, 200): it
never raises. Its cold start is VOD's wait too: nothing here imports pydantic, botocore or
the OpenAPI core (``make bench`` measures it against the naive handler).

VOD's signature covers neither the body nor anything unique to one notification (every
callback of one second carries the same header pair), so each authenticated callback is
accepted, however often its header pair was seen; the consumer confirms what the body
claims with VOD before it deletes anything (the message says it came through HTTP).
"""

import base64
import binascii
import contextlib
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from vod_parts_cleanup.receiver.callback_auth import Authenticator
from vod_parts_cleanup.shared.clock import Clock
from vod_parts_cleanup.shared.envelopes import decode_json_object, http_response
from vod_parts_cleanup.shared.errors import (
    CallbackAuthUnavailableError,
    CallbackRejectedError,
    HandOffFailedError,
    MalformedEventError,
)
from vod_parts_cleanup.shared.observability import Telemetry
from vod_parts_cleanup.shared.queues import (
    RelayedCallback,
    SqsQueue,
    delivery_attributes,
    relay_message,
)
from vod_parts_cleanup.shared.vocabulary import (
    CleanupStatus,
    ErrorCode,
    Outcome,
    RejectionReason,
    SkipReason,
    Trigger,
)

# VOD's bodies are a few hundred bytes; anything this large is not a VOD notification.
MAX_BODY_BYTES = 64 * 1024
# VOD waits 5 s for a callback's answer, counted from when API Gateway received it.
CALLBACK_ANSWER_SECONDS = 4.5
MAX_LOGGED_VIDEO_ID = 64  # VOD's VideoIds are 32 characters
QUEUED = "queued"
REJECTED_LOG_MESSAGE = "callback rejected: not accepted as coming from VOD"
QUEUED_LOG_MESSAGE = "callback handed to the work queue"

# Answers for a callback that could not be checked: not its fault, so VOD should retry.
STATUS_FOR_UNCHECKED = {
    RejectionReason.NOT_CONFIGURED: HTTPStatus.INTERNAL_SERVER_ERROR,
    RejectionReason.AUTH_UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
}


@dataclass(frozen=True)
class CallbackRequest:
    """What the receiver needs of API Gateway's event, read so that no shape of it can raise."""

    method: str | None = None
    headers: Mapping[str, object] = field(default_factory=dict)
    body: bytes = b""
    body_problem: str | None = None
    source_ip: str | None = None
    received_at: float | None = None  # Unix seconds, when API Gateway received the call

    @property
    def content_type(self) -> str | None:
        """The Content-Type VOD sent (API Gateway passes header names in lower case)."""
        for name, value in self.headers.items():
            if isinstance(name, str) and name.lower() == "content-type" and isinstance(value, str):
                return value
        return None


def callback_request(event: Mapping[str, Any]) -> CallbackRequest:
    """The request in an HTTP API (payload 2.0) event, however odd the event."""
    context = _mapping(event.get("requestContext"))
    http = _mapping(context.get("http"))
    method, source_ip = http.get("method"), http.get("sourceIp")
    body, problem = _body_bytes(event.get("body"), base64_encoded=event.get("isBase64Encoded"))
    return CallbackRequest(
        method=method.upper() if isinstance(method, str) else None,
        headers=_mapping(event.get("headers")),
        body=body,
        body_problem=problem,
        source_ip=source_ip if isinstance(source_ip, str) else None,
        received_at=_epoch_seconds(context.get("timeEpoch")),
    )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _body_bytes(body: object, *, base64_encoded: object) -> tuple[bytes, str | None]:
    """The body's bytes as the caller sent them (API Gateway base64-encodes binary bodies)."""
    if body is None:
        return b"", None
    if not isinstance(body, str):
        return b"", f"the body is a {type(body).__name__}, not text"
    if base64_encoded is True:
        try:
            return base64.b64decode(body, validate=True), None
        except (binascii.Error, ValueError):
            return b"", "the body is not valid base64"
    # A lone surrogate cannot be UTF-8: kept as bytes that will not decode, so it is refused.
    return body.encode("utf-8", "surrogatepass"), None


def _epoch_seconds(milliseconds: object) -> float | None:
    if isinstance(milliseconds, bool) or not isinstance(milliseconds, int | float):
        return None
    seconds = milliseconds / 1000
    return seconds if math.isfinite(seconds) and seconds > 0 else None


@dataclass(frozen=True)
class Rejection:
    """A body refused before it was read: answered 400 (413 if too large), in the wire form
    of a rejected ``CleanupResult``, and accounted for like one."""

    error_code: ErrorCode
    detail: str
    status = CleanupStatus.REJECTED
    outcome: Outcome | None = None
    reason: SkipReason | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "status": CleanupStatus.REJECTED.value,
            "errorCode": self.error_code.value,
            "detail": self.detail,
        }

    def answer(self) -> dict[str, Any]:
        too_large = self.error_code is ErrorCode.BODY_TOO_LARGE
        status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE if too_large else HTTPStatus.BAD_REQUEST
        return http_response(status, self.to_json_dict())


@dataclass(frozen=True, kw_only=True)
class CallbackReceiver:
    """Authenticate, read, hand off, answer: one VOD callback."""

    authenticator: Authenticator
    work_queue: SqsQueue | None
    relay_queue: SqsQueue | None
    clock: Clock
    telemetry: Telemetry

    def seconds_to_answer(self, request: CallbackRequest) -> float:
        """What is left of VOD's wait for this callback (it started when API Gateway got it)."""
        received_at = request.received_at
        if received_at is None:
            return CALLBACK_ANSWER_SECONDS
        waited = min(max(self.clock.time() - received_at, 0.0), CALLBACK_ANSWER_SECONDS)
        return CALLBACK_ANSWER_SECONDS - waited

    def answer(self, request: CallbackRequest) -> dict[str, Any]:
        """Every callback gets an answer with a status, whatever it holds: never an exception."""
        try:
            return self._answer(request)
        except Exception:  # a bug must not cost VOD's callback: 503, and VOD delivers again
            self.telemetry.logger.exception(
                "the callback could not be answered; VOD will deliver it again"
            )
            return http_response(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "failed"})

    def _answer(self, request: CallbackRequest) -> dict[str, Any]:
        if request.method != "POST":
            return http_response(HTTPStatus.METHOD_NOT_ALLOWED, {"message": "use POST"})
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        read = self._read(request)
        if isinstance(read, Rejection):
            return read.answer()
        text, notification = read
        return self._hand_off(request, text, notification)

    def _refusal(self, request: CallbackRequest) -> dict[str, Any] | None:
        """The answer to a callback that does not authenticate, or cannot be checked now."""
        try:
            self.authenticator.authenticate(request.headers)
        except CallbackRejectedError as rejection:
            return self._unauthorized(rejection, request)
        except CallbackAuthUnavailableError as unavailable:
            self.telemetry.logger.exception(
                "callback not checked: its authentication is unavailable; VOD will retry",
                extra={"reason": unavailable.reason.value, "detail": str(unavailable)},
            )
            return self._unchecked(unavailable.reason)
        return None

    def _read(self, request: CallbackRequest) -> tuple[str, dict[str, Any]] | Rejection:
        """The body as text and as a JSON object, or the rejection that says why not."""
        body = request.body
        if request.body_problem is not None:
            return self._reject(ErrorCode.MALFORMED_EVENT, request.body_problem)
        if len(body) > MAX_BODY_BYTES:
            detail = f"body of {len(body)} bytes, over the {MAX_BODY_BYTES}-byte limit"
            return self._reject(ErrorCode.BODY_TOO_LARGE, detail)
        try:
            text = body.decode("utf-8")
            return text, decode_json_object(text)
        except (UnicodeDecodeError, MalformedEventError) as error:
            return self._reject(ErrorCode.MALFORMED_EVENT, _malformed_detail(error))

    def _hand_off(
        self, request: CallbackRequest, text: str, notification: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Keep the body in the work queue (and, in relay mode, in the relay queue, at the
        same time); if either fails, let VOD deliver it again. The consumer reads it (the
        VideoId here is only named in the log, unchecked)."""
        video_id = notification.get("VideoId")
        named = isinstance(video_id, str) and len(video_id) <= MAX_LOGGED_VIDEO_ID
        shown = {"videoId": video_id} if named else {}
        received = request.received_at if request.received_at is not None else self.clock.time()
        relaying = self._relay_in_background(request, received)
        try:
            attributes = delivery_attributes(Trigger.HTTP, received_at=received)
            message_id = self._queue(text, attributes)
        except HandOffFailedError as error:
            if relaying is not None:
                with contextlib.suppress(HandOffFailedError):
                    relaying.wait()  # over either way before the answer: VOD delivers again
            return self._not_held(error, shown)
        if relaying is not None:
            try:
                relaying.wait()
            except HandOffFailedError as error:
                return self._not_held(error, shown)
        self.telemetry.metrics.count_callback_queued()
        self.telemetry.logger.info(QUEUED_LOG_MESSAGE, extra=shown | {"sqsMessageId": message_id})
        return http_response(HTTPStatus.OK, {"status": QUEUED, "messageId": message_id})

    def _relay_in_background(
        self, request: CallbackRequest, received_at: float
    ) -> "_HandOff | None":
        """In relay mode, the callback handed to the relay queue on a thread of its own, so
        the two queues' round trips overlap."""
        if self.relay_queue is None:
            return None
        callback = RelayedCallback(
            body=request.body, content_type=request.content_type, received_at=received_at
        )
        return _HandOff(self.relay_queue, *relay_message(callback))

    def _not_held(self, error: HandOffFailedError, shown: Mapping[str, Any]) -> dict[str, Any]:
        self.telemetry.logger.error(
            "callback not queued; answering 503 so VOD delivers it again",
            extra=dict(shown) | {"detail": str(error)},
        )
        return http_response(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "failed"})

    def _queue(self, text: str, attributes: Mapping[str, str]) -> str:
        if self.work_queue is None:
            msg = "WORK_QUEUE_URL is not set"
            raise HandOffFailedError(msg)
        return self.work_queue.hand_off(text, attributes)

    def _unauthorized(
        self, rejection: CallbackRejectedError, request: CallbackRequest
    ) -> dict[str, Any]:
        self.telemetry.metrics.count_callback_rejected(rejection.reason.value)
        self.telemetry.logger.warning(
            REJECTED_LOG_MESSAGE,
            extra={
                "reason": rejection.reason.value,
                "detail": str(rejection),
                "sourceIp": request.source_ip,
            },
        )
        return http_response(
            HTTPStatus.UNAUTHORIZED,
            {
                "status": "rejected",
                "errorCode": ErrorCode.CALLBACK_UNAUTHORIZED.value,
                "reason": rejection.reason.value,
            },
        )

    def _reject(self, error_code: ErrorCode, detail: str) -> Rejection:
        """A body that cannot be used (not one JSON object, too large): counted, logged."""
        rejection = Rejection(error_code=error_code, detail=detail)
        self.telemetry.account_for(rejection)
        return rejection

    def _unchecked(self, reason: RejectionReason) -> dict[str, Any]:
        """The answer when the callback could not be authenticated at all (not its fault)."""
        self.telemetry.metrics.count_callback_rejected(reason.value)
        return http_response(
            STATUS_FOR_UNCHECKED[reason],
            {
                "status": "failed",
                "errorCode": ErrorCode.CALLBACK_NOT_CHECKED.value,
                "reason": reason.value,
            },
        )


def _malformed_detail(error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return "the body is not UTF-8 text"
    return str(error)


class _HandOff:
    """One hand-off running on a thread of its own; ``wait`` gives its MessageId or raises
    HandOffFailedError (also when it is not over in VOD's time, or went wrong)."""

    def __init__(self, queue: SqsQueue, body: str, attributes: Mapping[str, str]) -> None:
        self._queue = queue
        self._body = body
        self._attributes = attributes
        self._message_id: str | None = None
        self._error: HandOffFailedError | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._message_id = self._queue.hand_off(self._body, self._attributes)
        except HandOffFailedError as error:
            self._error = error
        except Exception as error:  # a bug: reported as a failed hand-off, never lost
            self._error = HandOffFailedError(f"the {self._queue.name} hand-off failed: {error!r}")

    def wait(self) -> str:
        self._thread.join(CALLBACK_ANSWER_SECONDS)
        if self._thread.is_alive():
            msg = f"the {self._queue.name} did not answer in time"
            raise HandOffFailedError(msg)
        if self._error is not None:
            raise self._error
        assert self._message_id is not None
        return self._message_id
