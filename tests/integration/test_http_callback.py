"""VOD's signed HTTP callbacks through API Gateway (HTTP API, payload 2.0), end to end: the real
deployed_handler, the real signature check, moto SQS (the work queue the receiver hands off to) and
DynamoDB (idempotency), the consumer on what was queued, and the local VOD over real HTTP."""

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.support import (
    CALLBACK_KEY,
    CALLBACK_URL,
    BrownoutProxy,
    FunctionUnderTest,
    IdempotencyTable,
    MotoQueue,
    ReadOutputFixture,
    configure,
    load_event,
    signed,
    vod_signature,
)
from vod_parts_cleanup.shared.vod_callback import KEY_FAILURE_PAUSE_SECONDS
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.vod_server import LocalVod


def body_of(event: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(event["body"]))


def answer_of(response: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    assert response["headers"]["content-type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def callback(name: str = "http-completed.json", age: int = 0, **signing: Any) -> dict[str, Any]:
    """A sample callback signed ``age`` seconds ago (or as asked) with the local key."""
    if age:
        signing["timestamp"] = int(time.time()) - age
    return signed(load_event(name), **signing)


# --- accepted callbacks -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "outcome"),
    [
        ("http-completed.json", "completed"),
        ("http-failed.json", "failed"),
        ("http-manual.json", "manual"),
    ],
)
def test_signed_callbacks_are_queued_answered_200_and_cleaned_by_the_consumer(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    work_queue: MotoQueue,
    output: ReadOutputFixture,
    name: str,
    outcome: str,
) -> None:
    event = callback(name)
    video_id = body_of(event)["VideoId"]
    stand_in.add_video(video_id)
    status, answer = answer_of(deployed_handler.lambda_handler(event, context))
    assert (status, answer["status"]) == (200, "queued")
    # The receiver never calls VOD, nor reads the body: it hands off, and the paced consumer
    # reads and cleans.
    assert stand_in.requests == []
    [message] = work_queue.receive()
    assert message["MessageId"] == answer["messageId"]
    assert message["Body"] == event["body"]
    attributes = message["MessageAttributes"]
    assert attributes["trigger"]["StringValue"] == "http"
    assert float(attributes["receivedAt"]["StringValue"]) == pytest.approx(
        event["requestContext"]["timeEpoch"] / 1000
    )
    emitted = output()
    assert emitted.metric_names() == ["CallbackQueued"]

    assert work_queue.drain(deployed_handler, context) == [{"batchItemFailures": []}]
    assert not stand_in.has_parts(video_id)
    [deleted] = output().counted("PartsDeleted")
    assert deleted.dimensions["Outcome"] == outcome


def test_the_documented_example_signature_is_accepted(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """VOD's own example (URL, key test123) passes the check, signed now for freshness."""
    url = "https://www.example.com/your/callback"
    configure(deployed_handler, callback_urls=(url,), callback_auth_key="test123")
    event = callback(url=url, key="test123")
    stand_in.add_video(body_of(event)["VideoId"])
    assert deployed_handler.lambda_handler(event, context)["statusCode"] == 200


def test_a_base64_body_is_decoded(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    work_queue: MotoQueue,
) -> None:
    event = callback()
    stand_in.add_video(body_of(event)["VideoId"])
    text = event["body"]
    event["body"] = base64.b64encode(text.encode()).decode()
    event["isBase64Encoded"] = True
    assert answer_of(deployed_handler.lambda_handler(event, context))[1]["status"] == "queued"
    [message] = work_queue.receive()
    assert message["Body"] == text


@pytest.mark.parametrize(
    ("timestamp_header", "signature_header"),
    [
        ("X-VOD-TIMESTAMP", "X-VOD-SIGNATURE"),
        ("x-vod-timestamp", "x-vod-signature"),
        ("X-Vod-Timestamp", "x-VOD-signature"),
    ],
)
def test_header_names_are_matched_in_any_case(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    timestamp_header: str,
    signature_header: str,
) -> None:
    event = callback()
    headers = event["headers"]
    headers[timestamp_header] = headers.pop("x-vod-timestamp")
    headers[signature_header] = headers.pop("x-vod-signature")
    stand_in.add_video(body_of(event)["VideoId"])
    assert deployed_handler.lambda_handler(event, context)["statusCode"] == 200


# (The exact edges are checked on a fixed clock in tests/unit/test_callback_auth.py.)
@pytest.mark.parametrize("age", [-295, 0, 295])
def test_a_timestamp_inside_the_window_is_fresh(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod, context: LocalLambdaContext, age: int
) -> None:
    event = callback(age=age)
    stand_in.add_video(body_of(event)["VideoId"])
    assert deployed_handler.lambda_handler(event, context)["statusCode"] == 200


@pytest.mark.parametrize(
    "name", ["http-ignored.json", "http-transcode-ignored.json", "http-unsigned.json"]
)
def test_non_upload_events_are_queued_and_ignored_by_the_consumer_without_calling_vod(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    idempotency_table: IdempotencyTable,
    work_queue: MotoQueue,
    output: ReadOutputFixture,
    name: str,
) -> None:
    """VOD sends every event type to one URL; the receiver does not read bodies (intake's
    tolerant reading lives in one place, the consumer), so it queues them all."""
    event = callback(name)
    if name == "http-unsigned.json":  # an upload event made into a transcode notification
        event = signed(
            event, body=json.dumps(body_of(event) | {"EventType": "StreamTranscodeComplete"})
        )
    status, answer = answer_of(deployed_handler.lambda_handler(event, context))
    assert (status, answer["status"]) == (200, "queued")
    assert work_queue.drain(deployed_handler, context) == [{"batchItemFailures": []}]
    assert stand_in.requests == []
    assert output().counted("EventIgnored")
    assert idempotency_table.items() == []


def test_any_of_several_callback_urls_is_accepted(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Uploads can carry their own callback URL, so VOD may sign any of the configured ones."""
    custom = "https://uploads.example.com/vod/callback?tenant=7"
    configure(deployed_handler, callback_urls=(CALLBACK_URL, custom))
    for url in (CALLBACK_URL, custom):
        event = callback(url=url)
        stand_in.add_video(body_of(event)["VideoId"])
        assert deployed_handler.lambda_handler(event, context)["statusCode"] == 200


# --- rejected callbacks -------------------------------------------------------------------


def _without(*names: str) -> Callable[[dict[str, Any]], None]:
    def remove(event: dict[str, Any]) -> None:
        for name in names:
            del event["headers"][name]

    return remove


def _header(name: str, value: str) -> Callable[[dict[str, Any]], None]:
    def replace(event: dict[str, Any]) -> None:
        event["headers"][name] = value

    return replace


REJECTIONS: dict[str, tuple[dict[str, Any], Callable[[dict[str, Any]], None] | None, str]] = {
    "wrong key": ({"key": "not-the-key"}, None, "bad_signature"),
    "wrong url": ({"url": "https://www.example.com/your/callback"}, None, "bad_signature"),
    "stale": ({"age": 301}, None, "stale_timestamp"),
    "future": ({"age": -301}, None, "future_timestamp"),
    "missing timestamp": ({}, _without("x-vod-timestamp"), "missing_header"),
    "missing signature": ({}, _without("x-vod-signature"), "missing_header"),
    "missing both": ({}, _without("x-vod-timestamp", "x-vod-signature"), "missing_header"),
    "non-numeric timestamp": ({}, _header("x-vod-timestamp", "17951625x1"), "malformed_timestamp"),
    "empty timestamp": ({}, _header("x-vod-timestamp", ""), "malformed_timestamp"),
    "signature not hex": ({}, _header("x-vod-signature", "z" * 32), "malformed_signature"),
    "signature truncated": ({}, _header("x-vod-signature", "ab6de96b"), "malformed_signature"),
}


@pytest.mark.parametrize("case", REJECTIONS)
def test_callbacks_that_do_not_authenticate_get_401_and_never_reach_vod(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
    idempotency_table: IdempotencyTable,
    work_queue: MotoQueue,
    case: str,
) -> None:
    signing, change, reason = REJECTIONS[case]
    event = callback(**signing)
    if change is not None:
        change(event)
    stand_in.add_video(body_of(event)["VideoId"])
    status, answer = answer_of(deployed_handler.lambda_handler(event, context))
    assert status == 401
    assert answer == {"status": "rejected", "errorCode": "CallbackUnauthorized", "reason": reason}
    assert stand_in.requests == []
    assert idempotency_table.items() == []
    assert work_queue.receive() == []
    emitted = output()
    [rejected] = emitted.counted("CallbackRejected")
    assert rejected.dimensions == {"service": "vod-parts-cleanup", "Reason": reason}
    [warning] = [log for log in emitted.logs if log["level"] == "WARNING"]
    assert (warning["reason"], warning["sourceIp"]) == (reason, "203.0.113.45")


def test_the_sample_without_signature_headers_is_refused(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod, context: LocalLambdaContext
) -> None:
    event = load_event("http-unsigned.json")
    stand_in.add_video(body_of(event)["VideoId"])
    status, answer = answer_of(deployed_handler.lambda_handler(event, context))
    assert (status, answer["reason"]) == (401, "missing_header")
    assert stand_in.has_parts(body_of(event)["VideoId"])


def test_the_samples_signatures_are_fixed_in_time_and_so_are_stale_now(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod, context: LocalLambdaContext
) -> None:
    """The samples as stored: signed correctly, but long ago."""
    event = load_event("http-completed.json")
    headers = event["headers"]
    assert headers["x-vod-signature"] == vod_signature(
        CALLBACK_URL, headers["x-vod-timestamp"], CALLBACK_KEY
    )
    status, answer = answer_of(deployed_handler.lambda_handler(event, context))
    assert (status, answer["reason"]) == (401, "stale_timestamp")


def test_the_sample_signed_with_another_key_is_refused(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod, context: LocalLambdaContext
) -> None:
    stored = load_event("http-wrong-key.json")
    event = signed(stored, key="an-old-callback-key")
    status, answer = answer_of(deployed_handler.lambda_handler(event, context))
    assert (status, answer["reason"]) == (401, "bad_signature")
    assert stand_in.requests == []


def test_authentication_comes_before_the_body_is_read(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
) -> None:
    for body in ("not json{", "x" * (64 * 1024 + 1)):
        event = callback(key="not-the-key", body=body)
        assert deployed_handler.lambda_handler(event, context)["statusCode"] == 401
    assert output().metric_names() == ["CallbackRejected", "CallbackRejected"]


def test_only_post_is_accepted(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod, context: LocalLambdaContext
) -> None:
    event = callback()
    event["requestContext"]["http"]["method"] = "GET"
    assert deployed_handler.lambda_handler(event, context)["statusCode"] == 405
    assert stand_in.requests == []


# --- key rotation -------------------------------------------------------------------------


def assert_answers(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    expected: dict[str, int],
) -> None:
    """A callback signed with each key gets the expected HTTP status."""
    for key, status in expected.items():
        event = callback(key=key)
        stand_in.add_video(body_of(event)["VideoId"])
        assert deployed_handler.lambda_handler(event, context)["statusCode"] == status, key


def test_during_a_rotation_both_keys_are_accepted_and_no_other(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(deployed_handler, callback_next_auth_key="the-next-key")
    assert_answers(
        deployed_handler,
        stand_in,
        context,
        {CALLBACK_KEY: 200, "the-next-key": 200, "a-third-key": 401},
    )


def test_keys_come_from_secrets_manager_with_the_next_key(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    secrets: Any,
) -> None:
    secret = secrets.create_secret(
        Name="vod/callback-auth-key",
        SecretString=json.dumps({"AuthKey": "current-key", "NextAuthKey": "next-key"}),
    )
    configure(
        deployed_handler,
        callback_auth_key=None,
        callback_auth_key_secret_id=secret["ARN"],
    )
    assert_answers(
        deployed_handler,
        stand_in,
        context,
        {"current-key": 200, "next-key": 200, CALLBACK_KEY: 401},
    )


def test_a_key_changed_in_the_secret_is_picked_up_at_the_first_mismatch(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    secrets: Any,
) -> None:
    """Within the cache's lifetime: a mismatch reads the secret again before refusing."""
    secrets.create_secret(Name="vod/callback-auth-key", SecretString="old-key")
    configure(
        deployed_handler,
        callback_auth_key=None,
        callback_auth_key_secret_id="vod/callback-auth-key",
    )
    assert_answers(deployed_handler, stand_in, context, {"old-key": 200})
    secrets.put_secret_value(SecretId="vod/callback-auth-key", SecretString="new-key")
    assert_answers(deployed_handler, stand_in, context, {"new-key": 200})


def test_a_secrets_manager_brownout_costs_one_read_per_pause_and_no_callback_its_latency(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    secrets: Any,
    aws_endpoints: str,
) -> None:
    """The cache has expired and Secrets Manager hangs: before, each callback spent 2.1 s
    and 2 requests; now the keys in hand serve, one refresh runs behind the callbacks (one
    attempt), and after it fails none is tried for KEY_FAILURE_PAUSE_SECONDS."""
    secrets.create_secret(Name="vod/callback-auth-key", SecretString=CALLBACK_KEY)
    with BrownoutProxy(aws_endpoints) as secrets_manager:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", secrets_manager.url)
        configure(
            deployed_handler,
            callback_auth_key=None,
            callback_auth_key_secret_id="vod/callback-auth-key",
            callback_auth_key_cache_seconds=60,
        )
        assert deployed_handler.lambda_handler(callback(), context)["statusCode"] == 200
        assert secrets_manager.requests == 1
        secrets_manager.hanging = True
        deployed_handler.clock.sleep(61)  # the cache has expired

        spent: list[float] = []
        statuses: list[int] = []
        for _ in range(50):  # one a second of simulated time, about two pauses
            now = deployed_handler.clock.time()  # VOD's and API Gateway's clocks
            event = callback(timestamp=int(now))
            event["requestContext"]["timeEpoch"] = int(now * 1000)
            stand_in.add_video(body_of(event)["VideoId"])
            started = time.monotonic()
            statuses.append(deployed_handler.lambda_handler(event, context)["statusCode"])
            spent.append(time.monotonic() - started)
            deployed_handler.clock.sleep(1.2)

    assert statuses == [200] * 50
    assert max(spent) < 0.1, f"slowest callback {max(spent) * 1000:.0f} ms"
    periods = 1 + int(50 * 1.2 // KEY_FAILURE_PAUSE_SECONDS)
    assert 1 <= secrets_manager.requests - 1 <= periods


def test_an_unreadable_key_secret_answers_503_so_vod_retries(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    output: ReadOutputFixture,
    aws: None,
) -> None:
    configure(
        deployed_handler,
        callback_auth_key=None,
        callback_auth_key_secret_id="vod/no-such-secret",
    )
    status, answer = answer_of(deployed_handler.lambda_handler(callback(), context))
    assert (status, answer["reason"]) == (503, "auth_unavailable")
    assert stand_in.requests == []
    [rejected] = output().counted("CallbackRejected")
    assert rejected.dimensions["Reason"] == "auth_unavailable"


@pytest.mark.parametrize(
    "changes",
    [{"callback_urls": ()}, {"callback_auth_key": None}],
    ids=["no callback url", "no auth key"],
)
def test_without_authentication_configured_no_callback_is_accepted(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    output: ReadOutputFixture,
    changes: dict[str, Any],
) -> None:
    configure(deployed_handler, **changes)
    event = callback()
    stand_in.add_video(body_of(event)["VideoId"])
    status, answer = answer_of(deployed_handler.lambda_handler(event, context))
    assert (status, answer["reason"]) == (500, "not_configured")
    assert stand_in.requests == []
    emitted = output()
    assert emitted.metric_names() == ["CallbackRejected"]
    assert any(log["level"] == "ERROR" for log in emitted.logs)


# --- one header pair, many notifications --------------------------------------------------


def test_different_notifications_sharing_one_header_pair_are_all_accepted(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    idempotency_table: IdempotencyTable,
    work_queue: MotoQueue,
    output: ReadOutputFixture,
) -> None:
    """VOD signs every callback of one second with the same pair: five uploads ending
    together arrive with identical headers and different bodies. Each is cleaned once, and
    authenticating a callback writes nothing to the table of its own."""
    timestamp = int(time.time())
    template = load_event("http-completed.json")
    video_ids = [f"{number:032x}" for number in range(1, 6)]
    events = []
    for video_id in video_ids:
        stand_in.add_video(video_id)
        body = json.dumps(body_of(template) | {"VideoId": video_id})
        events.append(signed(template, timestamp=timestamp, body=body))
    pairs = {(e["headers"]["x-vod-timestamp"], e["headers"]["x-vod-signature"]) for e in events}
    assert len(pairs) == 1

    answers = [answer_of(deployed_handler.lambda_handler(event, context)) for event in events]
    assert [(status, answer["status"]) for status, answer in answers] == [(200, "queued")] * 5
    assert "CallbackRejected" not in output().metric_names()
    # Authenticating them wrote nothing: the table holds only what the consumer remembers.
    assert idempotency_table.items() == []
    assert work_queue.drain(deployed_handler, context) == [{"batchItemFailures": []}]
    assert not any(stand_in.has_parts(video_id) for video_id in video_ids)
    deletes = [r.query["MediaId"] for r in stand_in.requests if r.action == "DeleteMultipartUpload"]
    assert sorted(deletes) == video_ids
    assert len(idempotency_table.items()) == 5  # one per notification

    # VOD's own retry of one of them (same pair, same body) deletes nothing again.
    status, again = answer_of(deployed_handler.lambda_handler(events[2], context))
    assert (status, again["status"]) == (200, "queued")
    assert work_queue.drain(deployed_handler, context) == [{"batchItemFailures": []}]
    deletes = [r for r in stand_in.requests if r.action == "DeleteMultipartUpload"]
    assert len(deletes) == 5
    assert "IdempotentReplay" in output().metric_names()


# --- what the body claims, confirmed with VOD by the consumer --------------------------------


def test_a_callback_is_confirmed_with_vod_before_the_delete(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    work_queue: MotoQueue,
    output: ReadOutputFixture,
) -> None:
    event = callback()
    video_id = body_of(event)["VideoId"]
    stand_in.add_video(video_id, status="UploadSucc")
    deployed_handler.lambda_handler(event, context)
    assert work_queue.drain(deployed_handler, context) == [{"batchItemFailures": []}]
    assert [(r.action, r.status) for r in stand_in.requests] == [
        ("GetVideoInfo", 200),
        ("DeleteMultipartUpload", 200),
    ]
    assert stand_in.requests[0].query == {"VideoId": video_id}
    [result] = [log["result"] for log in output().logs if "result" in log]
    assert (result["status"], result["attempts"]) == ("deleted", 2)


def test_a_callback_for_a_video_still_uploading_is_skipped_but_the_same_via_sqs_is_cleaned(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    work_queue: MotoQueue,
    output: ReadOutputFixture,
) -> None:
    """A forged (or premature) 'upload ended' for an upload in progress deletes nothing; an
    uploader reporting its own failed resumable upload through SQS (IAM) is believed."""
    event = callback("http-failed.json")
    video_id = body_of(event)["VideoId"]
    stand_in.add_video(video_id, status="Uploading")
    status, answer = answer_of(deployed_handler.lambda_handler(event, context))
    assert (status, answer["status"]) == (200, "queued")
    # Skipped is an answer, not a failure: the message is done with.
    assert work_queue.drain(deployed_handler, context) == [{"batchItemFailures": []}]
    assert [r.action for r in stand_in.requests] == ["GetVideoInfo"]
    assert stand_in.has_parts(video_id)
    emitted = output()
    [skipped] = emitted.counted("CleanupSkipped")
    assert skipped.dimensions["Reason"] == "upload_in_progress"
    [warning] = [log for log in emitted.logs if log.get("result", {}).get("status") == "skipped"]
    assert warning["level"] == "WARNING"
    assert (warning["result"]["reason"], warning["result"]["videoId"]) == (
        "upload_in_progress",
        video_id,
    )

    record = load_event("sqs-failed.json")
    record["Records"][0]["body"] = event["body"]
    assert deployed_handler.lambda_handler(record, context) == {"batchItemFailures": []}
    assert not stand_in.has_parts(video_id)
    assert [r.action for r in stand_in.requests] == ["GetVideoInfo", "DeleteMultipartUpload"]


def test_a_callback_for_a_video_vod_does_not_know_deletes_nothing(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    work_queue: MotoQueue,
    output: ReadOutputFixture,
) -> None:
    deployed_handler.lambda_handler(callback(), context)
    assert work_queue.drain(deployed_handler, context) == [{"batchItemFailures": []}]
    assert [r.action for r in stand_in.requests] == ["GetVideoInfo"]
    [result] = [log["result"] for log in output().logs if "result" in log]
    assert (result["status"], result["errorCode"]) == ("media_not_found", "InvalidVideo.NotFound")


def test_the_confirmation_can_be_turned_off(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    work_queue: MotoQueue,
) -> None:
    configure(deployed_handler, callback_confirm_upload=False)
    event = callback()
    stand_in.add_video(body_of(event)["VideoId"], status="Uploading")
    deployed_handler.lambda_handler(event, context)
    work_queue.drain(deployed_handler, context)
    assert [r.action for r in stand_in.requests] == ["DeleteMultipartUpload"]
    assert not stand_in.has_parts(body_of(event)["VideoId"])


def test_a_status_check_vod_refuses_keeps_the_message(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    work_queue: MotoQueue,
    output: ReadOutputFixture,
) -> None:
    """E.g. a RAM policy without vod:GetVideoInfo: a configuration error, the event is kept."""
    event = callback()
    video_id = body_of(event)["VideoId"]
    stand_in.add_video(video_id)
    stand_in.fail_next("Forbidden.RAM", status=403, action="GetVideoInfo")
    deployed_handler.lambda_handler(event, context)
    [response] = work_queue.drain(deployed_handler, context)
    assert len(response["batchItemFailures"]) == 1
    assert stand_in.has_parts(video_id)
    [failed] = output().counted("CleanupFailed")
    assert failed.dimensions["ErrorKind"] == "configuration"


def queue_callbacks_for(
    function: FunctionUnderTest, stand_in: LocalVod, context: LocalLambdaContext, **videos: str
) -> None:
    """One signed 'upload completed' callback per video, handed to the work queue; a video
    with status "" is one VOD does not know."""
    template = load_event("http-completed.json")
    for video_id, status in videos.items():
        if status:
            stand_in.add_video(video_id, status=status)
        body = json.dumps(body_of(template) | {"VideoId": video_id})
        function.lambda_handler(signed(template, body=body), context)


def test_a_batch_of_callbacks_is_confirmed_in_one_call(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    work_queue: MotoQueue,
    output: ReadOutputFixture,
) -> None:
    """GetVideoInfos reads up to 20 statuses at once: a batch costs one check, not one each."""
    finished = {f"{number:032x}": "UploadSucc" for number in range(1, 5)}
    uploading, unknown = "a" * 32, "b" * 32
    queue_callbacks_for(
        deployed_handler, stand_in, context, **finished, **{uploading: "Uploading", unknown: ""}
    )

    assert work_queue.drain(deployed_handler, context) == [{"batchItemFailures": []}]

    [check] = [r for r in stand_in.requests if r.action != "DeleteMultipartUpload"]
    assert check.action == "GetVideoInfos"
    assert sorted(check.query["VideoIds"].split(",")) == sorted([*finished, uploading, unknown])
    deletes = [r.query["MediaId"] for r in stand_in.requests if r.action != "GetVideoInfos"]
    assert sorted(deletes) == sorted(finished)
    assert stand_in.has_parts(uploading)
    results = {log["result"]["videoId"]: log["result"] for log in output().logs if "result" in log}
    assert {video: results[video]["status"] for video in finished} == dict.fromkeys(
        finished, "deleted"
    )
    assert results[uploading]["reason"] == "upload_in_progress"
    assert results[unknown]["status"] == "media_not_found"


def test_a_batch_check_vod_refuses_falls_back_to_one_check_each(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    work_queue: MotoQueue,
) -> None:
    """E.g. a RAM policy from before vod:GetVideoInfos: each claim is checked on its own."""
    videos = {f"{number:032x}": "UploadSucc" for number in range(1, 4)}
    queue_callbacks_for(deployed_handler, stand_in, context, **videos)
    stand_in.fail_next("Forbidden.RAM", status=403, action="GetVideoInfos")

    assert work_queue.drain(deployed_handler, context) == [{"batchItemFailures": []}]

    actions = [r.action for r in stand_in.requests]
    assert actions.count("GetVideoInfos") == 1
    assert (actions.count("GetVideoInfo"), actions.count("DeleteMultipartUpload")) == (3, 3)
    assert not any(stand_in.has_parts(video_id) for video_id in videos)


# --- bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["not json{", "[]", "", '"a string"'])
def test_a_malformed_body_is_answered_400_after_authentication(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
    body: str,
) -> None:
    status, answer = answer_of(deployed_handler.lambda_handler(callback(body=body), context))
    assert (status, answer["errorCode"]) == (400, "MalformedEvent")
    assert stand_in.requests == []
    assert output().metric_names() == ["EventRejected"]


def test_a_body_over_64_kib_is_answered_413_after_authentication(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
) -> None:
    event = callback()
    padded = body_of(event) | {"Extend": "x" * (64 * 1024)}
    status, answer = answer_of(
        deployed_handler.lambda_handler(signed(event, body=json.dumps(padded)), context)
    )
    assert (status, answer["errorCode"]) == (413, "BodyTooLarge")
    assert stand_in.requests == []
    assert output().metric_names() == ["EventRejected"]


def test_a_callback_with_a_bad_video_id_is_rejected_by_the_consumer_without_calling_vod(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    work_queue: MotoQueue,
    output: ReadOutputFixture,
) -> None:
    """Never cleaned, and kept: the consumer reports it failed, so after its retries it
    waits in the dead-letter queue for a person."""
    event = callback(body=json.dumps({"VideoId": "../x"}))
    status, answer = answer_of(deployed_handler.lambda_handler(event, context))
    assert (status, answer["status"]) == (200, "queued")
    assert work_queue.drain(deployed_handler, context) == [
        {"batchItemFailures": [{"itemIdentifier": answer["messageId"]}]}
    ]
    assert stand_in.requests == []
    [rejected] = [
        log for log in output().logs if log["message"] == "event rejected, VOD not called"
    ]
    assert rejected["result"]["errorCode"] == "InvalidVideoId"


# --- the hand-off ---------------------------------------------------------------------------


def test_the_receiver_never_calls_vod_even_when_vod_fails(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    work_queue: MotoQueue,
    output: ReadOutputFixture,
) -> None:
    """VOD failing does not concern VOD's callback: it is answered 200 at once, and the
    failure meets the consumer, which keeps the message for a retry."""
    configure(deployed_handler, max_attempts=1)
    event = callback()
    video_id = body_of(event)["VideoId"]
    stand_in.add_video(video_id)
    stand_in.fail_video(video_id, "InternalError", status=500)
    status, answer = answer_of(deployed_handler.lambda_handler(event, context))
    assert (status, answer["status"]) == (200, "queued")
    assert stand_in.requests == []
    [response] = work_queue.drain(deployed_handler, context)
    assert response == {"batchItemFailures": [{"itemIdentifier": answer["messageId"]}]}
    [failed] = output().counted("CleanupFailed")
    assert failed.dimensions["ErrorKind"] == "transient"
    # Fixed: the message, received again after its visibility timeout, is cleaned.
    stand_in.clear_video_failure(video_id)
    work_queue.make_visible_again()
    assert work_queue.drain(deployed_handler, context) == [{"batchItemFailures": []}]
    assert not stand_in.has_parts(video_id)


def test_a_failed_hand_off_is_answered_503_so_vod_delivers_again(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    work_queue: MotoQueue,
    output: ReadOutputFixture,
) -> None:
    good_queue = work_queue.url
    configure(deployed_handler, work_queue_url=good_queue.rsplit("/", 1)[0] + "/no-such-queue")
    event = callback()
    stand_in.add_video(body_of(event)["VideoId"])
    status, answer = answer_of(deployed_handler.lambda_handler(event, context))
    assert (status, answer["status"]) == (503, "failed")
    assert stand_in.requests == []
    emitted = output()
    assert "CallbackQueued" not in emitted.metric_names()
    [error] = [log for log in emitted.logs if log["level"] == "ERROR"]
    assert error["detail"] == ("the work queue did not take the message: QueueDoesNotExist")
    # VOD's retry, once the queue is back, is taken and cleaned.
    configure(deployed_handler, work_queue_url=good_queue)
    assert deployed_handler.lambda_handler(event, context)["statusCode"] == 200
    assert work_queue.drain(deployed_handler, context) == [{"batchItemFailures": []}]
    assert not stand_in.has_parts(body_of(event)["VideoId"])


def test_without_a_work_queue_a_callback_is_answered_503(
    idempotent_handler: FunctionUnderTest, stand_in: LocalVod, context: LocalLambdaContext
) -> None:
    configure(idempotent_handler, work_queue_url=None)
    event = callback()
    stand_in.add_video(body_of(event)["VideoId"])
    assert idempotent_handler.lambda_handler(event, context)["statusCode"] == 503
    assert stand_in.requests == []


# --- secrets ------------------------------------------------------------------------------


def test_no_key_or_signature_appears_in_any_log_or_answer(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    work_queue: MotoQueue,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    next_key = "next-callback-key-0042"
    configure(deployed_handler, max_attempts=1, callback_next_auth_key=next_key)
    events = [
        callback(),
        callback(key=next_key),
        callback(key="a-wrong-key-0043"),
        callback(age=1000),
        callback(age=-1000),
        callback(url="https://www.example.com/your/callback"),
    ]
    same_pair = json.loads(json.dumps(events[0]))
    same_pair["body"] = json.dumps(body_of(same_pair) | {"VideoId": "0123456789abcdef0123456789"})
    events.append(same_pair)
    failing = callback("http-failed.json")
    stand_in.fail_video(body_of(failing)["VideoId"], "InternalError", status=500)
    events.insert(0, failing)
    answers = []
    for event in events:
        stand_in.add_video(body_of(event)["VideoId"])
        answers.append(json.dumps(deployed_handler.lambda_handler(event, context)))
    answers += [json.dumps(response) for response in work_queue.drain(deployed_handler, context)]
    written = capsys.readouterr()
    everything = "\n".join([written.out, written.err, caplog.text, *answers])
    assert "CallbackRejected" in everything  # the rejections were logged and counted
    secrets = {CALLBACK_KEY, next_key, "a-wrong-key-0043"}
    secrets |= {event["headers"]["x-vod-signature"] for event in events}
    for secret in secrets:
        assert secret not in everything
