"""The AWS clients of one execution environment, each built once, all bounded in time.

botocore waits 60 s to connect and 60 s for an answer by default, while a callback has 5 s
and a batch must answer before Lambda's timeout. These clients give up quickly, and start
no attempt (retries included) that could not finish before the invocation's deadline.
Powertools (Idempotency, Parameters) is handed them rather than building its own.
"""

from typing import Any

from vod_parts_cleanup.clock import Clock

# Per attempt; with two attempts a call that hangs is given up after about 3 s.
CONNECT_TIMEOUT_SECONDS = 0.5
READ_TIMEOUT_SECONDS = 1.0
MAX_ATTEMPTS = 2
ATTEMPT_SECONDS = CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS


class OutOfTimeError(Exception):
    """An AWS call was not attempted: it could not finish before the invocation's deadline."""


def refuse_a_late_attempt(seconds_left: float | None) -> None:
    """Each attempt, retries included, of any AWS client: only if it can end in time."""
    if seconds_left is not None and seconds_left < ATTEMPT_SECONDS:
        msg = f"{seconds_left:.1f} s left, an attempt may take {ATTEMPT_SECONDS:.1f} s"
        raise OutOfTimeError(msg)


class TimeBudget:
    """When the current invocation's work must be over; the handler sets it for each one."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.deadline: float | None = None

    def seconds_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - self._clock.monotonic()


class AwsClients:
    """One boto3 client per service, built on first use (importing boto3 costs a cold start
    ~0.2 s, so only paths that reach AWS pay it)."""

    def __init__(self, budget: TimeBudget, *, region_name: str | None = None) -> None:
        self._budget = budget
        self._region_name = region_name
        self._clients: dict[str, Any] = {}

    def client(self, service_name: str) -> Any:
        if service_name not in self._clients:
            self._clients[service_name] = self._build(service_name)
        return self._clients[service_name]

    def _build(self, service_name: str) -> Any:
        import boto3  # noqa: PLC0415 - see the class docstring
        from botocore.config import Config  # noqa: PLC0415

        config = Config(
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        )
        client = boto3.client(service_name, region_name=self._region_name, config=config)
        client.meta.events.register("before-send", self._refuse_a_late_attempt)
        return client

    def _refuse_a_late_attempt(self, **_: Any) -> None:
        refuse_a_late_attempt(self._budget.seconds_left())
