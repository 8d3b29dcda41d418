"""Retries with a horizon, not a count: a record the consumer cannot finish now comes back
after a growing delay (1 min doubling to 1 h) for CLEANUP_RETRY_HOURS, and only then goes to
the dead-letter queue; one that can never be cleaned goes there at once. Played on a fast
clock against moto's queues, so hours of outage take seconds."""

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from tests.support import FunctionUnderTest, MotoQueue, ReadOutputFixture, configure
from vod_parts_cleanup.consumer.retry import delay_after, receives_for
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.sqs import delete_done, lambda_sqs_event, receive_all
from vod_parts_cleanup_dev.vod_server import LocalVod

HOUR = 3600


@pytest.fixture
def queues(aws: None) -> MotoQueue:
    """A work queue and its dead-letter queue (moto)."""
    client = boto3.client("sqs", region_name="us-east-1")
    dead_letters = client.create_queue(QueueName="retries-dlq")["QueueUrl"]
    url = client.create_queue(QueueName="retries-work")["QueueUrl"]
    return MotoQueue(client, url, dead_letter_url=dead_letters)


@pytest.fixture
def consumer(deployed_handler: FunctionUnderTest, queues: MotoQueue) -> FunctionUnderTest:
    return configure(
        deployed_handler, work_queue_url=queues.url, dead_letter_queue_url=queues.dead_letter_url
    )


def notify(queues: MotoQueue, video_ids: list[str], status: str = "success") -> None:
    """An uploader's notifications (believed: deleted without a status check)."""
    for video_id in video_ids:
        body = {"EventType": "FileUploadComplete", "VideoId": video_id, "Status": status}
        queues.client.send_message(QueueUrl=queues.url, MessageBody=json.dumps(body))


def play(
    function: FunctionUnderTest,
    queues: MotoQueue,
    *,
    until: Callable[[], bool],
    each_round: Callable[[float], None] = lambda hours: None,
    rounds: int = 100,
) -> None:
    """Lambda's SQS trigger, round after round: every visible message in batches; then the
    longest delay the consumer set passes on the fast clock, and the kept ones come back."""
    started = function.clock.time()
    for _ in range(rounds):
        each_round((function.clock.time() - started) / HOUR)
        tries = 1
        while messages := receive_all(queues.client, queues.url):
            tries = max(tries, *(int(m["Attributes"]["ApproximateReceiveCount"]) for m in messages))
            context = LocalLambdaContext(timeout_seconds=60)
            response = function.lambda_handler(lambda_sqs_event(messages, queues.arn), context)
            failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
            delete_done(queues.client, queues.url, messages, failed)
            queues.kept.extend(m["ReceiptHandle"] for m in messages if m["MessageId"] in failed)
        if until():
            return
        function.clock.sleep(delay_after(tries))
        queues.make_visible_again()
    pytest.fail("the queue did not settle")


def dead_letters(queues: MotoQueue) -> list[dict[str, Any]]:
    assert queues.dead_letter_url is not None
    return receive_all(queues.client, queues.dead_letter_url, peek=True)


def test_vod_down_for_20_hours_then_back_cleans_everything_once_and_dead_letters_nothing(
    consumer: FunctionUnderTest,
    queues: MotoQueue,
    stand_in: LocalVod,
    output: ReadOutputFixture,
) -> None:
    video_ids = [f"{n:032x}" for n in range(1, 9)]
    for video_id in video_ids:
        stand_in.add_video(video_id, has_parts=True)
        stand_in.fail_video(video_id, "ServiceUnAvailable", status=503)
    notify(queues, video_ids)

    def outage(hours: float) -> None:
        if hours >= 20:
            for video_id in video_ids:
                stand_in.clear_video_failure(video_id)

    play(consumer, queues, until=lambda: queues.depth() == 0, each_round=outage)

    assert not any(stand_in.has_parts(video_id) for video_id in video_ids)
    deletes = [r for r in stand_in.requests if r.action == "DeleteMultipartUpload"]
    assert len([r for r in deletes if r.status == 200]) == len(video_ids)  # once each
    assert dead_letters(queues) == []
    emitted = output()
    assert emitted.counted("CleanupFailed")  # each failed try is counted...
    assert not emitted.counted("CleanupDeadLettered")  # ...and none was given up


def test_what_can_never_be_cleaned_goes_to_the_dead_letter_queue_at_once(
    consumer: FunctionUnderTest, queues: MotoQueue, output: ReadOutputFixture
) -> None:
    queues.client.send_message(QueueUrl=queues.url, MessageBody="not json")
    bad = {"EventType": "FileUploadComplete", "VideoId": "../../etc", "Status": "success"}
    queues.client.send_message(
        QueueUrl=queues.url,
        MessageBody=json.dumps(bad),
        MessageAttributes={"trigger": {"DataType": "String", "StringValue": "http"}},
    )

    messages = receive_all(queues.client, queues.url)
    context = LocalLambdaContext(timeout_seconds=60)
    response = consumer.lambda_handler(lambda_sqs_event(messages, queues.arn), context)

    assert response == {"batchItemFailures": []}  # kept elsewhere: the work queue lets go
    kept = dead_letters(queues)
    assert sorted(m["Body"] for m in kept) == sorted(["not json", json.dumps(bad)])
    [with_attributes] = [m for m in kept if m["Body"] != "not json"]
    assert with_attributes["MessageAttributes"]["trigger"]["StringValue"] == "http"
    reasons = [m.dimensions.get("Reason") for m in output().counted("CleanupDeadLettered")]
    assert reasons == ["final", "final"]


def test_a_throttle_storm_counts_no_failure_and_cleans_once_it_passes(
    consumer: FunctionUnderTest,
    queues: MotoQueue,
    stand_in: LocalVod,
    output: ReadOutputFixture,
) -> None:
    video_ids = [f"{n:032x}" for n in range(20, 24)]
    for video_id in video_ids:
        stand_in.add_video(video_id, has_parts=True)
        stand_in.fail_video(video_id, "Throttling.User", status=400)
    notify(queues, video_ids)

    def storm(hours: float) -> None:
        if hours >= 3:
            for video_id in video_ids:
                stand_in.clear_video_failure(video_id)

    play(consumer, queues, until=lambda: queues.depth() == 0, each_round=storm)

    assert not any(stand_in.has_parts(video_id) for video_id in video_ids)
    emitted = output()
    deferred = emitted.counted("CleanupDeferred")
    assert deferred and {m.dimensions.get("Reason") for m in deferred} == {"throttled"}
    assert not emitted.counted("CleanupFailed")
    assert dead_letters(queues) == []


def test_a_record_still_failing_after_the_horizon_is_given_up_with_what_it_carried(
    consumer: FunctionUnderTest,
    queues: MotoQueue,
    stand_in: LocalVod,
    output: ReadOutputFixture,
) -> None:
    function = configure(consumer, cleanup_retry_hours=1)
    video_id = f"{42:032x}"
    stand_in.add_video(video_id, has_parts=True)
    stand_in.fail_video(video_id, "ServiceUnAvailable", status=503)
    notify(queues, [video_id])

    play(function, queues, until=lambda: queues.depth() == 0, rounds=receives_for(1) + 2)

    [given_up] = dead_letters(queues)
    assert json.loads(given_up["Body"])["VideoId"] == video_id
    assert stand_in.has_parts(video_id)
    [dead_lettered] = output().counted("CleanupDeadLettered")
    assert dead_lettered.dimensions["Reason"] == "horizon"
