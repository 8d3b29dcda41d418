"""Metric names and how each result is counted, as CloudWatch Embedded Metric Format.

Every metric is written with ``single_metric`` because the dimensions differ per event
(an SQS batch mixes outcomes) and a metric set shares one set of dimensions.
"""

import sys
from enum import StrEnum

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from vod_parts_cleanup.models import CleanupResult, CleanupStatus, ErrorKind, Outcome


class MetricName(StrEnum):
    """The metrics the function emits; dashboards and alarms use these names."""

    PARTS_DELETED = "PartsDeleted"
    ALREADY_CLEAN = "AlreadyClean"
    MEDIA_NOT_FOUND = "MediaNotFound"
    EVENT_IGNORED = "EventIgnored"
    EVENT_REJECTED = "EventRejected"
    CLEANUP_FAILED = "CleanupFailed"
    VOD_LATENCY = "VodLatency"
    IDEMPOTENT_REPLAY = "IdempotentReplay"


class Dimension(StrEnum):
    OUTCOME = "Outcome"
    ERROR_KIND = "ErrorKind"
    SERVICE = "service"


METRIC_FOR_STATUS: dict[CleanupStatus, MetricName] = {
    CleanupStatus.DELETED: MetricName.PARTS_DELETED,
    CleanupStatus.ALREADY_CLEAN: MetricName.ALREADY_CLEAN,
    CleanupStatus.MEDIA_NOT_FOUND: MetricName.MEDIA_NOT_FOUND,
    CleanupStatus.IGNORED: MetricName.EVENT_IGNORED,
    CleanupStatus.REJECTED: MetricName.EVENT_REJECTED,
}


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

    def count_result(self, result: CleanupResult) -> None:
        self._emit(METRIC_FOR_STATUS[result.status], MetricUnit.Count, 1, outcome=result.outcome)

    def count_failure(self, kind: ErrorKind, outcome: Outcome | None) -> None:
        self._emit(MetricName.CLEANUP_FAILED, MetricUnit.Count, 1, outcome=outcome, kind=kind)

    def count_replay(self, outcome: Outcome | None) -> None:
        self._emit(MetricName.IDEMPOTENT_REPLAY, MetricUnit.Count, 1, outcome=outcome)

    def vod_latency(self, milliseconds: float, outcome: Outcome | None) -> None:
        self._emit(MetricName.VOD_LATENCY, MetricUnit.Milliseconds, milliseconds, outcome=outcome)

    def _emit(
        self,
        name: MetricName,
        unit: MetricUnit,
        value: float,
        *,
        outcome: Outcome | None,
        kind: ErrorKind | None = None,
    ) -> None:
        dimensions = {Dimension.SERVICE.value: self._service}
        if outcome is not None:
            dimensions[Dimension.OUTCOME.value] = outcome.value
        if kind is not None:
            dimensions[Dimension.ERROR_KIND.value] = kind.value
        with single_metric(
            name=name.value,
            unit=unit,
            value=value,
            namespace=self._namespace,
            default_dimensions=dimensions,
        ):
            pass
