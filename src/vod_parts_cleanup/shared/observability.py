"""Metric names and how each result is counted, as CloudWatch Embedded Metric Format.

Every metric is written as its own EMF record because the dimensions differ per event (an
SQS batch mixes outcomes) and a metric set shares one set of dimensions. Each record has the
dimension set ``service`` alone, the total that alarms watch (an alarm must name every
dimension of the metric it watches); a record that knows details (Outcome, ErrorKind, Reason,
Operation) has a second set, ``service`` with those details, for dashboards.
"""

import functools
import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, Self

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup.shared.vocabulary import CleanupStatus, ErrorKind, Outcome, SkipReason

LambdaHandler = Callable[[Any, LambdaContext], Mapping[str, Any]]


class MetricName(StrEnum):
    """The metrics the function emits; dashboards and alarms use these names."""

    PARTS_DELETED = "PartsDeleted"
    ALREADY_CLEAN = "AlreadyClean"
    MEDIA_NOT_FOUND = "MediaNotFound"
    CLEANUP_SKIPPED = "CleanupSkipped"
    CLEANUP_FORCED = "CleanupForced"
    EVENT_IGNORED = "EventIgnored"
    EVENT_REJECTED = "EventRejected"
    CLEANUP_FAILED = "CleanupFailed"
    CLEANUP_DEFERRED = "CleanupDeferred"
    CLEANUP_DEAD_LETTERED = "CleanupDeadLettered"
    VOD_LATENCY = "VodLatency"
    VOD_THROTTLED = "VodThrottled"
    IDEMPOTENT_REPLAY = "IdempotentReplay"
    CALLBACK_REJECTED = "CallbackRejected"
    CALLBACK_QUEUED = "CallbackQueued"
    # Not emitted by the code: counted from the callback API's access log (template.yaml's
    # CallbackThrottledFilter), since a 429 never reaches the function.
    CALLBACK_THROTTLED = "CallbackThrottled"
    SWEEP_CANDIDATES = "SweepCandidates"
    SWEEP_QUEUED = "SweepQueued"
    SWEEP_TOO_YOUNG = "SweepTooYoung"
    SWEEP_LIST_CALLS = "SweepListCalls"
    SWEEP_UNVOUCHED = "SweepUnvouched"
    RELAY_DELIVERED = "RelayDelivered"
    RELAY_RETRIED = "RelayRetried"
    RELAY_DEAD_LETTERED = "RelayDeadLettered"
    RELAY_LATENCY = "RelayLatency"


# Logged, with the result, for every rejected event: by the consumer, or by the receiver for
# a body it refuses unread.
EVENT_REJECTED_LOG_MESSAGE = "event rejected, VOD not called"


class Result(Protocol):
    """What is counted and logged of a finished result: the consumer's ``CleanupResult``, or
    the receiver's refusal of a body it did not read (which must not import pydantic)."""

    @property
    def status(self) -> CleanupStatus: ...

    @property
    def outcome(self) -> Outcome | None: ...

    @property
    def reason(self) -> SkipReason | None: ...

    def to_json_dict(self) -> dict[str, Any]: ...


class Dimension(StrEnum):
    OUTCOME = "Outcome"
    ERROR_KIND = "ErrorKind"
    REASON = "Reason"
    OPERATION = "Operation"
    SERVICE = "service"


METRIC_FOR_STATUS: dict[CleanupStatus, MetricName] = {
    CleanupStatus.DELETED: MetricName.PARTS_DELETED,
    CleanupStatus.ALREADY_CLEAN: MetricName.ALREADY_CLEAN,
    CleanupStatus.MEDIA_NOT_FOUND: MetricName.MEDIA_NOT_FOUND,
    CleanupStatus.SKIPPED: MetricName.CLEANUP_SKIPPED,
    CleanupStatus.IGNORED: MetricName.EVENT_IGNORED,
    CleanupStatus.REJECTED: MetricName.EVENT_REJECTED,
}


# The SDKs' loggers whose DEBUG lines carry secrets: botocore's parser logs whole answers
# (GetSecretValue's, the VOD key in it), urllib3 logs request lines (the OpenAPI core signs
# VOD's requests in the query string: Signature, SecurityToken), the Alibaba cores dump
# requests and answers. Whatever the root logger's level (ApplicationLogLevel=DEBUG, a
# person debugging), these stay above DEBUG.
SDK_LOGGERS = (
    "botocore",
    "boto3",
    "s3transfer",
    "urllib3",
    "darabonba-core",
    "alibabacloud-tea",
    "credentials",
)


def quiet_sdk_loggers() -> None:
    """Pin the SDKs' loggers at INFO or above (the root's level if higher): never DEBUG."""
    root_level = logging.getLogger().getEffectiveLevel()
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, root_level))


class CurrentStdout:
    """Standard output as it is at each write, not as it was at import.

    Lambda never swaps stdout, but the local runner and the tests do, to collect the logs.
    """

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


class CleanupMetrics:
    """Writes one EMF record per fact, to standard output, where Lambda ships it to CloudWatch."""

    def __init__(self, *, namespace: str, service: str) -> None:
        self._namespace = namespace
        self._service = service

    def count_result(self, result: Result) -> None:
        self._emit(
            METRIC_FOR_STATUS[result.status],
            MetricUnit.Count,
            1,
            outcome=result.outcome,
            reason=result.reason,
        )

    def count_failure(self, kind: ErrorKind, outcome: Outcome | None) -> None:
        """A cleanup that could not finish now: a failure (alarm) or deferred (no alarm)."""
        if kind.is_failure:
            self._emit(MetricName.CLEANUP_FAILED, MetricUnit.Count, 1, outcome=outcome, kind=kind)
        else:
            self._emit(
                MetricName.CLEANUP_DEFERRED, MetricUnit.Count, 1, outcome=outcome, reason=kind
            )

    def count_dead_lettered(self, reason: str) -> None:
        """A work-queue record given up on (``final``: it can never be cleaned; ``horizon``:
        tried for CLEANUP_RETRY_HOURS), moved to the dead-letter queue for a person."""
        self._emit(MetricName.CLEANUP_DEAD_LETTERED, MetricUnit.Count, 1, reason=reason)

    def count_forced(self) -> None:
        """Parts deleted although VOD reported the upload in progress: a person forced it."""
        self._emit(MetricName.CLEANUP_FORCED, MetricUnit.Count, 1)

    def count_replay(self, outcome: Outcome | None) -> None:
        self._emit(MetricName.IDEMPOTENT_REPLAY, MetricUnit.Count, 1, outcome=outcome)

    def vod_call(self, milliseconds: float, operation: str, *, throttled: bool) -> None:
        """One VOD call (retries each count), by the VOD operation it called; its sample
        count is the call rate the dashboard holds against the budget."""
        self._emit(
            MetricName.VOD_LATENCY, MetricUnit.Milliseconds, milliseconds, operation=operation
        )
        if throttled:
            self._emit(MetricName.VOD_THROTTLED, MetricUnit.Count, 1, operation=operation)

    def count_callback_rejected(self, reason: str) -> None:
        """An HTTP callback not accepted (401, or 5xx before authentication could finish)."""
        self._emit(MetricName.CALLBACK_REJECTED, MetricUnit.Count, 1, reason=reason)

    def count_callback_queued(self) -> None:
        """An HTTP callback handed to the work queue, for the consumer to read and clean."""
        self._emit(MetricName.CALLBACK_QUEUED, MetricUnit.Count, 1)

    def count_sweep(
        self, *, candidates: int, queued: int, too_young: int, unvouched: int, pages: int
    ) -> None:
        """One sweep's figures, each one record (a sweep runs hourly: a handful of records)."""
        for name, value in (
            (MetricName.SWEEP_CANDIDATES, candidates),
            (MetricName.SWEEP_QUEUED, queued),
            (MetricName.SWEEP_TOO_YOUNG, too_young),
            (MetricName.SWEEP_UNVOUCHED, unvouched),
            (MetricName.SWEEP_LIST_CALLS, pages),
        ):
            self._emit(name, MetricUnit.Count, value)

    def relay_delivered(self, latency_ms: float | None) -> None:
        """A callback the downstream receiver took (HTTP 200); ``latency_ms`` from when our
        receiver got it to the downstream's answer."""
        self._emit(MetricName.RELAY_DELIVERED, MetricUnit.Count, 1)
        if latency_ms is not None:
            self._emit(MetricName.RELAY_LATENCY, MetricUnit.Milliseconds, latency_ms)

    def relay_not_delivered(self, reason: str, *, dead_lettered: bool) -> None:
        """A delivery that failed (``reason``: http_5xx, timeout, ...): tried again later, or,
        after its last try, left to the relay's dead-letter queue."""
        name = MetricName.RELAY_DEAD_LETTERED if dead_lettered else MetricName.RELAY_RETRIED
        self._emit(name, MetricUnit.Count, 1, reason=reason)

    def _emit(
        self,
        name: MetricName,
        unit: MetricUnit,
        value: float,
        *,
        outcome: Outcome | None = None,
        kind: ErrorKind | None = None,
        reason: str | None = None,
        operation: str | None = None,
    ) -> None:
        details = {
            Dimension.OUTCOME.value: outcome,
            Dimension.ERROR_KIND.value: kind,
            Dimension.REASON.value: reason,
            Dimension.OPERATION.value: operation,
        }
        record = AmazonCloudWatchEMFProvider(
            namespace=self._namespace,
            service=self._service,
            dimension_set={Dimension.SERVICE.value: self._service},
        )
        record.add_metric(name=name.value, unit=unit, value=value)
        present = {dimension: str(detail) for dimension, detail in details.items() if detail}
        if present:
            record.add_dimensions(**{Dimension.SERVICE.value: self._service}, **present)
        record.flush_metrics()


@dataclass(frozen=True)
class Telemetry:
    """The function's metrics and structured logs, handed around as one: every part that
    reports what happened takes this, and results are accounted for in one place."""

    metrics: CleanupMetrics
    logger: Logger

    @classmethod
    def for_settings(cls, settings: Settings) -> Self:
        quiet_sdk_loggers()
        return cls(
            metrics=CleanupMetrics(
                namespace=settings.metrics_namespace, service=settings.service_name
            ),
            logger=Logger(service=settings.service_name, stream=CurrentStdout()),  # type: ignore[arg-type]
        )

    def account_for(self, result: Result) -> None:
        """Count and log a finished result, including events that never needed VOD."""
        self.metrics.count_result(result)
        shown = {"result": result.to_json_dict()}
        if result.status is CleanupStatus.REJECTED:
            self.logger.warning(EVENT_REJECTED_LOG_MESSAGE, extra=shown)
        elif result.status is CleanupStatus.SKIPPED:
            self.logger.warning(
                "upload left alone: VOD says it is still in progress, so the notification's "
                "claim that it ended is not true (yet)",
                extra=shown,
            )
        else:
            self.logger.info("event handled", extra=shown)

    def instrumented(self, handle: LambdaHandler, *, tracing: bool) -> LambdaHandler:
        """A function's Lambda handler: ``handle`` with the logger's Lambda context and, only
        if tracing is on, the X-Ray tracer (building a Tracer, even a disabled one, imports
        the X-Ray SDK: ~0.1-0.5 s of a cold start)."""
        # log_event=False even if POWERTOOLS_LOGGER_LOG_EVENT is set: a callback's headers
        # carry VOD's signature, which must never reach a log.
        wrapped: LambdaHandler = self.logger.inject_lambda_context(
            clear_state=True, log_event=False
        )(handle)
        if tracing:
            tracer = Tracer(service=self.logger.service)
            wrapped = tracer.capture_lambda_handler(capture_response=False)(wrapped)
        return functools.wraps(handle)(wrapped)
