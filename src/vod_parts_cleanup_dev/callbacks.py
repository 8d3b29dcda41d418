"""Signs sample HTTP callback events the way VOD does, with the local callback key.

Why: the samples in ``events/`` carry fixed timestamps, which the freshness check refuses.
The local runner signs a sample again at the current time so the real check runs on it.
"""

import copy
import time
from datetime import UTC, datetime
from typing import Any

from vod_parts_cleanup.shared.vod_callback import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    callback_signature,
)

# The auth key the samples in events/ are signed with; for local runs only.
LOCAL_CALLBACK_AUTH_KEY = "local-callback-key"
# The key http-wrong-key.json is signed with: one the function does not know.
OLD_CALLBACK_AUTH_KEY = "an-old-callback-key"


def callback_url_of(event: dict[str, Any]) -> str:
    """The URL VOD called to deliver this API Gateway event (the URL it signed)."""
    context = event["requestContext"]
    path = event.get("rawPath") or context["http"]["path"]
    query = event.get("rawQueryString")
    return f"https://{context['domainName']}{path}" + (f"?{query}" if query else "")


def is_signed_with(event: dict[str, Any], auth_key: str) -> bool:
    """Whether the event's signature headers are VOD's, for its own URL and this key."""
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    timestamp, signature = headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER)
    if not (timestamp and signature):
        return False
    return bool(signature == callback_signature(callback_url_of(event), timestamp, auth_key))


def sign_callback(
    event: dict[str, Any], auth_key: str, *, timestamp: int | None = None
) -> dict[str, Any]:
    """A copy of the event as VOD would send it at ``timestamp`` (default: now)."""
    signed = copy.deepcopy(event)
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {
        name: value
        for name, value in (signed.get("headers") or {}).items()
        if name.lower() not in (TIMESTAMP_HEADER, SIGNATURE_HEADER)
    }
    headers[TIMESTAMP_HEADER] = str(timestamp)
    headers[SIGNATURE_HEADER] = callback_signature(callback_url_of(event), timestamp, auth_key)
    signed["headers"] = headers
    context = signed["requestContext"]
    context["timeEpoch"] = timestamp * 1000
    context["time"] = datetime.fromtimestamp(timestamp, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    return signed
