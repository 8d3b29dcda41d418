"""The two retry schedules: the consumer's (1 min doubling to 1 h, until CLEANUP_RETRY_HOURS)
and the relay's (10 s, 30 s, 1 min, 5 min, then every 15 min, until RELAY_RETRY_HOURS), and
the receive counts their horizons take (the queues' redrive policies)."""

import pytest

from vod_parts_cleanup.consumer import retry as cleanup
from vod_parts_cleanup.relay import retry as relay
from vod_parts_cleanup.shared.vocabulary import ErrorKind


def test_the_cleanup_delays_grow_from_a_minute_to_an_hour() -> None:
    delays = [cleanup.delay_after(n) for n in range(1, 10)]
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert cleanup.delay_after(10_000) == 3600


@pytest.mark.parametrize("hours", [1, 24, 72])
def test_the_cleanup_tries_fill_the_horizon_and_stay_under_the_safety_net(hours: int) -> None:
    tries = cleanup.receives_for(hours)
    total = sum(cleanup.delay_after(n) for n in range(1, tries + 1))
    assert total >= hours * 3600 > total - cleanup.delay_after(tries)
    assert tries < cleanup.SAFETY_NET_RECEIVES


def test_deferrals_and_throttles_do_not_grow_the_delay_as_failures_do() -> None:
    out_of_time = [cleanup.delay_for(ErrorKind.OUT_OF_TIME, n) for n in (1, 5, 50)]
    throttled = [cleanup.delay_for(ErrorKind.THROTTLED, n) for n in range(1, 8)]
    assert out_of_time == [0, 0, 0]
    assert throttled == [60, 120, 240, 480, 900, 900, 900]
    assert cleanup.delay_for(ErrorKind.TRANSIENT, 7) == cleanup.delay_for(None, 7) == 3600


def test_a_throttle_storm_as_long_as_the_longest_horizon_stays_under_the_safety_net() -> None:
    assert cleanup.receives_for(72, ErrorKind.THROTTLED) < cleanup.SAFETY_NET_RECEIVES


def test_the_relay_delays_settle_at_a_quarter_of_an_hour() -> None:
    assert [relay.delay_after(n) for n in range(1, 8)] == [10, 30, 60, 300, 900, 900, 900]


@pytest.mark.parametrize("hours", [1, 6, 24, 168])
def test_the_relay_tries_reach_the_horizon_and_no_further(hours: int) -> None:
    tries = relay.receives_for(hours)
    total = sum(relay.delay_after(n) for n in range(1, tries + 1))
    assert total >= hours * 3600 > total - relay.delay_after(tries)
    assert tries <= 1000  # SQS's largest maxReceiveCount
