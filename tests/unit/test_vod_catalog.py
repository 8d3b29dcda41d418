"""The stand-in's videos and VOD's operations on them, called directly (no HTTP, no signing).

Why: the tests of the cleanup function trust these rules to be VOD's: required parameters,
error codes and HTTP statuses, what an operation changes and what it reports.
"""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from vod_parts_cleanup.local.vod_catalog import (
    OPERATIONS,
    VIDEO_STATUSES,
    Video,
    VodCatalog,
    format_time,
    ids_named,
)
from vod_parts_cleanup.local.vod_errors import VodError

CREATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def catalog_with(*videos: Video) -> VodCatalog:
    catalog = VodCatalog()
    for video in videos:
        catalog.add(video)
    return catalog


def error(reply: object) -> VodError:
    assert isinstance(reply, VodError), reply
    return reply


# -- the video model ---------------------------------------------------------------------


def test_a_new_video_is_uploaded_now_with_parts_and_titled_by_its_id() -> None:
    before = datetime.now(UTC).replace(microsecond=0)

    video = Video.new("vid-1")

    assert (video.status, video.has_parts, video.title) == ("UploadSucc", True, "vid-1")
    assert before <= video.creation_time <= datetime.now(UTC)
    assert video.modification_time == video.creation_time


def test_times_are_kept_in_whole_utc_seconds() -> None:
    beijing = timezone(timedelta(hours=8))

    video = Video.new(
        "vid-1",
        creation_time=datetime(2026, 1, 2, 11, 4, 5, 999_999, tzinfo=beijing),
        modification_time=datetime(2026, 1, 2, 4, 0, 0, 1, tzinfo=UTC),
    )

    assert video.creation_time == CREATED
    assert video.creation_time.tzinfo == UTC
    assert video.modification_time == datetime(2026, 1, 2, 4, 0, 0, tzinfo=UTC)
    assert format_time(video.creation_time) == "2026-01-02T03:04:05Z"


def test_the_model_refuses_what_vod_never_holds() -> None:
    with pytest.raises(ValueError, match="Done"):
        Video.new("vid-1", status="Done")
    with pytest.raises(ValueError, match="time zone"):
        Video.new("vid-1", creation_time=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="time zone"):
        Video.new("vid-1", modification_time=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="video_id"):
        Video.new("")


def test_vods_nine_statuses() -> None:
    assert {
        "Uploading",
        "UploadFail",
        "UploadSucc",
        "Transcoding",
        "TranscodeFail",
        "Checking",
        "Blocked",
        "Normal",
        "ProduceFail",
    } == VIDEO_STATUSES


def test_describe_reports_vods_field_names_and_time_format() -> None:
    video = Video.new(
        "vid-1",
        status="Uploading",
        creation_time=CREATED,
        modification_time=CREATED + timedelta(minutes=5),
        title="Holiday",
    )

    assert video.describe() == {
        "VideoId": "vid-1",
        "Title": "Holiday",
        "Status": "Uploading",
        "CreationTime": "2026-01-02T03:04:05Z",
        "ModificationTime": "2026-01-02T03:09:05Z",
    }


def test_set_status_replaces_only_the_status() -> None:
    catalog = catalog_with(Video.new("vid-1", status="Uploading", creation_time=CREATED))

    catalog.set_status("vid-1", "UploadFail")

    video = catalog.get("vid-1")
    assert video is not None
    assert (video.status, video.has_parts, video.creation_time) == ("UploadFail", True, CREATED)
    with pytest.raises(ValueError, match="Nope"):
        catalog.set_status("vid-1", "Nope")
    with pytest.raises(KeyError):
        catalog.set_status("unknown", "Normal")


def test_adding_an_id_again_replaces_the_video_and_clear_forgets_all() -> None:
    catalog = catalog_with(Video.new("vid-1", status="Uploading"))

    catalog.add(Video.new("vid-1", status="Normal", has_parts=False))

    video = catalog.get("vid-1")
    assert video is not None
    assert (video.status, video.has_parts) == ("Normal", False)
    catalog.clear()
    assert catalog.get("vid-1") is None


# -- DeleteMultipartUpload --------------------------------------------------------------------


def test_delete_removes_the_parts_once() -> None:
    catalog = catalog_with(Video.new("vid-1"))
    query = {"MediaId": "vid-1", "MediaType": "video"}

    first = catalog.answer("DeleteMultipartUpload", query)
    again = error(catalog.answer("DeleteMultipartUpload", query))

    assert first == {}
    assert (again.status, again.code) == (400, "InvalidMultipartUpload.NotFound")
    video = catalog.get("vid-1")
    assert video is not None
    assert not video.has_parts
    assert video.status == "UploadSucc"


def test_delete_errors_are_all_http_400() -> None:
    catalog = catalog_with(Video.new("vid-1"))

    unknown = error(catalog.delete_multipart_upload({"MediaId": "nope", "MediaType": "video"}))
    audio = error(catalog.delete_multipart_upload({"MediaId": "vid-1", "MediaType": "audio"}))
    no_type = error(catalog.delete_multipart_upload({"MediaId": "vid-1"}))
    no_id = error(catalog.delete_multipart_upload({"MediaId": "", "MediaType": "video"}))

    assert (unknown.status, unknown.code) == (400, "InvalidVideo.NotFound")
    assert (audio.status, audio.code) == (400, "InvalidParameter")
    assert "MediaType" in audio.message
    assert (no_type.status, no_type.code) == (400, "MissingParameter")
    assert '"MediaType"' in no_type.message
    assert '"MediaId"' in no_id.message
    video = catalog.get("vid-1")
    assert video is not None
    assert video.has_parts


# -- GetVideoInfo -----------------------------------------------------------------------------


def test_video_info_describes_the_video() -> None:
    video = Video.new("vid-1", status="Uploading", creation_time=CREATED)
    catalog = catalog_with(video)

    assert catalog.answer("GetVideoInfo", {"VideoId": "vid-1"}) == {"Video": video.describe()}


def test_video_info_errors() -> None:
    catalog = VodCatalog()

    unknown = error(catalog.get_video_info({"VideoId": "nope"}))
    missing = error(catalog.get_video_info({}))

    assert (unknown.status, unknown.code) == (404, "InvalidVideo.NotFound")
    assert (missing.status, missing.code) == (400, "MissingParameter")
    assert '"VideoId"' in missing.message


# -- which ids a request names ----------------------------------------------------------------


def test_ids_named_reads_every_id_parameter() -> None:
    assert ids_named({"MediaId": "a", "MediaType": "video"}) == ["a"]
    assert ids_named({"VideoId": "b"}) == ["b"]
    assert ids_named({"MediaIds": "c, d,,e"}) == ["c", "d", "e"]
    assert ids_named({"PageNo": "1"}) == []


def test_operations_are_the_ones_served() -> None:
    assert set(OPERATIONS) == {"DeleteMultipartUpload", "GetVideoInfo"}
