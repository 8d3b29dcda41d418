"""The real Lambda handler on every trigger, against the local VOD over real HTTP: results,
what is kept for retry, metrics and logs."""

import json
from typing import Any

import pytest

from tests.support import (
    FunctionUnderTest,
    ReadOutputFixture,
    configure,
    load_event,
    uploader_event,
)
from vod_parts_cleanup.consumer.cleanup import VOD_CALL_LOG_MESSAGE
from vod_parts_cleanup.shared.errors import CleanupFailedError
from vod_parts_cleanup.shared.vocabulary import ErrorKind
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.vod_server import LocalVod


def video_id_of(body: dict[str, Any]) -> str:
    return str(body["VideoId"])


def vod_body(event: dict[str, Any]) -> dict[str, Any]:
    """The VOD notification inside a sample event, whatever its envelope."""
    if "Records" in event:
        return json.loads(event["Records"][0]["body"])
    if "detail" in event:
        return event["detail"]
    if "requestContext" in event:
        return json.loads(event["body"])
    return event


@pytest.mark.parametrize(
    ("name", "outcome"),
    [
        ("direct-completed.json", "completed"),
        ("direct-failed.json", "failed"),
        ("direct-manual.json", "manual"),
        ("direct-upload-by-url-completed.json", "completed"),
        ("direct-quirky.json", "completed"),
        ("eventbridge-completed.json", "completed"),
        ("eventbridge-failed.json", "failed"),
        ("eventbridge-manual.json", "manual"),
    ],
)
def test_direct_and_eventbridge_events_delete_the_parts(
    handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
    name: str,
    outcome: str,
) -> None:
    event = load_event(name)
    video_id = video_id_of(vod_body(event))
    stand_in.add_video(video_id)

    result = handler.lambda_handler(event, context)

    # A person's request (a direct invocation) is confirmed with VOD first; an uploader's
    # event is believed (consumer.trust).
    confirmed = name.startswith("direct-")
    *confirmation, request = stand_in.requests
    assert [r.action for r in confirmation] == (["GetVideoInfo"] if confirmed else [])
    assert result["videoId"] == video_id
    assert result["outcome"] == outcome
    assert result["status"] == "deleted"
    assert result["vodRequestId"] == request.request_id
    assert result["attempts"] == 1 + len(confirmation)
    assert request.query == {"MediaId": video_id, "MediaType": "video"}
    assert not stand_in.has_parts(video_id)
    emitted = output()
    [deleted] = emitted.counted("PartsDeleted")
    assert (deleted.value, deleted.unit, deleted.namespace) == (1, "Count", "VodPartsCleanup")
    assert deleted.dimensions["Outcome"] == outcome
    latencies = emitted.counted("VodLatency")
    assert len(latencies) == 1 + len(confirmation)
    [latency] = [m for m in latencies if m.dimensions["Operation"] == "DeleteMultipartUpload"]
    assert latency.unit == "Milliseconds" and latency.value > 0
    # Per operation (the dashboard's call rate), not per outcome.
    assert latency.dimensions == {
        "service": "vod-parts-cleanup",
        "Operation": "DeleteMultipartUpload",
    }


def test_the_result_carries_the_event_time(
    handler: FunctionUnderTest, stand_in: LocalVod, context: LocalLambdaContext
) -> None:
    event = load_event("direct-completed.json")
    stand_in.add_video(event["VideoId"])
    result = handler.lambda_handler(event, context)
    assert result["eventTime"] == event["EventTime"]
    assert set(result) == {
        "videoId",
        "outcome",
        "status",
        "vodRequestId",
        "attempts",
        "eventTime",
    }


def test_a_second_delivery_finds_the_upload_already_clean(
    handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
) -> None:
    event = load_event("direct-completed.json")
    stand_in.add_video(event["VideoId"])
    handler.lambda_handler(event, context)
    again = handler.lambda_handler(event, context)
    assert again["status"] == "already_clean"
    assert again["errorCode"] == "InvalidMultipartUpload.NotFound"
    assert output().metric_names().count("AlreadyClean") == 1


def test_an_unknown_video_is_media_not_found(
    handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
) -> None:
    result = handler.lambda_handler({"VideoId": "00000000000000000000000000000000"}, context)
    assert result["status"] == "media_not_found"
    assert result["errorCode"] == "InvalidVideo.NotFound"
    assert "MediaNotFound" in output().metric_names()


@pytest.mark.parametrize(
    "name",
    [
        "direct-ignored.json",
        "direct-upload-by-url-failed.json",
        "eventbridge-ignored.json",
    ],
)
def test_events_that_are_not_uploads_are_ignored_without_calling_vod(
    handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
    name: str,
) -> None:
    result = handler.lambda_handler(load_event(name), context)
    assert result["status"] == "ignored"
    assert stand_in.requests == []
    assert output().metric_names() == ["EventIgnored"]


@pytest.mark.parametrize(
    "event",
    [
        load_event("direct-rejected.json"),
        {"VideoId": "abc/def"},
        {"EventType": "FileUploadComplete", "VideoId": "a" * 65, "Status": "success"},
        "just a string",
        [1, 2, 3],
        {},
    ],
)
def test_bad_input_is_rejected_with_a_clear_error_and_never_reaches_vod(
    handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
    event: object,
) -> None:
    result = handler.lambda_handler(event, context)
    assert result["status"] == "rejected"
    assert result["errorCode"] and result["detail"]
    assert stand_in.requests == []
    emitted = output()
    assert emitted.metric_names() == ["EventRejected"]
    assert any(log["level"] == "WARNING" for log in emitted.logs)


def test_invalid_parameter_from_vod_is_rejected(
    handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
) -> None:
    stand_in.fail_next("InvalidParameter")
    result = handler.lambda_handler(uploader_event("abc123"), context)
    assert (result["status"], result["errorCode"], result["attempts"]) == (
        "rejected",
        "InvalidParameter",
        1,
    )
    assert "EventRejected" in output().metric_names()


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("ServiceUnAvailable", 503, ErrorKind.TRANSIENT),
        ("Throttling.User", 400, ErrorKind.THROTTLED),
        ("AccessDenied", 400, ErrorKind.CONFIGURATION),
        ("InvalidStorage.NotFound", 400, ErrorKind.CONFIGURATION),
    ],
)
@pytest.mark.parametrize("name", ["direct-completed.json", "eventbridge-failed.json"])
def test_direct_and_eventbridge_failures_raise_so_lambda_keeps_the_event(
    handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    code: str,
    status: int,
    kind: ErrorKind,
) -> None:
    configure(handler, max_attempts=2)
    event = load_event(name)
    video_id = video_id_of(vod_body(event))
    stand_in.add_video(video_id)
    stand_in.fail_next(code, status=status, times=2)

    with pytest.raises(CleanupFailedError) as failure:
        handler.lambda_handler(event, context)

    expected_attempts = 1 if kind is ErrorKind.CONFIGURATION else 2
    assert (failure.value.kind, failure.value.error_code) == (kind, code)
    assert failure.value.attempts == expected_attempts
    assert len(stand_in.requests) == expected_attempts
    assert stand_in.has_parts(video_id)
    emitted = output()
    assert len(emitted.counted("VodLatency")) == expected_attempts
    if kind is ErrorKind.THROTTLED:
        # VOD's quota, not a fault: kept and counted apart, so the failure alarm stays quiet.
        assert "CleanupFailed" not in emitted.metric_names()
        [deferred] = emitted.counted("CleanupDeferred")
        assert deferred.dimensions["Reason"] == "throttled"
        assert len(emitted.counted("VodThrottled")) == 2
        level = "INFO"
    else:
        [failed] = emitted.counted("CleanupFailed")
        assert failed.dimensions["ErrorKind"] == kind.value
        level = "ERROR" if kind is ErrorKind.CONFIGURATION else "WARNING"
    assert any(log["level"] == level and log.get("errorCode") == code for log in emitted.logs)


def test_sqs_records_are_cleaned_and_none_is_reported(
    handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
) -> None:
    for name in ["sqs-completed.json", "sqs-failed.json", "sqs-manual.json"]:
        event = load_event(name)
        stand_in.add_video(video_id_of(vod_body(event)))
        assert handler.lambda_handler(event, context) == {"batchItemFailures": []}
        assert not stand_in.has_parts(video_id_of(vod_body(event)))
    assert output().metric_names().count("PartsDeleted") == 3


def test_an_ignored_sqs_record_is_not_reported(
    handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
) -> None:
    assert handler.lambda_handler(load_event("sqs-ignored.json"), context) == {
        "batchItemFailures": []
    }
    assert stand_in.requests == []
    assert output().metric_names() == ["EventIgnored"]


def test_a_mixed_batch_reports_only_what_must_be_kept(
    handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
) -> None:
    event = load_event("sqs-mixed-batch.json")
    completed, failed, _ignored, not_json = event["Records"]
    for record in (completed, failed):
        stand_in.add_video(json.loads(record["body"])["VideoId"])

    response = handler.lambda_handler(event, context)

    assert response == {"batchItemFailures": [{"itemIdentifier": not_json["messageId"]}]}
    assert len(stand_in.requests) == 2
    names = output().metric_names()
    assert sorted(n for n in names if n != "VodLatency") == [
        "EventIgnored",
        "EventRejected",
        "PartsDeleted",
        "PartsDeleted",
    ]


def test_a_batch_reports_the_records_vod_could_not_take(
    handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(handler, max_attempts=1)
    event = load_event("sqs-mixed-batch.json")
    completed, failed, _ignored, not_json = event["Records"]
    for record in (completed, failed):
        stand_in.add_video(json.loads(record["body"])["VideoId"])
    stand_in.fail_next("Throttling.User")  # the first record's only attempt

    response = handler.lambda_handler(event, context)

    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": completed["messageId"]},
            {"itemIdentifier": not_json["messageId"]},
        ]
    }
    assert stand_in.has_parts(json.loads(completed["body"])["VideoId"])
    assert not stand_in.has_parts(json.loads(failed["body"])["VideoId"])


def test_a_batch_whose_every_record_fails_reports_them_all(
    handler: FunctionUnderTest, stand_in: LocalVod, context: LocalLambdaContext
) -> None:
    template = load_event("sqs-completed.json")["Records"][0]
    records = []
    for number in range(1, 5):
        video_id = f"{number:032x}"
        stand_in.add_video(video_id)
        stand_in.fail_video(video_id, "AccessDenied")
        body = json.dumps(
            {"EventType": "FileUploadComplete", "VideoId": video_id, "Status": "fail"}
        )
        records.append(template | {"messageId": f"message-{number}", "body": body})
    response = handler.lambda_handler({"Records": records}, context)
    assert response == {
        "batchItemFailures": [{"itemIdentifier": record["messageId"]} for record in records]
    }
    assert stand_in.calls("DeleteMultipartUpload") == 4  # each record tried, none skipped


def test_logs_are_structured_and_carry_the_event_keys(
    handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
) -> None:
    event = load_event("sqs-completed.json")
    video_id = video_id_of(vod_body(event))
    stand_in.add_video(video_id)
    handler.lambda_handler(event, context)
    logs = output().logs
    [vod_log] = [log for log in logs if log["message"] == VOD_CALL_LOG_MESSAGE]
    assert vod_log["videoId"] == video_id
    assert vod_log["outcome"] == "completed"
    assert vod_log["trigger"] == "sqs"
    assert vod_log["vodRequestId"] == stand_in.requests[0].request_id
    assert vod_log["messageId"] == event["Records"][0]["messageId"]
    assert vod_log["function_request_id"] == context.aws_request_id
    assert vod_log["service"] == "vod-parts-cleanup"


def test_the_metrics_namespace_comes_from_the_settings(
    handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(handler, metrics_namespace="Custom", service_name="svc")
    handler.lambda_handler(load_event("direct-ignored.json"), context)
    [metric] = output().metrics
    assert (metric.namespace, metric.dimensions) == ("Custom", {"service": "svc"})


def test_every_metric_has_a_service_total_for_alarms_and_a_detailed_breakdown(
    handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An alarm must name every dimension of its metric: the `service` set is what it watches."""
    event = load_event("direct-failed.json")
    stand_in.add_video(event["VideoId"])
    stand_in.fail_next("Forbidden.RAM", status=403)
    with pytest.raises(CleanupFailedError):
        handler.lambda_handler(event, context)
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    [failed] = [record for record in records if "CleanupFailed" in record]
    [directive] = failed["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["service"], ["service", "Outcome", "ErrorKind"]]
    assert (failed["service"], failed["Outcome"], failed["ErrorKind"]) == (
        "vod-parts-cleanup",
        "failed",
        "configuration",
    )
