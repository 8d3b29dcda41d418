"""Once per notification, with Powertools Idempotency on a moto DynamoDB table built from
template.yaml, counting the calls the VOD stand-in received."""

import copy
import json
import threading
import time
import uuid
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from tests.support import (
    FunctionUnderTest,
    IdempotencyTable,
    ReadOutputFixture,
    configure,
    load_event,
    signed,
    vod_client_for,
)
from vod_parts_cleanup.consumer.cleanup import CleanupService
from vod_parts_cleanup.consumer.idempotency import (
    REPLAY_LOG_MESSAGE,
    IdempotentCleanup,
    idempotency_config,
)
from vod_parts_cleanup.consumer.models import UploadEvent
from vod_parts_cleanup.shared.errors import CleanupFailedError
from vod_parts_cleanup.shared.observability import CleanupMetrics, Telemetry
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup.shared.vocabulary import ErrorKind, Outcome
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.vod_server import LocalVod

VIDEO_ID = "4d5e6f708192a3b4c5d6e7f8091a2b3c"


def upload_body(status: str = "success", event_time: str = "2026-11-20T08:15:30Z") -> dict:
    return {
        "EventTime": event_time,
        "EventType": "FileUploadComplete",
        "VideoId": VIDEO_ID,
        "Status": status,
        "Size": 1048576,
    }


def sqs_event(*bodies: object) -> dict[str, Any]:
    """A real-shaped SQS batch (from events/) carrying these bodies, one record each."""
    event = load_event("sqs-completed.json")
    template = event["Records"][0]
    event["Records"] = [
        {
            **copy.deepcopy(template),
            "messageId": str(uuid.uuid4()),
            "body": body if isinstance(body, str) else json.dumps(body),
        }
        for body in bodies
    ]
    return event


def eventbridge_event(body: dict) -> dict[str, Any]:
    event = load_event("eventbridge-completed.json")
    event["detail"] = body
    return event


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def test_one_vod_call_for_many_deliveries_across_triggers(
    idempotent_handler: FunctionUnderTest,
    stand_in: LocalVod,
    idempotency_table: IdempotencyTable,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
) -> None:
    stand_in.add_video(VIDEO_ID)
    body = upload_body()

    first = idempotent_handler.lambda_handler(body, context)
    again_direct = idempotent_handler.lambda_handler(copy.deepcopy(body), context)
    from_eventbridge = idempotent_handler.lambda_handler(eventbridge_event(body), context)
    # The same notification, its EventTime written with milliseconds and keys untidy.
    untidy = {
        "VideoId ": VIDEO_ID,
        "EventType": "FileUploadComplete",
        "Status": "SUCCESS",
        "EventTime": "2026-11-20T08:15:30:000Z",
    }
    from_sqs = idempotent_handler.lambda_handler(sqs_event(untidy), context)

    # One delete; the first delivery, a person's direct invocation, was confirmed first.
    assert [r.action for r in stand_in.requests] == ["GetVideoInfo", "DeleteMultipartUpload"]
    assert first["status"] == "deleted"
    assert again_direct == first
    assert from_eventbridge == first
    assert from_sqs == {"batchItemFailures": []}
    emitted = output()
    replays = emitted.counted("IdempotentReplay")
    assert [metric.dimensions["Outcome"] for metric in replays] == ["completed"] * 3
    assert emitted.metric_names().count("PartsDeleted") == 1
    replay_logs = [log for log in emitted.logs if log["message"] == REPLAY_LOG_MESSAGE]
    assert len(replay_logs) == 3
    assert all(log["result"]["vodRequestId"] == first["vodRequestId"] for log in replay_logs)
    [item] = idempotency_table.items()
    assert item["id"]["S"].startswith("vod-parts-cleanup#notification#")
    assert item["status"]["S"] == "COMPLETED"


def test_a_duplicate_inside_one_batch_calls_vod_once(
    idempotent_handler: FunctionUnderTest, stand_in: LocalVod, context: LocalLambdaContext
) -> None:
    stand_in.add_video(VIDEO_ID)
    event = sqs_event(upload_body(), upload_body(), upload_body())
    assert idempotent_handler.lambda_handler(event, context) == {"batchItemFailures": []}
    assert len(stand_in.requests) == 1


def test_a_later_distinct_notification_of_the_same_video_runs_again(
    idempotent_handler: FunctionUnderTest,
    stand_in: LocalVod,
    idempotency_table: IdempotencyTable,
    context: LocalLambdaContext,
) -> None:
    stand_in.add_video(VIDEO_ID)
    failed = idempotent_handler.lambda_handler(upload_body("fail"), context)
    stand_in.add_video(VIDEO_ID)  # the upload is retried and leaves parts again
    completed = idempotent_handler.lambda_handler(
        upload_body("success", "2026-11-20T09:00:00Z"), context
    )
    manual = idempotent_handler.lambda_handler({"VideoId": VIDEO_ID}, context)
    manual_again = idempotent_handler.lambda_handler({"VideoId": VIDEO_ID}, context)

    assert (failed["status"], completed["status"]) == ("deleted", "deleted")
    assert manual["status"] == "already_clean"
    assert manual_again == manual
    assert stand_in.calls("DeleteMultipartUpload") == 3  # each after its GetVideoInfo
    assert len(idempotency_table.items()) == 3


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("ServiceUnAvailable", 503, ErrorKind.TRANSIENT),
        ("AccessDenied", 400, ErrorKind.CONFIGURATION),
    ],
)
def test_failures_are_not_stored_so_a_redrive_really_runs(
    idempotent_handler: FunctionUnderTest,
    stand_in: LocalVod,
    idempotency_table: IdempotencyTable,
    context: LocalLambdaContext,
    code: str,
    status: int,
    kind: ErrorKind,
) -> None:
    stand_in.add_video(VIDEO_ID)
    stand_in.fail_video(VIDEO_ID, code, status=status)
    event = sqs_event(upload_body())

    assert failed_ids(idempotent_handler.lambda_handler(event, context)) == [
        event["Records"][0]["messageId"]
    ]
    with pytest.raises(CleanupFailedError) as failure:
        idempotent_handler.lambda_handler(upload_body(), context)
    assert failure.value.kind is kind
    assert idempotency_table.items() == []
    calls_while_broken = len(stand_in.requests)

    stand_in.clear_video_failure(VIDEO_ID)  # the operator fixes the fault and redrives
    assert idempotent_handler.lambda_handler(event, context) == {"batchItemFailures": []}
    assert len(stand_in.requests) == calls_while_broken + 1
    assert not stand_in.has_parts(VIDEO_ID)
    [item] = idempotency_table.items()
    assert item["status"]["S"] == "COMPLETED"


def test_a_duplicate_still_in_progress_elsewhere_is_kept_not_run(
    idempotent_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
) -> None:
    stand_in.add_video(VIDEO_ID)
    stand_in.delay_next(0.8)  # the first delivery is still talking to VOD
    first: dict[str, Any] = {}
    running = threading.Thread(
        target=lambda: first.update(idempotent_handler.lambda_handler(upload_body(), context))
    )
    running.start()
    try:
        _wait_for_in_progress_item(idempotent_handler)
        with pytest.raises(CleanupFailedError) as failure:
            idempotent_handler.lambda_handler(upload_body(), context)
        batch = sqs_event(upload_body())
        in_batch = idempotent_handler.lambda_handler(batch, context)
    finally:
        running.join()

    assert (failure.value.kind, failure.value.error_code) == (
        ErrorKind.TRANSIENT,
        "InProgressElsewhere",
    )
    assert failed_ids(in_batch) == [batch["Records"][0]["messageId"]]
    assert first["status"] == "deleted"
    assert stand_in.calls("DeleteMultipartUpload") == 1
    # Once the first delivery is over, the kept duplicate gets the stored result.
    assert idempotent_handler.lambda_handler(upload_body(), context) == first
    assert stand_in.calls("DeleteMultipartUpload") == 1
    failed = output().counted("CleanupFailed")
    assert [metric.dimensions["ErrorKind"] for metric in failed] == ["transient", "transient"]


def _wait_for_in_progress_item(handler: FunctionUnderTest) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    for _ in range(200):
        items = client.scan(TableName=handler.settings.idempotency_table_name)["Items"]
        if items and items[0]["status"]["S"] == "INPROGRESS":
            return
        threading.Event().wait(0.005)
    pytest.fail("the first delivery never registered as in progress")


def test_the_in_progress_lock_expires_with_the_invocation(
    idempotent_handler: FunctionUnderTest,
    stand_in: LocalVod,
    idempotency_table: IdempotencyTable,
) -> None:
    stand_in.add_video(VIDEO_ID)
    stand_in.delay_next(0.5)
    context = LocalLambdaContext(timeout_seconds=20)
    running = threading.Thread(
        target=idempotent_handler.lambda_handler, args=(upload_body(), context)
    )
    running.start()
    try:
        _wait_for_in_progress_item(idempotent_handler)
        [item] = idempotency_table.items()
    finally:
        running.join()
    expires_in_ms = int(item["in_progress_expiration"]["N"]) - time.time() * 1000
    assert 15_000 < expires_in_ms <= 20_000


def test_an_unreachable_table_keeps_the_event_and_never_calls_vod(
    handler: FunctionUnderTest,
    stand_in: LocalVod,
    idempotency_table: IdempotencyTable,
    context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(handler, idempotency_table_name="no-such-table")
    stand_in.add_video(VIDEO_ID)
    with pytest.raises(CleanupFailedError) as failure:
        handler.lambda_handler(upload_body(), context)
    assert (failure.value.kind, failure.value.error_code) == (
        ErrorKind.TRANSIENT,
        "IdempotencyStoreUnavailable",
    )
    event = sqs_event(upload_body())
    assert failed_ids(handler.lambda_handler(event, context)) == [event["Records"][0]["messageId"]]
    assert stand_in.requests == []
    assert stand_in.has_parts(VIDEO_ID)


def test_a_ten_record_batch_with_two_failing_records_reports_exactly_those(
    idempotent_handler: FunctionUnderTest,
    stand_in: LocalVod,
    idempotency_table: IdempotencyTable,
    context: LocalLambdaContext,
) -> None:
    video_ids = [f"{index:02d}{VIDEO_ID[2:]}" for index in range(10)]
    for video_id in video_ids:
        stand_in.add_video(video_id)
    stand_in.fail_video(video_ids[3], "Throttling.User")
    stand_in.fail_video(video_ids[7], "AccessDenied")
    event = sqs_event(*({**upload_body(), "VideoId": video_id} for video_id in video_ids))

    response = idempotent_handler.lambda_handler(event, context)

    records = event["Records"]
    assert failed_ids(response) == [records[3]["messageId"], records[7]["messageId"]]
    assert [stand_in.has_parts(video_id) for video_id in video_ids] == [
        index in (3, 7) for index in range(10)
    ]
    assert len(idempotency_table.items()) == 8


def test_an_empty_batch_is_answered_as_sqs_expects(
    idempotent_handler: FunctionUnderTest, stand_in: LocalVod, context: LocalLambdaContext
) -> None:
    event = sqs_event()
    event["Records"] = []
    assert idempotent_handler.lambda_handler(event, context) == {"batchItemFailures": []}
    assert stand_in.requests == []


def test_an_all_failed_batch_reports_every_record(
    idempotent_handler: FunctionUnderTest, stand_in: LocalVod, context: LocalLambdaContext
) -> None:
    stand_in.fail_video(VIDEO_ID, "InternalError", status=500)
    event = sqs_event(upload_body(), "not json", upload_body("fail"))
    assert failed_ids(idempotent_handler.lambda_handler(event, context)) == [
        record["messageId"] for record in event["Records"]
    ]


@pytest.mark.parametrize(
    "body",
    [
        "not json{",
        "[1, 2]",
        json.dumps({"EventType": "FileUploadComplete", "Status": "success"}),
        json.dumps({"Records": "no usable fields"}),
    ],
)
def test_malformed_records_are_reported_so_they_reach_the_dead_letter_queue(
    idempotent_handler: FunctionUnderTest,
    stand_in: LocalVod,
    idempotency_table: IdempotencyTable,
    context: LocalLambdaContext,
    body: str,
) -> None:
    stand_in.add_video(VIDEO_ID)
    event = sqs_event(body, upload_body())
    response = idempotent_handler.lambda_handler(event, context)
    assert failed_ids(response) == [event["Records"][0]["messageId"]]
    assert len(stand_in.requests) == 1
    assert len(idempotency_table.items()) == 1


def test_ignored_and_rejected_events_cost_no_dynamodb_write(
    idempotent_handler: FunctionUnderTest,
    stand_in: LocalVod,
    idempotency_table: IdempotencyTable,
    context: LocalLambdaContext,
) -> None:
    for name in [
        "direct-ignored.json",
        "direct-rejected.json",
        "direct-upload-by-url-failed.json",
        "eventbridge-ignored.json",
        "sqs-ignored.json",
        "sqs-mixed-batch.json",
        "http-ignored.json",
    ]:
        event = load_event(name)
        if name == "sqs-mixed-batch.json":
            event["Records"] = event["Records"][2:]  # the ignored and the malformed record
        if name == "http-ignored.json":
            event = signed(event)
        idempotent_handler.lambda_handler(event, context)
    assert stand_in.requests == []
    assert idempotency_table.items() == []


def test_a_new_notification_costs_two_dynamodb_writes_and_a_replay_one_read(
    stand_in: LocalVod, settings: Settings, idempotency_table: IdempotencyTable
) -> None:
    calls: list[str] = []
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )
    telemetry = Telemetry(CleanupMetrics(namespace="Test", service="test"), Logger(service="test"))
    config = idempotency_config(ttl_seconds=3600, telemetry=telemetry)
    config.register_lambda_context(LocalLambdaContext())
    cleanup = IdempotentCleanup(
        CleanupService(vod_client_for(settings), telemetry),
        DynamoDBPersistenceLayer(table_name=idempotency_table.name, boto3_client=client),
        config,
        telemetry,
    )
    stand_in.add_video(VIDEO_ID)
    event = UploadEvent(video_id=VIDEO_ID, outcome=Outcome.MANUAL)

    cleanup.clean_up(event)
    assert calls == ["PutItem", "UpdateItem"]
    calls.clear()
    cleanup.clean_up(event)
    # A replay: the conditional PutItem fails and returns the stored item with it.
    assert calls == ["PutItem"]
    [item] = idempotency_table.items()
    assert 3500 < int(item["expiration"]["N"]) - time.time() <= 3600
