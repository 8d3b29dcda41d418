"""The VOD adapter against the local stand-in, over real HTTP with the real tea-openapi client:
every row of the answer table, retries, deadlines, and the request the official SDK would send."""

import time

import pytest
from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_credentials.models import Config as CredentialConfig
from alibabacloud_tea_openapi.utils_models import Config
from alibabacloud_vod20170321.client import Client as OfficialVodClient
from alibabacloud_vod20170321.models import DeleteMultipartUploadRequest
from darabonba.runtime import RuntimeOptions

from tests.support import FastClock, vod_client_for
from vod_parts_cleanup.consumer.vod_client import VodCall, VodClient, build_openapi_client
from vod_parts_cleanup.shared.clock import SYSTEM_CLOCK, Deadline
from vod_parts_cleanup.shared.errors import CleanupFailedError
from vod_parts_cleanup.shared.settings import Secret, Settings
from vod_parts_cleanup.shared.vocabulary import CleanupStatus, ErrorCode, ErrorKind
from vod_parts_cleanup_dev.vod_server import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET, LocalVod

VIDEO_ID = "5aed81b74ba84920be578cdfe004af4b"


def vod_client(settings: Settings, **changes: object) -> VodClient:
    """The adapter on a fast clock: its pauses cost no time (the backoff is checked apart)."""
    return vod_client_for(settings.with_changes(**changes))


@pytest.fixture
def client(settings: Settings) -> VodClient:
    return vod_client_for(settings)


def test_parts_are_deleted(stand_in: LocalVod, client: VodClient) -> None:
    stand_in.add_video(VIDEO_ID, has_parts=True)
    calls: list[VodCall] = []
    answer = client.delete_multipart_upload(VIDEO_ID, on_call=calls.append)
    assert answer.status is CleanupStatus.DELETED
    assert answer.attempts == 1
    assert not stand_in.has_parts(VIDEO_ID)
    [request] = stand_in.requests
    assert answer.request_id == request.request_id
    assert [(call.action, call.attempt, call.http_status, call.request_id) for call in calls] == [
        ("DeleteMultipartUpload", 1, 200, request.request_id)
    ]


def test_the_request_is_the_one_vod_documents(stand_in: LocalVod, client: VodClient) -> None:
    stand_in.add_video(VIDEO_ID)
    client.delete_multipart_upload(VIDEO_ID)
    [request] = stand_in.requests
    assert (request.method, request.path) == ("POST", "/")
    assert (request.action, request.version) == ("DeleteMultipartUpload", "2017-03-21")
    assert request.query == {"MediaId": VIDEO_ID, "MediaType": "video"}
    assert request.signature_valid
    assert request.headers["authorization"].startswith("ACS3-HMAC-SHA256 ")


def test_the_request_matches_what_the_official_vod_sdk_sends(
    stand_in: LocalVod, client: VodClient, settings: Settings
) -> None:
    first, second = VIDEO_ID, "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    stand_in.add_video(first)
    stand_in.add_video(second)
    official = OfficialVodClient(
        Config(
            access_key_id=LOCAL_ACCESS_KEY_ID,
            access_key_secret=LOCAL_ACCESS_KEY_SECRET,
            endpoint=settings.vod_host,
            protocol="HTTP",
        )
    )
    official.delete_multipart_upload_with_options(
        DeleteMultipartUploadRequest(media_id=first, media_type="video"), RuntimeOptions()
    )
    client.delete_multipart_upload(second)
    theirs, ours = stand_in.requests
    assert theirs.status == ours.status == 200
    assert theirs.signature_valid and ours.signature_valid
    assert (ours.method, ours.path, ours.action, ours.version) == (
        theirs.method,
        theirs.path,
        theirs.action,
        theirs.version,
    )
    assert sorted(ours.query) == sorted(theirs.query)
    assert {k: v for k, v in ours.query.items() if k != "MediaId"} == {
        k: v for k, v in theirs.query.items() if k != "MediaId"
    }
    assert _signed_header_names(ours.headers) == _signed_header_names(theirs.headers)


def _signed_header_names(headers: dict[str, str]) -> str:
    return headers["authorization"].split("SignedHeaders=")[1].split(",")[0]


@pytest.mark.parametrize(
    ("prepare", "status", "error_code"),
    [
        (
            lambda vod: vod.add_video(VIDEO_ID, has_parts=False),
            CleanupStatus.ALREADY_CLEAN,
            "InvalidMultipartUpload.NotFound",
        ),
        (lambda vod: None, CleanupStatus.MEDIA_NOT_FOUND, "InvalidVideo.NotFound"),
        (
            lambda vod: vod.fail_next("InvalidFile.NotFound"),
            CleanupStatus.MEDIA_NOT_FOUND,
            "InvalidFile.NotFound",
        ),
        (lambda vod: vod.fail_next("InvalidParameter"), CleanupStatus.REJECTED, "InvalidParameter"),
    ],
    ids=["no-parts", "unknown-video", "unknown-file", "invalid-parameter"],
)
def test_final_answers_are_mapped_and_never_retried(
    stand_in: LocalVod, client: VodClient, prepare, status: CleanupStatus, error_code: str
) -> None:
    prepare(stand_in)
    answer = client.delete_multipart_upload(VIDEO_ID)
    assert (answer.status, answer.error_code, answer.attempts) == (status, error_code, 1)
    assert len(stand_in.requests) == 1
    assert answer.request_id == stand_in.requests[0].request_id


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("Throttling", 400),
        ("Throttling.User", 400),
        ("Throttling.Api", 400),
        ("InternalError", 500),
        ("ServiceUnAvailable", 503),
        ("SERVICEUNAVAILABLE", 503),
        ("UnknownError", 500),
        ("SomethingNew", 502),
    ],
)
def test_transient_errors_are_retried_until_vod_answers(
    stand_in: LocalVod, client: VodClient, code: str, status: int
) -> None:
    stand_in.add_video(VIDEO_ID)
    stand_in.fail_next(code, status=status, times=2)
    calls: list[VodCall] = []
    answer = client.delete_multipart_upload(VIDEO_ID, on_call=calls.append)
    assert (answer.status, answer.attempts) == (CleanupStatus.DELETED, 3)
    assert [call.error_code for call in calls] == [code, code, None]
    assert len(stand_in.requests) == 3


def test_throttling_with_retry_after_is_retried(stand_in: LocalVod, client: VodClient) -> None:
    stand_in.add_video(VIDEO_ID)
    stand_in.fail_next("Throttling.User", retry_after_ms=50)
    assert client.delete_multipart_upload(VIDEO_ID).attempts == 2


def test_transient_errors_that_persist_fail_after_the_last_attempt(
    stand_in: LocalVod, client: VodClient, settings: Settings
) -> None:
    stand_in.add_video(VIDEO_ID)
    stand_in.fail_next("ServiceUnAvailable", status=503, times=settings.max_attempts)
    with pytest.raises(CleanupFailedError) as failure:
        client.delete_multipart_upload(VIDEO_ID)
    assert failure.value.kind is ErrorKind.TRANSIENT
    assert failure.value.error_code == "ServiceUnAvailable"
    assert failure.value.attempts == settings.max_attempts
    assert failure.value.vod_request_id == stand_in.requests[-1].request_id
    assert stand_in.has_parts(VIDEO_ID)


def test_a_dropped_connection_is_a_transient_network_error(
    stand_in: LocalVod, client: VodClient
) -> None:
    stand_in.add_video(VIDEO_ID)
    stand_in.drop_next(times=1)
    calls: list[VodCall] = []
    answer = client.delete_multipart_upload(VIDEO_ID, on_call=calls.append)
    assert answer.status is CleanupStatus.DELETED
    assert [call.error_code for call in calls] == ["NetworkError", None]


def test_a_slow_answer_times_out_and_is_retried(stand_in: LocalVod, settings: Settings) -> None:
    stand_in.add_video(VIDEO_ID)
    stand_in.delay_next(1.0)
    client = vod_client(settings, read_timeout_ms=200)
    calls: list[VodCall] = []
    answer = client.delete_multipart_upload(VIDEO_ID, on_call=calls.append)
    assert answer.status is CleanupStatus.DELETED
    assert [call.error_code for call in calls] == ["NetworkError", None]
    assert calls[0].latency_ms < 900


def test_a_trickling_answer_is_cut_at_the_attempts_bound_and_the_call_fits_the_deadline(
    stand_in: LocalVod, settings: Settings
) -> None:
    """One byte every 0.8 s: no socket read ever times out, so only a bound on the whole
    attempt stops it (an answer of ~150 bytes would take two minutes)."""
    stand_in.add_video(VIDEO_ID)
    stand_in.trickle_next(0.8, times=10)
    deadline = Deadline(SYSTEM_CLOCK)
    deadline.start(4.5)
    client = vod_client_for(
        settings.with_changes(read_timeout_ms=1_000), clock=SYSTEM_CLOCK, deadline=deadline
    )
    calls: list[VodCall] = []
    started = time.monotonic()
    with pytest.raises(CleanupFailedError) as failure:
        client.delete_multipart_upload(VIDEO_ID, on_call=calls.append)
    elapsed = time.monotonic() - started

    assert elapsed < 4.5
    assert calls and {call.error_code for call in calls} == {ErrorCode.TIMEOUT}
    assert all(call.latency_ms < 1_500 for call in calls)
    assert failure.value.kind in {ErrorKind.TRANSIENT, ErrorKind.OUT_OF_TIME}
    # VOD may have done the work before trickling its answer: the event is kept, and its
    # retry finds the upload already clean.


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("AccessDenied", 400),
        ("InvalidStorage.NotFound", 400),
        ("Forbidden.RAM", 403),
        ("Forbidden", 403),
        ("OperationDenied.Suspended", 403),
        ("InvalidAccessKeyId.Inactive", 400),
        ("InvalidSecurityToken.Expired", 400),
        ("InvalidTimeStamp.Expired", 400),
        ("MissingParameter", 400),
    ],
)
def test_configuration_errors_are_not_retried(
    stand_in: LocalVod, client: VodClient, code: str, status: int
) -> None:
    stand_in.add_video(VIDEO_ID)
    stand_in.fail_next(code, status=status)
    with pytest.raises(CleanupFailedError) as failure:
        client.delete_multipart_upload(VIDEO_ID)
    assert (failure.value.kind, failure.value.error_code) == (ErrorKind.CONFIGURATION, code)
    assert failure.value.attempts == 1
    assert len(stand_in.requests) == 1


def test_a_wrong_secret_is_a_configuration_error_that_names_no_secret(
    stand_in: LocalVod, settings: Settings
) -> None:
    stand_in.add_video(VIDEO_ID)
    wrong = "wrong-secret-value-123"
    client = vod_client(settings, access_key_secret=Secret(wrong))
    with pytest.raises(CleanupFailedError) as failure:
        client.delete_multipart_upload(VIDEO_ID)
    assert (failure.value.kind, failure.value.error_code) == (
        ErrorKind.CONFIGURATION,
        "SignatureDoesNotMatch",
    )
    assert not stand_in.requests[0].signature_valid
    assert wrong not in str(failure.value) and wrong not in repr(failure.value.args)
    assert stand_in.has_parts(VIDEO_ID)


def test_an_unknown_access_key_is_a_configuration_error(
    stand_in: LocalVod, settings: Settings
) -> None:
    client = vod_client(settings, access_key_id="LTAI5tSomebodyElse000")
    with pytest.raises(CleanupFailedError) as failure:
        client.delete_multipart_upload(VIDEO_ID)
    assert failure.value.error_code == "InvalidAccessKeyId.NotFound"
    assert failure.value.kind is ErrorKind.CONFIGURATION


def test_an_sts_token_is_sent(settings: Settings) -> None:
    with LocalVod(security_token="sts-token-for-tests") as sts_vod:
        sts_vod.add_video(VIDEO_ID)
        sts_settings = settings.with_changes(vod_endpoint=sts_vod.endpoint)
        without_token = vod_client(sts_settings)
        with pytest.raises(CleanupFailedError):
            without_token.delete_multipart_upload(VIDEO_ID)
        credential = CredentialClient(
            CredentialConfig(
                type="sts",
                access_key_id=LOCAL_ACCESS_KEY_ID,
                access_key_secret=LOCAL_ACCESS_KEY_SECRET,
                security_token="sts-token-for-tests",
            )
        )
        with_token = VodClient(build_openapi_client(sts_settings, credential), sts_settings)
        assert with_token.delete_multipart_upload(VIDEO_ID).status is (CleanupStatus.DELETED)


def test_retries_stop_at_the_deadline(stand_in: LocalVod, settings: Settings) -> None:
    stand_in.add_video(VIDEO_ID)
    stand_in.fail_next("Throttling.User", times=100)
    clock = FastClock()
    deadline = Deadline(clock)
    client = vod_client_for(settings.with_changes(max_attempts=10), clock, deadline)
    started = time.monotonic()
    deadline.start(1.5)
    with pytest.raises(CleanupFailedError) as failure:
        client.delete_multipart_upload(VIDEO_ID)
    assert time.monotonic() < started + 1.5
    assert failure.value.kind is ErrorKind.THROTTLED
    assert 1 <= failure.value.attempts < 10


def test_no_call_is_made_when_no_time_is_left(stand_in: LocalVod, settings: Settings) -> None:
    stand_in.add_video(VIDEO_ID)
    clock = FastClock()
    deadline = Deadline(clock)
    client = vod_client_for(settings, clock, deadline)
    deadline.start(0.1)
    with pytest.raises(CleanupFailedError) as failure:
        client.delete_multipart_upload(VIDEO_ID)
    assert (failure.value.error_code, failure.value.attempts) == ("DeadlineExceeded", 0)
    assert stand_in.requests == []


def test_backoff_grows_and_is_jittered(stand_in: LocalVod, settings: Settings) -> None:
    """Full jitter: each pause is drawn anew below a ceiling that doubles with each retry
    (0.2, 0.4, 0.8 s), so twenty callers retrying together spread out instead of colliding."""
    stand_in.add_video(VIDEO_ID)
    pauses_by_retry: list[list[float]] = [[], [], []]
    for _ in range(20):
        stand_in.fail_next("InternalError", status=500, times=3)
        clock = FastClock()
        vod_client_for(settings, clock).delete_multipart_upload(VIDEO_ID)
        assert len(clock.slept) == 3
        for retry, pause in enumerate(clock.slept):
            pauses_by_retry[retry].append(pause)
    ceilings = [0.2, 0.4, 0.8]
    for pauses, ceiling in zip(pauses_by_retry, ceilings, strict=True):
        assert all(0 <= pause <= ceiling for pause in pauses)
        # The whole range is used (so the ceiling really doubles: a pause above the last
        # ceiling appears); a chance of 2**-20 that twenty draws all miss the upper half.
        assert max(pauses) > ceiling / 2
        assert len(set(pauses)) == len(pauses)  # jittered: no two callers wait alike


# --- GetVideoInfo: the video's status, to confirm what an unsigned body claims -----------


@pytest.mark.parametrize("status", ["Uploading", "UploadFail", "UploadSucc", "Normal"])
def test_the_video_status_is_read_from_get_video_info(
    stand_in: LocalVod, client: VodClient, status: str
) -> None:
    stand_in.add_video(VIDEO_ID, status=status)
    calls: list[VodCall] = []
    answer = client.video_status(VIDEO_ID, on_call=calls.append)
    [request] = stand_in.requests
    assert (answer.status, answer.error_code, answer.attempts) == (status, None, 1)
    assert answer.request_id == request.request_id
    assert (request.action, request.version, request.query) == (
        "GetVideoInfo",
        "2017-03-21",
        {"VideoId": VIDEO_ID},
    )
    assert request.signature_valid
    assert [(call.action, call.http_status) for call in calls] == [("GetVideoInfo", 200)]


def test_many_statuses_are_read_in_one_get_video_infos(
    stand_in: LocalVod, client: VodClient
) -> None:
    stand_in.add_video("vid-up", status="Uploading")
    stand_in.add_video("vid-ok", status="Normal")
    calls: list[VodCall] = []

    answers = client.video_statuses(["vid-ok", "vid-gone", "vid-up"], on_call=calls.append)

    [request] = stand_in.requests
    assert (request.action, request.query) == (
        "GetVideoInfos",
        {"VideoIds": "vid-ok,vid-gone,vid-up"},
    )
    assert request.signature_valid
    assert {video: answer.status for video, answer in answers.items()} == {
        "vid-ok": "Normal",
        "vid-gone": None,
        "vid-up": "Uploading",
    }
    assert {answer.request_id for answer in answers.values()} == {request.request_id}
    assert [(call.action, call.http_status) for call in calls] == [("GetVideoInfos", 200)]


def test_a_video_vod_does_not_know_has_no_status(stand_in: LocalVod, client: VodClient) -> None:
    answer = client.video_status(VIDEO_ID)
    assert (answer.status, answer.error_code, answer.attempts) == (
        None,
        "InvalidVideo.NotFound",
        1,
    )


def test_the_status_check_is_retried_and_fails_like_any_call(
    stand_in: LocalVod, client: VodClient
) -> None:
    stand_in.add_video(VIDEO_ID, status="Uploading")
    stand_in.fail_next("Throttling.User", action="GetVideoInfo")
    assert client.video_status(VIDEO_ID).attempts == 2
    stand_in.fail_next("Forbidden.RAM", status=403, action="GetVideoInfo")
    with pytest.raises(CleanupFailedError) as failure:
        client.video_status(VIDEO_ID)
    assert (failure.value.kind, failure.value.error_code, failure.value.video_id) == (
        ErrorKind.CONFIGURATION,
        "Forbidden.RAM",
        VIDEO_ID,
    )
