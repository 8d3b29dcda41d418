"""The HTTP callback route: VOD's POST through API Gateway (HTTP API, payload 2.0).

VOD counts only a 200 as delivered, waits 5 seconds and tries 3 times about a second apart,
then drops the event. So: authenticate before reading the body; answer 200 for every event
that was handled (cleaned, duplicate, ignored); and when a cleanup cannot finish now for a
reason that is not the event's fault, hand the body to the work queue and still answer 200.
Only when even that hand-off fails is the answer 503, so VOD tries again.

VOD's signature covers neither the body nor anything unique to one notification (every
callback of one second carries the same header pair), so each authenticated callback is
accepted, however often its header pair was seen; what its body claims is confirmed with
VOD by the cleanup (``UploadEvent.needs_confirmation``) before anything is deleted.
"""

import base64
import binascii
import json
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from vod_parts_cleanup.callback_auth import (
    CallbackAuthenticator,
    CallbackAuthUnavailableError,
    CallbackRejectedError,
    RejectionReason,
)
from vod_parts_cleanup.cleanup import reject_unreadable
from vod_parts_cleanup.intake import (
    MALFORMED_EVENT,
    MalformedEventError,
    decode_json_object,
    read_notification,
)
from vod_parts_cleanup.models import CleanupFailedError, CleanupResult, CleanupStatus, UploadEvent
from vod_parts_cleanup.observability import CleanupMetrics
from vod_parts_cleanup.settings import SettingsError
from vod_parts_cleanup.work_queue import HandOffFailedError, WorkQueue

# VOD's bodies are a few hundred bytes; anything this large is not a VOD notification.
MAX_BODY_BYTES = 64 * 1024
BODY_TOO_LARGE = "BodyTooLarge"
# The cleanup must be over this long after API Gateway received the callback, so the
# hand-off (if needed) and the answer still fit in VOD's 5-second timeout.
CLEANUP_BUDGET_SECONDS = 3.5
NOT_CONFIGURED = "NotConfigured"
QUEUED = "queued"
REJECTED_LOG_MESSAGE = "callback rejected: not accepted as coming from VOD"

# Answers for a callback that could not be checked: not its fault, so VOD should retry.
STATUS_FOR_UNCHECKED = {
    RejectionReason.NOT_CONFIGURED: HTTPStatus.INTERNAL_SERVER_ERROR,
    RejectionReason.AUTH_UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
}

# The use case for what intake read (an UploadEvent, or an ignored/rejected result) by a
# deadline; raises CleanupFailedError or SettingsError when the event must be kept.
CleanUp = Callable[[UploadEvent | CleanupResult, float], CleanupResult]


class CallbackRoute:
    """Authenticate, read, clean up (or queue), answer: one VOD callback."""

    def __init__(
        self,
        *,
        authenticator: CallbackAuthenticator,
        confirm_upload: bool,
        work_queue: WorkQueue | None,
        clean_up: CleanUp,
        metrics: CleanupMetrics,
        logger: Logger,
    ) -> None:
        self._authenticator = authenticator
        self._confirm_upload = confirm_upload
        self._work_queue = work_queue
        self._clean_up_by = clean_up
        self._metrics = metrics
        self._logger = logger

    def answer(self, request: APIGatewayProxyEventV2, *, lambda_deadline: float) -> dict[str, Any]:
        body = _raw_body(request)
        try:
            self._authenticator.authenticate(request.headers)
        except CallbackRejectedError as rejection:
            return self._unauthorized(rejection, request)
        except CallbackAuthUnavailableError as unavailable:
            self._logger.exception(
                "callback not checked: its authentication is unavailable; VOD will retry",
                extra={"reason": unavailable.reason.value, "detail": str(unavailable)},
            )
            return not_checked(unavailable.reason, self._metrics)
        if len(body) > MAX_BODY_BYTES:
            detail = f"body of {len(body)} bytes, over the {MAX_BODY_BYTES}-byte limit"
            result = self._reject(BODY_TOO_LARGE, detail)
            return http_response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, result.to_json_dict())
        try:
            text = body.decode("utf-8")
            notification = decode_json_object(text)
        except (UnicodeDecodeError, MalformedEventError) as error:
            result = self._reject(MALFORMED_EVENT, _malformed_detail(error))
            return http_response(HTTPStatus.BAD_REQUEST, result.to_json_dict())
        return self._clean_up(text, notification, self._deadline(request, lambda_deadline))

    def _clean_up(self, text: str, notification: object, deadline: float) -> dict[str, Any]:
        intake = read_notification(notification)
        if isinstance(intake, UploadEvent) and self._confirm_upload:
            intake = intake.model_copy(update={"needs_confirmation": True})
        try:
            result = self._clean_up_by(intake, deadline)
        except (CleanupFailedError, SettingsError) as failure:
            if not isinstance(intake, UploadEvent):  # only a cleanup can fail
                raise
            error_code = failure.error_code if isinstance(failure, CleanupFailedError) else None
            return self._hand_off(text, error_code or NOT_CONFIGURED, intake)
        rejected = result.status is CleanupStatus.REJECTED
        return http_response(
            HTTPStatus.BAD_REQUEST if rejected else HTTPStatus.OK, result.to_json_dict()
        )

    def _hand_off(self, text: str, error_code: str, event: UploadEvent) -> dict[str, Any]:
        """Keep the event in the work queue; only if that fails, let VOD deliver it again."""
        video_id, outcome = event.video_id, event.outcome
        answer = {"videoId": video_id, "outcome": outcome.value, "errorCode": error_code}
        try:
            message_id = self._queue(text, error_code)
        except HandOffFailedError as error:
            self._logger.exception(
                "callback not handled and not queued; answering 503 so VOD delivers it again",
                extra={"videoId": video_id, "errorCode": error_code, "detail": str(error)},
            )
            return http_response(HTTPStatus.SERVICE_UNAVAILABLE, _present(answer, "failed"))
        self._metrics.count_callback_queued(outcome)
        self._logger.warning(
            "callback not handled now; handed to the work queue and answered 200",
            extra={"videoId": video_id, "errorCode": error_code, "sqsMessageId": message_id},
        )
        answer["messageId"] = message_id
        return http_response(HTTPStatus.OK, _present(answer, QUEUED))

    def _queue(self, text: str, error_code: str) -> str:
        if self._work_queue is None:
            msg = "WORK_QUEUE_URL is not set"
            raise HandOffFailedError(msg)
        return self._work_queue.hand_off(text, error_code=error_code)

    def _unauthorized(
        self, rejection: CallbackRejectedError, request: APIGatewayProxyEventV2
    ) -> dict[str, Any]:
        self._metrics.count_callback_rejected(rejection.reason.value)
        self._logger.warning(
            REJECTED_LOG_MESSAGE,
            extra={
                "reason": rejection.reason.value,
                "detail": str(rejection),
                "sourceIp": request.request_context.http.source_ip,
            },
        )
        return http_response(
            HTTPStatus.UNAUTHORIZED,
            {
                "status": "rejected",
                "errorCode": "CallbackUnauthorized",
                "reason": rejection.reason.value,
            },
        )

    def _reject(self, error_code: str, detail: str) -> CleanupResult:
        return reject_unreadable(error_code, detail, metrics=self._metrics, logger=self._logger)

    @staticmethod
    def _deadline(request: APIGatewayProxyEventV2, lambda_deadline: float) -> float:
        """When the cleanup must be over: VOD's clock started when API Gateway got the call."""
        budget = CLEANUP_BUDGET_SECONDS
        received_ms = request.request_context.time_epoch
        if received_ms:
            waited = time.time() - received_ms / 1000
            budget = min(max(budget - waited, 0.0), CLEANUP_BUDGET_SECONDS)
        return min(lambda_deadline, time.monotonic() + budget)


def not_checked(reason: RejectionReason, metrics: CleanupMetrics) -> dict[str, Any]:
    """The answer when the callback could not be authenticated at all (not its fault)."""
    metrics.count_callback_rejected(reason.value)
    return http_response(
        STATUS_FOR_UNCHECKED[reason],
        {"status": "failed", "errorCode": "CallbackNotChecked", "reason": reason.value},
    )


def http_response(status: HTTPStatus, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": int(status),
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }


def _present(answer: dict[str, str], status: str) -> dict[str, str]:
    return {"status": status} | answer


def _raw_body(request: APIGatewayProxyEventV2) -> bytes:
    """The body's bytes as the caller sent them (API Gateway base64-encodes binary bodies)."""
    body = request.body or ""
    if request.is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return body.encode()
    return body.encode()


def _malformed_detail(error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return "the body is not UTF-8 text"
    return str(error)
