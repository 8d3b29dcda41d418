"""The relay queue's SQS batches: each callback delivered to the downstream receiver, one
attempt each; a failed one comes back after its growing delay, and after the last try the
queue moves it to its dead-letter queue (``retry``). It never calls VOD and never waits for
cleanup, and cleanup never waits for it: the two read queues of their own.
"""

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from vod_parts_cleanup.relay.delivery import DELIVERY_SECONDS, Attempt, DownstreamReceiver
from vod_parts_cleanup.relay.retry import delay_after
from vod_parts_cleanup.shared.clock import Clock, Deadline
from vod_parts_cleanup.shared.envelopes import decode_json_object
from vod_parts_cleanup.shared.errors import (
    DeliveryFailedError,
    HandOffFailedError,
    MalformedEventError,
)
from vod_parts_cleanup.shared.observability import Telemetry
from vod_parts_cleanup.shared.queues import (
    RelayedCallback,
    SqsQueue,
    receive_count,
    relayed_callback_of,
)

# A record is started only if its whole attempt fits in the invocation's time left.
SECONDS_TO_START_A_DELIVERY = DELIVERY_SECONDS + 1.0
DELIVERED_LOG_MESSAGE = "callback relayed to the downstream receiver"
NOT_DELIVERED_LOG_MESSAGE = "callback not relayed; tried again later"
GIVEN_UP_LOG_MESSAGE = "callback not relayed after its last try; left to the dead-letter queue"
MAX_LOGGED_VIDEO_ID = 64  # VOD's VideoIds are 32 characters


class RelayBatch:
    """Delivers the records of one relay-queue batch, reporting the ones to keep."""

    def __init__(
        self,
        downstream: DownstreamReceiver | None,
        queue: SqsQueue | None,
        *,
        max_receives: int,
        clock: Clock,
        deadline: Deadline,
        telemetry: Telemetry,
        not_configured: str | None = None,
    ) -> None:
        self._downstream = downstream
        self._queue = queue
        self._max_receives = max_receives
        self._clock = clock
        self._deadline = deadline
        self._telemetry = telemetry
        self._not_configured = not_configured

    def relay(self, event: Mapping[str, Any]) -> Mapping[str, Any]:
        """The batch response: ``batchItemFailures`` lists the records SQS must keep."""
        if not event["Records"]:
            return {"batchItemFailures": []}
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        return process_partial_response(
            event=dict(event), record_handler=self._relay_record, processor=processor
        )

    def _relay_record(self, record: SQSRecord) -> dict[str, Any]:
        logger = self._telemetry.logger
        with logger.append_context_keys(messageId=record.message_id):
            seconds_left = self._deadline.seconds_left()
            if seconds_left is not None and seconds_left < SECONDS_TO_START_A_DELIVERY:
                msg = "not started: the invocation's time is nearly up"
                raise DeliveryFailedError(msg)
            try:
                callback = relayed_callback_of(
                    record.body, record.raw_event.get("messageAttributes")
                )
            except ValueError as error:  # kept as it is, for a person to read in the end
                unreadable = Attempt(False, "unreadable_message", None, str(error), 0.0)
                self._not_delivered(record, unreadable)
                raise DeliveryFailedError(str(error)) from None
            with logger.append_context_keys(**_video_id_of(callback.body)):
                attempt = self._attempt(callback)
                if attempt.delivered:
                    self._delivered(callback, attempt)
                    return {"status": attempt.status}
                self._not_delivered(record, attempt)
            raise DeliveryFailedError(f"{attempt.reason}: {attempt.detail}")

    def _attempt(self, callback: RelayedCallback) -> Attempt:
        if self._downstream is None:
            return Attempt(False, "not_configured", None, self._not_configured or "", 0.0)
        return self._downstream.deliver(callback.body, callback.content_type)

    def _delivered(self, callback: RelayedCallback, attempt: Attempt) -> None:
        latency_ms = None
        if callback.received_at is not None:
            latency_ms = max(self._clock.time() - callback.received_at, 0.0) * 1000
        self._telemetry.metrics.relay_delivered(latency_ms)
        self._telemetry.logger.info(DELIVERED_LOG_MESSAGE, extra=self._shown(attempt))

    def _not_delivered(self, record: SQSRecord, attempt: Attempt) -> None:
        """Counted and logged; the message comes back after its delay (after the last try,
        the queue moves it to the dead-letter queue when that delay is over)."""
        tries = receive_count(record.attributes.approximate_receive_count)
        last = tries >= self._max_receives
        delay = delay_after(tries)
        self._telemetry.metrics.relay_not_delivered(attempt.reason, dead_lettered=last)
        shown = self._shown(attempt) | {"attempt": tries, "nextTryInSeconds": delay}
        if last:
            self._telemetry.logger.error(GIVEN_UP_LOG_MESSAGE, extra=shown)
        else:
            self._telemetry.logger.warning(NOT_DELIVERED_LOG_MESSAGE, extra=shown)
        if self._queue is None:
            return  # it comes back after the queue's own visibility timeout
        try:
            self._queue.retry_later(record.receipt_handle, delay)
        except HandOffFailedError as error:
            self._telemetry.logger.warning(
                "the next try's delay was not set; it comes back after the queue's own",
                extra={"detail": str(error)},
            )

    def _shown(self, attempt: Attempt) -> dict[str, Any]:
        """What a log line says of an attempt: host, status, the answer's first characters."""
        host = self._downstream.host if self._downstream is not None else None
        return {
            "downstreamHost": host,
            "httpStatus": attempt.status,
            "reason": attempt.reason,
            "detail": attempt.detail,
            "seconds": round(attempt.seconds, 3),
        }


def _video_id_of(body: bytes) -> dict[str, str]:
    """The body's VideoId for the log lines, if it names a plausible one (the relay passes
    bodies on unread; this is only so a person can find one notification's delivery)."""
    try:
        video_id = decode_json_object(body.decode("utf-8")).get("VideoId")
    except (UnicodeDecodeError, MalformedEventError):
        return {}
    if isinstance(video_id, str) and 0 < len(video_id) <= MAX_LOGGED_VIDEO_ID:
        return {"videoId": video_id}
    return {}
