"""The domain's words: how an upload ended, what was done about it, who delivered it.

Plain enums, apart from the pydantic models that use them, so that the HTTP route (which
hands bodies off unread) can name them without importing pydantic on its cold start.
"""

from enum import StrEnum

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
