"""The sweep against the stand-in: the uploads no event announced, found through VOD's
listing (GetVideoList, 5,000 per filter at most) and GetUploadDetails, queued once each and
cleaned once by the consumer, however often the sweep runs."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support import FunctionUnderTest, MotoQueue, configure, load_event
from vod_parts_cleanup.consumer.sweep import read_sweep_request
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.sqs import receive_all
from vod_parts_cleanup_dev.vod_catalog import Video
from vod_parts_cleanup_dev.vod_server import LocalVod

DELETE = "DeleteMultipartUpload"
MIN_AGE = timedelta(hours=24)


def ids(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{number:028x}" for number in range(count)]


class Seeded:
    """Videos of every kind the sweep must tell apart, created relative to now."""

    def __init__(self, stand_in: LocalVod, *, stalled: int) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        window = timedelta(days=7) - MIN_AGE - timedelta(hours=2)
        oldest = now - timedelta(days=7) + timedelta(hours=1)
        self.stalled = ids("aaaa", stalled)  # Uploading in the window, untouched since
        self.failed = ids("bbbb", 40)  # UploadFail in the window
        self.recently_touched = ids("cccc", 15)  # Uploading in the window, touched 30 min ago
        self.too_new = ids("dddd", 20)  # Uploading, created within the minimum age
        self.past_purge = ids("eeee", 10)  # Uploading, older than VOD's 7-day purge
        self.finished = ids("ffff", 30)  # Normal / UploadSucc in the window
        videos = []
        for number, video_id in enumerate(self.stalled + self.failed):
            created = oldest + window * number / max(len(self.stalled) + len(self.failed), 1)
            status = "Uploading" if video_id in set(self.stalled) else "UploadFail"
            videos.append(Video.new(video_id, status=status, creation_time=created))
        for video_id in self.recently_touched:
            videos.append(
                Video.new(
                    video_id,
                    status="Uploading",
                    creation_time=now - timedelta(days=3),
                    modification_time=now - timedelta(minutes=30),
                )
            )
        for video_id in self.too_new:
            videos.append(Video.new(video_id, status="Uploading", creation_time=now - MIN_AGE / 2))
        for video_id in self.past_purge:
            videos.append(
                Video.new(video_id, status="Uploading", creation_time=now - timedelta(days=8))
            )
        for number, video_id in enumerate(self.finished):
            status = "Normal" if number % 2 else "UploadSucc"
            videos.append(Video.new(video_id, status=status, creation_time=now - timedelta(days=2)))
        stand_in.add_videos(videos)

    @property
    def eligible(self) -> set[str]:
        return set(self.stalled) | set(self.failed)

    @property
    def never_touched(self) -> list[str]:
        return self.recently_touched + self.too_new + self.past_purge + self.finished


def sweep(function: FunctionUnderTest, **request: Any) -> dict[str, Any]:
    answer = function.lambda_handler({"Sweep": request}, LocalLambdaContext(timeout_seconds=60))
    return dict(answer)


def receive_everything(work_queue: MotoQueue) -> list[dict[str, Any]]:
    """Every message, each received once (and so hidden: the queue is only looked at)."""
    messages = []
    while batch := receive_all(work_queue.client, work_queue.url):
        messages += batch
    return messages


def queue_depth(work_queue: MotoQueue) -> int:
    attributes = work_queue.client.get_queue_attributes(
        QueueUrl=work_queue.url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_6000_stalled_uploads_are_found_through_more_than_one_filter(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod, work_queue: MotoQueue
) -> None:
    """More than one GetVideoList filter holds (5,000 at most): the window is walked in
    slices, each read page by page, and exactly the eligible uploads are found, once each.
    (A dry run: moto's SQS slows down with every message it holds, so the queueing itself
    is checked with fewer videos below.)"""
    seeded = Seeded(stand_in, stalled=6_000)
    summary = sweep(deployed_handler, DryRun=True)
    assert (summary["candidates"], summary["queued"]) == (len(seeded.eligible), 0)
    assert summary["tooYoung"] == len(seeded.recently_touched)
    assert summary["complete"] is True
    listings = stand_in.calls("GetVideoList")
    assert summary["pages"] == listings
    assert 6_040 / 100 < listings < 6_040 / 100 + 10
    # Each video VOD says is uploading was asked about, twenty at a time.
    assert stand_in.calls("GetUploadDetails") == -(-(6_000 + 15) // 20)
    assert stand_in.calls(DELETE) == 0  # the sweep itself deletes nothing

    request = read_sweep_request({"Sweep": {"DryRun": True}}, deployed_handler.settings)
    consumer = deployed_handler.consumer
    consumer.deadline.start(60)
    found = consumer.sweeper.sweep(request).found
    assert len(found) == len(set(found)) == len(seeded.eligible)
    assert set(found) == seeded.eligible


def test_the_sweep_queues_exactly_the_eligible_uploads_once_each(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod, work_queue: MotoQueue
) -> None:
    seeded = Seeded(stand_in, stalled=250)
    summary = sweep(deployed_handler)
    assert summary["candidates"] == summary["queued"] == len(seeded.eligible)
    assert summary["dryRun"] is False
    messages = receive_everything(work_queue)
    queued = [json.loads(message["Body"])["VideoId"] for message in messages]
    assert len(queued) == len(set(queued)) and set(queued) == seeded.eligible
    assert {message["MessageAttributes"]["trigger"]["StringValue"] for message in messages} == {
        "sweep"
    }
    assert stand_in.calls(DELETE) == 0


def test_a_dry_run_lists_and_counts_but_queues_and_deletes_nothing(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod, work_queue: MotoQueue
) -> None:
    seeded = Seeded(stand_in, stalled=120)
    summary = sweep(deployed_handler, DryRun=True)
    assert (summary["candidates"], summary["queued"], summary["dryRun"]) == (
        len(seeded.eligible),
        0,
        True,
    )
    assert queue_depth(work_queue) == 0
    assert stand_in.calls(DELETE) == 0


def test_the_consumer_cleans_what_the_sweep_queued_once_however_often_it_runs(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    work_queue: MotoQueue,
    context: LocalLambdaContext,
) -> None:
    seeded = Seeded(stand_in, stalled=25)
    first = sweep(deployed_handler)
    responses = work_queue.drain(deployed_handler, context)
    assert all(response == {"batchItemFailures": []} for response in responses)
    assert not any(stand_in.has_parts(video_id) for video_id in seeded.eligible)
    assert all(stand_in.has_parts(video_id) for video_id in seeded.never_touched)
    assert stand_in.calls(DELETE) == first["queued"] == len(seeded.eligible)

    # The next sweep finds them again (VOD still says Uploading), and deletes nothing new.
    second = sweep(deployed_handler)
    assert second["queued"] == first["queued"]
    work_queue.drain(deployed_handler, context)
    assert stand_in.calls(DELETE) == len(seeded.eligible)
    assert all(stand_in.has_parts(video_id) for video_id in seeded.never_touched)


def test_the_minimum_age_and_the_statuses_can_be_asked_for(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod
) -> None:
    seeded = Seeded(stand_in, stalled=10)
    only_failed = sweep(deployed_handler, Statuses=["UploadFail"], DryRun=True)
    assert only_failed["candidates"] == len(seeded.failed)
    # An hour: the uploads created twelve hours ago are old enough now, but not the ones
    # touched half an hour ago.
    younger = sweep(deployed_handler, MinAgeMinutes=60, DryRun=True)
    assert younger["candidates"] == len(seeded.eligible) + len(seeded.too_new)


def test_the_defaults_come_from_the_settings(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod
) -> None:
    seeded = Seeded(stand_in, stalled=10)
    configure(deployed_handler, sweep_statuses=("UploadFail",), sweep_min_age_minutes=60)
    assert sweep(deployed_handler, DryRun=True)["candidates"] == len(seeded.failed)


@pytest.mark.parametrize(
    "request_body",
    [
        {"MinAgeMinutes": 30},
        {"Statuses": ["Stalled"]},
        {"Statuses": []},
        {"DryRun": "yes"},
        {"Unknown": 1},
        "everything",
    ],
)
def test_a_sweep_request_it_cannot_run_is_rejected_with_a_reason(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod, request_body: Any
) -> None:
    answer = deployed_handler.lambda_handler({"Sweep": request_body}, LocalLambdaContext())
    assert (answer["status"], answer["errorCode"]) == ("rejected", "InvalidSweepRequest")
    assert answer["detail"]
    assert stand_in.requests == []


def test_a_sweep_request_redriven_into_the_queue_is_ignored_not_dead_lettered(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod, context: LocalLambdaContext
) -> None:
    event = load_event("sqs-completed.json")
    event["Records"][0]["body"] = json.dumps({"Sweep": {}})
    assert deployed_handler.lambda_handler(event, context) == {"batchItemFailures": []}
    assert stand_in.requests == []


def uploading(
    video_ids: list[str], *, created: datetime, touched: datetime | None = None, detail: bool = True
) -> list[Video]:
    """Uploads VOD reports as Uploading; ``detail=False``: a client-SDK upload, of which
    GetUploadDetails says nothing."""
    return [
        Video.new(
            video_id,
            status="Uploading",
            creation_time=created,
            modification_time=touched,
            reports_upload_detail=detail,
        )
        for video_id in video_ids
    ]


def test_an_uploading_upload_is_queued_only_with_evidence_that_it_stopped(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod, work_queue: MotoQueue
) -> None:
    """Silence is no evidence: GetUploadDetails says nothing of a client-SDK upload, so one
    without detail waits for the unvouched age (3 days), where one VOD says was last touched
    a day ago is queued at once."""
    now = datetime.now(UTC).replace(microsecond=0)
    recently_touched, long_untouched = ids("a1", 3), ids("a2", 4)
    young_without_detail, old_without_detail = ids("a3", 5), ids("a4", 6)
    two_days_ago = now - timedelta(days=2)
    stand_in.add_videos(
        uploading(recently_touched, created=two_days_ago, touched=now - timedelta(minutes=30))
        + uploading(long_untouched, created=two_days_ago)
        + uploading(young_without_detail, created=now - timedelta(hours=30), detail=False)
        + uploading(old_without_detail, created=now - timedelta(days=4), detail=False)
    )

    summary = sweep(deployed_handler)

    queued = {json.loads(m["Body"])["VideoId"] for m in receive_everything(work_queue)}
    assert queued == set(long_untouched) | set(old_without_detail)
    assert (summary["queued"], summary["tooYoung"], summary["unvouched"]) == (10, 3, 5)
    assert stand_in.calls(DELETE) == 0


def test_the_unvouched_age_is_a_setting_and_a_request_field(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod, work_queue: MotoQueue
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    stand_in.add_videos(uploading(ids("a5", 3), created=now - timedelta(hours=30), detail=False))

    waited = sweep(deployed_handler, DryRun=True)
    asked = sweep(deployed_handler, DryRun=True, UnvouchedMinAgeMinutes=24 * 60)
    configured = sweep(
        configure(deployed_handler, sweep_unvouched_min_age_minutes=24 * 60), DryRun=True
    )

    assert (waited["candidates"], waited["unvouched"]) == (0, 3)
    assert (asked["candidates"], asked["unvouched"]) == (3, 0)
    assert (configured["candidates"], configured["unvouched"]) == (3, 0)
