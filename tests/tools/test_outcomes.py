"""What a person reads about the ids a command did not simply finish: grouped by cause, the
ids listed, and the advice that fits the cause (not the same advice for everything)."""

import json
from pathlib import Path

import pytest

from vod_parts_cleanup_dev.outcomes import ItemOutcome, advice_for, explained, write_report


@pytest.mark.parametrize(
    ("code", "cause", "advice"),
    [
        ("NetworkError", "DNS: vod.xx.aliyuncs.com does not resolve", "check VOD_REGION"),
        ("NetworkError", "refused: nothing accepts connections at h:9", "nothing listens there"),
        ("NetworkError", "TLS: the handshake with h failed", "any proxy between here and VOD"),
        ("NetworkError", "timeout: h did not answer in time", "VOD_READ_TIMEOUT_MS"),
        ("SignatureDoesNotMatch", None, "check the access key"),
        ("InvalidAccessKeyId.NotFound", None, "check the access key"),
        ("Forbidden.RAM", None, "deploy/alibaba-ram-policy.json"),
        ("Throttling.User", None, "VOD_CALLS_PER_SECOND"),
        ("NoTimeLeft", "0.9 s left", "the time ran out"),
        ("HandOffFailed", None, "check WORK_QUEUE_URL"),
        ("IdempotencyStoreUnavailable", None, "IDEMPOTENCY_TABLE_NAME"),
    ],
)
def test_the_advice_fits_the_cause(code: str, cause: str | None, advice: str) -> None:
    given = advice_for(code, cause)
    assert given is not None and advice in given
    if code == "NetworkError":
        assert "RAM" not in given and "credentials" not in given


def test_nothing_to_advise_for_an_answer_that_needs_nobody() -> None:
    assert advice_for(None, "upload_in_progress") is None


def test_what_is_not_simply_done_is_grouped_by_cause_with_its_ids() -> None:
    refused = "refused: nothing accepts connections at 127.0.0.1:9"
    outcomes = [
        ItemOutcome(video_id=f"{n:032x}", status="failed", error_code="NetworkError", cause=refused)
        for n in range(12)
    ]
    outcomes += [
        ItemOutcome(video_id="d" * 32, status="deleted"),
        ItemOutcome(video_id="e" * 32, status="skipped", reason="upload_in_progress"),
    ]
    lines = explained(outcomes)
    assert lines[0] == f"failed 12 (NetworkError: {refused})"
    assert lines[1].startswith(f"  {0:032x}, {1:032x}") and lines[1].endswith(" and 2 more")
    assert lines[2] == "  -> check VOD_ENDPOINT and VOD_PROTOCOL: nothing listens there"
    assert lines[3].startswith("skipped 1 (upload_in_progress: VOD reports the upload in progress")
    assert "d" * 32 not in "\n".join(lines)


def test_the_report_holds_every_outcome_as_a_json_line(tmp_path: Path) -> None:
    report = tmp_path / "report.jsonl"
    write_report(
        report,
        [
            ItemOutcome(video_id="a" * 32, status="deleted"),
            ItemOutcome(video_id="b" * 32, status="failed", error_code="NetworkError", cause="x"),
        ],
    )
    assert [json.loads(line) for line in report.read_text().splitlines()] == [
        {"videoId": "a" * 32, "status": "deleted"},
        {"videoId": "b" * 32, "status": "failed", "errorCode": "NetworkError", "cause": "x"},
    ]
