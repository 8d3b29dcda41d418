"""The benchmark's own counting (what is lost, deleted twice, the ideal time, the targets)
and its reading of `python -X importtime`; nothing here runs or times anything."""

from dataclasses import replace
from typing import Any

from vod_parts_cleanup_dev.bench.cold_start import top_imports
from vod_parts_cleanup_dev.bench.rows import (
    DELETE,
    THROTTLED,
    Observed,
    Row,
    VodRequest,
    deleted_twice,
    table,
)

VIDEOS = ("v1", "v2", "v3", "v4")


def delete(video_id: str, error_code: str | None = None) -> VodRequest:
    return VodRequest(DELETE, video_id, error_code)


# A perfect run over VIDEOS: every video cleaned once, in the ideal time at 8 per second.
PERFECT = Observed(
    scenario="drain 20 ms",
    function="ours",
    notifications=VIDEOS,
    requests=tuple(delete(video_id) for video_id in VIDEOS),
    cleaned=frozenset(VIDEOS),
    kept=frozenset(),
    dead_lettered=(),
    dropped=frozenset(),
    redeliveries=0,
    drain_seconds=0.5,
    settled=True,
)


def observed(**changes: Any) -> Observed:
    return replace(PERFECT, **changes)


def test_only_admitted_deletes_beyond_a_videos_first_count_as_deleted_twice() -> None:
    requests = [
        delete("v1"),
        delete("v1", THROTTLED),
        delete("v1", "InvalidMultipartUpload.NotFound"),
        delete("v2"),
        VodRequest("GetVideoInfo", "v2", None),
        delete("v3", THROTTLED),
    ]

    assert deleted_twice(requests) == 1


def test_a_perfect_run_meets_every_target() -> None:
    row = Row.of(observed())

    assert (row.events, row.calls, row.lost, row.throttled) == (4, {DELETE: 4}, 0, 0)
    assert row.ideal_seconds == 0.5
    assert row.ratio == 1.0
    assert row.missed_targets() == []


def test_what_is_neither_cleaned_nor_kept_nor_dead_lettered_is_lost() -> None:
    row = Row.of(
        observed(
            cleaned=frozenset({"v1"}),
            kept=frozenset({"v2"}),
            dead_lettered=("v3",),
            dropped=frozenset({"v4"}),
        )
    )

    assert row.lost == 1  # v4, dropped by VOD: counted once, not also as unfinished
    assert row.dead_lettered == 1


def test_a_dropped_callback_whose_video_was_cleaned_anyway_is_not_lost() -> None:
    assert Row.of(observed(dropped=frozenset({"v1"}))).lost == 0


def test_missed_targets_are_named() -> None:
    requests = (*observed().requests, delete("v1", THROTTLED), delete("v1"))
    row = Row.of(observed(requests=requests, drain_seconds=0.6, settled=False))

    assert row.missed_targets() == [
        "did not settle in time",
        "1 throttled",
        "1 deleted twice",
        f"6 {DELETE} calls for 4 events",
        "drain 1.20 x ideal > 1.1",
    ]


def test_the_table_pads_columns_and_right_aligns_numbers() -> None:
    lines = table(("name", "count"), [("a", "5"), ("longer", "12.5")])

    assert lines == ["name    count", "------  -----", "a           5", "longer   12.5"]


def test_top_imports_are_read_from_importtime_lines_by_cumulative_time() -> None:
    stderr = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       100 |        100 |     json.decoder",
            "import time:       500 |     250000 |   aiohttp",
            "import time:      2000 |       2600 | json",
            "a warning that is not an import time",
        ]
    )

    assert top_imports(stderr, count=2) == [
        "   250.0 ms  (self    0.5)    aiohttp",
        "     2.6 ms  (self    2.0)  json",
    ]
