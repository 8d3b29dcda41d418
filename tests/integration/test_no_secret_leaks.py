"""No secret in logs (at any level), metrics, results, exceptions, queues, tables or the
operator scripts' output, whatever happens: success, VOD errors, bad signatures, network
failures, bad input. The secrets: the VOD access key (given, or read from Secrets Manager)
and its STS token, the callback keys and every X-VOD-SIGNATURE, the relay's key, the AWS
secret key and session token the functions sign their own AWS calls with."""

import json
import logging
from pathlib import Path
from typing import Any

import boto3
import pytest

from scripts import redrive
from tests.support import (
    EVENTS,
    FunctionUnderTest,
    IdempotencyTable,
    MotoQueue,
    ReadOutputFixture,
    configure,
    load_event,
    signed,
)
from vod_parts_cleanup.shared.settings import Secret, Settings
from vod_parts_cleanup_dev.downstream import LocalDownstream
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.sqs import delete_done, lambda_sqs_event, receive_all
from vod_parts_cleanup_dev.vod_server import LOCAL_ACCESS_KEY_ID, LocalVod

SECRET = "Zq8-distinctive-secret-value-7Hk"
TOKEN = "CAIS-distinctive-sts-token-9Pw"


@pytest.fixture
def secret_vod() -> LocalVod:
    with LocalVod(access_key_secret=SECRET, security_token=TOKEN) as vod:
        yield vod


def run_everything(
    handler: FunctionUnderTest, vod: LocalVod, context: LocalLambdaContext
) -> list[str]:
    """Every sample event, then VOD failures of each kind; returns what the callers saw."""
    seen: list[str] = []
    scripts = [
        lambda: None,
        lambda: vod.fail_next("SignatureDoesNotMatch"),
        lambda: vod.fail_next("InternalError", status=500, times=10),
        lambda: vod.drop_next(times=10),
        lambda: vod.fail_next("AccessDenied"),
    ]
    for script in scripts:
        for path in sorted(EVENTS.glob("*.json")):
            event = load_event(path.name)
            for video_id in _video_ids(event):
                vod.add_video(video_id)
            script()
            try:
                seen.append(json.dumps(handler.lambda_handler(event, context)))
            except Exception as error:
                seen.extend([str(error), repr(error), repr(getattr(error, "__dict__", {}))])
    return seen


def _video_ids(event: object) -> list[str]:
    text = json.dumps(event)
    return [
        word for word in text.replace('\\"', '"').split('"') if len(word) == 32 and word.isalnum()
    ]


def test_nothing_written_or_returned_holds_a_secret(
    handler: FunctionUnderTest,
    secret_vod: LocalVod,
    settings: Settings,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure(
        handler,
        vod_endpoint=secret_vod.endpoint,
        access_key_secret=SECRET,
        security_token=TOKEN,
        max_attempts=2,
    )
    caplog.set_level("DEBUG")

    seen = run_everything(handler, secret_vod, context)

    emitted = output()
    assert emitted.logs and emitted.metrics and len(seen) > 50
    assert any(request.signature_valid for request in secret_vod.requests)
    everything = "\n".join([emitted.text, caplog.text, *seen])
    for secret in (SECRET, TOKEN):
        assert secret not in everything
    assert SECRET not in repr(handler.settings) and TOKEN not in repr(handler.settings)
    for request in secret_vod.requests:
        assert SECRET not in json.dumps(request.headers)


def test_the_event_files_hold_no_real_credentials() -> None:
    for path in Path(EVENTS).glob("*.json"):
        text = path.read_text(encoding="utf-8")
        assert "LTAI" not in text and "AccessKeySecret" not in text, path.name


# --- the whole path, with DEBUG logging on ------------------------------------------------

VOD_SECRET_READ = "Xr4-vod-secret-from-secrets-manager-2Lm"
VOD_TOKEN_READ = "CAIS-sts-token-from-secrets-manager-6Qd"
CALLBACK_KEY_NOW = "Kc7-distinctive-callback-key-now-3Vb"
CALLBACK_KEY_NEXT = "Kn5-distinctive-callback-key-next-8Wt"
RELAY_KEY = "Rk2-distinctive-relay-key-of-the-receiver-4Yh"
AWS_SECRET = "Aw9-distinctive-aws-secret-access-key-1Jf"
AWS_TOKEN = "IQoJ-distinctive-aws-session-token-5Gc"
SAMPLE_CALLBACKS = ("http-completed.json", "http-failed.json", "http-manual.json")


@pytest.fixture
def vod_of_the_secret() -> Any:
    with LocalVod(access_key_secret=VOD_SECRET_READ, security_token=VOD_TOKEN_READ) as vod:
        yield vod


@pytest.fixture
def relay_receiver(handler: FunctionUnderTest) -> Any:
    with LocalDownstream(clock=handler.clock.time, key=RELAY_KEY) as running:
        yield running


def _queue(name: str) -> MotoQueue:
    client = boto3.client("sqs", region_name="us-east-1")
    return MotoQueue(client, client.create_queue(QueueName=name)["QueueUrl"])


def _drain(handler: FunctionUnderTest, queue: MotoQueue, context: LocalLambdaContext) -> list[str]:
    """The queue's trigger once over: every visible message to its function."""
    answers = []
    while messages := receive_all(queue.client, queue.url):
        answer = handler.lambda_handler(lambda_sqs_event(messages, queue.arn), context)
        failed = {item["itemIdentifier"] for item in answer["batchItemFailures"]}
        delete_done(queue.client, queue.url, messages, failed)
        answers.append(json.dumps(answer))
    return answers


def _stored(queues: list[MotoQueue], table: IdempotencyTable) -> str:
    """Every message left in the queues (bodies and attributes) and every table item."""
    held = [
        json.dumps(receive_all(queue.client, queue.url, peek=True), default=str) for queue in queues
    ]
    return "\n".join([*held, json.dumps(table.items(), default=str)])


def test_no_secret_anywhere_on_the_whole_path_with_debug_logging(
    handler: FunctionUnderTest,
    vod_of_the_secret: LocalVod,
    relay_receiver: LocalDownstream,
    idempotency_table: IdempotencyTable,
    secrets: Any,
    aws_endpoints: str,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger at DEBUG, before the functions start
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", AWS_TOKEN)
    vod_key = {
        "AccessKeyId": LOCAL_ACCESS_KEY_ID,
        "AccessKeySecret": VOD_SECRET_READ,
        "SecurityToken": VOD_TOKEN_READ,
    }
    secrets.create_secret(Name="vod/credentials", SecretString=json.dumps(vod_key))
    callback_keys = {"AuthKey": CALLBACK_KEY_NOW, "NextAuthKey": CALLBACK_KEY_NEXT}
    secrets.create_secret(Name="vod/callback-key", SecretString=json.dumps(callback_keys))
    work, dead, relay = _queue("leak-work"), _queue("leak-dlq"), _queue("leak-relay")
    configure(
        handler,
        vod_endpoint=vod_of_the_secret.endpoint,
        access_key_id=None,
        access_key_secret=None,
        credentials_secret_id="vod/credentials",
        callback_auth_key=None,
        callback_auth_key_secret_id="vod/callback-key",
        idempotency_table_name=idempotency_table.name,
        work_queue_url=work.url,
        dead_letter_queue_url=dead.url,
        relay_callback_url=relay_receiver.url,
        relay_callback_auth_key=Secret(RELAY_KEY),
        relay_queue_url=relay.url,
        max_attempts=2,
    )
    seen: list[str] = []
    signatures: list[str] = []

    # VOD's callbacks, signed now (so each reaches the signature comparison), with both keys
    # and a wrong one; each is held in the work queue and the relay queue.
    for name in SAMPLE_CALLBACKS:
        for key in (CALLBACK_KEY_NOW, CALLBACK_KEY_NEXT, "not-the-key"):
            event = signed(load_event(name), key=key, timestamp=int(handler.clock.time()))
            event["requestContext"]["timeEpoch"] = int(handler.clock.time() * 1000)
            signatures.append(event["headers"]["x-vod-signature"])
            vod_of_the_secret.add_video(json.loads(event["body"])["VideoId"])
            seen.append(json.dumps(handler.lambda_handler(event, context)))
    assert sum('"statusCode": 200' in answer for answer in seen) == 2 * len(SAMPLE_CALLBACKS)
    assert sum('"statusCode": 401' in answer for answer in seen) == len(SAMPLE_CALLBACKS)

    # The consumer cleans them (the VOD key read from Secrets Manager); the relay delivers them.
    seen += _drain(handler, work, context)
    seen += _drain(handler, relay, context)
    assert any(request.signature_valid for request in vod_of_the_secret.requests)
    assert relay_receiver.received and all(r.signature_valid for r in relay_receiver.received)

    # Every sample event through its trigger, with VOD failing each way; a sweep; junk that
    # is given up to the dead-letter queue.
    seen += run_everything(handler, vod_of_the_secret, context)
    try:
        seen.append(json.dumps(handler.lambda_handler({"Sweep": {}}, context), default=str))
    except Exception as error:  # a failed direct invocation raises, for Lambda to retry
        seen.extend([str(error), repr(error)])
    work.client.send_message(QueueUrl=work.url, MessageBody="not json")
    seen += _drain(handler, work, context)
    stored = _stored([work, dead, relay], idempotency_table)
    assert "not json" in stored

    # The operator's redrive, previewed and run.
    for dry_run in (["--dry-run"], []):
        redrive.main(["--from", dead.url, "--to", work.url, "--region", "us-east-1", *dry_run])
    scripts_said = capsys.readouterr()

    emitted = output()
    assert any(record.levelno == logging.DEBUG for record in caplog.records)
    everything = "\n".join(
        [emitted.text, scripts_said.out, scripts_said.err, caplog.text, stored, *seen]
    )
    sent_to_vod = [request.query.get("Signature", "") for request in vod_of_the_secret.requests]
    relayed = [r.headers.get("x-vod-signature", "") for r in relay_receiver.received]
    secrets_of_this_run = [
        VOD_SECRET_READ,
        VOD_TOKEN_READ,
        CALLBACK_KEY_NOW,
        CALLBACK_KEY_NEXT,
        RELAY_KEY,
        AWS_SECRET,
        AWS_TOKEN,
        *signatures,
        *filter(None, sent_to_vod),
        *filter(None, relayed),
    ]
    leaked = [secret for secret in secrets_of_this_run if secret in everything]
    assert leaked == [], f"{len(leaked)} secret(s) found in what was written or kept"
