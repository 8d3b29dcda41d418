"""The one path every notification takes, whatever carried it: read, account for, clean once.

The SQS consumer, a direct invocation, an EventBridge invocation and the local runner all
hand a body here; they differ only in how they keep what cannot be finished now.
"""

from collections.abc import Callable

from aws_lambda_powertools import Logger

from vod_parts_cleanup.cleanup import Cleaner, account_for
from vod_parts_cleanup.intake import notification_body, read_notification
from vod_parts_cleanup.models import CleanupFailedError, CleanupResult, ErrorKind
from vod_parts_cleanup.observability import CleanupMetrics
from vod_parts_cleanup.settings import SettingsError
from vod_parts_cleanup.work_queue import Delivery

NOT_CONFIGURED = "NotConfigured"


class Pipeline:
    """Read -> account for -> clean once -> result; raises CleanupFailedError to keep it."""

    def __init__(
        self,
        *,
        cleaner: Callable[[], Cleaner],
        confirm_unverified_claims: bool,
        metrics: CleanupMetrics,
        logger: Logger,
    ) -> None:
        self._cleaner = cleaner
        self._confirm_unverified_claims = confirm_unverified_claims
        self._metrics = metrics
        self._logger = logger

    def process(self, body: object, delivery: Delivery, *, deadline: float) -> CleanupResult:
        """The result for one notification; ``deadline`` is on the application's clock.

        The VOD client is built only when an upload needs cleaning, so a batch of ignored
        events never pays for importing it."""
        intake = read_notification(notification_body(body))
        if isinstance(intake, CleanupResult):
            account_for(intake, metrics=self._metrics, logger=self._logger)
            return intake
        event = intake
        if delivery.claim_is_unverified and self._confirm_unverified_claims:
            event = event.model_copy(update={"needs_confirmation": True})
        try:
            cleaner = self._cleaner()
        except SettingsError as error:
            self._metrics.count_failure(ErrorKind.CONFIGURATION, event.outcome)
            self._logger.exception(
                "the function is not configured to reach VOD; the event is kept",
                extra={"videoId": event.video_id, "detail": str(error)},
            )
            raise CleanupFailedError(
                kind=ErrorKind.CONFIGURATION, error_code=NOT_CONFIGURED, video_id=event.video_id
            ) from None
        return cleaner.clean_up(event, deadline=deadline)
