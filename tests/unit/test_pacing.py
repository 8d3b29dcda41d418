"""The pacer, on a virtual clock: how far apart calls start, and how throttling moves that."""

import itertools
import threading

import pytest

from vod_parts_cleanup.consumer.pacing import Budget, Pacer


class VirtualClock:
    """Time that passes only when somebody sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)


def starts(pacer: Pacer, clock: VirtualClock, calls: int) -> list[float]:
    """When each of ``calls`` back-to-back calls may start (each call itself takes no time)."""
    times = []
    for _ in range(calls):
        assert pacer.wait_for_slot()
        if clock.sleeps:
            clock.now += clock.sleeps.pop()
        times.append(clock.now)
    return times


def test_an_environment_gets_its_share_of_the_budget() -> None:
    """8 calls/s for the account, 2 environments: one call every 0.25 s here."""
    clock = VirtualClock()
    pacer = Pacer(Budget(calls_per_second=8, concurrent_callers=2), clock=clock, sleep=clock.sleep)
    times = starts(pacer, clock, 9)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert gaps == pytest.approx([0.25] * 8)
    assert times[0] == 1000.0  # the first call never waits


def test_a_caller_that_was_idle_does_not_wait() -> None:
    clock = VirtualClock()
    pacer = Pacer(Budget(calls_per_second=10, concurrent_callers=1), clock=clock, sleep=clock.sleep)
    starts(pacer, clock, 1)
    clock.now += 5
    starts(pacer, clock, 1)
    assert clock.sleeps == []


def test_a_slot_after_the_deadline_is_refused_without_waiting() -> None:
    clock = VirtualClock()
    pacer = Pacer(Budget(calls_per_second=2, concurrent_callers=1), clock=clock, sleep=clock.sleep)
    assert pacer.wait_for_slot(latest_start=clock.now + 10)
    assert not pacer.wait_for_slot(latest_start=clock.now + 0.4)  # next slot is 0.5 s away
    assert clock.sleeps == []
    assert pacer.wait_for_slot(latest_start=clock.now + 0.5)
    assert clock.sleeps == [pytest.approx(0.5)]


def test_throttling_widens_the_spacing_and_answers_narrow_it_back() -> None:
    clock = VirtualClock()
    pacer = Pacer(Budget(calls_per_second=8, concurrent_callers=2), clock=clock, sleep=clock.sleep)
    pacer.throttled()
    assert pacer.spacing_seconds == pytest.approx(0.5)
    pacer.throttled()
    assert pacer.spacing_seconds == pytest.approx(1.0)
    for _ in range(10):
        pacer.throttled()
    assert pacer.spacing_seconds == pytest.approx(2.0)  # never slower than 8 x the share
    spacings = []
    for _ in range(30):
        pacer.answered()
        spacings.append(pacer.spacing_seconds)
    assert spacings == sorted(spacings, reverse=True)
    assert spacings[0] < 2.0
    assert spacings[-1] == 0.25


def test_concurrent_callers_each_get_their_own_slot() -> None:
    clock = VirtualClock()
    pacer = Pacer(Budget(calls_per_second=4, concurrent_callers=1), clock=clock, sleep=clock.sleep)
    threads = [threading.Thread(target=pacer.wait_for_slot) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Nobody moved the clock: the six reserved slots are 0, 0.25, ..., 1.25 s from now.
    assert sorted(clock.sleeps) == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.25])
