"""The paced consumer against the stand-in: calls spaced by the environment's share of the
account's budget, throttling slowing it down, and a throttled record put back, not failed."""

import json
from itertools import pairwise

from tests.support import (
    FunctionUnderTest,
    IdempotencyTable,
    MotoQueue,
    Output,
    ReadOutputFixture,
    configure,
)
from vod_parts_cleanup.shared.clock import SystemClock
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.vod_server import LocalVod

DELETE = "DeleteMultipartUpload"


def queue_uploads(work_queue: MotoQueue, stand_in: LocalVod, count: int) -> list[str]:
    """``count`` uploads an uploader reported through SQS (believed as they are: no status
    check), each video with parts."""
    video_ids = [f"{number:032x}" for number in range(1, count + 1)]
    for video_id in video_ids:
        stand_in.add_video(video_id)
        body = {"EventType": "FileUploadComplete", "VideoId": video_id, "Status": "success"}
        work_queue.client.send_message(QueueUrl=work_queue.url, MessageBody=json.dumps(body))
    return video_ids


def test_calls_are_spaced_by_this_environments_share_of_the_budget(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    work_queue: MotoQueue,
    context: LocalLambdaContext,
) -> None:
    """8 calls per second for the account, 4 environments: one delete every 0.5 s here."""
    configure(deployed_handler, vod_calls_per_second=8, vod_concurrent_callers=4)
    video_ids = queue_uploads(work_queue, stand_in, 6)
    assert work_queue.drain(deployed_handler, context) == [{"batchItemFailures": []}]
    assert not any(stand_in.has_parts(video_id) for video_id in video_ids)
    # The first call starts at once; each next one waits for its slot, on the app's clock:
    # the slots are exactly 0.5 s apart, however long each call itself took.
    clock = deployed_handler.clock
    assert len(clock.slept) == 5
    assert all(0 < pause <= 0.5 for pause in clock.slept)
    slots = clock.woke_at
    assert [round(later - earlier, 3) for earlier, later in pairwise(slots)] == [0.5] * 4


def test_a_throttled_answer_widens_the_spacing_until_answers_narrow_it(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    work_queue: MotoQueue,
    context: LocalLambdaContext,
) -> None:
    configure(deployed_handler, vod_calls_per_second=8, vod_concurrent_callers=2)
    queue_uploads(work_queue, stand_in, 4)
    stand_in.fail_next("Throttling.User", action=DELETE)
    assert work_queue.drain(deployed_handler, context) == [{"batchItemFailures": []}]
    pacer = deployed_handler.consumer.pacers[DELETE]
    # Someone else used the quota: the retry waited a doubled slot (0.5 s, beside the
    # jittered backoff), and the spacing comes back towards the share (0.25 s) answer by
    # answer, not at once.
    assert max(deployed_handler.clock.slept) >= 0.45
    assert 0.25 < pacer.spacing_seconds < 0.5
    assert stand_in.calls(DELETE) == 5


def test_a_record_still_throttled_goes_back_to_the_queue_as_deferred_not_failed(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    work_queue: MotoQueue,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
) -> None:
    configure(deployed_handler, max_attempts=2)
    [video_id] = queue_uploads(work_queue, stand_in, 1)
    stand_in.fail_video(video_id, "Throttling.User", action=DELETE)
    [response] = work_queue.drain(deployed_handler, context)
    assert len(response["batchItemFailures"]) == 1
    emitted: Output = output()
    assert "CleanupFailed" not in emitted.metric_names()
    [deferred] = emitted.counted("CleanupDeferred")
    assert deferred.dimensions["Reason"] == "throttled"
    assert [metric.dimensions["Operation"] for metric in emitted.counted("VodThrottled")] == [
        DELETE,
        DELETE,
    ]
    stand_in.clear_video_failure(video_id)
    work_queue.make_visible_again()
    assert work_queue.drain(deployed_handler, context) == [{"batchItemFailures": []}]
    assert not stand_in.has_parts(video_id)


def test_on_the_real_clock_a_burst_stays_under_vods_limit(
    settings: Settings,
    stand_in: LocalVod,
    work_queue: MotoQueue,
    idempotency_table: IdempotencyTable,
    context: LocalLambdaContext,
) -> None:
    """The stand-in enforces VOD's 10 calls per sliding second; twelve queued uploads, which
    unpaced would all go out at once, are never throttled."""
    stand_in.rate_limits = {DELETE: 10}
    configured = settings.with_changes(
        vod_calls_per_second=8,
        vod_concurrent_callers=1,
        idempotency_table_name=idempotency_table.name,
        work_queue_url=work_queue.url,
    )
    function = FunctionUnderTest(configured, SystemClock())
    video_ids = queue_uploads(work_queue, stand_in, 12)
    responses = work_queue.drain(function, context)
    assert all(response == {"batchItemFailures": []} for response in responses)
    assert not any(stand_in.has_parts(video_id) for video_id in video_ids)
    assert (stand_in.calls(DELETE), stand_in.throttled(DELETE)) == (12, 0)
