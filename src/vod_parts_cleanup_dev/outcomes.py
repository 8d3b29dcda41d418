"""What became of each item a command was asked to do, and what a person reads about it: a
status per VideoId, the error code and one line of cause for anything not done, those
grouped by cause, the advice that fits the cause, and every outcome as JSON lines
(``--report FILE``).

Why: a tool that deletes things on a real account must never let a failure pass for
success, nor hide which ids it concerns or what to do about it.
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vod_parts_cleanup.shared.errors import CleanupFailedError, shortened
from vod_parts_cleanup.shared.vocabulary import CleanupStatus

FAILED = "failed"  # kept for a retry: VOD, a store or the time did not let it finish
NOT_QUEUED = "not_queued"  # the sweep's candidate the work queue did not take
QUEUED = "queued"  # handed to a configured work queue: the deployed consumer cleans it
CANDIDATE = "candidate"  # a dry run's finding
# What a command asked to clean did not get done.
NOT_DONE = frozenset({FAILED, NOT_QUEUED, CleanupStatus.REJECTED.value})
_REASON_TEXT = {
    CleanupStatus.SKIPPED.value: "VOD reports the upload in progress; --force deletes its parts "
    "anyway",
    CleanupStatus.MEDIA_NOT_FOUND.value: "VOD does not know these videos",
}


@dataclass(frozen=True, kw_only=True)
class ItemOutcome:
    """One id's outcome (or one answer of ``invoke``'s, with the step that gave it)."""

    video_id: str | None
    status: str
    outcome: str | None = None  # how the upload ended, as the result says (completed, ...)
    reason: str | None = None
    error_code: str | None = None
    cause: str | None = None
    http_status: int | None = None
    forced: bool | None = None
    step: str | None = None
    message_id: str | None = None  # the SQS message it came in
    summary: Mapping[str, Any] | None = None  # a sweep's answer

    def to_json(self) -> dict[str, Any]:
        shown = {
            "step": self.step,
            "messageId": self.message_id,
            "videoId": self.video_id,
            "outcome": self.outcome,
            "status": self.status,
            "reason": self.reason,
            "errorCode": self.error_code,
            "cause": self.cause,
            "httpStatus": self.http_status,
            "forced": self.forced,
            "summary": self.summary,
        }
        return {key: value for key, value in shown.items() if value is not None}


def outcome_of_result(
    result: Mapping[str, Any], *, step: str | None = None, message_id: str | None = None
) -> ItemOutcome:
    """A cleanup result (the function's JSON answer for one event) as an outcome."""
    return ItemOutcome(
        message_id=message_id,
        video_id=result.get("videoId"),
        status=str(result.get("status")),
        outcome=result.get("outcome"),
        reason=result.get("reason"),
        error_code=result.get("errorCode"),
        cause=result.get("detail"),
        forced=result.get("forced"),
        step=step,
    )


def outcome_of_failure(
    error: BaseException, video_id: str | None, *, step: str | None = None
) -> ItemOutcome:
    """What raised instead of answering (kept for a retry, as Lambda would)."""
    if isinstance(error, CleanupFailedError):
        return ItemOutcome(
            video_id=video_id or error.video_id,
            status=FAILED,
            error_code=error.error_code,
            cause=error.cause,
            step=step,
        )
    return ItemOutcome(
        video_id=video_id,
        status=FAILED,
        error_code=type(error).__name__,
        cause=shortened(str(error), 200),
        step=step,
    )


def write_report(path: Path, outcomes: Iterable[ItemOutcome]) -> None:
    """Every outcome as one JSON line, for a script or the next command (``--report``)."""
    with path.open("w", encoding="utf-8") as report:
        for outcome in outcomes:
            report.write(json.dumps(outcome.to_json()) + "\n")


def explained(outcomes: Sequence[ItemOutcome], *, shown: int = 10) -> list[str]:
    """For every outcome that is not simply done, one line per cause: how many, the status,
    the code and cause, the ids (``shown`` of them), then the advice that fits."""
    groups: dict[tuple[str, str | None, str | None], list[str]] = {}
    for outcome in outcomes:
        if outcome.status in {CleanupStatus.DELETED.value, QUEUED, CANDIDATE}:
            continue
        code = outcome.error_code or outcome.reason
        cause = outcome.cause or _REASON_TEXT.get(outcome.status)
        groups.setdefault((outcome.status, code, cause), []).append(outcome.video_id or "-")
    lines = []
    for (status, code, cause), video_ids in groups.items():
        why = ": ".join(part for part in (code, cause) if part)
        listed = ", ".join(video_ids[:shown])
        more = f" and {len(video_ids) - shown} more" if len(video_ids) > shown else ""
        lines.append(f"{status.replace('_', ' ')} {len(video_ids)}{f' ({why})' if why else ''}")
        lines.append(f"  {listed}{more}")
        if (advice := advice_for(code, cause)) is not None:
            lines.append(f"  -> {advice}")
    return lines


# Advice by the start of an error code (VOD's own codes, AWS's, ours), first match wins.
_ADVICE_BY_CODE: tuple[tuple[tuple[str, ...], str], ...] = (
    (("DeadlineExceeded", "NoTimeLeft"), "the time ran out: give it more, or run it again"),
    (
        ("CredentialsUnavailable",),
        "check VOD_CREDENTIALS_SECRET_ID and the AWS region and credentials that read it",
    ),
    (
        ("InvalidAccessKeyId", "SignatureDoesNotMatch", "IncompleteSignature"),
        "check the access key: ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET "
        "(or the secret's AccessKeyId and AccessKeySecret)",
    ),
    (("InvalidSecurityToken",), "the security token is wrong or expired: get a new one"),
    (("InvalidTimeStamp",), "this machine's clock is off: set it right"),
    (
        ("Forbidden", "AccessDenied"),
        "the RAM user may not do this: compare its policy with deploy/alibaba-ram-policy.json",
    ),
    (
        ("Throttling",),
        "VOD's quota is used up by others too: lower VOD_CALLS_PER_SECOND, or run it again later",
    ),
    (
        ("InternalError", "ServiceUnavailable", "UnknownError", "HTTP5"),
        "VOD is having trouble: run it again later",
    ),
    (("InvalidParameter", "MissingParameter"), "VOD refused the request: see its message"),
    (
        ("IdempotencyStoreUnavailable",),
        "check IDEMPOTENCY_TABLE_NAME, and the AWS region and credentials",
    ),
    (("InProgressElsewhere",), "another run is cleaning it now: run it again later"),
    (
        ("HandOffFailed",),
        "check WORK_QUEUE_URL, and the AWS region and credentials; the next sweep finds them again",
    ),
)
# Advice for a network failure, by the start of its cause (consumer.causes).
_ADVICE_BY_CAUSE = (
    ("DNS", "check VOD_REGION (or VOD_ENDPOINT), and that this machine resolves names"),
    ("refused", "check VOD_ENDPOINT and VOD_PROTOCOL: nothing listens there"),
    ("TLS", "check VOD_ENDPOINT and VOD_PROTOCOL, and any proxy between here and VOD"),
    ("timeout", "check the network path to VOD, or raise VOD_READ_TIMEOUT_MS"),
)


def advice_for(error_code: str | None, cause: str | None) -> str | None:
    """What to do about a failure, fitted to its cause (None when nobody needs to act)."""
    code, text = error_code or "", cause or ""
    if code == "NetworkError":
        return next(
            (advice for start, advice in _ADVICE_BY_CAUSE if text.startswith(start)),
            "check the network path to VOD",
        )
    for starts, advice in _ADVICE_BY_CODE:
        if code.lower().startswith(tuple(start.lower() for start in starts)):
            return advice
    return None
