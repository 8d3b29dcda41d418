"""What AWS hands a function: which service sent an event, told from its shape alone; a body
that must hold one JSON object, read safely; and the answer to an event that reached the
wrong function.

Shared by both functions: the receiver checks that it was given an API Gateway event and a
JSON body (without pydantic, which its cold start cannot afford), the consumer tells its
triggers apart and reads the bodies its records carry.
"""

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger

from vod_parts_cleanup.shared.errors import MalformedEventError, WrongFunctionError
from vod_parts_cleanup.shared.vocabulary import CleanupStatus, ErrorCode, Trigger

MAX_JSON_DEPTH = 32


def recognise_trigger(event: object) -> Trigger:
    """Tell the AWS envelope apart by the keys each service always sends."""
    if not isinstance(event, Mapping):
        return Trigger.DIRECT
    records = event.get("Records")
    # An empty batch is answered like any batch (nothing to report), but only if nothing
    # else is in the event: {"Records": [], "VideoId": ...} is a request to clean a video.
    if (
        isinstance(records, list)
        and all(_is_sqs_record(r) for r in records)
        and (records or event.keys() == {"Records"})
    ):
        return Trigger.SQS
    request_context = event.get("requestContext")
    if (
        event.get("version") == "2.0"
        and isinstance(request_context, Mapping)
        and "http" in request_context
    ):
        return Trigger.HTTP
    if is_eventbridge_event(event):
        return Trigger.EVENTBRIDGE
    return Trigger.DIRECT


def _is_sqs_record(record: object) -> bool:
    """What SQS always sends; without a messageId a record could not even be reported back."""
    return (
        isinstance(record, Mapping)
        and record.get("eventSource") == "aws:sqs"
        and isinstance(record.get("messageId"), str)
        and bool(record["messageId"])
    )


def is_eventbridge_event(event: Mapping[str, Any]) -> bool:
    return {"detail-type", "source", "detail"} <= event.keys()


def http_response(status: HTTPStatus, body: Mapping[str, Any]) -> dict[str, Any]:
    """An answer in the form API Gateway (HTTP API, payload 2.0) passes on to the caller."""
    return {
        "statusCode": int(status),
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }


def misrouted(
    event: object, trigger: Trigger, *, function: str, handles: str, logger: Logger
) -> dict[str, Any]:
    """The answer of a function to an event it does not handle: the stack's wiring sent it
    to the wrong one, which must be visible, and the event kept. An SQS batch reports every
    record as failed (SQS keeps them, then the dead-letter queue); an HTTP request is
    answered 500 (the caller tries again); anything else raises, so Lambda retries an
    asynchronous invocation and records it, and a person invoking by hand sees why."""
    detail = f"the {function} function handles {handles}, not {trigger.value} events"
    logger.error("event sent to the wrong function; kept, not handled", extra={"detail": detail})
    if trigger is Trigger.SQS and isinstance(event, Mapping):
        records = event["Records"]
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]}
    if trigger is Trigger.HTTP:
        answer = {
            "status": CleanupStatus.REJECTED.value,
            "errorCode": ErrorCode.WRONG_FUNCTION.value,
            "detail": detail,
        }
        return http_response(HTTPStatus.INTERNAL_SERVER_ERROR, answer)
    raise WrongFunctionError(f"{ErrorCode.WRONG_FUNCTION}: {detail}")


def decode_json_object(text: str | None) -> dict[str, Any]:
    """Parse a message or request body that must hold one JSON object (nested at most
    ``MAX_JSON_DEPTH`` deep: a VOD notification is flat, and deep nesting exhausts the parser)."""
    if not isinstance(text, str) or not text.strip():
        msg = "the body is empty"
        raise MalformedEventError(msg)
    if _nesting_depth(text) > MAX_JSON_DEPTH:
        msg = f"the body nests deeper than {MAX_JSON_DEPTH} levels"
        raise MalformedEventError(msg)
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        msg = "the body is not valid JSON"
        raise MalformedEventError(msg) from None
    if not isinstance(document, dict):
        msg = f"the body is a JSON {type(document).__name__}, not an object"
        raise MalformedEventError(msg)
    return document


def _nesting_depth(text: str) -> int:
    """How deep brackets nest outside JSON strings, found without parsing."""
    depth = deepest = 0
    in_string = escaped = False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif character in "]}":
            depth -= 1
    return deepest
