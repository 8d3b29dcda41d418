"""Pacing: space the calls to one VOD operation so every environment together stays in budget.

VOD limits each operation per Alibaba Cloud account (DeleteMultipartUpload: about 10 calls
per second, all callers together). Concurrency alone keeps that only while VOD happens to
answer slowly, so each execution environment spaces its own calls: with a budget of B calls
per second shared by N environments, one environment starts a call at most every N / B
seconds. A throttled answer (someone else is using the quota too) widens the spacing; each
answer that is not throttled narrows it back, step by step, to the environment's share.
"""

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

# A throttled answer doubles the spacing, up to this many times the normal spacing.
_SLOWEST_FACTOR = 8.0
# Each answer that is not throttled takes back this share of the extra spacing.
_RECOVERY_STEP = 0.25


@dataclass(frozen=True)
class Budget:
    """Calls per second for the whole account, shared by this many concurrent callers."""

    calls_per_second: float
    concurrent_callers: int

    @property
    def spacing_seconds(self) -> float:
        """The least time between two calls of one environment."""
        return self.concurrent_callers / self.calls_per_second


class Pacer:
    """Hands out start times for calls to one operation, at least ``spacing`` apart.

    Thread-safe: each caller reserves its own slot, then waits for it outside the lock.
    """

    def __init__(
        self,
        budget: Budget,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self._normal_spacing = budget.spacing_seconds
        self._spacing = self._normal_spacing
        self._clock = clock
        self._sleep = sleep
        self._next_slot = -math.inf
        self._lock = threading.Lock()

    @property
    def spacing_seconds(self) -> float:
        """The spacing now: the normal one, or wider after throttled answers."""
        return self._spacing

    def wait_for_slot(self, latest_start: float | None = None) -> bool:
        """Wait until this caller may start a call; False, without waiting, if that is only
        after ``latest_start`` (a ``clock()`` value): the call would not fit in the time left."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            if latest_start is not None and slot > latest_start:
                return False
            self._next_slot = slot + self._spacing
        if slot > now:
            self._sleep(slot - now)
        return True

    def throttled(self) -> None:
        """VOD refused a call for the quota: somebody else uses it too, so slow down."""
        with self._lock:
            self._spacing = min(self._spacing * 2, self._normal_spacing * _SLOWEST_FACTOR)

    def answered(self) -> None:
        """VOD answered without throttling: come back towards the normal spacing."""
        with self._lock:
            extra = self._spacing - self._normal_spacing
            self._spacing = self._normal_spacing + extra * (1 - _RECOVERY_STEP)
            if self._spacing - self._normal_spacing < self._normal_spacing * 0.01:
                self._spacing = self._normal_spacing
