"""Every exception the functions raise or catch on purpose, in one pydantic-free module that
the receiver, the consumer and the developer tools all import from.

Two families:
- **kept for later**: ``CleanupFailedError``, the one failure type from the VOD adapter up to
  the trigger, which keeps the event (a batch item failure, Lambda's async retry); and the
  errors the AWS and VOD clients raise on the way (``AwsCallError``, ``OutOfTimeError``,
  ``CredentialsUnavailableError``, ``HandOffFailedError``);
- **refused as given**: input or configuration that cannot be used (``SettingsError``,
  ``MalformedEventError``, ``SweepRequestError``, ``CallbackRejectedError``, ...).

No message holds a credential, a signature or a request body, so every one can be logged.
"""

from dataclasses import dataclass

from vod_parts_cleanup.shared.vocabulary import ErrorKind, RejectionReason

_MAX_DETAIL_CHARS = 300


def shortened(text: str, limit: int = _MAX_DETAIL_CHARS) -> str:
    """A detail short enough for one log line."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SettingsError(ValueError):
    """The environment describes a configuration the function cannot run with."""


@dataclass(kw_only=True, eq=False)  # an exception compares (and hashes) by identity
class CleanupFailedError(Exception):
    """The cleanup could not finish now; raised so the trigger keeps the event for a retry.

    The one failure type from the VOD adapter up to the trigger, which passes it on unchanged.
    The message names the video, the error code, its cause (e.g. which host refused the
    connection) and VOD's RequestId: never a credential.
    """

    kind: ErrorKind
    error_code: str
    video_id: str | None
    vod_request_id: str | None = None
    attempts: int = 0
    # One line on why, written by us from what failed (a DNS lookup, a refused connection, a
    # TLS handshake, VOD's own message): an operator's first clue, free of secrets.
    cause: str | None = None

    def __post_init__(self) -> None:
        because = f": {self.cause}" if self.cause else ""
        super().__init__(
            f"cleanup of video {self.video_id or '-'} not done ({self.kind}: {self.error_code}, "
            f"VOD RequestId {self.vod_request_id or '-'}, {self.attempts} VOD call(s)){because}; "
            "event kept for retry"
        )


class CredentialsUnavailableError(Exception):
    """The credentials for VOD could not be obtained; a configuration problem, not VOD's."""


class OutOfTimeError(Exception):
    """An AWS call was not attempted: it could not finish before the invocation's deadline."""


class AwsCallError(Exception):
    """An AWS call failed. ``code`` is AWS's error code (e.g. "QueueDoesNotExist") or one of
    ours (``ErrorCode.CONNECTION_FAILED``, ``TIMEOUT``, ``INVALID_RESPONSE``,
    ``NO_CREDENTIALS``). The message holds no credentials and no request body."""

    def __init__(
        self, operation: str, code: str, detail: str, *, status: int | None = None
    ) -> None:
        self.operation = operation
        self.code = code
        self.status = status
        self.detail = shortened(detail)
        answered = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"{operation} failed: {code}{answered}: {self.detail}")


class HandOffFailedError(Exception):
    """The queue did not take the message; the caller must keep the event another way."""


class MalformedEventError(ValueError):
    """The event body is not a JSON object, so nothing in it can be trusted or cleaned."""


class RejectedEventError(Exception):
    """A record that can never be cleaned (not a VOD notification, a bad VideoId): reported
    as a failure on purpose, so that it ends in the dead-letter queue for a person to read."""


class DeliveryFailedError(Exception):
    """A relayed callback the downstream receiver did not take (not an HTTP 200 in time):
    reported failed, so the relay queue keeps it for its next try."""


class SweepRequestError(ValueError):
    """The sweep request cannot be run as given; the message names what is wrong."""


class WrongFunctionError(Exception):
    """An event this function does not handle (the stack's wiring sent it to the wrong one):
    raised, so that Lambda keeps an asynchronous invocation and a caller sees why."""


class CallbackNotAcceptedError(Exception):
    """A callback not let through, with the reason the metric and the log report."""

    def __init__(self, reason: RejectionReason, detail: str) -> None:
        self.reason = reason
        super().__init__(detail)


class CallbackRejectedError(CallbackNotAcceptedError):
    """The callback is not authentic (or not fresh): answer 401."""


class CallbackAuthUnavailableError(CallbackNotAcceptedError):
    """The callback could not be checked now (its keys are unreachable, or authentication is
    not configured): answer 5xx, so VOD tries again."""
