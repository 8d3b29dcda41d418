"""Intake: read the VOD notification in a body (whatever carried it), or tell it is none.

VOD payloads are untidy (stray spaces in keys, numbers as strings, three EventTime forms,
Status in any case), so the reading is tolerant and looks only at the fields cleanup needs;
but what it cannot trust never reaches VOD: it becomes an ``ignored`` or ``rejected``
result instead of an ``UploadEvent``.
"""

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from vod_parts_cleanup.consumer.models import CleanupResult, UploadEvent
from vod_parts_cleanup.shared.envelopes import is_eventbridge_event
from vod_parts_cleanup.shared.vocabulary import CleanupStatus, ErrorCode, Outcome

VIDEO_ID_PATTERN = re.compile(r"[A-Za-z0-9]{1,64}")
VIDEO_ID_RULE = "1 to 64 letters and digits"  # what VIDEO_ID_PATTERN says, in words
UPLOAD_EVENT_TYPES = frozenset({"fileuploadcomplete", "uploadbyurlcomplete"})
UPLOAD_BY_URL = "uploadbyurlcomplete"
# The event the sweep queues for each upload it found (never sent by VOD itself).
SWEEP_FOUND_EVENT_TYPE = "VodPartsCleanup:SweepFound"
_SUCCESS = frozenset({"success", "succeed", "succeeded"})
_FAILURE = frozenset({"fail", "failed", "failure"})
# One published form writes milliseconds after a colon: 2026-11-20T08:15:30:123Z.
_COLON_MILLISECONDS = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}):(\d{1,6})(Z?)$")

# A direct invocation that asks for a sweep: {"Sweep": {...}}.
SWEEP_REQUEST_KEY = "Sweep"
VIDEO_ID_KEY = "VideoId"


def notification_body(document: object) -> object:
    """The VOD notification in a message body: the body itself, or the ``detail`` of an
    EventBridge event (a rule may target the work queue with the whole event)."""
    if isinstance(document, Mapping) and is_eventbridge_event(document):
        return document["detail"]
    return document


def is_sweep_request(body: object) -> bool:
    """{"Sweep": ...} without a VideoId (keys trimmed, as intake reads them): a body naming
    a video is a request to clean it, whatever else it holds."""
    if not isinstance(body, Mapping) or SWEEP_REQUEST_KEY not in body:
        return False
    return not any(str(key).strip() == VIDEO_ID_KEY for key in body)


class VodNotification(BaseModel):
    """The four fields of a VOD notification that cleanup needs (the manual form has only
    ``VideoId``). Every other field is ignored: a field we do not use never decides whether
    we clean. Keys are matched by their trimmed name; numbers count as text; a value of
    another type counts as absent; an EventTime that is not a time is kept as text.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    event_type: str | None = Field(default=None, alias="EventType")
    video_id: str | None = Field(default=None, alias="VideoId")
    status: str | None = Field(default=None, alias="Status")
    event_time: datetime | None = Field(default=None, alias="EventTime")
    unreadable_event_time: str | None = None
    # UploadByURLComplete's, present when the pull failed (VOD writes "ErrorCode " too).
    error_code: str | None = Field(default=None, alias="ErrorCode")
    # A person's request to delete the parts of an upload VOD still reports as in progress:
    # JSON true only (honoured for a direct invocation alone, see consumer.trust).
    force: bool = Field(default=False, alias="Force")

    @model_validator(mode="before")
    @classmethod
    def _read_leniently(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        fields: dict[str, Any] = {}
        for key, value in data.items():
            name = str(key).strip()
            if name == FORCE_KEY:
                fields[name] = value is True
            elif name in _FIELDS_USED:
                fields[name] = _text(value)
        time_text = fields.pop("EventTime", None)
        if time_text is not None:
            event_time = _event_time(time_text)
            fields["EventTime" if event_time else "unreadable_event_time"] = event_time or time_text
        return fields


_FIELDS_USED = frozenset({"EventType", "VideoId", "Status", "EventTime", "ErrorCode"})
FORCE_KEY = "Force"
_DATETIME = TypeAdapter(datetime)


def _text(value: object) -> str | None:
    """Text as VOD may write it: a trimmed string, or a number written as one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            value = str(value)
        except ValueError:  # an integer too long to write out is no identifier either
            return None
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _event_time(text: str) -> datetime | None:
    """EventTime in any published form (VOD writes UTC, so a time without offset is UTC)."""
    try:
        event_time = _DATETIME.validate_python(_COLON_MILLISECONDS.sub(r"\1.\2\3", text))
    except ValidationError:
        return None
    return event_time if event_time.tzinfo else event_time.replace(tzinfo=UTC)


def read_notification(body: object) -> UploadEvent | CleanupResult:
    """Turn a VOD notification into an upload to clean, or the result that ends it now."""
    if not isinstance(body, Mapping):
        return _rejected(
            ErrorCode.MALFORMED_EVENT, f"expected a JSON object, got {type(body).__name__}"
        )
    if is_sweep_request(body):
        # Not a notification (e.g. a failed scheduled sweep redriven to the queue): the next
        # scheduled sweep does the same work, so there is nothing to keep.
        return CleanupResult(
            video_id=None,
            outcome=None,
            status=CleanupStatus.IGNORED,
            detail="a sweep request: sweeps run on the schedule or by direct invocation",
        )
    notification = VodNotification.model_validate(body)
    if notification.event_type is None:
        return _manual(notification)
    if notification.event_type == SWEEP_FOUND_EVENT_TYPE:
        return _swept(notification)
    return _upload(notification)


def _manual(notification: VodNotification) -> UploadEvent | CleanupResult:
    if notification.video_id is None:
        return _rejected(ErrorCode.MISSING_VIDEO_ID, "no EventType and no VideoId")
    return _upload_event(notification, Outcome.MANUAL)


def _swept(notification: VodNotification) -> UploadEvent | CleanupResult:
    if notification.video_id is None:
        return _rejected(
            ErrorCode.MISSING_VIDEO_ID, "a sweep finding without VideoId", notification
        )
    return _upload_event(notification, Outcome.SWEPT)


def _upload(notification: VodNotification) -> UploadEvent | CleanupResult:
    """FileUploadComplete (EventType, VideoId, Status and EventTime all documented as
    required) or UploadByURLComplete (Status optional; VideoId filled in only once the
    pull succeeded, so without it there is no video, and no parts, to clean)."""
    event_type = (notification.event_type or "").lower()
    if event_type not in UPLOAD_EVENT_TYPES:
        return _ignored(notification, outcome=None)
    by_url = event_type == UPLOAD_BY_URL
    if by_url and notification.video_id is None:
        return _ignored(notification, _outcome_of(notification) or None)
    outcome = _outcome_of(notification)
    if outcome is None:
        detail = "Status is neither success nor fail"
        return _rejected(ErrorCode.UNKNOWN_STATUS, detail, notification)
    if notification.video_id is None:
        return _rejected(
            ErrorCode.MISSING_VIDEO_ID, "an upload event without VideoId", notification, outcome
        )
    return _upload_event(notification, outcome)


def _outcome_of(notification: VodNotification) -> Outcome | None:
    """The upload's outcome from its Status; for UploadByURLComplete, whose Status is
    optional, from what else is there when Status is absent: an ErrorCode says the pull
    failed, a VideoId alone that it succeeded."""
    status = (notification.status or "").lower()
    if status in _SUCCESS:
        return Outcome.COMPLETED
    if status in _FAILURE:
        return Outcome.FAILED
    if notification.status is None and (notification.event_type or "").lower() == UPLOAD_BY_URL:
        return Outcome.FAILED if notification.error_code else Outcome.COMPLETED
    return None


def _upload_event(notification: VodNotification, outcome: Outcome) -> UploadEvent | CleanupResult:
    video_id = notification.video_id or ""
    if not VIDEO_ID_PATTERN.fullmatch(video_id):
        detail = f"VideoId must be {VIDEO_ID_RULE}"
        return _rejected(ErrorCode.INVALID_VIDEO_ID, detail, notification, outcome)
    return UploadEvent(
        video_id=video_id,
        outcome=outcome,
        event_type=notification.event_type,
        event_time=notification.event_time,
        unreadable_event_time=notification.unreadable_event_time,
        force=notification.force,
    )


def _ignored(notification: VodNotification, outcome: Outcome | None) -> CleanupResult:
    return CleanupResult(
        video_id=_safe_video_id(notification),
        outcome=outcome,
        status=CleanupStatus.IGNORED,
        event_time=notification.event_time,
    )


def _rejected(
    error_code: ErrorCode,
    detail: str,
    notification: VodNotification | None = None,
    outcome: Outcome | None = None,
) -> CleanupResult:
    """A result for input we will not act on."""
    return CleanupResult(
        video_id=_safe_video_id(notification),
        outcome=outcome,
        status=CleanupStatus.REJECTED,
        error_code=error_code.value,
        detail=detail,
        event_time=notification.event_time if notification else None,
    )


def _safe_video_id(notification: VodNotification | None) -> str | None:
    """The VideoId if it looks like one: anything else is never echoed back."""
    video_id = notification.video_id if notification else None
    return video_id if video_id and VIDEO_ID_PATTERN.fullmatch(video_id) else None
