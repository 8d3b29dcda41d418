"""When a work-queue record that could not be finished is tried again, and when it is given up.

A record that failed for now (VOD unreachable, a configuration a person must fix) comes back
after a growing delay, 1 min doubling to 1 h, set on its message. Deferrals and throttles
count as no failure: a record not started for want of time comes back at once, one VOD
throttled after a delay that grows only to a quarter of an hour. A record is given up,
moved to the dead-letter queue, only after ``CLEANUP_RETRY_HOURS`` (24) of tries, counted
from when it entered the queue; a record that can never be cleaned (not a VOD notification,
a VideoId VOD refuses) goes there at once. So an outage of hours empties nothing into the
dead-letter queue, and a person is told only of what recovery would not clean (the alarms
watch that queue and the age of the oldest message).
"""

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from vod_parts_cleanup.shared.clock import Clock
from vod_parts_cleanup.shared.errors import HandOffFailedError
from vod_parts_cleanup.shared.observability import Telemetry
from vod_parts_cleanup.shared.queues import SqsQueue, receive_count, string_attributes_of
from vod_parts_cleanup.shared.vocabulary import ErrorKind

FIRST_DELAY_SECONDS = 60
DEFERRED_DELAY_SECONDS = 0  # only the invocation's time ran out: the next one takes it
LONGEST_THROTTLED_DELAY_SECONDS = 900  # VOD is up, only busy: it is back sooner
# The work queue's maxReceiveCount (template.yaml): above every schedule's tries in the
# longest horizon, so SQS itself dead-letters only a record whose invocations crash.
SAFETY_NET_RECEIVES = 1000
LONGEST_DELAY_SECONDS = 3600
FINAL = "final"
HORIZON = "horizon"


def delay_after(attempt: int) -> int:
    """Seconds until the next try, after try number ``attempt`` (1 = the first) failed."""
    doublings = min(max(attempt, 1) - 1, 12)  # 60 s x 2**12 is far past the longest delay
    return min(FIRST_DELAY_SECONDS * (1 << doublings), LONGEST_DELAY_SECONDS)


def delay_for(kind: ErrorKind | None, attempt: int) -> int:
    """Seconds until the next try of a record that failed with ``kind`` (None: unexpected)
    on try number ``attempt``: only failures grow the delay."""
    if kind is ErrorKind.OUT_OF_TIME:
        return DEFERRED_DELAY_SECONDS
    if kind is ErrorKind.THROTTLED:
        return min(delay_after(attempt), LONGEST_THROTTLED_DELAY_SECONDS)
    return delay_after(attempt)


def receives_for(horizon_hours: int, kind: ErrorKind | None = None) -> int:
    """How many tries a record failing with ``kind`` gets within the horizon: the work
    queue's redrive policy must allow more (it is only the safety net for crashes)."""
    horizon, elapsed, tries = horizon_hours * 3600, 0, 0
    while elapsed < horizon:
        tries += 1
        elapsed += delay_for(kind, tries)
    return tries


class Retries:
    """Sets a failed record's next try, or moves it to the dead-letter queue."""

    def __init__(
        self,
        work_queue: SqsQueue | None,
        dead_letters: SqsQueue | None,
        *,
        horizon_hours: int,
        clock: Clock,
        telemetry: Telemetry,
    ) -> None:
        self._work_queue = work_queue
        self._dead_letters = dead_letters
        self._horizon_seconds = horizon_hours * 3600
        self._clock = clock
        self._telemetry = telemetry

    def past_horizon(self, record: SQSRecord) -> bool:
        """Whether the record has been in the queue for the whole retry horizon."""
        sent = _milliseconds(record.attributes.sent_timestamp)
        return sent is not None and self._clock.time() - sent / 1000 >= self._horizon_seconds

    def give_up(self, record: SQSRecord, reason: str, detail: str) -> bool:
        """Move the record to the dead-letter queue, unchanged (body and attributes), for a
        person; whether it is there (if not, it stays in the work queue, failed)."""
        if self._dead_letters is None:
            return False
        attributes = string_attributes_of(record.raw_event.get("messageAttributes"))
        try:
            self._dead_letters.hand_off(record.body, attributes)
        except HandOffFailedError as error:
            self._telemetry.logger.exception(
                "record not moved to the dead-letter queue; it stays in the work queue",
                extra={"reason": reason, "detail": str(error)},
            )
            return False
        self._telemetry.metrics.count_dead_lettered(reason)
        self._telemetry.logger.error(
            "record given up: moved to the dead-letter queue for a person to read",
            extra={"reason": reason, "detail": detail},
        )
        return True

    def try_later(self, record: SQSRecord, kind: ErrorKind | None) -> None:
        """Set the record's next try by why it failed and how often it has been tried (best
        effort: without it, the queue's own visibility timeout brings it back)."""
        if self._work_queue is None:
            return
        tries = receive_count(record.attributes.approximate_receive_count)
        try:
            self._work_queue.retry_later(record.receipt_handle, delay_for(kind, tries))
        except HandOffFailedError as error:
            self._telemetry.logger.warning(
                "the next try's delay was not set; the queue's visibility timeout brings it back",
                extra={"detail": str(error)},
            )


def _milliseconds(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
