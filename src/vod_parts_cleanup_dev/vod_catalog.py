"""What the local VOD knows (its videos) and VOD's operations on it, without any HTTP.

Why: the operations' rules (required parameters, error codes, what changes) are VOD's
behaviour the cleanup function depends on; kept apart from sockets and signatures they
can be read and unit-tested on their own. Nothing here locks: the server does.

Operations (API 2017-03-21): DeleteMultipartUpload, GetVideoInfo, GetVideoList,
GetUploadDetails. Each method's docstring names the documented facts it follows and the
choices made where VOD's documentation is silent.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final, TypedDict

from vod_parts_cleanup.shared.vocabulary import VIDEO_STATUSES as VOD_VIDEO_STATUSES
from vod_parts_cleanup_dev.vod_errors import VodError, invalid_parameter, missing_parameter

__all__ = [
    "API_VERSION",
    "DEFAULT_STATUS",
    "DELETE_MULTIPART_UPLOAD",
    "GET_UPLOAD_DETAILS",
    "GET_VIDEO_INFO",
    "GET_VIDEO_INFOS",
    "GET_VIDEO_LIST",
    "MAX_LISTED",
    "OPERATIONS",
    "VIDEO_STATUSES",
    "Reply",
    "Video",
    "VideoOptions",
    "VodCatalog",
    "format_time",
    "ids_named",
]

API_VERSION: Final = "2017-03-21"
DELETE_MULTIPART_UPLOAD: Final = "DeleteMultipartUpload"
GET_VIDEO_INFO: Final = "GetVideoInfo"
GET_VIDEO_LIST: Final = "GetVideoList"
GET_UPLOAD_DETAILS: Final = "GetUploadDetails"
GET_VIDEO_INFOS: Final = "GetVideoInfos"
VIDEO_STATUSES: Final = frozenset(VOD_VIDEO_STATUSES)
"""VOD's video statuses (GetVideoInfo ``Video.Status``), as the function knows them."""
DEFAULT_STATUS: Final = "UploadSucc"
MAX_LISTED: Final = 5_000
"""GetVideoList reaches only the first 5,000 matches of one filter."""
_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"
_TIME_SHAPE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_DIGITS: Final = re.compile(r"[0-9]{1,9}")
_MAX_PAGE_SIZE: Final = 100
_DEFAULT_PAGE_SIZE: Final = 10
_NEWEST_FIRST: Final = "CreationTime:Desc"
_OLDEST_FIRST: Final = "CreationTime:Asc"
_MAX_MEDIA_IDS: Final = 20
_UNFINISHED_UPLOADS: Final = frozenset({"Uploading", "UploadFail"})
# GetVideoList filters the stand-in does not model: refused rather than silently ignored.
_UNMODELLED_FILTERS: Final = ("CateId", "StorageLocation", "ReferenceIds")


def _utc_whole_seconds(moment: datetime) -> datetime:
    """VOD keeps and reports times in whole UTC seconds; a naive time would be a guess."""
    if moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone; pass an aware (UTC) datetime")
    return moment.astimezone(UTC).replace(microsecond=0)


def format_time(moment: datetime) -> str:
    """VOD's time format, ``yyyy-MM-ddTHH:mm:ssZ`` in UTC."""
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def _parse_time(value: str) -> datetime | None:
    """A time in VOD's format exactly (strptime alone would take ``2026-1-2T3:4:5Z``)."""
    if not _TIME_SHAPE.fullmatch(value):
        return None
    try:
        return datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


class VideoOptions(TypedDict, total=False):
    """What ``Video.new`` may be told besides the id."""

    has_parts: bool
    status: str
    creation_time: datetime | None
    modification_time: datetime | None
    title: str | None
    reports_upload_detail: bool


@dataclass(frozen=True, slots=True)
class Video:
    """One video as the stand-in knows it.

    Immutable, so a seeded record cannot change behind the stand-in's lock; changes go
    through ``dataclasses.replace``. ``modification_time`` is the last upload activity.
    Times are kept in whole UTC seconds, as VOD reports them.
    """

    video_id: str
    creation_time: datetime
    modification_time: datetime
    status: str = DEFAULT_STATUS
    has_parts: bool = True
    title: str = ""
    # False for an upload made with a client (web, mobile) SDK: GetUploadDetails omits it.
    reports_upload_detail: bool = True

    def __post_init__(self) -> None:
        if not self.video_id:
            raise ValueError("video_id must not be empty")
        if self.status not in VIDEO_STATUSES:
            raise ValueError(f"unknown video status {self.status!r}: {sorted(VIDEO_STATUSES)}")
        object.__setattr__(self, "creation_time", _utc_whole_seconds(self.creation_time))
        object.__setattr__(self, "modification_time", _utc_whole_seconds(self.modification_time))
        if not self.title:
            object.__setattr__(self, "title", self.video_id)

    @classmethod
    def new(
        cls,
        video_id: str,
        *,
        has_parts: bool = True,
        status: str = DEFAULT_STATUS,
        creation_time: datetime | None = None,
        modification_time: datetime | None = None,
        title: str | None = None,
        reports_upload_detail: bool = True,
    ) -> Video:
        """A video created now unless told otherwise, last touched when it was created."""
        created = creation_time or datetime.now(UTC)
        return cls(
            video_id=video_id,
            creation_time=created,
            modification_time=modification_time or created,
            status=status,
            has_parts=has_parts,
            title=title or video_id,
            reports_upload_detail=reports_upload_detail,
        )

    def upload_detail(self) -> dict[str, object]:
        """GetUploadDetails' item for this video (see ``VodCatalog.get_upload_details``)."""
        finished = self.status not in _UNFINISHED_UPLOADS
        detail: dict[str, object] = {
            "MediaId": self.video_id,
            "Title": self.title,
            "Status": self.status,
            "UploadStatus": "UploadSucc" if finished else self.status,
            "UploadRatio": 1.0 if finished else 0.0,
            "CreationTime": format_time(self.creation_time),
            "ModificationTime": format_time(self.modification_time),
        }
        if finished:
            detail["CompletionTime"] = format_time(self.modification_time)
        return detail

    def describe(self) -> dict[str, object]:
        """The fields of VOD's video description that the stand-in models (others omitted)."""
        return {
            "VideoId": self.video_id,
            "Title": self.title,
            "Status": self.status,
            "CreationTime": format_time(self.creation_time),
            "ModificationTime": format_time(self.modification_time),
        }


type Reply = dict[str, object] | VodError
"""An operation's answer: the response body without its RequestId, or a VOD error."""


class VodCatalog:
    """The stand-in's videos and VOD's operations on them."""

    def __init__(self) -> None:
        self._videos: dict[str, Video] = {}
        # (creation time, id) of every video, sorted; rebuilt after adds, so listing
        # 10,000 videos costs a bisection and a scan of the time window, not a sort.
        self._by_creation: list[tuple[datetime, str]] | None = []

    def add(self, video: Video) -> None:
        """Make the video known; one with the same id is replaced."""
        self._videos[video.video_id] = video
        self._by_creation = None

    def get(self, video_id: str) -> Video | None:
        return self._videos.get(video_id)

    def set_status(self, video_id: str, status: str) -> None:
        """Move a known video to another status (KeyError for an unknown video)."""
        video = self._videos.get(video_id)
        if video is None:
            raise KeyError(f"no video {video_id!r} in the stand-in")
        self._videos[video_id] = replace(video, status=status)

    def clear(self) -> None:
        self._videos.clear()
        self._by_creation = []

    def answer(self, action: str, query: Mapping[str, str]) -> Reply:
        """Run the named operation (one of ``OPERATIONS``) on the query's parameters."""
        return OPERATIONS[action](self, query)

    def delete_multipart_upload(self, query: Mapping[str, str]) -> Reply:
        """MediaId and MediaType (only ``video``) are required; the parts go once.

        Every error is HTTP 400 for this operation, unknown video included.
        """
        for name in ("MediaId", "MediaType"):
            if not query.get(name):
                return missing_parameter(name)
        if query["MediaType"] != "video":
            return invalid_parameter("MediaType")
        video = self._videos.get(query["MediaId"])
        if video is None:
            return VodError(400, "InvalidVideo.NotFound", "The video does not exist.")
        if not video.has_parts:
            return VodError(
                400,
                "InvalidMultipartUpload.NotFound",
                "The multipart upload of the video does not exist.",
            )
        self._videos[video.video_id] = replace(video, has_parts=False)
        return {}

    def get_video_info(self, query: Mapping[str, str]) -> Reply:
        """VOD documents InvalidVideo.NotFound with HTTP 404 for this operation (not 400)."""
        video_id = query.get("VideoId")
        if not video_id:
            return missing_parameter("VideoId")
        video = self._videos.get(video_id)
        if video is None:
            return VodError(404, "InvalidVideo.NotFound", "The video does not exist.")
        return {"Video": video.describe()}

    def get_video_infos(self, query: Mapping[str, str]) -> Reply:
        """The descriptions of up to 20 videos.

        Documented: VideoIds (required) is a comma-separated list of at most 20 ids.
        Response: ``{VideoList: [...], NonExistVideoIds: [...]}``.

        Documented, and modelled: only uploads made through the console and the server-side
        upload SDKs get a detail (``reports_upload_detail``); a client-SDK upload is left out
        of UploadDetails, and, since the video exists, of NonExistMediaIds too.

        Choices where the documentation is silent: more than 20 ids is InvalidParameter
        (400); repeated ids are answered once, in the order given.
        """
        unique = _id_list(query, "VideoIds")
        if isinstance(unique, VodError):
            return unique
        return {
            "VideoList": [
                self._videos[video_id].describe() for video_id in unique if video_id in self._videos
            ],
            "NonExistVideoIds": [video_id for video_id in unique if video_id not in self._videos],
        }

    def get_video_list(self, query: Mapping[str, str]) -> Reply:
        """Videos by status and creation time, a page at a time, within VOD's 5,000 cap.

        Documented: Status is a comma-separated list of video statuses; StartTime and
        EndTime bound CreationTime, in ``yyyy-MM-ddTHH:mm:ssZ`` (UTC), and the end must be
        later than the start; PageNo defaults to 1, PageSize to 10 (at most 100); SortBy
        is ``CreationTime:Desc`` (default) or ``CreationTime:Asc``; only the first 5,000
        matches of a filter can be fetched, so walk in time windows. Response:
        ``{Total, VideoList: {Video: [...]}}``.

        Choices where the documentation is silent: both ends of the time range are
        inclusive; an end equal to the start is refused (the end must be later); a page
        beyond the 5,000th match is empty rather than an error; Total is the true number
        of matches (the docs call it the total number of videos), so a client should treat
        Total >= 5,000 as "narrow the window" whichever way VOD counts; equal creation
        times are ordered by VideoId (descending with Desc); every malformed value is
        InvalidParameter (400); filters the stand-in does not model (CateId,
        StorageLocation, ReferenceIds) are refused rather than ignored.
        """
        request = _ListRequest.parse(query)
        if isinstance(request, VodError):
            return request
        matches = self._matching(request)
        start = (request.page_no - 1) * request.page_size
        end = min(start + request.page_size, MAX_LISTED)
        page = [self._videos[video_id].describe() for video_id in matches[start:end]]
        return {"Total": len(matches), "VideoList": {"Video": page}}

    def _matching(self, request: _ListRequest) -> list[str]:
        """Ids of the videos the filter matches, in the requested order."""
        order = self._creation_order()
        low = 0 if request.start is None else bisect_left(order, request.start, key=_first)
        high = len(order) if request.end is None else bisect_right(order, request.end, key=_first)
        matches = [
            video_id
            for _, video_id in order[low:high]
            if request.statuses is None or self._videos[video_id].status in request.statuses
        ]
        if request.newest_first:
            matches.reverse()
        return matches

    def _creation_order(self) -> list[tuple[datetime, str]]:
        if self._by_creation is None:
            self._by_creation = sorted(
                (video.creation_time, video.video_id) for video in self._videos.values()
            )
        return self._by_creation

    def get_upload_details(self, query: Mapping[str, str]) -> Reply:
        """Upload progress of up to 20 videos.

        Documented: MediaIds (required) is a comma-separated list of at most 20 ids;
        MediaType is optional with the fixed value ``video``. Response: ``{UploadDetails:
        [...], NonExistMediaIds, ForbiddenMediaIds}``; each detail carries MediaId, Title,
        Status (video status), UploadStatus, UploadRatio, CreationTime, ModificationTime,
        CompletionTime (and FileSize, UploadSize, UploadSource, UploadIP, DeviceModel,
        which the stand-in does not model and omits).

        Choices where the documentation is silent: more than 20 ids is InvalidParameter
        (400); repeated ids are answered once, in the order given; UploadStatus is
        Uploading or UploadFail while the video is in that status and UploadSucc once it
        has moved on; the stand-in does not know how far an unfinished upload got, so its
        UploadRatio is 0 (1 once finished); CompletionTime, the last upload activity, is
        given only for finished uploads; ForbiddenMediaIds is always empty (one account).
        """
        unique = _id_list(query, "MediaIds")
        if isinstance(unique, VodError):
            return unique
        if query.get("MediaType", "video") != "video":
            return invalid_parameter("MediaType")
        return {
            "UploadDetails": [
                self._videos[media_id].upload_detail()
                for media_id in unique
                if media_id in self._videos and self._videos[media_id].reports_upload_detail
            ],
            "NonExistMediaIds": [media_id for media_id in unique if media_id not in self._videos],
            "ForbiddenMediaIds": [],
        }


def _id_list(query: Mapping[str, str], name: str) -> list[str] | VodError:
    """The distinct ids of a required comma-separated parameter of at most 20, in order."""
    ids = [item.strip() for item in query.get(name, "").split(",") if item.strip()]
    if not ids:
        return missing_parameter(name)
    if len(ids) > _MAX_MEDIA_IDS:
        return invalid_parameter(name, f"A maximum of {_MAX_MEDIA_IDS} IDs is allowed.")
    return list(dict.fromkeys(ids))


def _first(item: tuple[datetime, str]) -> datetime:
    return item[0]


class _RefusedParameterError(Exception):
    """A parameter VOD would refuse: InvalidParameter, naming it and saying why."""

    def __init__(self, name: str, why: str) -> None:
        self.error = invalid_parameter(name, why)
        super().__init__(self.error.message)


@dataclass(frozen=True)
class _ListRequest:
    """GetVideoList's parameters, checked."""

    statuses: frozenset[str] | None
    start: datetime | None
    end: datetime | None
    page_no: int
    page_size: int
    newest_first: bool

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> _ListRequest | VodError:
        try:
            return cls._checked(query)
        except _RefusedParameterError as refused:
            return refused.error

    @classmethod
    def _checked(cls, query: Mapping[str, str]) -> _ListRequest:
        for name in _UNMODELLED_FILTERS:
            if query.get(name):
                raise _RefusedParameterError(name, "The stand-in does not model it.")
        start = _optional_time(query, "StartTime")
        end = _optional_time(query, "EndTime")
        if start is not None and end is not None and end <= start:
            raise _RefusedParameterError(
                "EndTime", "The end time must be later than the start time."
            )
        sort_by = query.get("SortBy") or _NEWEST_FIRST
        if sort_by not in (_NEWEST_FIRST, _OLDEST_FIRST):
            raise _RefusedParameterError("SortBy", f"Use {_NEWEST_FIRST} or {_OLDEST_FIRST}.")
        return cls(
            statuses=_statuses(query.get("Status", "")),
            start=start,
            end=end,
            page_no=_whole_number(query, "PageNo", default=1, maximum=None),
            page_size=_whole_number(
                query, "PageSize", default=_DEFAULT_PAGE_SIZE, maximum=_MAX_PAGE_SIZE
            ),
            newest_first=sort_by == _NEWEST_FIRST,
        )


def _statuses(value: str) -> frozenset[str] | None:
    """The comma-separated statuses asked for; None (any status) when there are none."""
    statuses = frozenset(status.strip() for status in value.split(",") if status.strip())
    unknown = sorted(statuses - VIDEO_STATUSES)
    if unknown:
        raise _RefusedParameterError("Status", f"Unknown status: {', '.join(unknown)}.")
    return statuses or None


def _optional_time(query: Mapping[str, str], name: str) -> datetime | None:
    value = query.get(name)
    if not value:
        return None
    moment = _parse_time(value)
    if moment is None:
        raise _RefusedParameterError(name, "Use the format yyyy-MM-ddTHH:mm:ssZ (UTC).")
    return moment


def _whole_number(query: Mapping[str, str], name: str, *, default: int, maximum: int | None) -> int:
    value = query.get(name)
    if not value:
        return default
    number = int(value) if _DIGITS.fullmatch(value) else 0
    if number < 1 or (maximum is not None and number > maximum):
        limit = "" if maximum is None else f" and at most {maximum}"
        raise _RefusedParameterError(name, f"Use a whole number of at least 1{limit}.")
    return number


OPERATIONS: Final[Mapping[str, Callable[[VodCatalog, Mapping[str, str]], Reply]]] = {
    DELETE_MULTIPART_UPLOAD: VodCatalog.delete_multipart_upload,
    GET_VIDEO_INFO: VodCatalog.get_video_info,
    GET_VIDEO_LIST: VodCatalog.get_video_list,
    GET_UPLOAD_DETAILS: VodCatalog.get_upload_details,
    GET_VIDEO_INFOS: VodCatalog.get_video_infos,
}
"""The actions the stand-in answers (API version 2017-03-21); any other is not found."""


def ids_named(query: Mapping[str, str]) -> list[str]:
    """The video ids a request names: MediaId, VideoId, or each of MediaIds or VideoIds."""
    ids = [query.get("MediaId", ""), query.get("VideoId", "")]
    ids.extend(query.get("MediaIds", "").split(","))
    ids.extend(query.get("VideoIds", "").split(","))
    return [video_id.strip() for video_id in ids if video_id.strip()]
