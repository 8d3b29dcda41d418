"""The local VOD stand-in, driven by the real tea-openapi client over real HTTP.

Why: other tests trust the stand-in to behave like VOD; these prove it accepts exactly
what the SDKs send, verifies signatures from the wire, answers each operation in the shape
the official SDK reads, and fails or throttles the way it is told to.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from alibabacloud_tea_openapi.client import Client
from alibabacloud_tea_openapi.exceptions import (
    ClientException,
    ServerException,
    ThrottlingException,
)
from alibabacloud_tea_openapi.utils import Utils
from alibabacloud_tea_openapi.utils_models import Config, OpenApiRequest, Params
from darabonba.exceptions import RetryError, UnretryableException
from darabonba.request import DaraRequest
from darabonba.runtime import RuntimeOptions

import vod_parts_cleanup_dev as local_package
from vod_parts_cleanup.consumer.vod_client import DELETE_MULTIPART_UPLOAD
from vod_parts_cleanup_dev.vod_catalog import Video
from vod_parts_cleanup_dev.vod_server import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET, LocalVod

PARAMS = DELETE_MULTIPART_UPLOAD  # exactly what the official VOD SDK passes
REQUEST_ID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")


@pytest.fixture
def vod() -> Iterator[LocalVod]:
    with LocalVod() as stand_in:
        yield stand_in


def make_client(
    stand_in: LocalVod,
    *,
    key_id: str = LOCAL_ACCESS_KEY_ID,
    secret: str = LOCAL_ACCESS_KEY_SECRET,
    token: str | None = None,
    read_timeout: int = 2000,
) -> Client:
    return Client(
        Config(
            access_key_id=key_id,
            access_key_secret=secret,
            security_token=token,
            endpoint=stand_in.endpoint,
            protocol="HTTP",
            read_timeout=read_timeout,
            connect_timeout=1000,
        )
    )


def delete(client: Client, media_id: str, media_type: str | None = "video") -> dict[str, Any]:
    query = {"MediaId": media_id}
    if media_type is not None:
        query["MediaType"] = media_type
    result: dict[str, Any] = client.call_api(PARAMS, OpenApiRequest(query=query), RuntimeOptions())
    return result


def client_error(client: Client, media_id: str, media_type: str | None = "video") -> Any:
    with pytest.raises(ClientException) as caught:
        delete(client, media_id, media_type)
    return caught.value


def call(client: Client, action: str, query: dict[str, str]) -> dict[str, Any]:
    """Any operation, passed to call_api exactly as the official SDK passes its own."""
    params = Params().from_map({**PARAMS.to_map(), "action": action})
    result: dict[str, Any] = client.call_api(params, OpenApiRequest(query=query), RuntimeOptions())
    return result


def video_info(client: Client, video_id: str) -> dict[str, Any]:
    body: dict[str, Any] = call(client, "GetVideoInfo", {"VideoId": video_id})["body"]
    return body


def video_info_error(client: Client, video_id: str) -> Any:
    with pytest.raises(ClientException) as caught:
        video_info(client, video_id)
    return caught.value


# -- hand-made requests, signed with the SDK's own signing function --------------------


def signed_request(
    stand_in: LocalVod,
    query: dict[str, str],
    *,
    body: bytes = b"",
    date: datetime | None = None,
    nonce: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> tuple[str, dict[str, str]]:
    """Sign a request the way tea-openapi does; return the URL target and headers."""
    request = DaraRequest()
    request.method = "POST"
    request.pathname = "/"
    request.query = dict(query)
    request.headers = {
        "host": stand_in.endpoint,
        "x-acs-version": "2017-03-21",
        "x-acs-action": "DeleteMultipartUpload",
        "x-acs-date": (date or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce or Utils.get_nonce(),
        "accept": "application/json",
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
        **(extra_headers or {}),
    }
    request.headers["Authorization"] = Utils.get_authorization(
        request,
        "ACS3-HMAC-SHA256",
        hashlib.sha256(body).hexdigest(),
        LOCAL_ACCESS_KEY_ID,
        LOCAL_ACCESS_KEY_SECRET,
    )
    return "/?" + urlencode(query), dict(request.headers)


def send(
    stand_in: LocalVod, target: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection(stand_in.endpoint, timeout=2)
    try:
        conn.request("POST", target, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


# -- the operation -----------------------------------------------------------------------


def test_deletes_parts_then_reports_none_left(vod: LocalVod) -> None:
    vod.add_video("vid-1")
    client = make_client(vod)

    result = delete(client, "vid-1")

    assert result["statusCode"] == 200
    assert set(result["body"]) == {"RequestId"}
    assert REQUEST_ID.match(result["body"]["RequestId"])
    assert result["headers"]["content-type"] == "application/json;charset=utf-8"
    assert not vod.has_parts("vid-1")

    again = client_error(client, "vid-1")
    assert again.code == "InvalidMultipartUpload.NotFound"
    assert again.status_code == 400

    first, second = vod.requests
    assert (first.status, first.error_code, first.signature_valid) == (200, None, True)
    assert first.request_id == result["body"]["RequestId"]
    assert (first.method, first.path) == ("POST", "/")
    assert (first.action, first.version) == ("DeleteMultipartUpload", "2017-03-21")
    assert first.query == {"MediaId": "vid-1", "MediaType": "video"}
    assert second.error_code == "InvalidMultipartUpload.NotFound"
    assert second.request_id == again.request_id


def test_known_video_without_parts(vod: LocalVod) -> None:
    vod.add_video("done", has_parts=False)
    assert client_error(make_client(vod), "done").code == "InvalidMultipartUpload.NotFound"


def test_unknown_video_answers_like_vod(vod: LocalVod) -> None:
    error = client_error(make_client(vod), "nope")

    assert error.code == "InvalidVideo.NotFound"
    assert error.status_code == 400
    assert REQUEST_ID.match(error.request_id)
    assert {"RequestId", "HostId", "Code", "Message", "Recommend"} <= set(error.data)
    assert error.data["HostId"] == vod.endpoint


def test_media_type_must_be_video(vod: LocalVod) -> None:
    vod.add_video("vid-1")
    client = make_client(vod)

    assert client_error(client, "vid-1", "audio").code == "InvalidParameter"
    missing = client_error(client, "vid-1", None)
    assert missing.code == "MissingParameter"
    assert "MediaType" in missing.message
    assert "MediaId" in client_error(client, "", "video").message
    assert vod.has_parts("vid-1")


def test_only_delete_multipart_upload_of_2017_03_21(vod: LocalVod) -> None:
    client = make_client(vod)
    query = OpenApiRequest(query={"MediaId": "x", "MediaType": "video"})
    other_api = Params().from_map({**PARAMS.to_map(), "action": "DeleteVideo"})
    other_version = Params().from_map({**PARAMS.to_map(), "version": "2014-05-26"})

    with pytest.raises(ClientException) as api:
        client.call_api(other_api, query, RuntimeOptions())
    with pytest.raises(ClientException) as version:
        client.call_api(other_version, query, RuntimeOptions())

    assert (api.value.code, api.value.status_code) == ("InvalidApi.NotFound", 404)
    assert version.value.code == "InvalidVersion"


def official_sdk_client(vod: LocalVod) -> Any:
    """The official VOD SDK's client (alibabacloud-vod20170321), pointed at the stand-in."""
    from alibabacloud_vod20170321.client import Client as VodClient

    return VodClient(
        Config(
            access_key_id=LOCAL_ACCESS_KEY_ID,
            access_key_secret=LOCAL_ACCESS_KEY_SECRET,
            endpoint=vod.endpoint,
            protocol="HTTP",
            read_timeout=2000,
            connect_timeout=1000,
        )
    )


def test_official_vod_sdk_is_accepted(vod: LocalVod) -> None:
    from alibabacloud_vod20170321 import models as vod_models

    vod.add_video("vid-sdk")
    client = official_sdk_client(vod)

    response = client.delete_multipart_upload(
        vod_models.DeleteMultipartUploadRequest(media_id="vid-sdk", media_type="video")
    )

    assert response.status_code == 200
    assert REQUEST_ID.match(response.body.request_id)
    assert not vod.has_parts("vid-sdk")
    (recorded,) = vod.requests
    assert recorded.signature_valid
    assert recorded.query == {"MediaId": "vid-sdk", "MediaType": "video"}


# -- the video model and GetVideoInfo ------------------------------------------------------


def test_video_info_reports_what_was_seeded(vod: LocalVod) -> None:
    created = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
    touched = datetime(2026, 1, 2, 4, 0, 0, tzinfo=timezone(timedelta(hours=8)))
    vod.add_video(
        "vid-up",
        status="Uploading",
        creation_time=created,
        modification_time=touched,
        title="Holiday",
    )
    client = make_client(vod)

    body = video_info(client, "vid-up")

    assert REQUEST_ID.match(body["RequestId"])
    assert body["Video"] == {
        "VideoId": "vid-up",
        "Title": "Holiday",
        "Status": "Uploading",
        "CreationTime": "2026-01-02T03:04:05Z",
        "ModificationTime": "2026-01-01T20:00:00Z",
    }
    assert vod.video_status("vid-up") == "Uploading"
    (recorded,) = vod.requests
    assert (recorded.action, recorded.query) == ("GetVideoInfo", {"VideoId": "vid-up"})


def test_a_video_added_plainly_is_uploaded_now_with_parts(vod: LocalVod) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    vod.add_video("vid-1")

    video = video_info(make_client(vod), "vid-1")["Video"]

    assert (video["Status"], video["Title"]) == ("UploadSucc", "vid-1")
    created = datetime.strptime(video["CreationTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= created <= datetime.now(UTC)
    assert video["ModificationTime"] == video["CreationTime"]
    assert vod.has_parts("vid-1")


def test_set_status_is_what_get_video_info_reports(vod: LocalVod) -> None:
    vod.add_video("vid-1", status="Uploading")
    vod.set_status("vid-1", "Normal")

    assert video_info(make_client(vod), "vid-1")["Video"]["Status"] == "Normal"
    assert vod.video_status("vid-1") == "Normal"
    assert vod.video_status("unknown") is None
    assert vod.has_parts("vid-1")


def test_video_model_refuses_what_vod_never_holds(vod: LocalVod) -> None:
    vod.add_video("vid-1")

    with pytest.raises(ValueError, match="Done"):
        vod.add_video("vid-2", status="Done")
    with pytest.raises(ValueError, match="time zone"):
        vod.add_video("vid-3", creation_time=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="Finished"):
        vod.set_status("vid-1", "Finished")
    with pytest.raises(KeyError):
        vod.set_status("unknown", "Normal")

    assert vod.video_status("vid-1") == "UploadSucc"
    assert vod.video_status("vid-2") is None


def test_video_info_errors_are_vods(vod: LocalVod) -> None:
    client = make_client(vod)

    unknown = video_info_error(client, "nope")
    with pytest.raises(ClientException) as missing:
        call(client, "GetVideoInfo", {})

    assert (unknown.code, unknown.status_code) == ("InvalidVideo.NotFound", 404)
    assert REQUEST_ID.match(unknown.request_id)
    assert (missing.value.code, missing.value.status_code) == ("MissingParameter", 400)
    assert "VideoId" in missing.value.message


def test_official_vod_sdk_reads_video_info(vod: LocalVod) -> None:
    from alibabacloud_vod20170321 import models as vod_models

    vod.add_video("vid-sdk", status="Uploading", title="Title")
    client = official_sdk_client(vod)

    video = client.get_video_info(vod_models.GetVideoInfoRequest(video_id="vid-sdk")).body.video

    assert (video.video_id, video.status, video.title) == ("vid-sdk", "Uploading", "Title")
    assert video.creation_time == video.modification_time


# -- GetVideoList and GetUploadDetails ------------------------------------------------------

START = datetime(2026, 2, 1, tzinfo=UTC)


def at(seconds: int) -> str:
    return (START + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def video_list(client: Client, **query: str) -> dict[str, Any]:
    body: dict[str, Any] = call(client, "GetVideoList", query)["body"]
    return body


def listed_ids(body: dict[str, Any]) -> list[str]:
    return [video["VideoId"] for video in body["VideoList"]["Video"]]


def refused(client: Client, action: str, query: dict[str, str]) -> Any:
    with pytest.raises(ClientException) as caught:
        call(client, action, query)
    return caught.value


def test_video_list_filters_sorts_and_pages(vod: LocalVod) -> None:
    vod.add_videos(
        Video.new(f"v{index}", status=status, creation_time=START + timedelta(seconds=index))
        for index, status in enumerate(
            ["Uploading", "Normal", "Uploading", "UploadFail", "Uploading"]
        )
    )
    client = make_client(vod)

    query = {
        "Status": "Uploading,UploadFail",
        "StartTime": at(1),
        "EndTime": at(4),
        "SortBy": "CreationTime:Asc",
        "PageSize": "2",
    }

    body = video_list(client, **query, PageNo="1")
    second_page = video_list(client, **query, PageNo="2")

    assert REQUEST_ID.match(body["RequestId"])
    assert body["Total"] == 3
    assert body["VideoList"]["Video"] == [
        {
            "VideoId": "v2",
            "Title": "v2",
            "Status": "Uploading",
            "CreationTime": at(2),
            "ModificationTime": at(2),
        },
        {
            "VideoId": "v3",
            "Title": "v3",
            "Status": "UploadFail",
            "CreationTime": at(3),
            "ModificationTime": at(3),
        },
    ]
    assert listed_ids(second_page) == ["v4"]
    assert listed_ids(video_list(client)) == ["v4", "v3", "v2", "v1", "v0"]


def test_video_list_errors_surface_as_client_exception_codes(vod: LocalVod) -> None:
    client = make_client(vod)

    too_big = refused(client, "GetVideoList", {"PageSize": "101"})
    bad_time = refused(client, "GetVideoList", {"StartTime": "2026-02-01 00:00:00"})
    backwards = refused(client, "GetVideoList", {"StartTime": at(10), "EndTime": at(5)})
    bad_status = refused(client, "GetVideoList", {"Status": "Deleted"})

    for error, parameter in [
        (too_big, "PageSize"),
        (bad_time, "StartTime"),
        (backwards, "EndTime"),
        (bad_status, "Status"),
    ]:
        assert (error.code, error.status_code) == ("InvalidParameter", 400)
        assert parameter in error.message
        assert REQUEST_ID.match(error.request_id)


def test_upload_details_end_to_end(vod: LocalVod) -> None:
    touched = START + timedelta(minutes=3)
    vod.add_video("up", status="Uploading", creation_time=START, modification_time=touched)
    vod.add_video("done", status="Normal", creation_time=START, modification_time=touched)
    client = make_client(vod)

    body = call(client, "GetUploadDetails", {"MediaIds": "up,nope,done", "MediaType": "video"})[
        "body"
    ]

    assert REQUEST_ID.match(body["RequestId"])
    assert body["NonExistMediaIds"] == ["nope"]
    assert body["ForbiddenMediaIds"] == []
    up, done = body["UploadDetails"]
    assert (up["MediaId"], up["Status"], up["UploadStatus"], up["UploadRatio"]) == (
        "up",
        "Uploading",
        "Uploading",
        0.0,
    )
    assert up["ModificationTime"] == "2026-02-01T00:03:00Z"
    assert "CompletionTime" not in up
    assert (done["UploadStatus"], done["UploadRatio"], done["CompletionTime"]) == (
        "UploadSucc",
        1.0,
        "2026-02-01T00:03:00Z",
    )


def test_upload_details_errors_surface_as_client_exception_codes(vod: LocalVod) -> None:
    client = make_client(vod)
    twenty_one = ",".join(f"v{index}" for index in range(21))

    too_many = refused(client, "GetUploadDetails", {"MediaIds": twenty_one})
    missing = refused(client, "GetUploadDetails", {"MediaType": "video"})
    audio = refused(client, "GetUploadDetails", {"MediaIds": "v1", "MediaType": "audio"})

    assert (too_many.code, too_many.status_code) == ("InvalidParameter", 400)
    assert "MediaIds" in too_many.message
    assert (missing.code, missing.status_code) == ("MissingParameter", 400)
    assert (audio.code, audio.status_code) == ("InvalidParameter", 400)


def test_official_vod_sdk_reads_video_list_upload_details_and_video_infos(vod: LocalVod) -> None:
    from alibabacloud_vod20170321 import models as vod_models

    vod.add_video("vid-up", status="Uploading", creation_time=START, title="Up")
    vod.add_video("vid-ok", status="Normal", creation_time=START + timedelta(seconds=1))
    client = official_sdk_client(vod)

    listing = client.get_video_list(
        vod_models.GetVideoListRequest(
            status="Uploading", start_time=at(0), end_time=at(60), page_size=100
        )
    ).body
    upload = client.get_upload_details(
        vod_models.GetUploadDetailsRequest(media_ids="vid-up,vid-gone", media_type="video")
    ).body

    assert listing.total == 1
    (video,) = listing.video_list.video
    assert (video.video_id, video.status, video.title, video.creation_time) == (
        "vid-up",
        "Uploading",
        "Up",
        at(0),
    )
    (detail,) = upload.upload_details
    assert (detail.media_id, detail.status, detail.upload_status) == (
        "vid-up",
        "Uploading",
        "Uploading",
    )
    assert upload.non_exist_media_ids == ["vid-gone"]
    infos = client.get_video_infos(
        vod_models.GetVideoInfosRequest(video_ids="vid-ok,vid-gone")
    ).body
    assert [(video.video_id, video.status) for video in infos.video_list] == [("vid-ok", "Normal")]
    assert infos.non_exist_video_ids == ["vid-gone"]
    assert vod.requests[0].query["PageSize"] == "100"


def test_a_6000_video_seed_is_listed_completely_only_by_walking_time_windows(
    vod: LocalVod,
) -> None:
    vod.add_videos(
        Video.new(
            f"v{index:04}", status="Uploading", creation_time=START + timedelta(seconds=index)
        )
        for index in range(6_000)
    )
    vod.add_video("done", status="Normal", creation_time=START + timedelta(seconds=10))
    client = make_client(vod)

    one_filter: list[str] = []
    for page_no in range(1, 52):
        body = video_list(client, Status="Uploading", PageSize="100", PageNo=str(page_no))
        assert body["Total"] == 6_000
        one_filter.extend(listed_ids(body))
    walked = walk(client, START, START + timedelta(seconds=6_000))

    assert len(one_filter) == 5_000  # page 51 came back empty: the cap bites
    assert len(set(one_filter)) == 5_000
    assert sorted(walked) == [f"v{index:04}" for index in range(6_000)]
    assert vod.throttled() == 0


def walk(client: Client, start: datetime, end: datetime) -> list[str]:
    """Every Uploading video created in [start, end], halving windows the cap would cut."""
    window = {
        "Status": "Uploading",
        "StartTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "EndTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    first = video_list(client, **window, PageSize="100", PageNo="1")
    if first["Total"] >= 5_000:
        middle = start + (end - start) / 2
        return walk(client, start, middle) + walk(client, middle + timedelta(seconds=1), end)
    ids = listed_ids(first)
    for page_no in range(2, -(-first["Total"] // 100) + 1):
        ids.extend(listed_ids(video_list(client, **window, PageSize="100", PageNo=str(page_no))))
    return ids


def test_rate_limit_and_scripted_faults_for_the_listing_operations(vod: LocalVod) -> None:
    vod.add_video("vid-1", status="Uploading")
    vod.rate_limits["GetVideoList"] = 1
    vod.fail_next("InternalError", status=500, action="GetUploadDetails")
    vod.fail_video("vid-1", "Forbidden.RAM", status=403, action="GetUploadDetails")
    client = make_client(vod)

    listed = video_list(client)
    throttled = refused(client, "GetVideoList", {})
    with pytest.raises(ServerException) as scripted:
        call(client, "GetUploadDetails", {"MediaIds": "vid-1"})
    forbidden = refused(client, "GetUploadDetails", {"MediaIds": "other,vid-1"})
    unaffected = call(client, "GetUploadDetails", {"MediaIds": "other"})["body"]

    assert listed["Total"] == 1
    assert (throttled.code, throttled.status_code) == ("Throttling.User", 400)
    assert (scripted.value.code, scripted.value.status_code) == ("InternalError", 500)
    assert (forbidden.code, forbidden.status_code) == ("Forbidden.RAM", 403)
    assert unaffected["NonExistMediaIds"] == ["other"]
    assert (vod.calls("GetVideoList"), vod.throttled("GetVideoList")) == (2, 1)
    assert (vod.calls("GetUploadDetails"), vod.throttled("GetUploadDetails")) == (3, 0)


# -- authentication ------------------------------------------------------------------------


def test_wrong_secret_is_signature_mismatch(vod: LocalVod) -> None:
    vod.add_video("vid-1")

    error = client_error(make_client(vod, secret="not-the-secret"), "vid-1")

    assert (error.code, error.status_code) == ("SignatureDoesNotMatch", 400)
    assert vod.has_parts("vid-1")
    assert not vod.requests[0].signature_valid


def test_unknown_access_key_id(vod: LocalVod) -> None:
    error = client_error(make_client(vod, key_id="LTAI5tSomebodyElse"), "vid-1")
    assert (error.code, error.status_code) == ("InvalidAccessKeyId.NotFound", 404)


def test_sts_token_required_and_checked() -> None:
    with LocalVod(security_token="sts-token-123") as vod:
        vod.add_video("vid-1")

        missing = client_error(make_client(vod), "vid-1")
        wrong = client_error(make_client(vod, token="sts-token-999"), "vid-1")
        ok = delete(make_client(vod, token="sts-token-123"), "vid-1")

        assert missing.code == "MissingSecurityToken"
        assert wrong.code == "InvalidSecurityToken.Mismatch"
        assert ok["statusCode"] == 200
        assert not vod.has_parts("vid-1")
        tokens = [r.headers.get("x-acs-security-token") for r in vod.requests]
        assert tokens == [None, "<redacted>", "<redacted>"]
        assert "sts-token" not in repr(vod.requests)


def test_token_sent_to_stand_in_without_token_is_rejected(vod: LocalVod) -> None:
    error = client_error(make_client(vod, token="unexpected"), "vid-1")
    assert error.code == "InvalidSecurityToken.Mismatch"


def test_signature_and_secrets_are_not_recorded(vod: LocalVod) -> None:
    vod.add_video("vid-1")
    target, headers = signed_request(vod, {"MediaId": "vid-1", "MediaType": "video"})
    signature = headers["Authorization"].rsplit("Signature=", 1)[1]

    assert send(vod, target, headers)[0] == 200
    with pytest.raises(ClientException):
        delete(make_client(vod, secret="wrong-secret"), "vid-1")

    recorded = repr(vod.requests)
    assert signature not in recorded
    assert LOCAL_ACCESS_KEY_SECRET not in recorded
    assert "wrong-secret" not in recorded
    for request in vod.requests:
        assert request.headers["authorization"].startswith(
            f"ACS3-HMAC-SHA256 Credential={LOCAL_ACCESS_KEY_ID},SignedHeaders="
        )
        assert request.headers["authorization"].endswith(",Signature=<redacted>")


def test_replayed_nonce_is_rejected(vod: LocalVod) -> None:
    vod.add_video("vid-1")
    target, headers = signed_request(vod, {"MediaId": "vid-1", "MediaType": "video"})

    first = send(vod, target, headers)
    replay = send(vod, target, headers)

    assert first[0] == 200
    assert replay == (400, replay[1])
    assert replay[1]["Code"] == "SignatureNonceUsed"
    assert [r.signature_valid for r in vod.requests] == [True, True]


def test_tampered_query_is_rejected_and_does_not_burn_the_nonce(vod: LocalVod) -> None:
    vod.add_video("vid-signed")
    vod.add_video("vid-victim")
    target, headers = signed_request(vod, {"MediaId": "vid-signed", "MediaType": "video"})
    tampered = target.replace("vid-signed", "vid-victim")

    status, body = send(vod, tampered, headers)

    assert (status, body["Code"]) == (400, "SignatureDoesNotMatch")
    assert vod.has_parts("vid-victim")
    assert not vod.requests[0].signature_valid
    assert send(vod, target, headers)[0] == 200
    assert not vod.has_parts("vid-signed")


def test_body_must_match_content_sha256(vod: LocalVod) -> None:
    vod.add_video("vid-1")
    target, headers = signed_request(vod, {"MediaId": "vid-1", "MediaType": "video"})

    status, body = send(vod, target, headers, body=b"MediaId=other")

    assert (status, body["Code"]) == (400, "SignatureDoesNotMatch")
    assert vod.has_parts("vid-1")


def test_stale_timestamp_is_rejected(vod: LocalVod) -> None:
    stale = datetime.now(UTC) - timedelta(minutes=16)
    target, headers = signed_request(vod, {"MediaId": "v", "MediaType": "video"}, date=stale)

    assert send(vod, target, headers)[1]["Code"] == "InvalidTimeStamp.Expired"


def test_missing_or_incomplete_signature(vod: LocalVod) -> None:
    target, headers = signed_request(vod, {"MediaId": "v", "MediaType": "video"})
    del headers["Authorization"]
    unsigned_target, unsigned = signed_request(vod, {"MediaId": "v", "MediaType": "video"})
    unsigned["x-acs-action"] = "DeleteMultipartUpload"
    unsigned["x-acs-extra"] = "not signed"

    assert send(vod, target, headers)[1]["Code"] == "IncompleteSignature"
    assert send(vod, unsigned_target, unsigned)[1]["Code"] == "IncompleteSignature"


# -- scripted faults -----------------------------------------------------------------------


def test_scripted_errors_in_order(vod: LocalVod) -> None:
    vod.add_video("vid-1")
    vod.fail_next("Throttling.User")
    vod.fail_next("InternalError", status=500)
    vod.fail_next("ServiceUnAvailable", status=503, retry_after_ms=1500)
    client = make_client(vod)

    throttled = client_error(client, "vid-1")
    with pytest.raises(ServerException) as server:
        delete(client, "vid-1")
    with pytest.raises(ThrottlingException) as retry_later:
        delete(client, "vid-1")
    assert vod.has_parts("vid-1")
    done = delete(client, "vid-1")

    assert (throttled.code, throttled.status_code) == ("Throttling.User", 400)
    assert (server.value.code, server.value.status_code) == ("InternalError", 500)
    assert retry_later.value.code == "ServiceUnAvailable"
    assert retry_later.value.status_code == 503
    assert retry_later.value.retry_after == 1500
    assert done["statusCode"] == 200
    assert [r.status for r in vod.requests] == [400, 500, 503, 200]


def test_a_failing_video_fails_until_cleared_and_others_are_unaffected(vod: LocalVod) -> None:
    vod.add_video("vid-1")
    vod.add_video("vid-2")
    vod.fail_video("vid-1", "AccessDenied")
    client = make_client(vod)

    assert client_error(client, "vid-1").code == "AccessDenied"
    assert delete(client, "vid-2")["statusCode"] == 200
    assert client_error(client, "vid-1").code == "AccessDenied"
    vod.clear_video_failure("vid-1")
    assert delete(client, "vid-1")["statusCode"] == 200
    assert [r.status for r in vod.requests] == [400, 200, 400, 200]


def test_scripted_error_for_one_action_waits_for_that_action(vod: LocalVod) -> None:
    vod.add_video("vid-1")
    vod.add_video("vid-2")
    vod.fail_next("InternalError", status=500, action="GetVideoInfo")
    vod.fail_next("AccessDenied")
    client = make_client(vod)

    denied = client_error(client, "vid-1")
    assert delete(client, "vid-1")["statusCode"] == 200
    with pytest.raises(ServerException) as failed:
        video_info(client, "vid-2")
    assert video_info(client, "vid-2")["Video"]["VideoId"] == "vid-2"

    assert denied.code == "AccessDenied"
    assert (failed.value.code, failed.value.status_code) == ("InternalError", 500)
    assert [(r.action, r.status) for r in vod.requests] == [
        ("DeleteMultipartUpload", 400),
        ("DeleteMultipartUpload", 200),
        ("GetVideoInfo", 500),
        ("GetVideoInfo", 200),
    ]


def test_a_failing_video_fails_for_its_action_and_by_any_id_parameter(vod: LocalVod) -> None:
    vod.add_video("vid-1")
    vod.add_video("vid-2")
    vod.fail_video("vid-1", "Forbidden.RAM", status=403, action="GetVideoInfo")
    vod.fail_video("vid-2", "InternalError", status=500)
    client = make_client(vod)

    info_error = video_info_error(client, "vid-1")
    with pytest.raises(ServerException) as by_video_id:
        video_info(client, "vid-2")
    with pytest.raises(ServerException) as by_media_id:
        delete(client, "vid-2")
    deleted = delete(client, "vid-1")
    vod.clear_video_failure("vid-1")

    assert (info_error.code, info_error.status_code) == ("Forbidden.RAM", 403)
    assert by_video_id.value.code == by_media_id.value.code == "InternalError"
    assert deleted["statusCode"] == 200
    assert video_info(client, "vid-1")["Video"]["VideoId"] == "vid-1"


def test_scripts_refuse_unknown_actions_and_statuses(vod: LocalVod) -> None:
    with pytest.raises(ValueError, match="GetVideoinfo"):
        vod.fail_next("InternalError", action="GetVideoinfo")
    with pytest.raises(ValueError, match="GetVideoinfo"):
        vod.fail_video("vid-1", "InternalError", action="GetVideoinfo")
    with pytest.raises(ValueError, match="status"):
        vod.fail_video("vid-1", "InternalError", status=200)
    vod.add_video("vid-1")

    assert delete(make_client(vod), "vid-1")["statusCode"] == 200


def test_scripted_error_waits_for_a_correctly_signed_request(vod: LocalVod) -> None:
    vod.add_video("vid-1")
    vod.fail_next("InternalError", status=500, times=1)

    bad = client_error(make_client(vod, secret="wrong"), "vid-1")
    with pytest.raises(ServerException):
        delete(make_client(vod), "vid-1")

    assert bad.code == "SignatureDoesNotMatch"


def test_dropped_connection_is_a_network_error(vod: LocalVod) -> None:
    vod.add_video("vid-1")
    vod.drop_next()
    client = make_client(vod)

    with pytest.raises(UnretryableException) as caught:
        delete(client, "vid-1")

    assert isinstance(caught.value.inner_exception, RetryError)
    assert vod.has_parts("vid-1")
    assert vod.requests[0].status == 0
    assert delete(client, "vid-1")["statusCode"] == 200


def test_delay_and_latency(vod: LocalVod) -> None:
    vod.add_video("vid-1")
    vod.delay_next(0.3)
    client = make_client(vod)

    started = time.monotonic()
    client_error(client, "nope")
    delayed = time.monotonic() - started
    vod.latency_seconds = 0.1
    started = time.monotonic()
    client_error(client, "nope")
    slow = time.monotonic() - started

    assert delayed >= 0.3
    assert 0.1 <= slow < 0.3


def test_delay_beyond_read_timeout_times_out(vod: LocalVod) -> None:
    vod.delay_next(0.4)

    with pytest.raises(UnretryableException) as caught:
        delete(make_client(vod, read_timeout=150), "vid-1")

    assert isinstance(caught.value.inner_exception, RetryError)
    # The abandoned request wakes up after a reset: it must not touch the new state.
    vod.reset()
    vod.add_video("vid-1")
    time.sleep(0.4)
    assert vod.has_parts("vid-1")
    assert vod.requests == []


def test_rate_limit_per_sliding_second(vod: LocalVod) -> None:
    vod.rate_limits["DeleteMultipartUpload"] = 3
    client = make_client(vod)

    codes = [client_error(client, "nope").code for _ in range(5)]
    time.sleep(1.0)
    after_window = client_error(client, "nope").code

    assert codes == ["InvalidVideo.NotFound"] * 3 + ["Throttling.User"] * 2
    assert after_window == "InvalidVideo.NotFound"
    assert (vod.calls(), vod.throttled(), vod.throttled("GetVideoInfo")) == (6, 2, 0)


def test_rate_limits_are_per_action(vod: LocalVod) -> None:
    vod.add_video("vid-1")
    vod.rate_limits["GetVideoInfo"] = 2
    client = make_client(vod)

    infos = [video_info_error(client, "nope").code for _ in range(3)]
    deletes = [client_error(client, "nope").code for _ in range(3)]

    assert infos == ["InvalidVideo.NotFound"] * 2 + ["Throttling.User"]
    assert deletes == ["InvalidVideo.NotFound"] * 3
    assert (vod.calls("GetVideoInfo"), vod.throttled("GetVideoInfo")) == (3, 1)
    assert (vod.calls("DeleteMultipartUpload"), vod.throttled("DeleteMultipartUpload")) == (3, 0)


# -- housekeeping ----------------------------------------------------------------------------


def test_reset_forgets_everything(vod: LocalVod) -> None:
    vod.add_video("vid-1")
    vod.fail_next("InternalError", status=500)
    vod.drop_next()
    vod.delay_next(5)

    vod.reset()

    assert vod.requests == []
    assert not vod.has_parts("vid-1")
    assert client_error(make_client(vod), "vid-1").code == "InvalidVideo.NotFound"


def test_stop_closes_kept_alive_connections() -> None:
    vod = LocalVod().start()
    vod.add_video("vid-1")
    client = make_client(vod)
    assert delete(client, "vid-1")["statusCode"] == 200

    vod.stop()

    with pytest.raises(UnretryableException):
        delete(client, "vid-1")
    with pytest.raises(RuntimeError):
        _ = vod.endpoint


def test_module_serves_from_the_command_line() -> None:
    src = str(Path(local_package.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vod_parts_cleanup_dev",
            "--video",
            "cli-vid",
            "--uploading",
            "cli-up",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        endpoint = re.search(r"127\.0\.0\.1:\d+", first_line)
        assert endpoint is not None, first_line
        conn = http.client.HTTPConnection(endpoint.group(0), timeout=2)
        conn.request("POST", "/?MediaId=cli-vid&MediaType=video")
        response = conn.getresponse()
        assert response.status == 400
        assert json.loads(response.read())["Code"] == "IncompleteSignature"
        conn.close()
        client = Client(
            Config(
                access_key_id=LOCAL_ACCESS_KEY_ID,
                access_key_secret=LOCAL_ACCESS_KEY_SECRET,
                endpoint=endpoint.group(0),
                protocol="HTTP",
            )
        )
        assert video_info(client, "cli-up")["Video"]["Status"] == "Uploading"
        assert video_info(client, "cli-vid")["Video"]["Status"] == "UploadSucc"
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=5) == 0
        if process.stdout is not None:
            process.stdout.close()
