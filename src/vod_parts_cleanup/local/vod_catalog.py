"""What the local VOD knows (its videos) and VOD's operations on it, without any HTTP.

Why: the operations' rules (required parameters, error codes, what changes) are VOD's
behaviour the cleanup function depends on; kept apart from sockets and signatures they
can be read and unit-tested on their own. Nothing here locks: the server does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final

from vod_parts_cleanup.local.vod_errors import VodError, invalid_parameter, missing_parameter

__all__ = [
    "API_VERSION",
    "DEFAULT_STATUS",
    "DELETE_MULTIPART_UPLOAD",
    "GET_VIDEO_INFO",
    "OPERATIONS",
    "VIDEO_STATUSES",
    "Reply",
    "Video",
    "VodCatalog",
    "format_time",
    "ids_named",
]

API_VERSION: Final = "2017-03-21"
DELETE_MULTIPART_UPLOAD: Final = "DeleteMultipartUpload"
GET_VIDEO_INFO: Final = "GetVideoInfo"
VIDEO_STATUSES: Final = frozenset(
    {
        "Uploading",
        "UploadFail",
        "UploadSucc",
        "Transcoding",
        "TranscodeFail",
        "Checking",
        "Blocked",
        "Normal",
        "ProduceFail",
    }
)
"""VOD's video statuses (GetVideoInfo ``Video.Status``)."""
DEFAULT_STATUS: Final = "UploadSucc"
_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"


def _utc_whole_seconds(moment: datetime) -> datetime:
    """VOD keeps and reports times in whole UTC seconds; a naive time would be a guess."""
    if moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone; pass an aware (UTC) datetime")
    return moment.astimezone(UTC).replace(microsecond=0)


def format_time(moment: datetime) -> str:
    """VOD's time format, ``yyyy-MM-ddTHH:mm:ssZ`` in UTC."""
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


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
        )

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

    def add(self, video: Video) -> None:
        """Make the video known; one with the same id is replaced."""
        self._videos[video.video_id] = video

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


OPERATIONS: Final[Mapping[str, Callable[[VodCatalog, Mapping[str, str]], Reply]]] = {
    DELETE_MULTIPART_UPLOAD: VodCatalog.delete_multipart_upload,
    GET_VIDEO_INFO: VodCatalog.get_video_info,
}
"""The actions the stand-in answers (API version 2017-03-21); any other is not found."""


def ids_named(query: Mapping[str, str]) -> list[str]:
    """The video ids a request names: MediaId, VideoId, or each of MediaIds."""
    ids = [query.get("MediaId", ""), query.get("VideoId", "")]
    ids.extend(query.get("MediaIds", "").split(","))
    return [video_id.strip() for video_id in ids if video_id.strip()]
