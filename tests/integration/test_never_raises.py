"""Every trigger answers every input: HTTP with a status and a JSON body, SQS with batch item
failures, a direct or EventBridge invocation with a result or the documented failure
(CleanupFailedError). Property-based (hypothesis) over arbitrary events, plus the inputs
that once made the function raise."""

import json
import time
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import CALLBACK_KEY, CALLBACK_URL, FunctionUnderTest, load_event, signed
from vod_parts_cleanup.shared.errors import CleanupFailedError
from vod_parts_cleanup.shared.vocabulary import CleanupStatus
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext

EXAMPLES = 300
ANSWERS = {200, 400, 401, 405, 413, 500, 503}
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any JSON-like value, a little nested: what a field, a body or a header may hold.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)
VIDEO_IDS = st.one_of(
    st.from_regex(r"[0-9a-f]{32}", fullmatch=True), st.text(max_size=40), st.integers()
)
# Bodies shaped like VOD's, with any value in any field.
VOD_BODIES = st.fixed_dictionaries(
    {},
    optional={
        "EventType": st.sampled_from(["FileUploadComplete", "UploadByURLComplete", "X"])
        | JSON_VALUES,
        "VideoId": VIDEO_IDS | JSON_VALUES,
        "Status": st.sampled_from(["success", "fail"]) | JSON_VALUES,
        "EventTime": st.just("2026-11-20T08:15:30Z") | JSON_VALUES,
        "Size": JSON_VALUES,
        "Extend": JSON_VALUES,
    },
)
BODY_TEXTS = st.one_of(
    VOD_BODIES.map(json.dumps),
    st.text(max_size=200),
    st.integers(1, 5000).map(lambda depth: "[" * depth + "]" * depth),
    st.just('{"VideoId": "ab\ud800cd"}'),  # a lone surrogate
)


def context() -> LocalLambdaContext:
    return LocalLambdaContext(timeout_seconds=30)


def assert_http_answer(response: Any) -> None:
    assert isinstance(response, Mapping)
    assert response["statusCode"] in ANSWERS
    json.loads(response["body"])


def assert_result_or_documented_failure(function: FunctionUnderTest, event: Any) -> None:
    try:
        result = function.lambda_handler(event, context())
    except CleanupFailedError:
        return
    assert result["status"] in {status.value for status in CleanupStatus}


# --- HTTP -------------------------------------------------------------------------------


@st.composite
def callback_events(draw: st.DrawFn) -> dict[str, Any]:
    """API Gateway events, half of them carrying a valid signature so the body is read."""
    event: dict[str, Any] = {"version": "2.0"}
    if draw(st.booleans()):
        base = signed(load_event("http-completed.json"), body=draw(BODY_TEXTS))
        event |= base
    headers = draw(
        st.one_of(
            st.none(),
            st.dictionaries(st.text(max_size=20), st.text(max_size=40) | JSON_VALUES, max_size=4),
            JSON_VALUES,
        )
    )
    if "headers" not in event or draw(st.booleans()):
        event["headers"] = headers
    if draw(st.booleans()):
        event["body"] = draw(BODY_TEXTS | JSON_VALUES)
    if draw(st.booleans()):
        event["isBase64Encoded"] = draw(JSON_VALUES)
    http = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "method": st.sampled_from(["POST", "post", "GET"]) | JSON_VALUES,
                "sourceIp": JSON_VALUES,
            },
        )
    )
    request_context = event.get("requestContext", {}) | {"http": http}
    if draw(st.booleans()):
        request_context["timeEpoch"] = draw(JSON_VALUES)
    event["requestContext"] = request_context
    return event


@given(event=callback_events())
@FUZZ
def test_every_callback_gets_an_answer_with_a_status(
    deployed_handler: FunctionUnderTest, event: dict[str, Any]
) -> None:
    response = deployed_handler.lambda_handler(event, context())
    assert_http_answer(response)


def _signed_callback(**changes: Any) -> dict[str, Any]:
    event = signed(load_event("http-completed.json"))
    for path, value in changes.items():
        target = event
        *parents, last = path.split("__")
        for parent in parents:
            target = target[parent]
        target[last] = value
    return event


def _without_method() -> dict[str, Any]:
    event = signed(load_event("http-completed.json"))
    del event["requestContext"]["http"]["method"]
    return event


@pytest.mark.parametrize(
    "event",
    [
        _signed_callback(headers__x_vod_timestamp="1\x1f"),
        _signed_callback(headers={"x-vod-timestamp": "1\x1f", "x-vod-signature": "0" * 32}),
        _signed_callback(
            headers={"x-vod-timestamp": "\x1c1763900000", "x-vod-signature": "0" * 32}
        ),
        _signed_callback(body='{"VideoId": "\ud800"}'),
        _signed_callback(body="[" * 30_000 + "]" * 30_000),
        _without_method(),
        _signed_callback(requestContext__timeEpoch="yesterday"),
        _signed_callback(body={"VideoId": "abc"}),
        _signed_callback(headers=None),
    ],
    ids=[
        "timestamp 1 and a unit separator",
        "timestamp with a unit separator",
        "timestamp after a file separator",
        "lone surrogate in the body",
        "60 KB of nested brackets",
        "no http.method",
        "timeEpoch not a number",
        "body an object",
        "headers null",
    ],
)
def test_the_inputs_that_once_raised_get_an_answer(
    deployed_handler: FunctionUnderTest, event: dict[str, Any]
) -> None:
    assert_http_answer(deployed_handler.lambda_handler(event, context()))


def test_a_deeply_nested_signed_body_is_refused_as_malformed(
    deployed_handler: FunctionUnderTest,
) -> None:
    timestamp = int(time.time())
    event = signed(
        load_event("http-completed.json"),
        key=CALLBACK_KEY,
        url=CALLBACK_URL,
        timestamp=timestamp,
        body="[" * 30_000 + "]" * 30_000,
    )
    response = deployed_handler.lambda_handler(event, context())
    assert (response["statusCode"], json.loads(response["body"])["errorCode"]) == (
        400,
        "MalformedEvent",
    )


# --- direct and EventBridge ----------------------------------------------------------------


@given(event=VOD_BODIES | JSON_VALUES)
@FUZZ
def test_a_direct_invocation_answers_a_result_or_the_documented_failure(
    deployed_handler: FunctionUnderTest, event: Any
) -> None:
    assert_result_or_documented_failure(deployed_handler, event)


@given(detail=VOD_BODIES | JSON_VALUES, extra=st.dictionaries(st.text(max_size=8), JSON_VALUES))
@FUZZ
def test_an_eventbridge_event_answers_a_result_or_the_documented_failure(
    deployed_handler: FunctionUnderTest, detail: Any, extra: dict[str, Any]
) -> None:
    event = extra | {"detail-type": "VOD Upload Event", "source": "x", "detail": detail}
    assert_result_or_documented_failure(deployed_handler, event)


@pytest.mark.parametrize(
    "event",
    [{"Records": [], "VideoId": "abc"}, {"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}],
    ids=["empty Records beside a VideoId", "a record without messageId"],
)
def test_envelopes_that_only_look_like_sqs_are_read_as_direct_requests(
    deployed_handler: FunctionUnderTest, event: dict[str, Any]
) -> None:
    result = deployed_handler.lambda_handler(event, context())
    assert result["status"] in {"rejected", "media_not_found"}


# --- SQS --------------------------------------------------------------------------------


@st.composite
def sqs_events(draw: st.DrawFn) -> dict[str, Any]:
    template = load_event("sqs-completed.json")["Records"][0]
    count = draw(st.integers(1, 5))
    records = []
    for number in range(count):
        record = template | {"messageId": f"message-{number}"}
        record["body"] = draw(BODY_TEXTS | JSON_VALUES)
        record["messageAttributes"] = draw(
            st.dictionaries(st.sampled_from(["trigger", "receivedAt", "x"]), JSON_VALUES)
        )
        records.append(record)
    return {"Records": records}


@given(event=sqs_events())
@FUZZ
def test_every_sqs_batch_answers_with_its_failures(
    deployed_handler: FunctionUnderTest, event: dict[str, Any]
) -> None:
    response = deployed_handler.lambda_handler(event, context())
    identifiers = {record["messageId"] for record in event["Records"]}
    failures = response["batchItemFailures"]
    assert {item["itemIdentifier"] for item in failures} <= identifiers
