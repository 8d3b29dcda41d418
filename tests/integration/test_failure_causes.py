"""A failure says why: which host and what failed on the way to VOD (DNS, refused, TLS,
timeout), VOD's own first sentence, a store not asked for want of time, and a sweep whose
work queue did not take its candidates. What an operator reads first must point the right
way, and never quote a secret."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support import (
    Fault,
    FunctionUnderTest,
    MotoQueue,
    ReadOutputFixture,
    configure,
    faulty_endpoint,
    vod_client_for,
)
from vod_parts_cleanup.shared.errors import CleanupFailedError
from vod_parts_cleanup.shared.settings import Secret, Settings
from vod_parts_cleanup.shared.vocabulary import ErrorKind
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.vod_catalog import Video
from vod_parts_cleanup_dev.vod_server import LocalVod

VIDEO_ID = "5aed81b74ba84920be578cdfe004af4b"


def failure_of(settings: Settings) -> CleanupFailedError:
    with pytest.raises(CleanupFailedError) as failure:
        vod_client_for(settings.with_changes(max_attempts=1)).delete_multipart_upload(VIDEO_ID)
    return failure.value


@pytest.mark.parametrize(
    ("fault", "protocol", "cause"),
    [
        (Fault.REFUSED, "http", "refused: nothing accepts connections at 127.0.0.1:"),
        (Fault.HANGING, "http", "timeout: 127.0.0.1:"),
        (Fault.GARBAGE, "https", "TLS: the handshake with 127.0.0.1:"),
    ],
)
def test_a_network_failure_names_the_host_and_what_failed(
    settings: Settings, fault: Fault, protocol: str, cause: str
) -> None:
    with faulty_endpoint(fault) as endpoint:
        failure = failure_of(
            settings.with_changes(vod_endpoint=endpoint, vod_protocol=protocol, read_timeout_ms=300)
        )
    assert (failure.kind, failure.error_code) == (ErrorKind.TRANSIENT, "NetworkError")
    assert failure.cause is not None and failure.cause.startswith(cause)
    assert endpoint in failure.cause
    assert failure.cause in str(failure)


def test_a_host_that_does_not_resolve_is_named_as_a_dns_failure(settings: Settings) -> None:
    # .invalid never resolves (RFC 6761): what a mistyped VOD_REGION or VOD_ENDPOINT gives.
    failure = failure_of(
        settings.with_changes(vod_endpoint="vod.nowhere.invalid", vod_protocol="https")
    )
    assert failure.error_code == "NetworkError"
    assert failure.cause == "DNS: vod.nowhere.invalid does not resolve"


def test_vods_refusal_carries_its_first_sentence_and_no_secret(
    stand_in: LocalVod, settings: Settings
) -> None:
    wrong = "wrong-secret-value-123"
    failure = failure_of(settings.with_changes(access_key_secret=Secret(wrong)))
    assert (failure.kind, failure.error_code) == (ErrorKind.CONFIGURATION, "SignatureDoesNotMatch")
    assert failure.cause == "Specified signature does not match our calculation."
    assert wrong not in str(failure)


def test_a_store_not_asked_for_want_of_time_is_deferred_not_blamed(
    idempotent_handler: FunctionUnderTest, stand_in: LocalVod, output: ReadOutputFixture
) -> None:
    """Two seconds leave one before the answer: less than one attempt at DynamoDB may take."""
    stand_in.add_video(VIDEO_ID)
    output()
    with pytest.raises(CleanupFailedError) as failure:
        idempotent_handler.lambda_handler(
            {"VideoId": VIDEO_ID}, LocalLambdaContext(timeout_seconds=2)
        )
    assert (failure.value.kind, failure.value.error_code) == (ErrorKind.OUT_OF_TIME, "NoTimeLeft")
    assert failure.value.cause is not None and "s left" in failure.value.cause
    written = output()
    assert written.counted("CleanupDeferred") and not written.counted("CleanupFailed")
    assert stand_in.requests == []


def seed_candidates(stand_in: LocalVod, count: int) -> list[str]:
    created = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    video_ids = [f"b{number:031x}" for number in range(count)]
    stand_in.add_videos(
        [Video.new(video_id, status="UploadFail", creation_time=created) for video_id in video_ids]
    )
    return video_ids


def sweep(function: FunctionUnderTest, **request: Any) -> dict[str, Any]:
    return dict(function.lambda_handler({"Sweep": request}, LocalLambdaContext(timeout_seconds=60)))


def test_a_sweep_whose_work_queue_refuses_says_how_many_were_not_queued_and_why(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    work_queue: MotoQueue,
    output: ReadOutputFixture,
) -> None:
    seed_candidates(stand_in, 12)
    configure(deployed_handler, work_queue_url=work_queue.url + "-does-not-exist")
    output()
    summary = sweep(deployed_handler)
    assert (summary["candidates"], summary["queued"], summary["notQueued"]) == (12, 0, 12)
    assert (summary["complete"], summary["errorCode"]) == (False, "HandOffFailed")
    assert summary["detail"].startswith("the work queue took 0 of 12: SendMessageBatch failed: ")
    assert "NonExistentQueue" in summary["detail"] or "QueueDoesNotExist" in summary["detail"]
    errors = [log for log in output().logs if log["level"] == "ERROR"]
    assert [log["errorCode"] for log in errors] == ["HandOffFailed"]


def test_a_sweep_with_no_work_queue_queues_nothing_and_says_so(
    idempotent_handler: FunctionUnderTest, stand_in: LocalVod
) -> None:
    seed_candidates(stand_in, 3)
    summary = sweep(idempotent_handler)
    assert (summary["queued"], summary["notQueued"], summary["complete"]) == (0, 3, False)
    assert summary["errorCode"] == "NotConfigured"
    assert "WORK_QUEUE_URL is not set" in summary["detail"]


def test_a_sweep_that_queues_everything_reports_none_left(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod
) -> None:
    seed_candidates(stand_in, 3)
    summary = sweep(deployed_handler)
    assert (summary["queued"], summary["notQueued"], summary["complete"]) == (3, 0, True)
    assert "errorCode" not in summary


def test_a_minimum_age_of_seven_days_looks_for_nothing_and_asks_vod_nothing(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod
) -> None:
    """VOD purges an unfinished upload's parts after 7 days: that window is empty."""
    seed_candidates(stand_in, 3)
    summary = sweep(deployed_handler, MinAgeMinutes=7 * 24 * 60, DryRun=True)
    assert (summary["candidates"], summary["pages"], summary["complete"]) == (0, 0, True)
    assert stand_in.requests == []


@pytest.mark.parametrize(
    ("request_body", "detail"),
    [
        (
            {"MinAgeMinutes": 30},
            "invalid MinAgeMinutes (Input should be greater than or equal to 60)",
        ),
        (
            {"MinAgeMinutes": 20000},
            "invalid MinAgeMinutes (Input should be less than or equal to 10080)",
        ),
        (
            {"Statuses": ["uploading"]},
            "unknown status uploading: use some of Uploading, UploadFail,",
        ),
    ],
)
def test_a_sweep_request_out_of_range_says_the_range(
    deployed_handler: FunctionUnderTest, request_body: dict[str, Any], detail: str
) -> None:
    answer = deployed_handler.lambda_handler({"Sweep": request_body}, LocalLambdaContext())
    assert answer["errorCode"] == "InvalidSweepRequest"
    assert answer["detail"].startswith(detail)
