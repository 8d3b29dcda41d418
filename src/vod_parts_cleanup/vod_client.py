"""The VOD adapter: one DeleteMultipartUpload call through the OpenAPI core, retried sensibly.

It knows VOD (parameters, error codes, what is worth retrying) and nothing of Lambda: the
caller passes a deadline on the monotonic clock and gets a typed answer back.
"""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_tea_openapi.client import Client as OpenApiClient
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException, ThrottlingException
from alibabacloud_tea_openapi.utils_models import Config, OpenApiRequest, Params
from darabonba.exceptions import UnretryableException
from darabonba.runtime import RuntimeOptions

from vod_parts_cleanup.models import CleanupStatus, ErrorKind
from vod_parts_cleanup.settings import Settings

API_VERSION = "2017-03-21"
ACTION = "DeleteMultipartUpload"
MEDIA_TYPE_VIDEO = "video"

# Exactly what the official VOD SDK (alibabacloud-vod20170321) passes for this operation.
DELETE_MULTIPART_UPLOAD = Params(
    action=ACTION,
    version=API_VERSION,
    protocol="HTTPS",
    pathname="/",
    method="POST",
    auth_type="AK",
    style="RPC",
    req_body_type="formData",
    body_type="json",
)

# VOD error codes, compared lower-case: VOD itself writes ServiceUnAvailable.
_ANSWER_BY_CODE: dict[str, CleanupStatus] = {
    "invalidmultipartupload.notfound": CleanupStatus.ALREADY_CLEAN,
    "invalidvideo.notfound": CleanupStatus.MEDIA_NOT_FOUND,
    "invalidfile.notfound": CleanupStatus.MEDIA_NOT_FOUND,
    "invalidparameter": CleanupStatus.REJECTED,
}
_TRANSIENT_CODES = frozenset({"internalerror", "serviceunavailable", "unknownerror"})
NETWORK_ERROR_CODE = "NetworkError"
DEADLINE_ERROR_CODE = "DeadlineExceeded"
CREDENTIALS_ERROR_CODE = "CredentialsUnavailable"

# Time kept back from the caller's deadline so a failure can still be reported.
_DEADLINE_SAFETY_SECONDS = 0.5
_SMALLEST_USEFUL_TIMEOUT_MS = 200
_BACKOFF_BASE_SECONDS = 0.2
_BACKOFF_CAP_SECONDS = 2.0


class CredentialsUnavailableError(Exception):
    """The credentials for VOD could not be obtained; a configuration problem, not VOD's."""


@dataclass(frozen=True)
class VodCall:
    """One HTTP exchange with VOD, reported for logs and the VodLatency metric."""

    video_id: str
    attempt: int
    latency_ms: float
    request_id: str | None
    error_code: str | None
    http_status: int | None


@dataclass(frozen=True)
class VodAnswer:
    """VOD's final answer for one video after any retries."""

    status: CleanupStatus
    request_id: str | None
    error_code: str | None
    attempts: int


class VodCallFailedError(Exception):
    """VOD could not be asked, or answered with an error that a later retry may fix."""

    def __init__(
        self, *, kind: ErrorKind, error_code: str, request_id: str | None, attempts: int
    ) -> None:
        self.kind = kind
        self.error_code = error_code
        self.request_id = request_id
        self.attempts = attempts
        super().__init__(f"VOD {ACTION} failed: {kind} error {error_code}")


@dataclass(frozen=True)
class _Failure:
    kind: ErrorKind
    error_code: str
    request_id: str | None
    http_status: int | None
    retry_after_seconds: float = 0.0


def build_openapi_client(settings: Settings, credential: CredentialClient) -> OpenApiClient:
    """The OpenAPI core client for VOD; build it once and keep it (it pools connections)."""
    config = Config(
        credential=credential,
        endpoint=settings.vod_host,
        protocol=settings.vod_protocol.upper(),
        region_id=settings.vod_region,
        connect_timeout=settings.connect_timeout_ms,
        read_timeout=settings.read_timeout_ms,
    )
    return OpenApiClient(config)


class VodClient:
    """Deletes a video's upload parts, retrying transient failures within the caller's time."""

    def __init__(
        self,
        openapi_client: OpenApiClient,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = openapi_client
        self._max_attempts = settings.max_attempts
        self._connect_timeout_ms = settings.connect_timeout_ms
        self._read_timeout_ms = settings.read_timeout_ms
        self._sleep = sleep
        self._clock = clock

    def delete_multipart_upload(
        self,
        video_id: str,
        *,
        deadline: float | None,
        on_call: Callable[[VodCall], None] = lambda call: None,
    ) -> VodAnswer:
        """Ask VOD to drop the video's parts; raise VodCallFailedError if it cannot be done now.

        ``deadline`` is a ``clock()`` value by which the call must be over (None: no limit);
        ``on_call`` hears of every HTTP exchange, retries included.
        """
        attempt = 0
        while True:
            attempt += 1
            read_timeout_ms = self._read_timeout_for(deadline)
            if read_timeout_ms is None:
                raise VodCallFailedError(
                    kind=ErrorKind.TRANSIENT,
                    error_code=DEADLINE_ERROR_CODE,
                    request_id=None,
                    attempts=attempt - 1,
                )
            outcome = self._call_once(video_id, attempt, read_timeout_ms, on_call)
            if isinstance(outcome, VodAnswer):
                return outcome
            pause = self._pause_before_retry(outcome, attempt, deadline)
            if pause is None:
                raise VodCallFailedError(
                    kind=outcome.kind,
                    error_code=outcome.error_code,
                    request_id=outcome.request_id,
                    attempts=attempt,
                )
            self._sleep(pause)

    def _call_once(
        self,
        video_id: str,
        attempt: int,
        read_timeout_ms: int,
        on_call: Callable[[VodCall], None],
    ) -> VodAnswer | _Failure:
        request = OpenApiRequest(query={"MediaId": video_id, "MediaType": MEDIA_TYPE_VIDEO})
        runtime = RuntimeOptions(
            read_timeout=read_timeout_ms,
            connect_timeout=min(self._connect_timeout_ms, read_timeout_ms),
        )
        started = self._clock()
        try:
            response = self._client.call_api(DELETE_MULTIPART_UPLOAD, request, runtime)
        except Exception as error:  # every failure is classified below
            failure = _classify_failure(error)
            on_call(self._exchange(video_id, attempt, started, failure.request_id, failure))
            answer_status = _ANSWER_BY_CODE.get(failure.error_code.lower())
            if answer_status is not None:
                return VodAnswer(
                    status=answer_status,
                    request_id=failure.request_id,
                    error_code=failure.error_code,
                    attempts=attempt,
                )
            return failure
        request_id = _request_id_of(response)
        on_call(self._exchange(video_id, attempt, started, request_id, None))
        return VodAnswer(
            status=CleanupStatus.DELETED, request_id=request_id, error_code=None, attempts=attempt
        )

    def _exchange(
        self,
        video_id: str,
        attempt: int,
        started: float,
        request_id: str | None,
        failure: _Failure | None,
    ) -> VodCall:
        return VodCall(
            video_id=video_id,
            attempt=attempt,
            latency_ms=(self._clock() - started) * 1000,
            request_id=request_id,
            error_code=failure.error_code if failure else None,
            http_status=failure.http_status if failure else 200,
        )

    def _read_timeout_for(self, deadline: float | None) -> int | None:
        """The read timeout that still ends before the deadline, or None if no time is left."""
        if deadline is None:
            return self._read_timeout_ms
        left_ms = int((deadline - self._clock() - _DEADLINE_SAFETY_SECONDS) * 1000)
        if left_ms < _SMALLEST_USEFUL_TIMEOUT_MS:
            return None
        return min(self._read_timeout_ms, left_ms)

    def _pause_before_retry(
        self, failure: _Failure, attempt: int, deadline: float | None
    ) -> float | None:
        """Exponential backoff with full jitter; None when retrying is pointless or too late."""
        if failure.kind is not ErrorKind.TRANSIENT or attempt >= self._max_attempts:
            return None
        ceiling = min(_BACKOFF_CAP_SECONDS, _BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        pause = max(random.uniform(0, ceiling), failure.retry_after_seconds)  # noqa: S311
        if deadline is not None:
            time_after_pause = deadline - self._clock() - pause - _DEADLINE_SAFETY_SECONDS
            if time_after_pause * 1000 < _SMALLEST_USEFUL_TIMEOUT_MS:
                return None
        return pause


def _classify_failure(error: Exception) -> _Failure:
    """Sort an exception from the OpenAPI core into transient or configuration trouble."""
    if isinstance(error, AlibabaCloudException):
        code = _known(error.code) or f"HTTP{error.status_code}"
        status = error.status_code
        request_id = _known(error.request_id)
        retry_after = 0.0
        if isinstance(error, ThrottlingException) and error.retry_after:
            retry_after = min(float(error.retry_after) / 1000, _BACKOFF_CAP_SECONDS)
        transient = (
            isinstance(error, ThrottlingException)
            or code.lower().startswith("throttling")
            or code.lower() in _TRANSIENT_CODES
            or (status is not None and status >= 500)
        )
        kind = ErrorKind.TRANSIENT if transient else ErrorKind.CONFIGURATION
        return _Failure(kind, code, request_id, status, retry_after)
    inner = getattr(error, "inner_exception", None)
    if isinstance(error, CredentialsUnavailableError) or isinstance(
        inner, CredentialsUnavailableError
    ):
        return _Failure(ErrorKind.CONFIGURATION, CREDENTIALS_ERROR_CODE, None, None)
    if isinstance(error, UnretryableException):
        return _Failure(ErrorKind.TRANSIENT, NETWORK_ERROR_CODE, None, None)
    return _Failure(ErrorKind.CONFIGURATION, type(error).__name__, None, None)


def _known(value: object) -> str | None:
    """The SDK writes a missing field as the string 'None'; treat it as missing."""
    if value is None or value in {"", "None"}:
        return None
    return str(value)


def _request_id_of(response: dict[str, object]) -> str | None:
    body = response.get("body")
    if isinstance(body, dict):
        return _known(body.get("RequestId"))
    return None
