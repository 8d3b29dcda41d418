"""The one path every notification takes, whatever carried it: read, account for, clean once.

The SQS consumer, a direct invocation, an EventBridge invocation and the local runner all
hand a body here; they differ only in how they keep what cannot be finished now.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from vod_parts_cleanup.consumer.cleanup import Cleaner
from vod_parts_cleanup.consumer.intake import notification_body, read_notification
from vod_parts_cleanup.consumer.models import CleanupResult, UploadEvent
from vod_parts_cleanup.consumer.trust import HTTP_CALLBACK, PERSON, Trust, channel_of
from vod_parts_cleanup.shared.observability import Telemetry
from vod_parts_cleanup.shared.queues import Delivery


@dataclass(frozen=True, kw_only=True)
class Pipeline:
    """Read -> account for -> clean once -> result; raises CleanupFailedError to keep it."""

    cleaner: Cleaner
    confirm_unverified_claims: bool
    telemetry: Telemetry

    def process(self, body: object, delivery: Delivery) -> CleanupResult:
        """The result for one notification, within the invocation's deadline."""
        intake = self._read(body, delivery)
        if isinstance(intake, CleanupResult):
            self.telemetry.account_for(intake)
            return intake
        return self.cleaner.clean_up(intake)

    def confirm_ahead(self, notifications: Sequence[tuple[object, Delivery]]) -> None:
        """Before a batch: read the VOD status of every unverified claim in it at once, so
        each record then needs only its delete. Worth it from two claims on; best effort."""
        claims = [
            intake
            for body, delivery in notifications
            if isinstance(intake := self._read(body, delivery), UploadEvent)
            and intake.needs_confirmation
        ]
        if len(claims) >= 2:
            self.cleaner.confirm_ahead(claims)

    def _read(self, body: object, delivery: Delivery) -> UploadEvent | CleanupResult:
        """The notification, marked as the trust table says: confirmed with VOD first, or
        believed; and forced only if a person asked for it."""
        intake = read_notification(notification_body(body))
        if not isinstance(intake, UploadEvent):
            return intake
        channel = channel_of(delivery, body)
        confirmed = channel.trust is Trust.CONFIRMED
        if channel is HTTP_CALLBACK and not self.confirm_unverified_claims:
            confirmed = False  # VOD_CALLBACK_CONFIRM_UPLOAD=false: callbacks believed too
        return intake.model_copy(
            update={"needs_confirmation": confirmed, "force": intake.force and channel is PERSON}
        )
