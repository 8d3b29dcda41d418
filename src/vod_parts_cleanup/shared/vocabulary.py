"""The domain's words: how an upload ended, what was done about it, who delivered it, and
every error code the functions write.

Plain enums, apart from the pydantic models that use them, so that the receiver (which hands
bodies off unread) can name them without importing pydantic on its cold start.
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


class RejectionReason(StrEnum):
    """Why a callback was not accepted: the ``Reason`` of the CallbackRejected metric."""

    MISSING_HEADER = "missing_header"
    MALFORMED_TIMESTAMP = "malformed_timestamp"
    MALFORMED_SIGNATURE = "malformed_signature"
    STALE_TIMESTAMP = "stale_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    BAD_SIGNATURE = "bad_signature"
    # Not the caller's fault: the callback could not be checked, so VOD should retry.
    NOT_CONFIGURED = "not_configured"
    AUTH_UNAVAILABLE = "auth_unavailable"


class ErrorCode(StrEnum):
    """Every error code the functions write themselves (results, answers, failures, logs).

    VOD's own codes (``Throttling.User``, ``Forbidden.RAM``, ...) and AWS's are passed on as
    VOD and AWS write them; these are the ones that name what happened on our side.
    """

    # Input that will never be cleaned (a rejected result, kept in a dead-letter queue).
    MALFORMED_EVENT = "MalformedEvent"
    BODY_TOO_LARGE = "BodyTooLarge"
    MISSING_VIDEO_ID = "MissingVideoId"
    INVALID_VIDEO_ID = "InvalidVideoId"
    UNKNOWN_STATUS = "UnknownStatus"
    INVALID_SWEEP_REQUEST = "InvalidSweepRequest"
    # An event sent to the function that does not handle its trigger (a wiring mistake).
    WRONG_FUNCTION = "WrongFunction"
    # The HTTP callback's answers.
    CALLBACK_UNAUTHORIZED = "CallbackUnauthorized"
    CALLBACK_NOT_CHECKED = "CallbackNotChecked"
    # Kept for a retry: our configuration, our time, our stores, a bug.
    NOT_CONFIGURED = "NotConfigured"
    NO_TIME_LEFT = "NoTimeLeft"
    IN_PROGRESS_ELSEWHERE = "InProgressElsewhere"
    IDEMPOTENCY_STORE_UNAVAILABLE = "IdempotencyStoreUnavailable"
    UNEXPECTED_ERROR = "UnexpectedError"
    # The sweep's candidates the work queue did not take (the summary's errorCode).
    HAND_OFF_FAILED = "HandOffFailed"
    # Calls to VOD that got no usable answer.
    NETWORK_ERROR = "NetworkError"
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    CREDENTIALS_UNAVAILABLE = "CredentialsUnavailable"
    UNREADABLE_ANSWER = "UnreadableAnswer"
    # Calls to AWS (SQS, Secrets Manager) by the receiver's own client that got no answer.
    CONNECTION_FAILED = "ConnectionFailed"
    TIMEOUT = "Timeout"
    INVALID_RESPONSE = "InvalidResponse"
    NO_CREDENTIALS = "NoCredentials"
