"""The stand-in's videos and VOD's operations on them, called directly (no HTTP, no signing).

Why: the tests of the cleanup function trust these rules to be VOD's: required parameters,
error codes and HTTP statuses, what an operation changes and what it reports.
"""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from vod_parts_cleanup_dev.vod_catalog import (
    OPERATIONS,
    VIDEO_STATUSES,
    Video,
    VodCatalog,
    format_time,
    ids_named,
)
from vod_parts_cleanup_dev.vod_errors import VodError

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
    assert ids_named({"VideoIds": "f,g"}) == ["f", "g"]
    assert ids_named({"PageNo": "1"}) == []


def test_operations_are_the_ones_served() -> None:
    assert set(OPERATIONS) == {
        "DeleteMultipartUpload",
        "GetVideoInfo",
        "GetVideoInfos",
        "GetVideoList",
        "GetUploadDetails",
    }


# -- GetVideoList -----------------------------------------------------------------------------


def seeded(
    count: int, *, status: str = "Uploading", step: timedelta = timedelta(minutes=1)
) -> VodCatalog:
    """``count`` videos v0000.. created ``step`` apart from CREATED on, in status ``status``."""
    return catalog_with(
        *(
            Video.new(f"v{index:04}", status=status, creation_time=CREATED + index * step)
            for index in range(count)
        )
    )


def listed(catalog: VodCatalog, **query: str) -> tuple[int, list[str]]:
    """Total and the VideoIds of one GetVideoList page."""
    reply = catalog.answer("GetVideoList", query)
    assert not isinstance(reply, VodError), reply
    video_list = reply["VideoList"]
    assert isinstance(video_list, dict)
    total = reply["Total"]
    assert isinstance(total, int)
    return total, [video["VideoId"] for video in video_list["Video"]]


def list_error(catalog: VodCatalog, **query: str) -> VodError:
    return error(catalog.answer("GetVideoList", query))


def at(minutes: int) -> str:
    return format_time(CREATED + timedelta(minutes=minutes))


def test_list_defaults_newest_first_ten_a_page() -> None:
    catalog = seeded(25)

    total, ids = listed(catalog)

    assert total == 25
    assert ids == [f"v{index:04}" for index in range(24, 14, -1)]


def test_list_pages_and_sort_order() -> None:
    catalog = seeded(25)

    assert listed(catalog, PageNo="3")[1] == [f"v{index:04}" for index in range(4, -1, -1)]
    assert listed(catalog, PageNo="4")[1] == []
    assert listed(catalog, SortBy="CreationTime:Asc", PageSize="3", PageNo="2")[1] == [
        "v0003",
        "v0004",
        "v0005",
    ]
    assert listed(catalog, SortBy="CreationTime:Desc", PageSize="100")[1][0] == "v0024"


def test_list_items_describe_the_videos() -> None:
    video = Video.new("vid-1", status="Uploading", creation_time=CREATED, title="Holiday")
    catalog = catalog_with(video)

    reply = catalog.answer("GetVideoList", {})

    assert reply == {"Total": 1, "VideoList": {"Video": [video.describe()]}}


def test_equal_creation_times_are_ordered_by_video_id() -> None:
    catalog = catalog_with(*(Video.new(video_id, creation_time=CREATED) for video_id in "cab"))

    assert listed(catalog, SortBy="CreationTime:Asc")[1] == ["a", "b", "c"]
    assert listed(catalog)[1] == ["c", "b", "a"]


def test_list_filters_by_one_or_more_statuses() -> None:
    catalog = catalog_with(
        Video.new("up", status="Uploading", creation_time=CREATED),
        Video.new("failed", status="UploadFail", creation_time=CREATED + timedelta(seconds=1)),
        Video.new("done", status="Normal", creation_time=CREATED + timedelta(seconds=2)),
    )

    assert listed(catalog, Status="Uploading") == (1, ["up"])
    assert listed(catalog, Status="Uploading,UploadFail") == (2, ["failed", "up"])
    assert listed(catalog, Status=" Normal , Uploading ") == (2, ["done", "up"])
    assert listed(catalog, Status="") == (3, ["done", "failed", "up"])
    catalog.set_status("up", "Normal")
    assert listed(catalog, Status="Normal") == (2, ["done", "up"])


def test_time_range_is_inclusive_at_both_ends() -> None:
    catalog = seeded(10)

    assert listed(catalog, StartTime=at(3), EndTime=at(5)) == (3, ["v0005", "v0004", "v0003"])
    assert listed(catalog, StartTime=at(8)) == (2, ["v0009", "v0008"])
    assert listed(catalog, EndTime=at(1)) == (2, ["v0001", "v0000"])
    assert listed(catalog, StartTime=at(20)) == (0, [])


def test_a_video_added_after_a_listing_is_listed() -> None:
    catalog = seeded(3)
    assert listed(catalog)[0] == 3

    catalog.add(Video.new("early", creation_time=CREATED - timedelta(days=1)))

    assert listed(catalog, SortBy="CreationTime:Asc") == (4, ["early", "v0000", "v0001", "v0002"])


def test_only_the_first_5000_matches_of_a_filter_can_be_reached() -> None:
    catalog = seeded(6_000, step=timedelta(seconds=1))

    total, page_50 = listed(catalog, SortBy="CreationTime:Asc", PageSize="100", PageNo="50")
    _, page_51 = listed(catalog, SortBy="CreationTime:Asc", PageSize="100", PageNo="51")
    _, straddling = listed(catalog, SortBy="CreationTime:Asc", PageSize="30", PageNo="167")
    _, newest = listed(catalog, PageSize="100", PageNo="50")

    assert total == 6_000
    assert (page_50[0], page_50[-1]) == ("v4900", "v4999")
    assert page_51 == []
    assert straddling == [f"v{index:04}" for index in range(4980, 5000)]
    assert newest[-1] == "v1000"  # newest first: the oldest 1,000 are out of reach


def test_walking_time_windows_reaches_every_video() -> None:
    catalog = seeded(6_000, step=timedelta(seconds=1))
    halfway = CREATED + timedelta(seconds=3_000)
    windows = [
        (CREATED, halfway - timedelta(seconds=1)),
        (halfway, CREATED + timedelta(seconds=6_000)),
    ]

    seen: list[str] = []
    for start, end in windows:
        for page_no in range(1, 31):
            total, ids = listed(
                catalog,
                StartTime=format_time(start),
                EndTime=format_time(end),
                PageSize="100",
                PageNo=str(page_no),
            )
            assert total == 3_000
            seen.extend(ids)

    assert len(seen) == len(set(seen)) == 6_000


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PageSize", "0"),
        ("PageSize", "101"),
        ("PageSize", "ten"),
        ("PageSize", "-1"),
        ("PageSize", "1.5"),
        ("PageNo", "0"),
        ("PageNo", "x"),
        ("SortBy", "CreationTime"),
        ("SortBy", "Title:Asc"),
        ("Status", "Uploading,Done"),
        ("StartTime", "2026-01-02 03:04:05"),
        ("StartTime", "2026-1-2T3:4:5Z"),
        ("StartTime", "2026-01-02T03:04:05+08:00"),
        ("EndTime", "2026-13-01T00:00:00Z"),
        ("EndTime", "2026-01-02T03:04:05.000Z"),
        ("CateId", "781111"),
        ("StorageLocation", "out-1.oss-cn-shanghai.aliyuncs.com"),
        ("ReferenceIds", "ref-1"),
    ],
)
def test_list_refuses_malformed_parameters(name: str, value: str) -> None:
    refused = list_error(seeded(3), **{name: value})

    assert (refused.status, refused.code) == (400, "InvalidParameter")
    assert name in refused.message


def test_list_accepts_the_documented_bounds() -> None:
    catalog = seeded(150)

    assert len(listed(catalog, PageSize="100")[1]) == 100
    assert len(listed(catalog, PageSize="1")[1]) == 1


def test_end_time_must_be_later_than_start_time() -> None:
    catalog = seeded(3)

    before = list_error(catalog, StartTime=at(2), EndTime=at(1))
    equal = list_error(catalog, StartTime=at(1), EndTime=at(1))

    assert (before.code, equal.code) == ("InvalidParameter", "InvalidParameter")
    assert "EndTime" in before.message
    assert listed(
        catalog, StartTime=at(1), EndTime=format_time(CREATED + timedelta(minutes=1, seconds=1))
    )[1] == ["v0001"]


# -- GetVideoInfos ----------------------------------------------------------------------------


def test_video_infos_describe_known_videos_and_name_unknown_ones() -> None:
    catalog = catalog_with(
        Video.new("up", status="Uploading", creation_time=CREATED),
        Video.new("done", status="Normal", creation_time=CREATED),
    )

    reply = catalog.answer("GetVideoInfos", {"VideoIds": "done,missing,up,done"})

    assert not isinstance(reply, VodError), reply
    assert [(video["VideoId"], video["Status"]) for video in reply["VideoList"]] == [
        ("done", "Normal"),
        ("up", "Uploading"),
    ]
    assert reply["NonExistVideoIds"] == ["missing"]


def test_video_infos_refuse_a_missing_or_too_long_list() -> None:
    catalog = catalog_with()
    twenty_one = ",".join(f"v{index}" for index in range(21))

    too_many = catalog.answer("GetVideoInfos", {"VideoIds": twenty_one})
    missing = catalog.answer("GetVideoInfos", {"VideoIds": " , "})

    assert isinstance(too_many, VodError) and isinstance(missing, VodError)
    assert (too_many.code, too_many.status) == ("InvalidParameter", 400)
    assert (missing.code, missing.status) == ("MissingParameter", 400)


# -- GetUploadDetails -------------------------------------------------------------------------


def details(catalog: VodCatalog, media_ids: str, **query: str) -> dict[str, object]:
    reply = catalog.answer("GetUploadDetails", {"MediaIds": media_ids, **query})
    assert not isinstance(reply, VodError), reply
    return reply


def test_a_client_sdk_upload_gets_no_detail_and_is_not_said_to_be_missing() -> None:
    """VOD documents GetUploadDetails for console and server-SDK uploads only: a web or
    mobile SDK upload is simply left out (it exists, so not under NonExistMediaIds)."""
    catalog = catalog_with(
        Video.new("server", status="Uploading", creation_time=CREATED),
        Video.new(
            "browser", status="Uploading", creation_time=CREATED, reports_upload_detail=False
        ),
    )

    reply = details(catalog, "server,browser")

    assert [detail["MediaId"] for detail in reply["UploadDetails"]] == ["server"]  # type: ignore[index, union-attr]
    assert reply["NonExistMediaIds"] == []


def test_upload_details_of_unfinished_and_finished_uploads() -> None:
    touched = CREATED + timedelta(minutes=7)
    catalog = catalog_with(
        Video.new("up", status="Uploading", creation_time=CREATED, modification_time=touched),
        Video.new("failed", status="UploadFail", creation_time=CREATED, title="Failed"),
        Video.new("done", status="Normal", creation_time=CREATED, modification_time=touched),
    )

    reply = details(catalog, "up,failed,done,missing", MediaType="video")

    assert reply == {
        "UploadDetails": [
            {
                "MediaId": "up",
                "Title": "up",
                "Status": "Uploading",
                "UploadStatus": "Uploading",
                "UploadRatio": 0.0,
                "CreationTime": "2026-01-02T03:04:05Z",
                "ModificationTime": "2026-01-02T03:11:05Z",
            },
            {
                "MediaId": "failed",
                "Title": "Failed",
                "Status": "UploadFail",
                "UploadStatus": "UploadFail",
                "UploadRatio": 0.0,
                "CreationTime": "2026-01-02T03:04:05Z",
                "ModificationTime": "2026-01-02T03:04:05Z",
            },
            {
                "MediaId": "done",
                "Title": "done",
                "Status": "Normal",
                "UploadStatus": "UploadSucc",
                "UploadRatio": 1.0,
                "CreationTime": "2026-01-02T03:04:05Z",
                "ModificationTime": "2026-01-02T03:11:05Z",
                "CompletionTime": "2026-01-02T03:11:05Z",
            },
        ],
        "NonExistMediaIds": ["missing"],
        "ForbiddenMediaIds": [],
    }


def test_upload_details_answer_each_id_once_in_request_order() -> None:
    catalog = seeded(3)

    reply = details(catalog, " v0002 ,v0000,v0002,,nope,nope")

    upload_details = reply["UploadDetails"]
    assert isinstance(upload_details, list)
    assert [detail["MediaId"] for detail in upload_details] == ["v0002", "v0000"]
    assert reply["NonExistMediaIds"] == ["nope"]


def test_upload_details_take_at_most_twenty_ids() -> None:
    catalog = seeded(21)
    twenty = ",".join(f"v{index:04}" for index in range(20))

    upload_details = details(catalog, twenty)["UploadDetails"]
    too_many = error(catalog.answer("GetUploadDetails", {"MediaIds": f"{twenty},v0020"}))

    assert isinstance(upload_details, list)
    assert len(upload_details) == 20
    assert (too_many.status, too_many.code) == (400, "InvalidParameter")
    assert "MediaIds" in too_many.message


def test_upload_details_parameter_errors() -> None:
    catalog = seeded(1)

    missing = error(catalog.answer("GetUploadDetails", {}))
    blank = error(catalog.answer("GetUploadDetails", {"MediaIds": " , "}))
    audio = error(catalog.answer("GetUploadDetails", {"MediaIds": "v0000", "MediaType": "audio"}))

    assert (missing.code, blank.code) == ("MissingParameter", "MissingParameter")
    assert '"MediaIds"' in missing.message
    assert (audio.status, audio.code) == (400, "InvalidParameter")
