"""Who is believed, and whose claim is confirmed with VOD before a delete: the trust table.

Deleting parts is the one destructive thing the function does: parts deleted under a live
resumable upload make the uploader start over. A notification claims an upload is over;
whether that claim is taken as it is depends on who could have written it. The README's
table ("Who is believed") is this one, and a test holds the two equal.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from vod_parts_cleanup.shared.envelopes import is_eventbridge_event
from vod_parts_cleanup.shared.queues import Delivery
from vod_parts_cleanup.shared.vocabulary import Trigger


class Trust(StrEnum):
    BELIEVED = "believed"
    CONFIRMED = "confirmed"  # VOD is asked for the video's status first


@dataclass(frozen=True)
class Channel:
    """A way a notification reaches the consumer, how far it is trusted, and why."""

    name: str
    trigger: Trigger
    trust: Trust
    why: str


HTTP_CALLBACK = Channel(
    "HTTP callback",
    Trigger.HTTP,
    Trust.CONFIRMED,
    "a public URL, and VOD's signature covers no body: anyone who saw one callback's headers "
    "may send any body with them for 5 minutes; an unknown video is media_not_found, one VOD "
    "reports Uploading is skipped",
)
PERSON = Channel(
    "a person (direct invoke, CLI clean)",
    Trigger.DIRECT,
    Trust.CONFIRMED,
    "a person names a video, but may not know its upload is still going: one VOD reports "
    'Uploading is skipped with the reason, unless the request says "Force": true (--force), '
    "which is logged and counted as forced",
)
UPLOADER_SQS = Channel(
    "uploader: SQS message",
    Trigger.SQS,
    Trust.BELIEVED,
    "the uploader knows its resumable upload died while VOD still shows Uploading (VOD sends "
    "no event then); only the principals the operator names may send to the work queue",
)
UPLOADER_EVENTBRIDGE = Channel(
    "uploader: EventBridge event",
    Trigger.EVENTBRIDGE,
    Trust.BELIEVED,
    "as an SQS message; the rule listens on the stack's own bus, whose policy lets only the "
    "named uploader principals put events (a broad grant on the default bus does not reach it)",
)
SWEEP = Channel(
    "the sweep's own finding",
    Trigger.SWEEP,
    Trust.BELIEVED,
    "the sweep queued it under its own rule: an Uploading upload only with evidence that it "
    "stopped (last touched before the minimum age), or with no detail from VOD and older than "
    "the unvouched age",
)
TRUST_TABLE: tuple[Channel, ...] = (
    HTTP_CALLBACK,
    PERSON,
    UPLOADER_SQS,
    UPLOADER_EVENTBRIDGE,
    SWEEP,
)


def is_confirmed(delivery: Delivery) -> bool:
    """Whether a notification so delivered is confirmed with VOD before a delete (the
    believed channels differ only in what their body looks like, not in trust)."""
    return delivery.trigger in {c.trigger for c in TRUST_TABLE if c.trust is Trust.CONFIRMED}


def channel_of(delivery: Delivery, body: object) -> Channel:
    """The channel a notification came through: the delivery's trigger (an SQS record says
    which receiver queued it; an uploader's message says nothing), and for an uploader's
    message, whether it is an EventBridge event."""
    trigger = delivery.trigger
    if trigger is None or trigger is Trigger.SQS:
        if isinstance(body, Mapping) and is_eventbridge_event(body):
            return UPLOADER_EVENTBRIDGE
        return UPLOADER_SQS
    return next(channel for channel in TRUST_TABLE if channel.trigger is trigger)
