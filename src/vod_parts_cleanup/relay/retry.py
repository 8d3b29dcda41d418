"""When a relayed notification is tried again, and for how long.

VOD tries a callback 3 times about a second apart, then drops it. The relay keeps trying for
hours: a failed delivery comes back after a growing delay (10 s, 30 s, 1 min, 5 min, then
every 15 min), set on its message in the relay queue, until the retry horizon. The queue
itself then moves it to its dead-letter queue: its ``maxReceiveCount`` is
``receives_for(horizon)``, from the same schedule (template.yaml's mapping of
``RelayRetryHours``, checked against this module by the tests), so the relay needs no right
to write anywhere but to change its own messages' visibility.
"""

import math

# The delay after the n-th failed attempt (n = 1, 2, ...); the last one repeats.
RETRY_DELAYS_SECONDS = (10, 30, 60, 300, 900)


def delay_after(attempt: int) -> int:
    """Seconds until the next attempt, after attempt number ``attempt`` (1 = the first) failed."""
    return RETRY_DELAYS_SECONDS[min(max(attempt, 1), len(RETRY_DELAYS_SECONDS)) - 1]


def receives_for(horizon_hours: int) -> int:
    """How many attempts it takes for the delays between them to add up to the horizon: the
    relay queue's ``maxReceiveCount``. After the last one fails, the message waits its delay
    and is then moved to the dead-letter queue, at least ``horizon_hours`` after the first."""
    horizon = horizon_hours * 3600
    ramp = RETRY_DELAYS_SECONDS[:-1]
    if horizon <= sum(ramp):
        return next(n for n in range(1, len(ramp) + 1) if sum(ramp[:n]) >= horizon)
    return len(ramp) + math.ceil((horizon - sum(ramp)) / RETRY_DELAYS_SECONDS[-1])
