"""Which AWS trigger delivered an event, told from its shape alone.

Apart from intake (which reads the VOD notification with pydantic) because the handler
recognises every event, and the HTTP route's cold start must not import pydantic.
"""

from collections.abc import Mapping
from typing import Any

from vod_parts_cleanup.vocabulary import Trigger

# A direct invocation that asks for a sweep: {"Sweep": {...}}.
SWEEP_REQUEST_KEY = "Sweep"
VIDEO_ID_KEY = "VideoId"


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
    if _is_eventbridge_event(event):
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


def notification_body(document: object) -> object:
    """The VOD notification in a message body: the body itself, or the ``detail`` of an
    EventBridge event (a rule may target the work queue with the whole event)."""
    if isinstance(document, Mapping) and _is_eventbridge_event(document):
        return document["detail"]
    return document


def _is_eventbridge_event(event: Mapping[str, Any]) -> bool:
    return {"detail-type", "source", "detail"} <= event.keys()


def is_sweep_request(body: object) -> bool:
    """{"Sweep": ...} without a VideoId (keys trimmed, as intake reads them): a body naming
    a video is a request to clean it, whatever else it holds."""
    if not isinstance(body, Mapping) or SWEEP_REQUEST_KEY not in body:
        return False
    return not any(str(key).strip() == VIDEO_ID_KEY for key in body)
