"""Time, as the application sees it: one object, so tests can run it on a clock of their own."""

import time
from typing import Protocol


class Clock(Protocol):
    """The three things the application asks of time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps: deadlines and latencies."""
        ...

    def time(self) -> float:
        """Unix seconds: what other systems (VOD, API Gateway) write in their timestamps."""
        ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK = SystemClock()
