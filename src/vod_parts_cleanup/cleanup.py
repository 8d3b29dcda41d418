"""The use case: delete the upload parts of one video and account for what happened.

It sees only ``UploadEvent``s and finished results, never an AWS envelope, and reaches VOD
through any object with the ``PartsDeleter`` shape.
"""

from collections.abc import Callable
from functools import partial
from typing import Protocol

from aws_lambda_powertools import Logger

from vod_parts_cleanup.models import (
    CleanupFailedError,
    CleanupResult,
    CleanupStatus,
    ErrorKind,
    Outcome,
    UploadEvent,
)
from vod_parts_cleanup.observability import CleanupMetrics
from vod_parts_cleanup.vod_client import VodAnswer, VodCall, VodCallFailedError

# Log messages other tools look for (the local runner lists VOD calls from them).
VOD_CALL_LOG_MESSAGE = "VOD DeleteMultipartUpload answered"


def account_for(result: CleanupResult, *, metrics: CleanupMetrics, logger: Logger) -> None:
    """Count and log a finished result, including events that never needed VOD."""
    metrics.count_result(result)
    if result.status is CleanupStatus.REJECTED:
        logger.warning("event rejected, VOD not called", extra={"result": result.to_json_dict()})
    else:
        logger.info("event handled", extra={"result": result.to_json_dict()})


def reject_unreadable(
    error_code: str, detail: str, *, metrics: CleanupMetrics, logger: Logger
) -> CleanupResult:
    """A body that could not be read at all: rejected (no video known), counted and logged."""
    result = CleanupResult(
        video_id=None,
        outcome=None,
        status=CleanupStatus.REJECTED,
        error_code=error_code,
        detail=detail,
    )
    account_for(result, metrics=metrics, logger=logger)
    return result


class PartsDeleter(Protocol):
    def delete_multipart_upload(
        self,
        video_id: str,
        *,
        deadline: float | None,
        on_call: Callable[[VodCall], None],
    ) -> VodAnswer: ...


class Cleaner(Protocol):
    """What the handler needs: the plain use case, or the same wrapped for idempotency."""

    def clean_up(self, event: UploadEvent, *, deadline: float | None) -> CleanupResult: ...


class CleanupService:
    """Cleans up after uploads; the one place that turns VOD answers into results and metrics."""

    def __init__(self, vod: PartsDeleter, metrics: CleanupMetrics, logger: Logger) -> None:
        self._vod = vod
        self._metrics = metrics
        self._logger = logger

    def clean_up(self, event: UploadEvent, *, deadline: float | None) -> CleanupResult:
        """Delete the video's parts; raise CleanupFailedError when the event must be retried."""
        with self._logger.append_context_keys(videoId=event.video_id, outcome=event.outcome.value):
            try:
                answer = self._vod.delete_multipart_upload(
                    event.video_id,
                    deadline=deadline,
                    on_call=partial(self._vod_call_made, event.outcome),
                )
            except VodCallFailedError as failure:
                self._failed(event, failure)
                raise CleanupFailedError(
                    kind=failure.kind,
                    video_id=event.video_id,
                    error_code=failure.error_code,
                    vod_request_id=failure.request_id,
                    attempts=failure.attempts,
                ) from None
            result = CleanupResult(
                video_id=event.video_id,
                outcome=event.outcome,
                status=answer.status,
                vod_request_id=answer.request_id,
                error_code=answer.error_code,
                attempts=answer.attempts,
                event_time=event.event_time,
            )
            account_for(result, metrics=self._metrics, logger=self._logger)
            return result

    def _vod_call_made(self, outcome: Outcome, call: VodCall) -> None:
        self._metrics.vod_latency(call.latency_ms, outcome)
        self._logger.info(
            VOD_CALL_LOG_MESSAGE,
            extra={
                "vodRequestId": call.request_id,
                "attempt": call.attempt,
                "httpStatus": call.http_status,
                "errorCode": call.error_code,
                "latencyMs": round(call.latency_ms, 1),
            },
        )

    def _failed(self, event: UploadEvent, failure: VodCallFailedError) -> None:
        self._metrics.count_failure(failure.kind, event.outcome)
        details = {
            "errorKind": failure.kind.value,
            "errorCode": failure.error_code,
            "vodRequestId": failure.request_id,
            "attempts": failure.attempts,
        }
        if failure.kind is ErrorKind.CONFIGURATION:
            self._logger.error(
                "VOD refused the call: fix the credentials, RAM policy or storage; "
                "the event is kept for retry",
                extra=details,
            )
        else:
            self._logger.warning(
                "VOD unavailable after retries; the event is kept for retry", extra=details
            )
