"""Local stand-ins for the cloud services the cleanup function talks to.

Why: tests and manual runs exercise the real SDK over real HTTP without a cloud account.
"""

from vod_parts_cleanup.local.vod_server import (
    API_VERSION,
    LOCAL_ACCESS_KEY_ID,
    LOCAL_ACCESS_KEY_SECRET,
    OPERATION,
    OPERATIONS,
    VIDEO_STATUSES,
    LocalVod,
    RecordedRequest,
    Video,
    main,
)

__all__ = [
    "API_VERSION",
    "LOCAL_ACCESS_KEY_ID",
    "LOCAL_ACCESS_KEY_SECRET",
    "OPERATION",
    "OPERATIONS",
    "VIDEO_STATUSES",
    "LocalVod",
    "RecordedRequest",
    "Video",
    "main",
]
