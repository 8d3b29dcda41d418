"""Reading VOD notifications: tolerant where real payloads need it, strict about the VideoId."""

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import load_event
from vod_parts_cleanup.consumer.intake import read_notification
from vod_parts_cleanup.consumer.models import CleanupResult, UploadEvent
from vod_parts_cleanup.shared.envelopes import decode_json_object, recognise_trigger
from vod_parts_cleanup.shared.errors import MalformedEventError
from vod_parts_cleanup.shared.vocabulary import CleanupStatus, Outcome, Trigger

VIDEO_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def upload(**fields: object) -> dict[str, object]:
    return {
        "EventTime": "2026-11-20T08:15:30Z",
        "EventType": "FileUploadComplete",
        "VideoId": VIDEO_ID,
        "Status": "success",
        **fields,
    }


def as_upload(body: object) -> UploadEvent:
    event = read_notification(body)
    assert isinstance(event, UploadEvent), event
    return event


def as_result(body: object) -> CleanupResult:
    result = read_notification(body)
    assert isinstance(result, CleanupResult), result
    return result


@pytest.mark.parametrize(
    ("event_type", "status", "outcome"),
    [
        ("FileUploadComplete", "success", Outcome.COMPLETED),
        ("FileUploadComplete", "fail", Outcome.FAILED),
        ("UploadByURLComplete", "success", Outcome.COMPLETED),
        ("UploadByURLComplete", "fail", Outcome.FAILED),
        ("FileUploadComplete", "SUCCESS", Outcome.COMPLETED),
        ("FileUploadComplete", "Success", Outcome.COMPLETED),
        ("FileUploadComplete", "Fail", Outcome.FAILED),
        ("FileUploadComplete", "Failed", Outcome.FAILED),
        ("fileuploadcomplete", "success", Outcome.COMPLETED),
    ],
)
def test_upload_events_map_to_their_outcome(event_type: str, status: str, outcome: Outcome) -> None:
    event = as_upload(upload(EventType=event_type, Status=status))
    assert event.video_id == VIDEO_ID
    assert event.outcome is outcome
    assert event.event_time == datetime(2026, 11, 20, 8, 15, 30, tzinfo=UTC)


def test_the_manual_form_is_cleaned_now() -> None:
    event = as_upload({"VideoId": VIDEO_ID})
    assert (event.video_id, event.outcome, event.event_time) == (VIDEO_ID, Outcome.MANUAL, None)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2026-11-20T08:15:30Z", datetime(2026, 11, 20, 8, 15, 30, tzinfo=UTC)),
        ("2026-11-20T08:15:30.123Z", datetime(2026, 11, 20, 8, 15, 30, 123000, tzinfo=UTC)),
        ("2026-11-20T08:15:30:123Z", datetime(2026, 11, 20, 8, 15, 30, 123000, tzinfo=UTC)),
        ("2026-11-20T08:15:30", datetime(2026, 11, 20, 8, 15, 30, tzinfo=UTC)),
    ],
)
def test_event_time_is_read_in_every_published_form(written: str, expected: datetime) -> None:
    assert as_upload(upload(EventTime=written)).event_time == expected


def test_keys_with_stray_spaces_and_numbers_as_strings_are_read() -> None:
    body = {
        " EventType": "FileUploadComplete",
        "VideoId ": f" {VIDEO_ID} ",
        "Status ": "Success",
        "Size": "123456",
        "EventTime": "2026-11-20T08:15:30.123Z",
    }
    event = as_upload(body)
    assert (event.video_id, event.outcome) == (VIDEO_ID, Outcome.COMPLETED)


def test_the_quirky_sample_event_is_a_completed_upload() -> None:
    event = as_upload(load_event("direct-quirky.json"))
    assert event.outcome is Outcome.COMPLETED
    assert event.event_time is not None
    assert event.event_time.microsecond == 123000


@pytest.mark.parametrize(
    "body",
    [
        {"EventType": "ImageUploadComplete", "ImageId": VIDEO_ID, "Status": "success"},
        {"EventType": "AttachedMediaUploadComplete", "AttachedMediaId": VIDEO_ID},
        {"EventType": "StreamTranscodeComplete", "VideoId": VIDEO_ID, "Status": "success"},
        {"EventType": "VideoAnalysisComplete", "VideoId": VIDEO_ID, "Status": "Success"},
        {"EventType": "TranscodeComplete", "VideoId": VIDEO_ID, "Status": "success"},
        {"EventType": "UploadByURLComplete", "JobId": "j1", "Status": "fail", "ErrorCode": "X"},
        {"EventType": "UploadByURLComplete ", "JobId": "j1", "Status": "fail", "ErrorCode ": "X"},
        # VOD fills VideoId in only once the pull succeeded: without one, nothing to clean.
        {"EventType": "UploadByURLComplete", "JobId": "j1", "Status": "success"},
        {"EventType": "UploadByURLComplete", "JobId": "j1"},
    ],
)
def test_events_that_are_not_about_a_video_upload_are_ignored(body: dict[str, object]) -> None:
    assert as_result(body).status is CleanupStatus.IGNORED


@pytest.mark.parametrize(
    ("body", "error_code"),
    [
        (upload(VideoId="../../etc/passwd"), "InvalidVideoId"),
        (upload(VideoId="abc-123; DROP"), "InvalidVideoId"),
        (upload(VideoId="a" * 65), "InvalidVideoId"),
        (upload(VideoId="视频"), "InvalidVideoId"),
        ({"VideoId": "has space"}, "InvalidVideoId"),
        (upload(VideoId=None), "MissingVideoId"),
        (upload(VideoId=""), "MissingVideoId"),
        ({}, "MissingVideoId"),
        (upload(Status="processing"), "UnknownStatus"),
        (upload(Status=None), "UnknownStatus"),
        (upload(VideoId=["a", "b"]), "MissingVideoId"),
        (upload(VideoId=True), "MissingVideoId"),
        (upload(VideoId=1.5), "InvalidVideoId"),
        ("FileUploadComplete", "MalformedEvent"),
        (["VideoId", VIDEO_ID], "MalformedEvent"),
        (None, "MalformedEvent"),
    ],
)
def test_untrustworthy_events_are_rejected_with_a_reason(body: object, error_code: str) -> None:
    result = as_result(body)
    assert result.status is CleanupStatus.REJECTED
    assert result.error_code == error_code
    assert result.detail


def test_a_rejected_video_id_is_never_echoed_back() -> None:
    result = as_result(upload(VideoId="<script>alert(1)</script>"))
    assert result.video_id is None
    assert "script" not in str(result.to_json_dict())


@pytest.mark.parametrize(
    "fields",
    [
        {"Size": "big"},
        {"JobId": 12345},
        {"ErrorCode ": None, "FileUrl": ["x"], "Extend": {"nested": [1, 2]}},
        {"Size": "123456", "FileURL": 7, "UserData": "{not json"},
    ],
)
def test_fields_cleanup_does_not_use_never_decide(fields: dict[str, object]) -> None:
    event = as_upload(upload(**fields))
    assert (event.video_id, event.outcome) == (VIDEO_ID, Outcome.COMPLETED)


def test_a_numeric_video_id_is_read_as_text() -> None:
    assert as_upload(upload(VideoId=1234567890)).video_id == "1234567890"


def test_an_event_time_that_is_not_a_time_still_tells_notifications_apart() -> None:
    event = as_upload(upload(EventTime="yesterday"))
    assert (event.event_time, event.unreadable_event_time) == (None, "yesterday")
    assert as_upload(upload(EventTime="  ")).unreadable_event_time is None


# Any JSON value, nested a little: what a field we do not use may hold.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
# Key spellings of the four fields intake reads, stray spaces included.
USED_KEYS = {"EventType", "VideoId", "Status", "EventTime"}


@given(
    extra=st.dictionaries(
        st.text(max_size=12).filter(lambda key: key.strip() not in USED_KEYS),
        JSON_VALUES,
        max_size=6,
    ),
    event_type=st.sampled_from(
        ["FileUploadComplete", "UploadByURLComplete", " fileuploadcomplete "]
    ),
    status=st.sampled_from(["success", "fail", "Success", "FAILED"]),
    key_padding=st.sampled_from(["", " ", "  "]),
)
@settings(max_examples=300, deadline=None)
def test_a_good_upload_is_never_rejected_whatever_else_the_body_holds(
    extra: dict[str, object], event_type: str, status: str, key_padding: str
) -> None:
    body = extra | {
        f"EventType{key_padding}": event_type,
        f"{key_padding}VideoId": VIDEO_ID,
        "Status": status,
        "EventTime": "2026-11-20T08:15:30Z",
    }
    event = as_upload(body)
    assert event.video_id == VIDEO_ID
    assert event.outcome in {Outcome.COMPLETED, Outcome.FAILED}


@pytest.mark.parametrize(
    ("name", "trigger"),
    [
        ("direct-completed.json", Trigger.DIRECT),
        ("direct-manual.json", Trigger.DIRECT),
        ("eventbridge-completed.json", Trigger.EVENTBRIDGE),
        ("sqs-completed.json", Trigger.SQS),
        ("sqs-mixed-batch.json", Trigger.SQS),
        ({"Records": []}, Trigger.SQS),
        ("http-completed.json", Trigger.HTTP),
    ],
)
def test_each_envelope_is_recognised(name: str | dict, trigger: Trigger) -> None:
    event = load_event(name) if isinstance(name, str) else name
    assert recognise_trigger(event) is trigger


@pytest.mark.parametrize("event", ["text", 42, None, [], {"Records": [{"a": 1}]}, {"Records": 3}])
def test_anything_else_counts_as_a_direct_invocation(event: object) -> None:
    assert recognise_trigger(event) is Trigger.DIRECT


@pytest.mark.parametrize("text", [None, "", "  ", "not json{", "[1, 2]", '"text"', "42"])
def test_a_body_must_hold_a_json_object(text: str | None) -> None:
    with pytest.raises(MalformedEventError):
        decode_json_object(text)


def test_a_json_object_body_is_decoded() -> None:
    assert decode_json_object('{"VideoId": "abc"}') == {"VideoId": "abc"}


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        ({"EventType": "UploadByURLComplete", "VideoId": VIDEO_ID, "JobId": "j1"}, "completed"),
        (
            {"EventType": "UploadByURLComplete", "VideoId": VIDEO_ID, "ErrorCode ": "X"},
            "failed",
        ),
    ],
)
def test_upload_by_url_without_status_is_cleaned_with_the_outcome_its_fields_give(
    body: dict[str, object], outcome: str
) -> None:
    """VOD documents UploadByURLComplete's Status as optional (FileUploadComplete's as
    required): a VideoId means the pull succeeded, an ErrorCode that it failed."""
    event = read_notification(body)
    assert isinstance(event, UploadEvent)
    assert (event.video_id, event.outcome.value) == (VIDEO_ID, outcome)


def test_force_is_read_only_as_json_true() -> None:
    for value, forced in ((True, True), ("true", False), (1, False), (False, False)):
        event = read_notification({"VideoId": VIDEO_ID, "Force": value})
        assert isinstance(event, UploadEvent)
        assert event.force is forced
