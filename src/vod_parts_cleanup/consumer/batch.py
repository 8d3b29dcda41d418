"""The paced consumer: the work queue's SQS batches, one record at a time through the pipeline.

Every record it cannot finish goes back to the queue as a batch item failure, never dropped:
after a growing delay, until ``CLEANUP_RETRY_HOURS`` of tries (``retry``), then to the
dead-letter queue; a record that can never be cleaned goes there at once. It stops starting
records when the invocation's time is nearly up, so the batch always answers before
Lambda's timeout; the records it did not start go back to the queue too, counted as
deferred, not failed.
"""

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from vod_parts_cleanup.consumer.models import CleanupResult
from vod_parts_cleanup.consumer.pipeline import Pipeline
from vod_parts_cleanup.consumer.retry import FINAL, HORIZON, Retries
from vod_parts_cleanup.consumer.trust import is_confirmed
from vod_parts_cleanup.shared.clock import Deadline
from vod_parts_cleanup.shared.envelopes import decode_json_object
from vod_parts_cleanup.shared.errors import (
    CleanupFailedError,
    MalformedEventError,
    RejectedEventError,
)
from vod_parts_cleanup.shared.observability import Telemetry
from vod_parts_cleanup.shared.queues import delivery_of
from vod_parts_cleanup.shared.vocabulary import CleanupStatus, ErrorCode, ErrorKind

# A record is started only with this much of the invocation's time left: enough for the
# pacer's wait, a VOD call with one retry and the idempotency store's two writes.
SECONDS_TO_START_A_RECORD = 3.0


class QueueConsumer:
    """Cleans the records of one SQS batch, reporting the ones to keep."""

    def __init__(
        self, pipeline: Pipeline, retries: Retries, *, deadline: Deadline, telemetry: Telemetry
    ) -> None:
        self._pipeline = pipeline
        self._retries = retries
        self._deadline = deadline
        self._telemetry = telemetry
        self._metrics, self._logger = telemetry.metrics, telemetry.logger

    def consume(self, event: Mapping[str, Any]) -> Mapping[str, Any]:
        """The batch response: ``batchItemFailures`` lists the records SQS must keep."""
        if not event["Records"]:  # Powertools refuses an empty batch; nothing to report
            return {"batchItemFailures": []}
        self._confirm_ahead(event["Records"])
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        return process_partial_response(
            event=dict(event),
            record_handler=self._consume_record,
            processor=processor,
        )

    def _confirm_ahead(self, records: list[Mapping[str, Any]]) -> None:
        """Let the pipeline check the batch's claims that are confirmed (consumer.trust) in
        one VOD call; a record it cannot read is left to ``_consume_record``, which reports
        it. Only the bodies of such deliveries are read here: the others are read once, when
        cleaned."""
        try:
            notifications = []
            for record in records:
                delivery = delivery_of(record.get("messageAttributes"))
                if not is_confirmed(delivery):
                    continue
                try:
                    body = decode_json_object(record.get("body"))
                except MalformedEventError:
                    continue
                notifications.append((body, delivery))
            self._pipeline.confirm_ahead(notifications)
        except Exception:
            self._logger.exception("statuses not read ahead; each claim is checked on its own")

    def _consume_record(self, record: SQSRecord) -> dict[str, Any]:
        """The record's result; what is not finished is kept: tried later, or given up on."""
        with self._logger.append_context_keys(messageId=record.message_id):
            try:
                return self._clean(record)
            except (MalformedEventError, RejectedEventError) as never:
                if self._retries.give_up(record, FINAL, str(never)):
                    return {"deadLettered": FINAL}  # the work queue lets go of it
                raise
            except Exception as failure:
                if self._retries.past_horizon(record) and self._retries.give_up(
                    record, HORIZON, str(failure)
                ):
                    return {"deadLettered": HORIZON}
                kind = failure.kind if isinstance(failure, CleanupFailedError) else None
                self._retries.try_later(record, kind)
                raise

    def _clean(self, record: SQSRecord) -> dict[str, Any]:
        """The pipeline's result for one record; raises to keep it."""
        seconds_left = self._deadline.seconds_left()
        if seconds_left is not None and seconds_left < SECONDS_TO_START_A_RECORD:
            self._metrics.count_failure(ErrorKind.OUT_OF_TIME, None)
            raise CleanupFailedError(
                kind=ErrorKind.OUT_OF_TIME, error_code=ErrorCode.NO_TIME_LEFT, video_id=None
            )
        try:
            body = decode_json_object(record.body)
        except MalformedEventError as error:
            rejected = CleanupResult.rejected_body(ErrorCode.MALFORMED_EVENT, str(error))
            self._telemetry.account_for(rejected)
            raise
        delivery = delivery_of(record.raw_event.get("messageAttributes"))
        try:
            result = self._pipeline.process(body, delivery)
        except CleanupFailedError:
            raise
        except Exception:
            self._metrics.count_failure(ErrorKind.TRANSIENT, None)
            self._logger.exception("unexpected error; the record is kept for a retry")
            raise
        if result.status is CleanupStatus.REJECTED:
            # Given up on at once: it ends in the dead-letter queue, for a person to read.
            raise RejectedEventError(f"{result.error_code}: {result.detail}")
        return result.to_json_dict()
