"""The domain: what an upload event means to us and what cleaning up after it produced."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from vod_parts_cleanup.vocabulary import (
    VIDEO_STATUS_UPLOADING,
    VIDEO_STATUSES,
    CleanupStatus,
    ErrorKind,
    Outcome,
    SkipReason,
    Trigger,
)

__all__ = [
    "VIDEO_STATUSES",
    "VIDEO_STATUS_UPLOADING",
    "CleanupFailedError",
    "CleanupResult",
    "CleanupStatus",
    "ErrorKind",
    "Outcome",
    "SkipReason",
    "Trigger",
    "UploadEvent",
]


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
