"""The one path every notification takes, whatever carried it: read, account for, clean once.

The SQS consumer, a direct invocation, an EventBridge invocation and the local runner all
hand a body here; they differ only in how they keep what cannot be finished now.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vod_parts_cleanup.envelopes import notification_body
from vod_parts_cleanup.intake import read_notification
from vod_parts_cleanup.models import CleanupFailedError, CleanupResult, ErrorKind, UploadEvent
from vod_parts_cleanup.observability import Telemetry
from vod_parts_cleanup.settings import SettingsError
from vod_parts_cleanup.work_queue import Delivery

if TYPE_CHECKING:  # the VOD SDK is imported only when an upload needs cleaning
    from vod_parts_cleanup.cleanup import Cleaner

NOT_CONFIGURED = "NotConfigured"


@dataclass(frozen=True, kw_only=True)
class Pipeline:
    """Read -> account for -> clean once -> result; raises CleanupFailedError to keep it.

    ``cleaner`` builds the use case on first need, so a batch of ignored events never pays
    for importing the VOD client."""

    cleaner: Callable[[], "Cleaner"]
    confirm_unverified_claims: bool
    telemetry: Telemetry

    def process(self, body: object, delivery: Delivery, *, deadline: float) -> CleanupResult:
        """The result for one notification; ``deadline`` is on the application's clock."""
        intake = self._read(body, delivery)
        if isinstance(intake, CleanupResult):
            self.telemetry.account_for(intake)
            return intake
        event = intake
        try:
            cleaner = self.cleaner()
        except SettingsError as error:
            self.telemetry.metrics.count_failure(ErrorKind.CONFIGURATION, event.outcome)
            self.telemetry.logger.exception(
                "the function is not configured to reach VOD; the event is kept",
                extra={"videoId": event.video_id, "detail": str(error)},
            )
            raise CleanupFailedError(
                kind=ErrorKind.CONFIGURATION, error_code=NOT_CONFIGURED, video_id=event.video_id
            ) from None
        return cleaner.clean_up(event, deadline=deadline)

    def confirm_ahead(
        self, notifications: Sequence[tuple[object, Delivery]], *, deadline: float
    ) -> None:
        """Before a batch: read the VOD status of every unverified claim in it at once, so
        each record then needs only its delete. Worth it from two claims on; best effort."""
        claims = [
            intake
            for body, delivery in notifications
            if isinstance(intake := self._read(body, delivery), UploadEvent)
            and intake.needs_confirmation
        ]
        if len(claims) < 2:
            return
        try:
            self.cleaner().confirm_ahead(claims, deadline=deadline)
        except SettingsError:
            return  # each record reports it, and is kept

    def _read(self, body: object, delivery: Delivery) -> UploadEvent | CleanupResult:
        intake = read_notification(notification_body(body))
        unverified = delivery.claim_is_unverified and self.confirm_unverified_claims
        if isinstance(intake, UploadEvent) and unverified:
            return intake.model_copy(update={"needs_confirmation": True})
        return intake
