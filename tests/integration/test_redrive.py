"""scripts/redrive.py against moto SQS: every readable message reaches the work queue exactly
once, and no message leaves the failed-events queue before the work queue has its payload."""

import io
import json
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sqs.models import sqs_backends

from scripts.redrive import (
    EXIT_BAD_ARGUMENTS,
    EXIT_FAILED,
    EXIT_OK,
    PayloadKind,
    main,
    preview,
    read_payload,
    redrive,
    region_from_queue_url,
)
from tests.support import FunctionUnderTest, MotoQueue, load_event
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.vod_server import LocalVod

REGION = "us-east-1"
NOT_JSON = "not json at all{"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:vod-parts-cleanup:$LATEST"


def video_id(number: int) -> str:
    return f"{number:032x}"


def vod_body(number: int) -> dict[str, Any]:
    body = load_event("direct-completed.json")
    body["VideoId"] = video_id(number)
    return body


def eventbridge_event(body: dict[str, Any]) -> dict[str, Any]:
    event = load_event("eventbridge-completed.json")
    event["detail"] = body
    return event


def lambda_failure_record(payload: object) -> dict[str, Any]:
    """What Lambda's on-failure destination puts in the queue after the last retry."""
    return {
        "version": "1.0",
        "timestamp": "2026-11-20T08:16:02.114Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-4e8e-a79d-3a9ab9f4e4e4",
            "functionArn": FUNCTION_ARN,
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": payload,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {"errorMessage": "VOD throttled the call", "errorType": "CleanupFailed"},
    }


def failed_events_mix() -> tuple[list[str], list[dict[str, Any]]]:
    """25 source bodies of every shape, and the 24 payloads the work queue must get."""
    bodies: list[str] = []
    payloads: list[dict[str, Any]] = []
    for number in range(24):
        payload = vod_body(number)
        if number % 4 == 3:
            payload = {"VideoId": video_id(number)}  # the manual form of a direct invocation
        if number % 5 == 0:
            payload["Extend"] = '{"title": "上传测试 ✓"}'  # not ASCII, as VOD titles often are
        shape = number % 3
        if shape == 0:
            body = lambda_failure_record(payload)
        elif shape == 1:
            body = eventbridge_event(payload)
        elif number % 2:
            body = lambda_failure_record(eventbridge_event(payload))
        else:
            body = payload
        bodies.append(json.dumps(body))
        payloads.append(payload)
    bodies.insert(7, NOT_JSON)
    return bodies, payloads


def sqs() -> Any:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def failed_events(aws: None) -> str:
    return str(sqs().create_queue(QueueName="vod-parts-cleanup-failed-events")["QueueUrl"])


def put(queue_url: str, bodies: list[str]) -> None:
    client = sqs()
    for body in bodies:
        client.send_message(QueueUrl=queue_url, MessageBody=body)


def everything_in(queue_url: str) -> list[str]:
    """Every body in a moto queue, visible or not: what the next run will find there."""
    queue = sqs_backends[DEFAULT_ACCOUNT_ID][REGION].get_queue(queue_url.rsplit("/", 1)[-1])
    return [message.body for message in queue._messages]


def receive_all(queue_url: str) -> list[dict[str, Any]]:
    """Every message visible now (receiving hides each one, so none comes twice)."""
    client = sqs()
    messages: list[dict[str, Any]] = []
    while batch := client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        messages.extend(batch)
    return messages


def canonical(documents: list[Any]) -> list[str]:
    return sorted(json.dumps(document, sort_keys=True) for document in documents)


def summary_lines(text: str) -> dict[str, int]:
    """The summary's counts: ``received    25`` -> {"received": 25}."""
    counts = {}
    for line in text.splitlines():
        label, _, rest = line.partition("  ")
        words = rest.split()
        if label.strip() and words and words[0].isdigit():
            counts[label.strip()] = int(words[0])
    return counts


def run(*arguments: str) -> int:
    return main(list(arguments))


def test_every_readable_message_is_moved_once_and_unchanged(
    failed_events: str, work_queue: MotoQueue, capsys: pytest.CaptureFixture[str]
) -> None:
    bodies, payloads = failed_events_mix()
    put(failed_events, bodies)

    status = run("--from", failed_events, "--to", work_queue.url)

    out = capsys.readouterr().out
    assert status == EXIT_OK
    arrived = [message["Body"] for message in receive_all(work_queue.url)]
    assert canonical([json.loads(body) for body in arrived]) == canonical(payloads)
    # A body that already was the notification arrives byte for byte as it was sent.
    plain = [body for body in bodies if body != NOT_JSON and json.loads(body) in payloads]
    assert plain
    assert set(plain) <= set(arrived)
    assert everything_in(failed_events) == [NOT_JSON]
    assert summary_lines(out) == {"received": 25, "moved": 24, "failed": 0, "unreadable": 1}
    assert "unreadable: the body is not valid JSON" in out
    assert NOT_JSON not in out


def test_an_empty_queue_is_a_run_with_nothing_to_do(
    failed_events: str, work_queue: MotoQueue, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("--from", failed_events, "--to", work_queue.url) == EXIT_OK
    assert summary_lines(capsys.readouterr().out) == {
        "received": 0,
        "moved": 0,
        "failed": 0,
        "unreadable": 0,
    }
    assert receive_all(work_queue.url) == []


def test_a_work_queue_that_refuses_every_message_leaves_them_all_and_fails(
    failed_events: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A FIFO queue refuses a message without MessageGroupId: the batch call fails, then
    # each message sent on its own fails too.
    fifo = sqs().create_queue(QueueName="work.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    bodies = [json.dumps(lambda_failure_record(vod_body(number))) for number in range(12)]
    put(failed_events, bodies)

    status = run("--from", failed_events, "--to", fifo)

    out = capsys.readouterr().out
    assert status == EXIT_FAILED
    assert sorted(everything_in(failed_events)) == sorted(bodies)
    assert everything_in(fifo) == []
    assert summary_lines(out) == {"received": 12, "moved": 0, "failed": 12, "unreadable": 0}
    assert out.count("not sent: MissingParameter") == 12


def test_a_source_queue_that_cannot_be_read_fails_the_run(
    aws: None, work_queue: MotoQueue, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = "https://sqs.us-east-1.amazonaws.com/123456789012/no-such-queue"

    assert run("--from", missing, "--to", work_queue.url) == EXIT_FAILED
    assert "error: could not receive from the source queue: " in capsys.readouterr().out


# moto fails a batch entry on its own (listed in ``Failed``, the others succeed) when the
# entry is invalid, so these hooks make chosen entries invalid on their way out of the
# client: SQS (moto) then refuses them for real, and the code under test runs unchanged.


def refuse_sends_naming(client: Any, video_ids: set[str]) -> None:
    def spoil(params: dict[str, Any], **_: Any) -> None:
        for entry in params["Entries"]:
            if any(video_id in entry["MessageBody"] for video_id in video_ids):
                entry["DelaySeconds"] = 901  # SQS allows at most 900

    client.meta.events.register("before-parameter-build.sqs.SendMessageBatch", spoil)


def refuse_deletes_naming(client: Any, video_ids: set[str]) -> None:
    handles: set[str] = set()

    def remember(parsed: dict[str, Any], **_: Any) -> None:
        for message in parsed.get("Messages", []):
            if any(video_id in message["Body"] for video_id in video_ids):
                handles.add(message["ReceiptHandle"])

    def spoil(params: dict[str, Any], **_: Any) -> None:
        for entry in params["Entries"]:
            if entry["ReceiptHandle"] in handles:
                entry["ReceiptHandle"] = "not-a-receipt-handle"

    client.meta.events.register("after-call.sqs.ReceiveMessage", remember)
    client.meta.events.register("before-parameter-build.sqs.DeleteMessageBatch", spoil)


def test_entries_the_work_queue_refuses_stay_in_the_source_queue(
    failed_events: str, work_queue: MotoQueue
) -> None:
    bodies = [json.dumps(lambda_failure_record(vod_body(number))) for number in range(14)]
    put(failed_events, bodies)
    refused = {video_id(2), video_id(9), video_id(13)}
    client = sqs()
    refuse_sends_naming(client, refused)
    out = io.StringIO()

    summary = redrive(client, failed_events, work_queue.url, out=out, wait_seconds=0)

    assert not summary.succeeded
    assert (summary.received, summary.moved, summary.failed) == (14, 11, 3)
    left = [json.loads(body)["requestPayload"]["VideoId"] for body in everything_in(failed_events)]
    assert sorted(left) == sorted(refused)
    arrived = [json.loads(message["Body"])["VideoId"] for message in receive_all(work_queue.url)]
    assert sorted(arrived) == sorted(
        video_id(number) for number in range(14) if video_id(number) not in refused
    )
    assert out.getvalue().count("not sent: InvalidParameterValue") == 3


def test_a_message_too_large_for_the_work_queue_holds_back_only_itself(
    failed_events: str,
) -> None:
    client = sqs()
    small_queue = client.create_queue(
        QueueName="small-work", Attributes={"MaximumMessageSize": "1024"}
    )["QueueUrl"]
    large = vod_body(5) | {"Extend": "x" * 2_000}
    payloads = [large if number == 5 else vod_body(number) for number in range(10)]
    put(failed_events, [json.dumps(lambda_failure_record(payload)) for payload in payloads])

    summary = redrive(client, failed_events, small_queue, out=io.StringIO(), wait_seconds=0)

    assert (summary.received, summary.moved, summary.failed) == (10, 9, 1)
    assert [json.loads(body)["requestPayload"] for body in everything_in(failed_events)] == [large]
    arrived = [json.loads(message["Body"]) for message in receive_all(small_queue)]
    assert canonical(arrived) == canonical([payload for payload in payloads if payload != large])


def test_a_message_sent_but_not_deleted_stays_and_the_run_fails(
    failed_events: str, work_queue: MotoQueue
) -> None:
    bodies = [json.dumps(vod_body(number)) for number in range(3)]
    put(failed_events, bodies)
    client = sqs()
    refuse_deletes_naming(client, {video_id(1)})
    out = io.StringIO()

    summary = redrive(client, failed_events, work_queue.url, out=out, wait_seconds=0)

    assert (summary.received, summary.moved, summary.failed) == (3, 2, 1)
    assert everything_in(failed_events) == [bodies[1]]
    # Its payload did reach the work queue; a rerun sends it again, which the function's
    # idempotency table makes harmless.
    assert sorted(message["Body"] for message in receive_all(work_queue.url)) == sorted(bodies)
    assert "sent, not deleted (a rerun sends it again): ReceiptHandleIsInvalid" in out.getvalue()


def test_a_dry_run_lists_every_message_and_changes_nothing(
    failed_events: str, work_queue: MotoQueue, capsys: pytest.CaptureFixture[str]
) -> None:
    bodies, _payloads = failed_events_mix()
    put(failed_events, bodies)

    status = run("--from", failed_events, "--to", work_queue.url, "--dry-run")

    out = capsys.readouterr().out
    assert status == EXIT_OK
    assert receive_all(work_queue.url) == []
    # Every message is visible again at once, not after the visibility timeout.
    assert sorted(message["Body"] for message in receive_all(failed_events)) == sorted(bodies)
    lines = [line for line in out.splitlines() if line.startswith(("would send", "would keep"))]
    assert len(lines) == 25
    assert sum("unreadable" in line for line in lines) == 1
    for kind in ("lambda-failure/direct", "lambda-failure/eventbridge", "eventbridge-undelivered"):
        assert any(kind in line for line in lines)
    assert sum(f"VideoId={video_id(number)}" in out for number in range(24)) == 24
    assert "oss-cn-shanghai" not in out  # no body is printed
    assert summary_lines(out) == {"received": 25, "would move": 24, "failed": 0, "unreadable": 1}


def test_max_messages_stops_the_run_and_leaves_the_rest(
    failed_events: str, work_queue: MotoQueue
) -> None:
    put(failed_events, [json.dumps(vod_body(number)) for number in range(25)])

    summary = redrive(
        sqs(), failed_events, work_queue.url, max_messages=12, out=io.StringIO(), wait_seconds=0
    )

    assert (summary.received, summary.moved) == (12, 12)
    assert len(receive_all(work_queue.url)) == 12
    assert len(receive_all(failed_events)) == 13


def test_a_dry_run_with_max_messages_also_makes_them_visible_again(failed_events: str) -> None:
    bodies = [json.dumps(vod_body(number)) for number in range(15)]
    put(failed_events, bodies)

    summary = preview(sqs(), failed_events, max_messages=11, out=io.StringIO(), wait_seconds=0)

    assert (summary.received, summary.moved) == (11, 11)
    assert sorted(message["Body"] for message in receive_all(failed_events)) == sorted(bodies)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (NOT_JSON, "the body is not valid JSON"),
        ("[1, 2]", "the body is a JSON list, not an object"),
        ('"VideoId"', "the body is a JSON str, not an object"),
        (json.dumps(lambda_failure_record("text")), "the payload is a JSON str, not an object"),
        (
            json.dumps(load_event("sqs-completed.json")),
            "the payload is an sqs event, not a VOD body",
        ),
    ],
)
def test_what_the_work_queue_could_not_read_is_left_for_a_person(
    failed_events: str, work_queue: MotoQueue, body: str, problem: str
) -> None:
    put(failed_events, [body])
    out = io.StringIO()

    summary = redrive(sqs(), failed_events, work_queue.url, out=out, wait_seconds=0)

    assert summary.succeeded
    assert (summary.received, summary.moved, summary.unreadable) == (1, 0, 1)
    assert everything_in(failed_events) == [body]
    assert receive_all(work_queue.url) == []
    assert f"unreadable: {problem}" in out.getvalue()


def test_what_arrives_in_the_work_queue_is_cleaned_by_the_function(
    failed_events: str,
    work_queue: MotoQueue,
    handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
) -> None:
    payloads = [vod_body(1), vod_body(2), {"VideoId": video_id(3)}, vod_body(4)]
    bodies = [
        lambda_failure_record(payloads[0]),
        lambda_failure_record(eventbridge_event(payloads[1])),
        eventbridge_event(payloads[2]),
        payloads[3],
    ]
    put(failed_events, [json.dumps(body) for body in bodies])
    for payload in payloads:
        stand_in.add_video(payload["VideoId"])
    redrive(sqs(), failed_events, work_queue.url, out=io.StringIO(), wait_seconds=0)

    event = {"Records": [sqs_record(message) for message in receive_all(work_queue.url)]}
    response = handler.lambda_handler(event, context)

    assert len(event["Records"]) == 4
    assert response == {"batchItemFailures": []}
    assert not any(stand_in.has_parts(payload["VideoId"]) for payload in payloads)


def sqs_record(message: dict[str, Any]) -> dict[str, Any]:
    """A received message as the SQS trigger hands it to the function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:vod-parts-cleanup-work",
        "awsRegion": REGION,
    }


@pytest.mark.parametrize(
    ("body", "kind", "expected_video_id"),
    [
        (lambda_failure_record(vod_body(1)), PayloadKind.LAMBDA_FAILURE_DIRECT, video_id(1)),
        (
            lambda_failure_record(eventbridge_event(vod_body(2))),
            PayloadKind.LAMBDA_FAILURE_EVENTBRIDGE,
            video_id(2),
        ),
        (eventbridge_event(vod_body(3)), PayloadKind.EVENTBRIDGE_UNDELIVERED, video_id(3)),
        ({" VideoId ": f" {video_id(4)} "}, PayloadKind.VOD_BODY, video_id(4)),
        ({"VideoId": "../../etc/passwd"}, PayloadKind.VOD_BODY, None),
    ],
)
def test_each_shape_gives_its_vod_body(
    body: dict[str, Any], kind: PayloadKind, expected_video_id: str | None
) -> None:
    payload = read_payload(json.dumps(body))
    assert payload.kind is kind
    assert payload.video_id == expected_video_id
    assert "detail" not in json.loads(payload.body)
    assert "requestContext" not in json.loads(payload.body)


@pytest.mark.parametrize(
    "arguments",
    [
        ["--from", "https://sqs.us-east-1.amazonaws.com/1/a"],
        ["--from", "not-a-url", "--to", "https://sqs.us-east-1.amazonaws.com/1/b"],
        [
            "--from",
            "https://sqs.us-east-1.amazonaws.com/1/a",
            "--to",
            "https://sqs.us-east-1.amazonaws.com/1/a",
        ],
        [
            "--from",
            "https://sqs.us-east-1.amazonaws.com/1/a",
            "--to",
            "https://sqs.eu-west-1.amazonaws.com/1/b",
        ],
        [
            "--from",
            "https://sqs.us-east-1.amazonaws.com/1/a",
            "--to",
            "https://sqs.us-east-1.amazonaws.com/1/b",
            "--max-messages",
            "0",
        ],
    ],
)
def test_bad_arguments_exit_with_2_before_touching_a_queue(arguments: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(arguments)
    assert exit_.value.code == EXIT_BAD_ARGUMENTS


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://sqs.eu-central-1.amazonaws.com/123456789012/q", "eu-central-1"),
        ("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q", "cn-north-1"),
        ("https://ap-southeast-2.queue.amazonaws.com/123456789012/q", "ap-southeast-2"),
        ("https://vpce-0a1b.sqs.us-east-1.vpce.amazonaws.com/123456789012/q", None),
        ("http://localhost:4566/000000000000/q", None),
    ],
)
def test_the_region_comes_from_the_queue_url(url: str, region: str | None) -> None:
    assert region_from_queue_url(url) == region
