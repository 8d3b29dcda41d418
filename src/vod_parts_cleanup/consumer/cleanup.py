"""The use case: delete the upload parts of one video and account for what happened.

It sees only ``UploadEvent``s and finished results, never an AWS envelope.
"""

from collections.abc import Sequence
from typing import Protocol

from vod_parts_cleanup.consumer.models import CleanupResult, UploadEvent
from vod_parts_cleanup.consumer.vod_client import (
    VIDEO_INFOS_BATCH,
    VideoStatusAnswer,
    VodAnswer,
    VodCall,
    VodClient,
)
from vod_parts_cleanup.shared.clock import SYSTEM_CLOCK, Clock
from vod_parts_cleanup.shared.errors import CleanupFailedError
from vod_parts_cleanup.shared.observability import Telemetry
from vod_parts_cleanup.shared.vocabulary import (
    VIDEO_STATUS_UPLOADING,
    CleanupStatus,
    ErrorKind,
    Outcome,
    SkipReason,
)

# Log messages other tools look for (the local runner lists VOD calls from them).
VOD_CALL_LOG_MESSAGE = "VOD answered"
# A status read ahead for a batch stands in for a per-record check for this long: a batch
# is cleaned within the consumer's timeout, and the statuses that matter (unknown, still
# uploading, finished) do not turn back.
CONFIRMATION_FRESH_SECONDS = 60.0


# What a person is told when a video they named is left alone (a callback's claim gets
# no such advice: nobody who could act on it reads the answer).
FORCE_ADVICE = (
    'VOD reports the upload as still in progress (Uploading); send "Force": true '
    "(vod-parts-cleanup clean --force) to delete its parts anyway"
)


def _result_without_delete(
    event: UploadEvent, checked: VideoStatusAnswer | None
) -> CleanupResult | None:
    """The result VOD's status decides on its own: an unknown video, or one still uploading
    (unless a person forces it)."""
    if checked is None:
        return None
    if checked.status is None:
        return _result(event, CleanupStatus.MEDIA_NOT_FOUND, checked)
    if _is_uploading(checked) and not event.force:
        result = _result(event, CleanupStatus.SKIPPED, checked, SkipReason.UPLOAD_IN_PROGRESS)
        if event.outcome is Outcome.MANUAL:
            return result.model_copy(update={"detail": FORCE_ADVICE})
        return result
    return None


def _is_uploading(checked: VideoStatusAnswer | None) -> bool:
    status = checked.status if checked else None
    return bool(status and status.lower() == VIDEO_STATUS_UPLOADING.lower())


def _result(
    event: UploadEvent,
    status: CleanupStatus,
    answer: VodAnswer | VideoStatusAnswer,
    reason: SkipReason | None = None,
    *,
    calls_before: VideoStatusAnswer | None = None,
) -> CleanupResult:
    """The result of VOD's last answer; ``attempts`` counts every VOD call for the event."""
    return CleanupResult(
        video_id=event.video_id,
        outcome=event.outcome,
        status=status,
        reason=reason,
        vod_request_id=answer.request_id,
        error_code=answer.error_code,
        attempts=answer.attempts + (calls_before.attempts if calls_before else 0),
        event_time=event.event_time,
    )


class Cleaner(Protocol):
    """What the pipeline needs: the plain use case, the same wrapped for idempotency, or
    one that keeps every event because VOD cannot be reached with these settings."""

    def clean_up(self, event: UploadEvent) -> CleanupResult: ...

    def confirm_ahead(self, claims: Sequence[UploadEvent]) -> None: ...


class CleanupService:
    """Cleans up after uploads; the one place that turns VOD answers into results and metrics."""

    def __init__(
        self, vod: VodClient, telemetry: Telemetry, *, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self._vod = vod
        self._telemetry = telemetry
        self._clock = clock
        self._metrics, self._logger = telemetry.metrics, telemetry.logger
        # Statuses read ahead for a batch (GetVideoInfos), by VideoId, with when they were read.
        self._confirmed: dict[str, tuple[float, VideoStatusAnswer]] = {}

    def confirm_ahead(self, claims: Sequence[UploadEvent]) -> None:
        """Read the statuses of a batch's unverified claims in one VOD call per 20 videos,
        instead of one GetVideoInfo each: half the calls a batch of callbacks makes.

        Best effort: whatever cannot be read now is checked one by one in ``clean_up``."""
        self._confirmed.clear()
        video_ids = list(dict.fromkeys(claim.video_id for claim in claims))
        for start in range(0, len(video_ids), VIDEO_INFOS_BATCH):
            chunk = video_ids[start : start + VIDEO_INFOS_BATCH]
            try:
                statuses = self._vod.video_statuses(chunk, on_call=self._vod_call_made)
            except CleanupFailedError as failure:
                self._logger.info(
                    "statuses not read ahead; each claim is checked on its own",
                    extra={"errorCode": failure.error_code, "videos": len(chunk)},
                )
                return
            read_at = self._clock.monotonic()
            self._confirmed.update((video, (read_at, answer)) for video, answer in statuses.items())

    def _status_of(self, event: UploadEvent) -> VideoStatusAnswer:
        """The video's status: read ahead for its batch if fresh, else asked of VOD now."""
        read_ahead = self._confirmed.pop(event.video_id, None)
        if read_ahead is not None:
            read_at, answer = read_ahead
            if self._clock.monotonic() - read_at <= CONFIRMATION_FRESH_SECONDS:
                return answer
        return self._vod.video_status(event.video_id, on_call=self._vod_call_made)

    def clean_up(self, event: UploadEvent) -> CleanupResult:
        """Delete the video's parts; raise CleanupFailedError when the event must be retried.

        A claim the trust table confirms (``needs_confirmation``) is checked with VOD first:
        a video VOD does not know, or one still uploading, is not deleted (unless a person
        forces it: deleted, logged and counted as forced).
        """
        with self._logger.append_context_keys(videoId=event.video_id, outcome=event.outcome.value):
            try:
                checked = None
                if event.needs_confirmation:
                    checked = self._status_of(event)
                result = _result_without_delete(event, checked)
                if result is None:
                    answer = self._vod.delete_multipart_upload(
                        event.video_id, on_call=self._vod_call_made
                    )
                    result = _result(event, answer.status, answer, calls_before=checked)
                    if _is_uploading(checked):  # only a person's Force gets here
                        result = self._forced(result)
            except CleanupFailedError as failure:
                self._failed(event, failure)
                raise
            self._telemetry.account_for(result)
            return result

    def _forced(self, result: CleanupResult) -> CleanupResult:
        """A delete under an upload VOD reported in progress, because a person said so."""
        self._metrics.count_forced()
        self._logger.warning(
            "parts deleted although VOD reports the upload in progress: a person forced it",
            extra={"vodStatus": VIDEO_STATUS_UPLOADING},
        )
        return result.model_copy(update={"forced": True})

    def _vod_call_made(self, call: VodCall) -> None:
        self._metrics.vod_call(call.latency_ms, call.action, throttled=call.throttled)
        self._logger.info(
            VOD_CALL_LOG_MESSAGE,
            extra={
                "action": call.action,
                "vodRequestId": call.request_id,
                "attempt": call.attempt,
                "httpStatus": call.http_status,
                "errorCode": call.error_code,
                "latencyMs": round(call.latency_ms, 1),
            },
        )

    def _failed(self, event: UploadEvent, failure: CleanupFailedError) -> None:
        self._metrics.count_failure(failure.kind, event.outcome)
        details = {
            "errorKind": failure.kind.value,
            "errorCode": failure.error_code,
            "vodRequestId": failure.vod_request_id,
            "attempts": failure.attempts,
            "cause": failure.cause,
        }
        if failure.kind is ErrorKind.CONFIGURATION:
            self._logger.error(
                "VOD refused the call: fix the credentials, RAM policy or storage; "
                "the event is kept for retry",
                extra=details,
            )
        elif failure.kind is ErrorKind.TRANSIENT:
            self._logger.warning(
                "VOD unavailable after retries; the event is kept for retry", extra=details
            )
        else:
            self._logger.info(
                "cleanup deferred (VOD's quota or the invocation's time is used up); "
                "the event is kept for later",
                extra=details,
            )
