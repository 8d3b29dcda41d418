"""The VOD adapter: VOD operations through the OpenAPI core's ``call_api``, retried sensibly.

It knows VOD (parameters, error codes, what is worth retrying) and nothing of Lambda: every
call ends before the invocation's ``Deadline`` it was built with, and the caller gets a typed
answer back, or a ``CleanupFailedError`` saying why the event must be kept for later.
"""

import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_tea_openapi.client import Client as OpenApiClient
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException, ThrottlingException
from alibabacloud_tea_openapi.utils_models import Config, OpenApiRequest, Params
from darabonba.exceptions import UnretryableException
from darabonba.runtime import RuntimeOptions

from vod_parts_cleanup.consumer.causes import network_cause, vod_message
from vod_parts_cleanup.consumer.pacing import Pacer
from vod_parts_cleanup.shared.bounds import AttemptTimedOut, call_within
from vod_parts_cleanup.shared.clock import SYSTEM_CLOCK, Clock, Deadline
from vod_parts_cleanup.shared.errors import (
    CleanupFailedError,
    CredentialsUnavailableError,
    shortened,
)
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup.shared.vocabulary import CleanupStatus, ErrorCode, ErrorKind

API_VERSION = "2017-03-21"
MEDIA_TYPE_VIDEO = "video"


def _rpc_operation(action: str) -> Params:
    """Exactly what the official VOD SDK (alibabacloud-vod20170321) passes for an operation."""
    return Params(
        action=action,
        version=API_VERSION,
        protocol="HTTPS",
        pathname="/",
        method="POST",
        auth_type="AK",
        style="RPC",
        req_body_type="formData",
        body_type="json",
    )


DELETE_MULTIPART_UPLOAD = _rpc_operation("DeleteMultipartUpload")
GET_VIDEO_INFO = _rpc_operation("GetVideoInfo")
GET_VIDEO_INFOS = _rpc_operation("GetVideoInfos")
GET_VIDEO_LIST = _rpc_operation("GetVideoList")
GET_UPLOAD_DETAILS = _rpc_operation("GetUploadDetails")
# Every operation the function calls: the RAM policy in deploy/ allows exactly these.
OPERATIONS = (
    DELETE_MULTIPART_UPLOAD,
    GET_VIDEO_INFO,
    GET_VIDEO_INFOS,
    GET_VIDEO_LIST,
    GET_UPLOAD_DETAILS,
)
# GetVideoList: at most 100 videos a page, and only the first 5,000 of a filter can be read.
LIST_PAGE_SIZE = 100
LIST_REACH = 5_000
# GetUploadDetails and GetVideoInfos: at most 20 videos a call.
UPLOAD_DETAILS_BATCH = 20
VIDEO_INFOS_BATCH = 20
_VOD_TIME = "%Y-%m-%dT%H:%M:%SZ"

# VOD error codes are compared lower-case: VOD itself writes ServiceUnAvailable.
VIDEO_NOT_FOUND = "invalidvideo.notfound"
# DeleteMultipartUpload's answers that end the cleanup (anything else is kept for a retry).
_DELETE_ANSWERS: dict[str, CleanupStatus] = {
    "invalidmultipartupload.notfound": CleanupStatus.ALREADY_CLEAN,
    VIDEO_NOT_FOUND: CleanupStatus.MEDIA_NOT_FOUND,
    "invalidfile.notfound": CleanupStatus.MEDIA_NOT_FOUND,
    "invalidparameter": CleanupStatus.REJECTED,
}
_TRANSIENT_CODES = frozenset({"internalerror", "serviceunavailable", "unknownerror"})

# Time kept back from the caller's deadline so a failure can still be reported.
_DEADLINE_SAFETY_SECONDS = 0.5
_SMALLEST_USEFUL_TIMEOUT_MS = 200
# How long past its read timeout an attempt may last (within the safety above).
_ATTEMPT_GRACE_SECONDS = 0.2
_BACKOFF_BASE_SECONDS = 0.2
_BACKOFF_CAP_SECONDS = 2.0


@dataclass(frozen=True)
class VodCall:
    """One HTTP exchange with VOD, reported for logs and the VodLatency metric."""

    action: str
    video_id: str | None
    attempt: int
    latency_ms: float
    request_id: str | None
    error_code: str | None
    http_status: int | None
    throttled: bool = False


@dataclass(frozen=True)
class VodAnswer:
    """VOD's final answer to one DeleteMultipartUpload, after any retries."""

    status: CleanupStatus
    request_id: str | None
    error_code: str | None
    attempts: int


@dataclass(frozen=True)
class VideoStatusAnswer:
    """The video's status as GetVideoInfo reports it; ``status`` is None for a video VOD
    does not know."""

    status: str | None
    request_id: str | None
    error_code: str | None
    attempts: int


@dataclass(frozen=True)
class _Reply:
    """The last exchange of a call: a body, or an error code the caller treats as an answer."""

    body: Mapping[str, object]
    request_id: str | None
    error_code: str | None
    attempts: int


@dataclass(frozen=True)
class _FailedExchange:
    """One HTTP exchange with VOD that failed, sorted by what may fix it (a value inside the
    retry loop; what leaves the adapter is a CleanupFailedError)."""

    kind: ErrorKind
    error_code: str
    request_id: str | None
    http_status: int | None
    retry_after_seconds: float = 0.0
    cause: str | None = None  # one line on why (CleanupFailedError.cause)


OnCall = Callable[[VodCall], None]


def _ignore(call: VodCall) -> None:
    """The default listener: nobody wants to hear about the exchanges."""


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


@dataclass(frozen=True)
class ListedVideo:
    """A video as GetVideoList describes it."""

    video_id: str
    status: str
    creation_time: datetime | None


@dataclass(frozen=True)
class VideoPage:
    """One page of GetVideoList: ``total`` is how many videos match the whole filter."""

    total: int
    videos: tuple[ListedVideo, ...]


def vod_time(moment: datetime) -> str:
    """A time as VOD's parameters take it: UTC, whole seconds."""
    return moment.astimezone(UTC).strftime(_VOD_TIME)


def _parse_vod_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, _VOD_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


class VodClient:
    """Calls VOD for one video at a time, paced, retrying transient failures within the
    caller's time."""

    def __init__(
        self,
        openapi_client: OpenApiClient,
        settings: Settings,
        *,
        pacers: Mapping[str, Pacer] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        deadline: Deadline | None = None,
    ) -> None:
        self._client = openapi_client
        self._max_attempts = settings.max_attempts
        self._connect_timeout_ms = settings.connect_timeout_ms
        self._read_timeout_ms = settings.read_timeout_ms
        self._host = settings.vod_host  # named in a network failure's cause
        self._pacers = pacers or {}
        self._clock = clock
        # Without one (a person's script), calls are bounded by their timeouts alone.
        self._deadline = deadline or Deadline(clock)

    def delete_multipart_upload(self, video_id: str, *, on_call: OnCall = _ignore) -> VodAnswer:
        """Ask VOD to drop the video's parts; CleanupFailedError if it cannot be done now.

        ``on_call`` hears of every HTTP exchange, retries included.
        """
        query = {"MediaId": video_id, "MediaType": MEDIA_TYPE_VIDEO}
        reply = self._call(
            DELETE_MULTIPART_UPLOAD,
            query,
            video_id=video_id,
            answer_codes=_DELETE_ANSWERS.keys(),
            on_call=on_call,
        )
        status = CleanupStatus.DELETED
        if reply.error_code is not None:
            status = _DELETE_ANSWERS[reply.error_code.lower()]
        return VodAnswer(status, reply.request_id, reply.error_code, reply.attempts)

    def video_status(self, video_id: str, *, on_call: OnCall = _ignore) -> VideoStatusAnswer:
        """The video's status (GetVideoInfo), None if VOD does not know the video."""
        reply = self._call(
            GET_VIDEO_INFO,
            {"VideoId": video_id},
            video_id=video_id,
            answer_codes={VIDEO_NOT_FOUND},
            on_call=on_call,
        )
        video = reply.body.get("Video")
        status = video.get("Status") if isinstance(video, Mapping) else None
        if reply.error_code is None and not isinstance(status, str):
            raise CleanupFailedError(
                kind=ErrorKind.TRANSIENT,
                error_code=ErrorCode.UNREADABLE_ANSWER,
                video_id=video_id,
                vod_request_id=reply.request_id,
                attempts=reply.attempts,
            )
        known_status = status if isinstance(status, str) else None
        return VideoStatusAnswer(known_status, reply.request_id, reply.error_code, reply.attempts)

    def video_statuses(
        self, video_ids: Sequence[str], *, on_call: OnCall = _ignore
    ) -> dict[str, VideoStatusAnswer]:
        """The statuses of up to ``VIDEO_INFOS_BATCH`` videos in one call (GetVideoInfos);
        a video VOD does not know has status None, one VOD leaves out has no entry."""
        reply = self._call(GET_VIDEO_INFOS, {"VideoIds": ",".join(video_ids)}, on_call=on_call)
        answers: dict[str, VideoStatusAnswer] = {}
        listed = reply.body.get("VideoList")
        for video in listed if isinstance(listed, list) else []:
            if isinstance(video, Mapping):
                video_id, status = video.get("VideoId"), video.get("Status")
                if isinstance(video_id, str) and isinstance(status, str):
                    answers[video_id] = VideoStatusAnswer(status, reply.request_id, None, 1)
        unknown = reply.body.get("NonExistVideoIds")
        for video_id in unknown if isinstance(unknown, list) else []:
            if isinstance(video_id, str):
                answers[video_id] = VideoStatusAnswer(None, reply.request_id, None, 1)
        return {video_id: answers[video_id] for video_id in video_ids if video_id in answers}

    def list_videos(
        self,
        *,
        statuses: Sequence[str],
        created_from: datetime,
        created_to: datetime,
        page: int,
        on_call: OnCall = _ignore,
    ) -> VideoPage:
        """One page (``LIST_PAGE_SIZE`` videos, oldest first) of the videos in these statuses
        created within [created_from, created_to] (whole seconds, both ends included)."""
        query = {
            "Status": ",".join(statuses),
            "StartTime": vod_time(created_from),
            "EndTime": vod_time(created_to),
            "PageNo": str(page),
            "PageSize": str(LIST_PAGE_SIZE),
            "SortBy": "CreationTime:Asc",
        }
        reply = self._call(GET_VIDEO_LIST, query, on_call=on_call)
        listed = reply.body.get("VideoList")
        entries = listed.get("Video") if isinstance(listed, Mapping) else None
        videos = tuple(
            ListedVideo(
                video_id=entry["VideoId"],
                status=str(entry.get("Status", "")),
                creation_time=_parse_vod_time(entry.get("CreationTime")),
            )
            for entry in (entries if isinstance(entries, list) else [])
            if isinstance(entry, Mapping) and isinstance(entry.get("VideoId"), str)
        )
        total = reply.body.get("Total")
        return VideoPage(total=total if isinstance(total, int) else len(videos), videos=videos)

    def last_upload_activity(
        self, video_ids: Sequence[str], *, on_call: OnCall = _ignore
    ) -> dict[str, datetime]:
        """When each upload was last touched (GetUploadDetails' ModificationTime), for the
        videos VOD reports on; at most ``UPLOAD_DETAILS_BATCH`` ids."""
        query = {"MediaIds": ",".join(video_ids), "MediaType": MEDIA_TYPE_VIDEO}
        reply = self._call(GET_UPLOAD_DETAILS, query, on_call=on_call)
        details = reply.body.get("UploadDetails")
        activity = {}
        for detail in details if isinstance(details, list) else []:
            if not isinstance(detail, Mapping):
                continue
            touched = _parse_vod_time(detail.get("ModificationTime"))
            media_id = detail.get("MediaId")
            if isinstance(media_id, str) and touched is not None:
                activity[media_id] = touched
        return activity

    def _call(
        self,
        operation: Params,
        query: dict[str, str],
        *,
        on_call: OnCall,
        video_id: str | None = None,
        answer_codes: Collection[str] = (),
    ) -> _Reply:
        """Call until VOD answers (or answers with one of ``answer_codes``), within the deadline."""
        action = str(operation.action)
        pacer = self._pacers.get(action)
        deadline = self._deadline.at
        attempt = 0
        while True:
            attempt += 1
            in_time = self._slot_in_time(pacer, deadline)
            read_timeout_ms = self._read_timeout_for(deadline) if in_time else None
            if read_timeout_ms is None:
                raise CleanupFailedError(
                    kind=ErrorKind.OUT_OF_TIME,
                    error_code=ErrorCode.DEADLINE_EXCEEDED,
                    video_id=video_id,
                    attempts=attempt - 1,
                )
            started = self._clock.monotonic()
            outcome = self._exchange(operation, query, read_timeout_ms)
            failure = outcome if isinstance(outcome, _FailedExchange) else None
            throttled = failure is not None and failure.kind is ErrorKind.THROTTLED
            if pacer is not None and throttled:
                pacer.throttled()
            elif pacer is not None:
                pacer.answered()
            body = _body_of(outcome) if not isinstance(outcome, _FailedExchange) else {}
            request_id = failure.request_id if failure else _known(body.get("RequestId"))
            on_call(
                VodCall(
                    action=action,
                    video_id=video_id,
                    attempt=attempt,
                    latency_ms=(self._clock.monotonic() - started) * 1000,
                    request_id=request_id,
                    error_code=failure.error_code if failure else None,
                    http_status=failure.http_status if failure else 200,
                    throttled=throttled,
                )
            )
            if failure is None:
                return _Reply(body, request_id, None, attempt)
            if failure.error_code.lower() in answer_codes:
                return _Reply({}, request_id, failure.error_code, attempt)
            pause = self._pause_before_retry(failure, attempt, deadline)
            if pause is None:
                raise CleanupFailedError(
                    kind=failure.kind,
                    error_code=failure.error_code,
                    video_id=video_id,
                    vod_request_id=failure.request_id,
                    attempts=attempt,
                    cause=failure.cause,
                )
            self._clock.sleep(pause)

    def _slot_in_time(self, pacer: Pacer | None, deadline: float | None) -> bool:
        """Wait for the pacer's next slot, if it comes while a call still fits the deadline."""
        if pacer is None:
            return True
        latest_start = None
        if deadline is not None:
            latest_start = deadline - _DEADLINE_SAFETY_SECONDS - _SMALLEST_USEFUL_TIMEOUT_MS / 1000
        return pacer.wait_for_slot(latest_start)

    def _exchange(
        self, operation: Params, query: dict[str, str], read_timeout_ms: int
    ) -> dict[str, object] | _FailedExchange:
        runtime = RuntimeOptions(
            read_timeout=read_timeout_ms,
            connect_timeout=min(self._connect_timeout_ms, read_timeout_ms),
        )
        try:
            # The attempt as a whole within its read timeout (which fits the deadline), and
            # a grace for the core's own timeout to speak first: those bound each socket
            # read, not a trickling answer's sum of them.
            response: dict[str, object] = call_within(
                read_timeout_ms / 1000 + _ATTEMPT_GRACE_SECONDS,
                lambda: self._client.call_api(operation, OpenApiRequest(query=query), runtime),
                name=f"vod-{operation.action}",
            )
        except AttemptTimedOut:
            cause = f"timeout: {self._host} kept answering past the attempt's bound (trickling)"
            return _FailedExchange(ErrorKind.TRANSIENT, ErrorCode.TIMEOUT, None, None, cause=cause)
        except Exception as error:  # every failure is classified
            return _classify_failure(error, self._host)
        return response

    def _read_timeout_for(self, deadline: float | None) -> int | None:
        """The read timeout that still ends before the deadline, or None if no time is left."""
        if deadline is None:
            return self._read_timeout_ms
        left_ms = int((deadline - self._clock.monotonic() - _DEADLINE_SAFETY_SECONDS) * 1000)
        if left_ms < _SMALLEST_USEFUL_TIMEOUT_MS:
            return None
        return min(self._read_timeout_ms, left_ms)

    def _pause_before_retry(
        self, failure: _FailedExchange, attempt: int, deadline: float | None
    ) -> float | None:
        """Exponential backoff with full jitter; None when retrying is pointless or too late.

        After a throttled answer the pacer has widened its spacing too, so the retry also
        waits for its slot."""
        retried = {ErrorKind.TRANSIENT, ErrorKind.THROTTLED}
        if failure.kind not in retried or attempt >= self._max_attempts:
            return None
        ceiling = min(_BACKOFF_CAP_SECONDS, _BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        pause = max(random.uniform(0, ceiling), failure.retry_after_seconds)  # noqa: S311
        if deadline is not None:
            time_after_pause = deadline - self._clock.monotonic() - pause - _DEADLINE_SAFETY_SECONDS
            if time_after_pause * 1000 < _SMALLEST_USEFUL_TIMEOUT_MS:
                return None
        return pause


def _classify_failure(error: Exception, host: str) -> _FailedExchange:
    """Sort an exception from the OpenAPI core into transient or configuration trouble, with
    its cause in one line."""
    if isinstance(error, AlibabaCloudException):
        code = _known(error.code) or f"HTTP{error.status_code}"
        status = error.status_code
        request_id = _known(error.request_id)
        retry_after = 0.0
        if isinstance(error, ThrottlingException) and error.retry_after:
            retry_after = min(float(error.retry_after) / 1000, _BACKOFF_CAP_SECONDS)
        throttled = isinstance(error, ThrottlingException) or code.lower().startswith("throttling")
        transient = code.lower() in _TRANSIENT_CODES or (status is not None and status >= 500)
        kind = ErrorKind.CONFIGURATION
        if throttled:
            kind = ErrorKind.THROTTLED
        elif transient:
            kind = ErrorKind.TRANSIENT
        return _FailedExchange(kind, code, request_id, status, retry_after, vod_message(error))
    inner = getattr(error, "inner_exception", None)
    for unavailable in (error, inner):
        if isinstance(unavailable, CredentialsUnavailableError):
            return _FailedExchange(
                ErrorKind.CONFIGURATION,
                ErrorCode.CREDENTIALS_UNAVAILABLE,
                None,
                None,
                cause=shortened(str(unavailable)),
            )
    if isinstance(error, UnretryableException):
        return _FailedExchange(
            ErrorKind.TRANSIENT,
            ErrorCode.NETWORK_ERROR,
            None,
            None,
            cause=network_cause(error, host),
        )
    return _FailedExchange(ErrorKind.CONFIGURATION, type(error).__name__, None, None)


def _known(value: object) -> str | None:
    """The SDK writes a missing field as the string 'None'; treat it as missing."""
    if value is None or value in {"", "None"}:
        return None
    return str(value)


def _body_of(response: Mapping[str, object]) -> Mapping[str, object]:
    body = response.get("body")
    return body if isinstance(body, Mapping) else {}
