"""The domain: what an upload event means to us and what cleaning up after it produced."""

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from vod_parts_cleanup.shared.vocabulary import CleanupStatus, Outcome, SkipReason


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
    # The body's claim that the upload is over is not believed (consumer.trust): ask VOD
    # for the video's status before deleting anything.
    needs_confirmation: bool = False
    # A person said to delete even if VOD reports the upload as still in progress.
    force: bool = False


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
    # Deleted although VOD reported the upload in progress, because a person said so.
    forced: bool | None = None

    @classmethod
    def rejected_body(cls, error_code: str, detail: str) -> Self:
        """A body that cannot be read at all (not one JSON object): nothing in it is shown."""
        return cls(
            video_id=None,
            outcome=None,
            status=CleanupStatus.REJECTED,
            error_code=error_code,
            detail=detail,
        )

    def to_json_dict(self) -> dict[str, Any]:
        """The wire form: camelCase keys, ISO-8601 times, absent values left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
