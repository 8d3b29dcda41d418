"""Once per notification: the same VOD notification, however often it arrives, is cleaned once.

VOD retries callbacks, SQS delivers at least once, Lambda and EventBridge retry and people
re-run test events. Powertools Idempotency keeps one DynamoDB item per notification (its
identity is VideoId + outcome + EventTime) holding the final result, which later
deliveries get back unchanged. Failures and skipped uploads are never stored: the
in-progress item is deleted, so a retry or a redrive really runs again.
"""

from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer

from vod_parts_cleanup.consumer.cleanup import CleanupService
from vod_parts_cleanup.consumer.models import CleanupResult, UploadEvent
from vod_parts_cleanup.shared.errors import CleanupFailedError, OutOfTimeError, shortened
from vod_parts_cleanup.shared.observability import Telemetry
from vod_parts_cleanup.shared.vocabulary import CleanupStatus, ErrorCode, ErrorKind

# Stable, so moving or renaming code never orphans the stored records.
IDEMPOTENCY_KEY_PREFIX = "vod-parts-cleanup#notification"
# The identity of one notification, read from UploadEvent.model_dump(mode="json"). A manual
# event has no EventTime, so its identity is VideoId + outcome; an EventTime that is not a
# time still tells notifications apart by its text.
NOTIFICATION_IDENTITY = "[video_id, outcome, event_time || unreadable_event_time]"
# The table's partition key and TTL attribute, as template.yaml declares them.
TABLE_KEY_ATTRIBUTE = "id"
TABLE_EXPIRY_ATTRIBUTE = "expiration"
REPLAY_LOG_MESSAGE = "notification already handled: stored result replayed, VOD not called"
# Results that are not remembered: a skipped upload (still in progress, as VOD said) must be
# asked about again when the same notification comes back, e.g. from the uploader through SQS.
NOT_STORED = frozenset({CleanupStatus.SKIPPED})


class _NotFinalError(Exception):
    """Carries a result out of the idempotent call without storing it."""

    def __init__(self, result: CleanupResult) -> None:
        self.result = result
        super().__init__(result.status)


def persistence_layer(table_name: str, dynamodb_client: Any) -> DynamoDBPersistenceLayer:
    """The Powertools store on our table, sharing the function's one DynamoDB client."""
    return DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr=TABLE_KEY_ATTRIBUTE,
        expiry_attr=TABLE_EXPIRY_ATTRIBUTE,
        boto3_client=dynamodb_client,
    )


def idempotency_config(*, ttl_seconds: int, telemetry: Telemetry) -> IdempotencyConfig:
    """The configuration; the handler registers each invocation's context on it."""

    def replayed(response: CleanupResult, record: DataRecord) -> CleanupResult:
        telemetry.metrics.count_replay(response.outcome)
        telemetry.logger.info(
            REPLAY_LOG_MESSAGE,
            extra={
                "videoId": response.video_id,
                "outcome": response.outcome,
                "idempotencyKey": record.idempotency_key,
                "result": response.to_json_dict(),
            },
        )
        return response

    return IdempotencyConfig(
        event_key_jmespath=NOTIFICATION_IDENTITY,
        raise_on_no_idempotency_key=True,
        expires_after_seconds=ttl_seconds,
        response_hook=replayed,  # type: ignore[arg-type]
    )


class IdempotentCleanup:
    """The cleanup use case, run at most once per notification."""

    def __init__(
        self,
        cleanup: CleanupService,
        persistence: DynamoDBPersistenceLayer,
        config: IdempotencyConfig,
        telemetry: Telemetry,
    ) -> None:
        self._cleanup = cleanup
        self._telemetry = telemetry
        # Powertools runs ``_first_delivery`` for a notification it has no record of, and
        # replays the stored result for every later delivery.
        self._once = idempotent_function(
            self._first_delivery,
            data_keyword_argument="event",
            persistence_store=persistence,
            config=config,
            output_serializer=PydanticSerializer(CleanupResult),
            key_prefix=IDEMPOTENCY_KEY_PREFIX,
        )

    def clean_up(self, event: UploadEvent) -> CleanupResult:
        """Clean up, or replay the stored result; raise CleanupFailedError to keep the event."""
        try:
            result: CleanupResult = self._once(event=event)
        except _NotFinalError as not_final:
            return not_final.result
        except IdempotencyAlreadyInProgressError:
            raise self._kept(event, ErrorCode.IN_PROGRESS_ELSEWHERE, None) from None
        except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as error:
            if isinstance(error.__cause__, OutOfTimeError):  # the table was not even asked
                raise self._kept(
                    event, ErrorCode.NO_TIME_LEFT, str(error.__cause__), ErrorKind.OUT_OF_TIME
                ) from None
            cause = shortened(str(error), 200)
            raise self._kept(event, ErrorCode.IDEMPOTENCY_STORE_UNAVAILABLE, cause) from None
        return result

    def confirm_ahead(self, claims: Sequence[UploadEvent]) -> None:
        self._cleanup.confirm_ahead(claims)

    def _first_delivery(self, *, event: UploadEvent) -> CleanupResult:
        result = self._cleanup.clean_up(event)
        if result.status in NOT_STORED:
            raise _NotFinalError(result)  # Powertools deletes the record of what raised
        return result

    def _kept(
        self,
        event: UploadEvent,
        error_code: ErrorCode,
        cause: str | None,
        kind: ErrorKind = ErrorKind.TRANSIENT,
    ) -> CleanupFailedError:
        """A duplicate still running elsewhere, a store we cannot reach, or no time left to
        reach it: retry later."""
        self._telemetry.metrics.count_failure(kind, event.outcome)
        self._telemetry.logger.warning(
            "notification not handled now; the event is kept for retry",
            extra={
                "videoId": event.video_id,
                "outcome": event.outcome,
                "errorCode": error_code,
                "cause": cause,
            },
        )
        return CleanupFailedError(
            kind=kind, error_code=error_code, video_id=event.video_id, cause=cause
        )
