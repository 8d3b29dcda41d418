"""Relay mode: every authenticated callback is held for the customer's own receiver as well
as for cleanup, and delivered to it as VOD would have delivered it (the same body, byte for
byte, signed for its URL and key), tried again for hours, never slowing cleanup down.

The downstream is the local stand-in of a customer's receiver, which checks VOD's signature
itself; SQS is moto; Lambda's SQS trigger is played by the test, on a fast clock whose
sleeps cost nothing, so hours of retries take seconds.
"""

import json
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support import (
    FunctionUnderTest,
    IdempotencyTable,
    MotoQueue,
    ReadOutputFixture,
    configure,
    load_event,
    signed,
)
from vod_parts_cleanup.relay.delivery import DELIVERY_SECONDS, DownstreamReceiver
from vod_parts_cleanup.relay.retry import delay_after, receives_for
from vod_parts_cleanup.shared.settings import Secret
from vod_parts_cleanup.shared.vod_callback import StaticCallbackKeys
from vod_parts_cleanup_dev.downstream import LocalDownstream, Script
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.sqs import delete_done, lambda_sqs_event, receive_all
from vod_parts_cleanup_dev.vod_server import LocalVod

SAMPLE = "http-completed.json"
# Bodies of every kind VOD sends to one URL, written as VOD writes them (spacing, key order,
# numbers as strings, non-ASCII text): the relay must pass each on unchanged.
BODIES = [
    '{"EventTime":"2026-12-04T10:00:00Z","EventType":"FileUploadComplete","VideoId":"v{n}",'
    '"Status":"success","Size":"1048576","FileUrl":"http://example.com/v{n}.mp4"}',
    '{"EventTime": "2026-12-04T10:00:01Z", "EventType": "FileUploadComplete", '
    '"VideoId": "f{n}", "Status": "fail", "Extend": "{\\"title\\": \\"标题 {n}\\"}"}',
    '{"EventType":"UploadByURLComplete","JobId":"job{n}","Status":"fail",'
    '"ErrorCode":"DownloadFailed","ErrorMessage":"the URL answered 404"}',
    '{"EventTime":"2026-12-04T10:00:02Z","EventType":"TranscodeComplete","VideoId":"t{n}",'
    '"Status":"success","StreamInfos":[{"Definition":"FD","Status":"success"}]}',
    '{"EventTime":"2026-12-04T10:00:03Z","EventType":"SnapshotComplete","VideoId":"s{n}",'
    '"CoverUrl":"http://example.com/s{n}.jpg","Status":"success"}',
    '{"EventTime":"2026-12-04T10:00:04:123Z","EventType":"ImageUploadComplete",'
    '"ImageId":"i{n}","Status":"success","FileURL":"http://example.com/i{n}.png"}',
    '{\n  "EventType": "StreamTranscodeComplete",\n  "VideoId": "st{n}",\n  "Status": "Success"\n}',
    '{"VideoId ":"x{n}","Status":"success","EventType":"VideoAnalysisComplete"}',
]


def bodies(count: int) -> list[str]:
    return [BODIES[n % len(BODIES)].replace("{n}", str(n)) for n in range(count)]


@pytest.fixture
def relay_queue(aws: None) -> MotoQueue:
    """The relay queue as template.yaml makes it: its dead-letter queue after the receives
    that the retry horizon takes (here the default, 24 hours)."""
    return relay_queue_for_horizon(24)


def relay_queue_for_horizon(hours: int) -> MotoQueue:
    client = boto3.client("sqs", region_name="us-east-1")
    dead_letter_url = client.create_queue(QueueName=f"relay-dlq-{hours}")["QueueUrl"]
    dead_letter_arn = client.get_queue_attributes(
        QueueUrl=dead_letter_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    policy = {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": receives_for(hours)}
    url = client.create_queue(
        QueueName=f"relay-{hours}",
        Attributes={"RedrivePolicy": json.dumps(policy), "VisibilityTimeout": "240"},
    )["QueueUrl"]
    return MotoQueue(client, url, dead_letter_url=dead_letter_url)


@pytest.fixture
def downstream(handler: FunctionUnderTest) -> Any:
    """The customer's receiver, on the functions' clock (its freshness check too)."""
    with LocalDownstream(clock=handler.clock.time) as running:
        yield running


def relaying(
    function: FunctionUnderTest,
    relay_queue: MotoQueue,
    downstream: LocalDownstream,
    **changes: Any,
) -> FunctionUnderTest:
    """The stack in relay mode, towards ``downstream`` with its own key."""
    return configure(
        function,
        relay_callback_url=downstream.url,
        relay_callback_auth_key=Secret(downstream.key),
        relay_queue_url=relay_queue.url,
        **changes,
    )


@pytest.fixture
def relay_on(
    deployed_handler: FunctionUnderTest, relay_queue: MotoQueue, downstream: LocalDownstream
) -> FunctionUnderTest:
    return relaying(deployed_handler, relay_queue, downstream)


def callbacks(function: FunctionUnderTest, texts: list[str]) -> list[dict[str, Any]]:
    """Each body sent by VOD, signed in one second (one header pair for all), answered."""
    sample = load_event(SAMPLE)
    timestamp = int(function.clock.time())
    answers = [
        function.lambda_handler(signed(sample, body=text, timestamp=timestamp), invocation())
        for text in texts
    ]
    return [{**answer, "body": json.loads(answer["body"])} for answer in answers]


def invocation() -> LocalLambdaContext:
    """A relay invocation's context: its own timeout ahead of it."""
    return LocalLambdaContext(timeout_seconds=40)


def relay_until(
    function: FunctionUnderTest, queue: MotoQueue, done: Callable[[], bool], *, rounds: int
) -> int:
    """Play the relay queue's trigger: each round, every message visible is handed to the
    relay in batches; a failed one comes back after the delay the relay set on it, which the
    fast clock then lets pass. Returns the rounds played."""
    for played in range(1, rounds + 1):
        tries = 0
        while messages := receive_all(queue.client, queue.url):
            tries = max(tries, *(int(m["Attributes"]["ApproximateReceiveCount"]) for m in messages))
            response = function.lambda_handler(lambda_sqs_event(messages, queue.arn), invocation())
            failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
            delete_done(queue.client, queue.url, messages, failed)
            queue.kept.extend(m["ReceiptHandle"] for m in messages if m["MessageId"] in failed)
        if done():
            return played
        function.clock.sleep(delay_after(tries))  # the longest delay any message asked for
        queue.make_visible_again()
    return rounds


def delivered(downstream: LocalDownstream) -> list[bytes]:
    return [received.body for received in downstream.received if received.answered == 200]


def test_every_callback_reaches_the_downstream_byte_for_byte_and_validly_signed(
    relay_on: FunctionUnderTest,
    relay_queue: MotoQueue,
    work_queue: MotoQueue,
    downstream: LocalDownstream,
    output: ReadOutputFixture,
) -> None:
    texts = bodies(100)
    answers = callbacks(relay_on, texts)
    assert {answer["statusCode"] for answer in answers} == {200}
    assert downstream.received == []  # VOD's answer never waits for the downstream

    relay_until(relay_on, relay_queue, lambda: False, rounds=1)

    assert sorted(delivered(downstream)) == sorted(text.encode() for text in texts)
    content_type = load_event(SAMPLE)["headers"]["content-type"]
    for received in downstream.received:
        assert (received.signature_valid, received.fresh) == (True, True)
        assert received.content_type == content_type
    assert len({r.headers["x-vod-timestamp"] for r in downstream.received}) <= 2
    metrics = output()
    assert len(metrics.counted("RelayDelivered")) == 100
    assert len(metrics.counted("RelayLatency")) == 100
    assert not metrics.counted("RelayRetried")
    # Cleanup got every one of them too, and ignores what it does not clean.
    assert len(receive_all(work_queue.client, work_queue.url, peek=True, limit=10)) == 10
    assert relay_queue.receive() == []


def test_a_downstream_down_for_six_hours_gets_everything_once_it_is_back(
    relay_on: FunctionUnderTest,
    relay_queue: MotoQueue,
    downstream: LocalDownstream,
    output: ReadOutputFixture,
) -> None:
    back_at = relay_on.clock.time() + 6 * 3600
    downstream.script = Script(refusing=lambda: relay_on.clock.time() < back_at)
    texts = bodies(12)
    callbacks(relay_on, texts)

    rounds = relay_until(
        relay_on, relay_queue, lambda: len(delivered(downstream)) == len(texts), rounds=60
    )

    assert sorted(delivered(downstream)) == sorted(text.encode() for text in texts)
    assert relay_on.clock.time() >= back_at
    assert rounds < receives_for(24)
    assert relay_queue.depth() == 0
    assert receive_all(relay_queue.client, relay_queue.dead_letter_url, peek=True) == []
    metrics = output()
    assert metrics.counted("RelayRetried")
    assert not metrics.counted("RelayDeadLettered")
    latencies = [metric.value for metric in metrics.counted("RelayLatency")]
    assert len(latencies) == len(texts)
    assert min(latencies) >= 6 * 3600 * 1000  # received before the outage, delivered after


def test_a_downstream_that_always_fails_ends_in_the_dead_letter_queue_after_the_horizon(
    deployed_handler: FunctionUnderTest,
    downstream: LocalDownstream,
    output: ReadOutputFixture,
) -> None:
    hours = 2
    queue = relay_queue_for_horizon(hours)
    function = relaying(deployed_handler, queue, downstream, relay_retry_hours=hours)
    downstream.script = Script(status=500)
    started = function.clock.time()
    texts = bodies(3)
    callbacks(function, texts)

    relay_until(function, queue, lambda: queue.depth() == 0, rounds=receives_for(hours) + 2)

    dead = receive_all(queue.client, queue.dead_letter_url, peek=True)
    assert sorted(message["Body"] for message in dead) == sorted(texts)
    assert function.clock.time() - started >= hours * 3600
    assert delivered(downstream) == []
    assert len(downstream.received) == len(texts) * receives_for(hours)
    metrics = output()
    assert len(metrics.counted("RelayDeadLettered")) == len(texts)
    assert len(metrics.counted("RelayRetried")) == len(texts) * (receives_for(hours) - 1)
    assert {m.dimensions.get("Reason") for m in metrics.counted("RelayRetried")} == {"http_5xx"}


def test_a_failed_delivery_waits_the_delay_the_schedule_gives(
    relay_on: FunctionUnderTest, relay_queue: MotoQueue, downstream: LocalDownstream
) -> None:
    """The relay sets each failed message's visibility (read from moto's own record)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    downstream.script = Script(status=503)
    callbacks(relay_on, bodies(1))
    [message] = receive_all(relay_queue.client, relay_queue.url)
    response = relay_on.lambda_handler(lambda_sqs_event([message], relay_queue.arn), invocation())
    assert len(response["batchItemFailures"]) == 1

    queue = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].queues["relay-24"]
    [kept] = queue._messages
    seconds = (kept.visible_at - kept.approximate_first_receive_timestamp) / 1000  # both ms
    assert seconds == pytest.approx(delay_after(1), abs=1)


def test_a_hanging_or_trickling_downstream_costs_one_bounded_attempt_and_slows_no_cleanup(
    relay_on: FunctionUnderTest,
    relay_queue: MotoQueue,
    work_queue: MotoQueue,
    downstream: LocalDownstream,
    stand_in: LocalVod,
    context: LocalLambdaContext,
) -> None:
    downstream.script = Script(hang=True)
    event = load_event("sqs-completed.json")
    body = json.loads(event["Records"][0]["body"])
    stand_in.add_video(body["VideoId"], has_parts=True)
    [answer] = callbacks(relay_on, [json.dumps(body)])
    assert answer["statusCode"] == 200

    outcome: dict[str, Any] = {}

    def relay_meanwhile() -> None:
        messages = receive_all(relay_queue.client, relay_queue.url)
        outcome["relay"] = relay_on.lambda_handler(
            lambda_sqs_event(messages, relay_queue.arn), invocation()
        )

    relay = threading.Thread(target=relay_meanwhile)
    relay.start()
    cleaned = work_queue.drain(relay_on, context)
    relay.join(DELIVERY_SECONDS * 3)

    assert cleaned == [{"batchItemFailures": []}]
    assert not stand_in.has_parts(body["VideoId"])
    assert not relay.is_alive()
    assert len(outcome["relay"]["batchItemFailures"]) == 1
    # The same bound holds for a downstream that answers one byte every 0.8 s.
    downstream.script = Script(trickle_seconds=0.8)
    keys = StaticCallbackKeys((downstream.key,))
    attempt = DownstreamReceiver(downstream.url, keys, clock=relay_on.clock).deliver(b"{}", None)
    assert (attempt.delivered, attempt.reason) == (False, "timeout")
    assert attempt.seconds < DELIVERY_SECONDS + 1


def test_tls_is_verified_and_redirects_are_not_followed(
    certificate: tuple[Path, Path], handler: FunctionUnderTest
) -> None:
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(*certificate)
    trusting = ssl.create_default_context(cafile=str(certificate[0]))
    with LocalDownstream(clock=handler.clock.time, tls=server_tls) as tls_downstream:
        keys = StaticCallbackKeys((tls_downstream.key,))
        url = tls_downstream.url
        refused = DownstreamReceiver(url, keys, clock=handler.clock).deliver(b"{}", None)
        trusted = DownstreamReceiver(url, keys, clock=handler.clock, tls_context=trusting)
        taken = trusted.deliver(b"{}", "application/json")
        tls_downstream.script = Script(status=302)
        redirected = trusted.deliver(b"{}", "application/json")

    assert (refused.delivered, refused.reason) == (False, "tls")
    assert (taken.delivered, taken.status) == (True, 200)
    assert (redirected.delivered, redirected.reason) == (False, "http_3xx")
    assert [r.signature_valid for r in tls_downstream.received] == [True, True]


def test_a_relay_hand_off_that_fails_gets_vod_a_503_and_keeps_cleanup_safe(
    relay_on: FunctionUnderTest, work_queue: MotoQueue, relay_queue: MotoQueue
) -> None:
    relay_queue.client.delete_queue(QueueUrl=relay_queue.url)

    [answer] = callbacks(relay_on, bodies(1))

    assert answer["statusCode"] == 503  # VOD delivers again; cleanup is once per notification
    assert len(work_queue.receive()) == 1


def test_with_the_relay_off_nothing_changes(
    deployed_handler: FunctionUnderTest,
    relay_queue: MotoQueue,
    work_queue: MotoQueue,
    idempotency_table: IdempotencyTable,
) -> None:
    assert deployed_handler.stack.relay is None
    assert deployed_handler.receiver.receiver.relay_queue is None
    answers = callbacks(deployed_handler, bodies(3))

    assert {answer["statusCode"] for answer in answers} == {200}
    assert [answer["body"]["status"] for answer in answers] == ["queued"] * 3
    assert len(work_queue.receive()) == 3
    assert relay_queue.receive() == []


def test_the_relays_logs_never_show_the_key_or_the_signature(
    relay_on: FunctionUnderTest,
    relay_queue: MotoQueue,
    downstream: LocalDownstream,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Even from a receiver that answers with the headers it got."""
    downstream.script = Script(status=400, echo_headers=True)
    callbacks(relay_on, bodies(1))
    capsys.readouterr()

    relay_until(relay_on, relay_queue, lambda: True, rounds=1)

    logged = capsys.readouterr().out
    [request] = downstream.received
    assert request.headers["x-vod-signature"][:12] not in logged  # not even a part of it
    assert downstream.key not in logged
    assert "[hidden]" in logged  # the echo was logged, with the secret parts hidden
    assert "127.0.0.1" in logged and "400" in logged
