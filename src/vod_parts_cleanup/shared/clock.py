"""Time, as the application sees it: one object, so tests can run it on a clock of their own;
and the invocation's deadline on that clock."""

import time
from typing import Protocol

from aws_lambda_powertools.utilities.typing import LambdaContext

# Kept back from Lambda's remaining time, so an answer is written before the timeout.
SECONDS_TO_ANSWER = 1.0


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


class Deadline:
    """When the current invocation's work must be over, on the application's clock.

    The one way the deadline travels: each function's handler sets it once per invocation
    (``start``), and every part that makes a call (the VOD client, the AWS clients, the
    consumer's batch, the sweep) was handed this object when it was built and asks it.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._at: float | None = None

    def start(self, seconds: float) -> None:
        """This invocation's work must be over ``seconds`` from now."""
        self._at = self._clock.monotonic() + seconds

    def start_invocation(self, context: LambdaContext, *, at_most: float | None = None) -> None:
        """An invocation's deadline: Lambda's remaining time less ``SECONDS_TO_ANSWER``, and
        no more than ``at_most`` seconds from now (a caller who waits less than Lambda)."""
        seconds = context.get_remaining_time_in_millis() / 1000 - SECONDS_TO_ANSWER
        self.start(seconds if at_most is None else min(seconds, at_most))

    @property
    def at(self) -> float | None:
        """The deadline as a ``clock.monotonic()`` value; None: no limit (outside Lambda)."""
        return self._at

    def seconds_left(self) -> float | None:
        return None if self._at is None else self._at - self._clock.monotonic()
