"""Local stand-ins for the cloud services the cleanup function talks to.

Why: tests and manual runs exercise the real SDK over real HTTP without a cloud account.
The VOD stand-in is three modules: ``acs3`` (request signatures), ``vod_catalog`` (videos
and operations) and ``vod_server`` (HTTP and the ``LocalVod`` facade).
"""

from vod_parts_cleanup.local.vod_catalog import VIDEO_STATUSES, Video
from vod_parts_cleanup.local.vod_server import (
    LOCAL_ACCESS_KEY_ID,
    LOCAL_ACCESS_KEY_SECRET,
    LocalVod,
    RecordedRequest,
    main,
)

__all__ = [
    "LOCAL_ACCESS_KEY_ID",
    "LOCAL_ACCESS_KEY_SECRET",
    "VIDEO_STATUSES",
    "LocalVod",
    "RecordedRequest",
    "Video",
    "main",
]
