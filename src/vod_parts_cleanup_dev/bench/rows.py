"""What one scenario run observed, the table row it makes, and the function's targets.

Why: the counting (what is lost, what was deleted twice, what the ideal time is) is the
benchmark's claim; kept apart from threads and servers it can be read and tested alone.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DELETE = "DeleteMultipartUpload"
THROTTLED = "Throttling.User"
# The account's DeleteMultipartUpload budget the function is configured with (VOD: ~10/s).
BUDGET_PER_SECOND = 8.0
# The function's drain may take at most this many times the ideal time.
DRAIN_TARGET_RATIO = 1.1

HEADERS = (
    "scenario",
    "function",
    "events",
    "VOD calls",
    "throttled",
    "redeliveries",
    "lost",
    "deleted twice",
    "dead-lettered",
    "drain s",
    "ideal s",
    "ratio",
)


@dataclass(frozen=True)
class VodRequest:
    """One request the VOD stand-in received: which operation, for which video, and whether
    it was throttled (only requests that are not count against the quota)."""

    action: str | None
    video_id: str | None
    error_code: str | None

    @property
    def throttled(self) -> bool:
        return self.error_code == THROTTLED


@dataclass(frozen=True)
class Observed:
    """Everything one run of one scenario left behind."""

    scenario: str
    function: str
    notifications: tuple[str, ...]
    """The VideoId of each distinct notification sent."""
    requests: tuple[VodRequest, ...]
    cleaned: frozenset[str]
    """Videos whose parts are gone."""
    kept: frozenset[str]
    """Videos whose notification is still in the work queue."""
    dead_lettered: tuple[str, ...]
    """The VideoId of each message in the dead-letter queue."""
    dropped: frozenset[str]
    """Videos whose HTTP callback VOD gave up on."""
    redeliveries: int
    """SQS receives beyond a message's first, plus callback attempts beyond the first."""
    drain_seconds: float
    settled: bool
    """Whether the queue emptied (and every callback ended) within the run's time limit."""


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    scenario: str
    function: str
    events: int
    calls: dict[str, int]
    throttled: int
    redeliveries: int
    lost: int
    deleted_twice: int
    dead_lettered: int
    drain_seconds: float
    ideal_seconds: float
    settled: bool

    @classmethod
    def of(cls, observed: Observed) -> "Row":
        events = len(set(observed.notifications))
        kept = observed.kept | set(observed.dead_lettered)
        unfinished = set(observed.notifications) - observed.cleaned - kept
        return cls(
            scenario=observed.scenario,
            function=observed.function,
            events=events,
            calls=dict(Counter(str(request.action) for request in observed.requests)),
            throttled=sum(request.throttled for request in observed.requests),
            redeliveries=observed.redeliveries,
            lost=len(unfinished | (observed.dropped - observed.cleaned)),
            deleted_twice=deleted_twice(observed.requests),
            dead_lettered=len(observed.dead_lettered),
            drain_seconds=observed.drain_seconds,
            ideal_seconds=events / BUDGET_PER_SECOND,
            settled=observed.settled,
        )

    @property
    def ratio(self) -> float:
        return self.drain_seconds / self.ideal_seconds if self.ideal_seconds else 0.0

    def missed_targets(self) -> list[str]:
        """The function's targets this run missed (none: all met)."""
        missed = []
        if not self.settled:
            missed.append("did not settle in time")
        if self.throttled:
            missed.append(f"{self.throttled} throttled")
        if self.lost:
            missed.append(f"{self.lost} lost")
        if self.deleted_twice:
            missed.append(f"{self.deleted_twice} deleted twice")
        if self.calls.get(DELETE, 0) != self.events:
            missed.append(f"{self.calls.get(DELETE, 0)} {DELETE} calls for {self.events} events")
        if self.ratio > DRAIN_TARGET_RATIO:
            missed.append(f"drain {self.ratio:.2f} x ideal > {DRAIN_TARGET_RATIO}")
        return missed

    def cells(self) -> tuple[str, ...]:
        calls = ", ".join(
            f"{_short(action)} {count}" for action, count in sorted(self.calls.items())
        )
        drain = f"{self.drain_seconds:.1f}" + ("" if self.settled else " (unsettled)")
        return (
            self.scenario,
            self.function,
            str(self.events),
            calls or "-",
            str(self.throttled),
            str(self.redeliveries),
            str(self.lost),
            str(self.deleted_twice),
            str(self.dead_lettered),
            drain,
            f"{self.ideal_seconds:.1f}",
            f"{self.ratio:.2f}",
        )


def deleted_twice(requests: Iterable[VodRequest]) -> int:
    """DeleteMultipartUpload calls VOD admitted for a video beyond the first one."""
    admitted = Counter(
        request.video_id
        for request in requests
        if request.action == DELETE and not request.throttled
    )
    return sum(count - 1 for count in admitted.values())


def _short(action: str) -> str:
    """Operation names short enough for a table cell."""
    return {DELETE: "Delete", "GetVideoInfo": "GetInfo", "GetVideoInfos": "GetInfos"}.get(
        action, action
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Columns padded to their widest cell, numbers right-aligned."""
    lines = [tuple(headers), *(tuple(row) for row in rows)]
    widths = [max(len(line[column]) for line in lines) for column in range(len(headers))]

    def format_line(line: Sequence[str]) -> str:
        cells = [
            cell.rjust(width) if _numeric(cell) else cell.ljust(width)
            for cell, width in zip(line, widths, strict=True)
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return [format_line(lines[0]), rule, *(format_line(line) for line in lines[1:])]


def _numeric(cell: str) -> bool:
    return cell.replace(".", "", 1).replace("-", "", 1).isdigit()
