"""The domain: what an upload event means to us and what cleaning up after it produced."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

# A video's status, as VOD reports it (GetVideoInfo, GetVideoList); a resumable upload that
# stalls or fails stays Uploading.
VIDEO_STATUS_UPLOADING = "Uploading"
VIDEO_STATUSES = (
    VIDEO_STATUS_UPLOADING,
    "UploadFail",
    "UploadSucc",
    "Transcoding",
    "TranscodeFail",
    "Checking",
    "Blocked",
    "Normal",
    "ProduceFail",
)


class Outcome(StrEnum):
    """How the upload ended, as far as the event tells."""

    COMPLETED = "completed"
    FAILED = "failed"
    MANUAL = "manual"
    # Found by the sweep: an upload no event announced, stalled or failed long enough ago.
    SWEPT = "swept"


class CleanupStatus(StrEnum):
    """What the function did about one event; every handled event ends in exactly one."""

    DELETED = "deleted"
    ALREADY_CLEAN = "already_clean"
    MEDIA_NOT_FOUND = "media_not_found"
    SKIPPED = "skipped"
    IGNORED = "ignored"
    REJECTED = "rejected"


class Trigger(StrEnum):
    """Which AWS service delivered the event."""

    DIRECT = "direct"
    EVENTBRIDGE = "eventbridge"
    SQS = "sqs"
    HTTP = "http"
    SWEEP = "sweep"


class SkipReason(StrEnum):
    """Why an upload was deliberately left alone."""

    UPLOAD_IN_PROGRESS = "upload_in_progress"


class ErrorKind(StrEnum):
    """Why a cleanup could not finish now; every kind keeps the event for a later retry."""

    TRANSIENT = "transient"
    CONFIGURATION = "configuration"
    # Not failures: the event is put back to be done later, when VOD's quota or the
    # invocation's time allows (counted as CleanupDeferred, not CleanupFailed).
    THROTTLED = "throttled"
    OUT_OF_TIME = "out_of_time"

    @property
    def is_failure(self) -> bool:
        """Whether something is wrong (an alarm should fire), not just busy."""
        return self in {ErrorKind.TRANSIENT, ErrorKind.CONFIGURATION}


class UploadEvent(BaseModel):
    """An upload whose parts should be deleted: the only input the use case knows."""

    model_config = ConfigDict(frozen=True)

    video_id: str
    outcome: Outcome
    event_type: str | None = None
    event_time: datetime | None = None
    # An EventTime that could not be read as a time, kept so that it still tells two
    # notifications of one video apart.
    unreadable_event_time: str | None = None
    # The body's claim that the upload is over is unverified (an HTTP callback body is not
    # signed): ask VOD for the video's status before deleting anything.
    needs_confirmation: bool = False


class CleanupResult(BaseModel):
    """The answer for one event, returned to the caller as JSON with camelCase keys."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    video_id: str | None
    outcome: Outcome | None
    status: CleanupStatus
    reason: SkipReason | None = None
    vod_request_id: str | None = None
    error_code: str | None = None
    detail: str | None = None
    attempts: int = 0
    event_time: datetime | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """The wire form: camelCase keys, ISO-8601 times, absent values left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


@dataclass(kw_only=True, eq=False)  # an exception compares (and hashes) by identity
class CleanupFailedError(Exception):
    """The cleanup could not finish now; raised so the trigger keeps the event for a retry.

    The one failure type from the VOD adapter up to the trigger, which passes it on unchanged.
    The message names the video, the error code and VOD's RequestId: never a credential.
    """

    kind: ErrorKind
    error_code: str
    video_id: str | None
    vod_request_id: str | None = None
    attempts: int = 0

    def __post_init__(self) -> None:
        super().__init__(
            f"cleanup of video {self.video_id or '-'} not done ({self.kind}: {self.error_code}, "
            f"VOD RequestId {self.vod_request_id or '-'}, {self.attempts} VOD call(s)); "
            "event kept for retry"
        )
