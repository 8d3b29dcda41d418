"""The fault matrix: VOD, DynamoDB, SQS and Secrets Manager refusing, hanging, slow or
answering garbage, on every trigger that uses them. Each answer comes within its budget (a
callback within VOD's 5 s, a batch within the Lambda timeout) and the event is kept.

The budgets here are short (a 4.5 s Lambda timeout) so the suite stays fast; one test keeps
the issue's own figure, an SQS batch of ten under a 20 s timeout with DynamoDB hanging.
"""

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support import (
    Fault,
    FunctionUnderTest,
    IdempotencyTable,
    MotoQueue,
    configure,
    faulty_endpoint,
    load_event,
    signed,
)
from vod_parts_cleanup.shared.errors import CleanupFailedError
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.vod_server import LocalVod

ALL_FAULTS = list(Fault)
LAMBDA_TIMEOUT = 4.5
CALLBACK_BUDGET = 5.0  # VOD waits this long for an answer
# What a test may take beyond the budget itself: the machine, moto, the stand-in.
SLACK = 1.0


def video_ids(count: int) -> list[str]:
    return [f"{number:032x}" for number in range(1, count + 1)]


def sqs_batch(ids: list[str]) -> dict[str, Any]:
    record = load_event("sqs-completed.json")["Records"][0]
    return {
        "Records": [
            record
            | {
                "messageId": f"message-{video_id}",
                "body": json.dumps({"EventType": "FileUploadComplete", "VideoId": video_id}),
            }
            | {"body": json.dumps({"VideoId": video_id})}
            for video_id in ids
        ]
    }


def timed(call: Callable[[], Any]) -> tuple[Any, BaseException | None, float]:
    started = time.monotonic()
    try:
        return call(), None, time.monotonic() - started
    except Exception as error:  # the direct trigger raises its documented failure
        return None, error, time.monotonic() - started


@pytest.fixture
def lambda_context() -> LocalLambdaContext:
    return LocalLambdaContext(timeout_seconds=LAMBDA_TIMEOUT)


@pytest.fixture
def aws_endpoint(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """Point one AWS service of the function at an endpoint (the others stay moto)."""

    def point(service: str, host_and_port: str) -> None:
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", f"http://{host_and_port}")

    return point


def assert_batch_kept(response: Any, error: BaseException | None, ids: list[str]) -> None:
    assert error is None, error
    assert sorted(item["itemIdentifier"] for item in response["batchItemFailures"]) == sorted(
        f"message-{video_id}" for video_id in ids
    )


# --- VOD -------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ALL_FAULTS)
@pytest.mark.parametrize("trigger", ["sqs", "direct"])
def test_vod_failing(
    deployed_handler: FunctionUnderTest,
    lambda_context: LocalLambdaContext,
    fault: Fault,
    trigger: str,
) -> None:
    ids = video_ids(3)
    with faulty_endpoint(fault) as endpoint:
        configure(deployed_handler, vod_endpoint=endpoint, max_attempts=10)
        event = sqs_batch(ids) if trigger == "sqs" else {"VideoId": ids[0]}
        response, error, took = timed(
            lambda: deployed_handler.lambda_handler(event, lambda_context)
        )
    assert took < LAMBDA_TIMEOUT + SLACK
    if trigger == "sqs":
        assert_batch_kept(response, error, ids)
    else:
        assert isinstance(error, CleanupFailedError)


# --- DynamoDB (the idempotency store) ---------------------------------------------------------


@pytest.mark.parametrize("fault", ALL_FAULTS)
@pytest.mark.parametrize("trigger", ["sqs", "direct"])
def test_dynamodb_failing(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    lambda_context: LocalLambdaContext,
    aws_endpoint: Callable[[str, str], None],
    fault: Fault,
    trigger: str,
) -> None:
    ids = video_ids(3)
    for video_id in ids:
        stand_in.add_video(video_id)
    with faulty_endpoint(fault) as endpoint:
        aws_endpoint("DYNAMODB", endpoint)
        configure(deployed_handler)  # a new environment, whose clients see the endpoint
        event = sqs_batch(ids) if trigger == "sqs" else {"VideoId": ids[0]}
        response, error, took = timed(
            lambda: deployed_handler.lambda_handler(event, lambda_context)
        )
    assert took < LAMBDA_TIMEOUT + SLACK
    if fault is Fault.GARBAGE:
        # A 200 that is not DynamoDB's answer reads as an empty success to botocore: the
        # notification is cleaned (once, here), not lost; only its record is not kept.
        assert error is None
        cleaned = ids if trigger == "sqs" else ids[:1]
        assert not any(stand_in.has_parts(video_id) for video_id in cleaned)
        return
    # Not knowing whether it ran before, nothing is deleted: the event is kept instead.
    assert stand_in.calls("DeleteMultipartUpload") == 0
    if trigger == "sqs":
        assert_batch_kept(response, error, ids)
    else:
        assert isinstance(error, CleanupFailedError)


def test_a_batch_of_ten_answers_within_20_s_with_dynamodb_hanging(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    aws_endpoint: Callable[[str, str], None],
) -> None:
    ids = video_ids(10)
    for video_id in ids:
        stand_in.add_video(video_id)
    context = LocalLambdaContext(timeout_seconds=20)
    with faulty_endpoint(Fault.HANGING) as endpoint:
        aws_endpoint("DYNAMODB", endpoint)
        configure(deployed_handler)
        response, error, took = timed(
            lambda: deployed_handler.lambda_handler(sqs_batch(ids), context)
        )
    assert took < 20
    assert_batch_kept(response, error, ids)


# --- SQS (the receiver's hand-off) ---------------------------------------------------------


@pytest.mark.parametrize("fault", ALL_FAULTS)
def test_sqs_failing_under_a_callback(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    lambda_context: LocalLambdaContext,
    aws_endpoint: Callable[[str, str], None],
    fault: Fault,
) -> None:
    with faulty_endpoint(fault) as endpoint:
        aws_endpoint("SQS", endpoint)
        configure(deployed_handler)
        event = signed(load_event("http-completed.json"))
        response, error, took = timed(
            lambda: deployed_handler.lambda_handler(event, lambda_context)
        )
    assert error is None
    assert took < CALLBACK_BUDGET
    # Nothing could keep it: 503, so VOD delivers it again.
    assert response["statusCode"] == 503
    assert stand_in.requests == []


# --- Secrets Manager ------------------------------------------------------------------------


@pytest.fixture
def secret_endpoint(
    aws_endpoint: Callable[[str, str], None], request: pytest.FixtureRequest
) -> Iterator[str]:
    with faulty_endpoint(request.param) as endpoint:
        aws_endpoint("SECRETS_MANAGER", endpoint)
        yield endpoint


@pytest.mark.parametrize("secret_endpoint", ALL_FAULTS, indirect=True)
def test_the_callback_key_secret_failing(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    work_queue: MotoQueue,
    lambda_context: LocalLambdaContext,
    secret_endpoint: str,
) -> None:
    configure(deployed_handler, callback_auth_key=None, callback_auth_key_secret_id="vod/key")
    event = signed(load_event("http-completed.json"))
    response, error, took = timed(lambda: deployed_handler.lambda_handler(event, lambda_context))
    assert error is None
    assert took < CALLBACK_BUDGET
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["reason"] == "auth_unavailable"
    assert work_queue.receive() == []


@pytest.mark.parametrize("secret_endpoint", ALL_FAULTS, indirect=True)
@pytest.mark.parametrize("trigger", ["sqs", "direct"])
def test_the_vod_key_secret_failing(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    idempotency_table: IdempotencyTable,
    lambda_context: LocalLambdaContext,
    secret_endpoint: str,
    trigger: str,
) -> None:
    configure(
        deployed_handler,
        access_key_id=None,
        access_key_secret=None,
        credentials_secret_id="vod/access-key",
    )
    ids = video_ids(3)
    event = sqs_batch(ids) if trigger == "sqs" else {"VideoId": ids[0]}
    response, error, took = timed(lambda: deployed_handler.lambda_handler(event, lambda_context))
    assert took < LAMBDA_TIMEOUT + SLACK
    assert stand_in.requests == []
    if trigger == "sqs":
        assert_batch_kept(response, error, ids)
    else:
        assert isinstance(error, CleanupFailedError)
