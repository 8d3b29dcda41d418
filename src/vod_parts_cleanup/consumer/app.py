"""The consumer's composition root: its objects, built once per execution environment from
``Settings``; tests and the local tools build their own, with a clock of their own, instead
of patching module globals.

Everything is built when the function starts, from modules imported at the top: the
consumer needs the OpenAPI core, Powertools Idempotency with boto3 and pydantic for nearly
every invocation, and what is imported and built at start-up is what Lambda's init phase
(and a SnapStart snapshot) covers. Nothing here connects anywhere.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.typing import LambdaContext

from vod_parts_cleanup.consumer.aws_clients import AwsClients
from vod_parts_cleanup.consumer.batch import QueueConsumer
from vod_parts_cleanup.consumer.cleanup import Cleaner, CleanupService
from vod_parts_cleanup.consumer.credentials import build_credential_client
from vod_parts_cleanup.consumer.idempotency import (
    IdempotentCleanup,
    idempotency_config,
    persistence_layer,
)
from vod_parts_cleanup.consumer.intake import is_sweep_request
from vod_parts_cleanup.consumer.models import CleanupResult, UploadEvent
from vod_parts_cleanup.consumer.pacing import Budget, Pacer
from vod_parts_cleanup.consumer.pipeline import Pipeline
from vod_parts_cleanup.consumer.retry import Retries
from vod_parts_cleanup.consumer.sweep import (
    Progress,
    Sweeper,
    SweepRequest,
    SweepSummary,
    read_sweep_request,
)
from vod_parts_cleanup.consumer.vod_client import (
    DELETE_MULTIPART_UPLOAD,
    OPERATIONS,
    VodClient,
    build_openapi_client,
)
from vod_parts_cleanup.shared.clock import SYSTEM_CLOCK, Clock
from vod_parts_cleanup.shared.errors import CleanupFailedError, SettingsError, SweepRequestError
from vod_parts_cleanup.shared.function import LambdaFunction
from vod_parts_cleanup.shared.observability import Telemetry
from vod_parts_cleanup.shared.queues import Delivery, dead_letter_queue_for, work_queue_for
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup.shared.vocabulary import (
    CleanupStatus,
    ErrorCode,
    ErrorKind,
    Trigger,
)


class ConsumerApp(LambdaFunction):
    """The cleanup function (CleanupFunction) in one execution environment."""

    NAME = "cleanup"
    TRIGGERS = frozenset({Trigger.SQS, Trigger.DIRECT, Trigger.EVENTBRIDGE})
    HANDLES = "the work queue's SQS batches, sweeps, and direct or EventBridge invocations"

    def __init__(self, settings: Settings, *, clock: Clock = SYSTEM_CLOCK) -> None:
        super().__init__(settings, clock=clock)
        self.aws = AwsClients(self.deadline)
        self.work_queue = work_queue_for(settings, self.deadline)
        self.idempotency = idempotency_config(
            ttl_seconds=settings.idempotency_ttl_seconds, telemetry=self.telemetry
        )
        self.pacers = self._pacers()
        self.cleaner: Cleaner
        self.sweeper: Sweeper | NotConfigured
        try:
            vod = self._vod_client()
            self.cleaner = self._cleaner(vod)
            self.sweeper = Sweeper(
                vod=vod,
                work_queue=self.work_queue,
                clock=clock,
                deadline=self.deadline,
                telemetry=self.telemetry,
            )
        except SettingsError as error:  # the one place this function maps its settings' faults
            self.telemetry.logger.warning(
                "VOD cannot be reached with these settings: every upload is kept for a retry",
                extra={"detail": str(error)},
            )
            self.cleaner = self.sweeper = NotConfigured(str(error), self.telemetry)
        self.pipeline = Pipeline(
            cleaner=self.cleaner,
            confirm_unverified_claims=settings.callback_confirm_upload,
            telemetry=self.telemetry,
        )
        retries = Retries(
            self.work_queue,
            dead_letter_queue_for(settings, self.deadline),
            horizon_hours=settings.cleanup_retry_hours,
            clock=clock,
            telemetry=self.telemetry,
        )
        self.batch = QueueConsumer(
            self.pipeline, retries, deadline=self.deadline, telemetry=self.telemetry
        )

    # -- one invocation ----------------------------------------------------------------------

    def handle(self, event: Any, trigger: Trigger, context: LambdaContext) -> Mapping[str, Any]:
        """Route one invocation by its envelope; each trigger keeps what it cannot finish its
        own way (batch item failures; a raised CleanupFailedError for the others)."""
        self.idempotency.register_lambda_context(context)
        self.deadline.start_invocation(context)
        if trigger is Trigger.SQS:
            return self.batch.consume(event)
        if trigger is Trigger.DIRECT and is_sweep_request(event):
            return self._sweep(event)
        return self._clean_now(
            event["detail"] if trigger is Trigger.EVENTBRIDGE else event, trigger
        )

    def _clean_now(self, body: object, trigger: Trigger) -> Mapping[str, Any]:
        """One notification, now (a person, or EventBridge wired straight to the function); a
        failure raises, so Lambda retries it and then records it in the on-failure queue."""
        try:
            return self.pipeline.process(body, Delivery(trigger)).to_json_dict()
        except CleanupFailedError:
            raise
        except Exception:  # a bug: still the documented failure, so Lambda retries and records it
            self.telemetry.logger.exception("unexpected error; the event is kept for a retry")
            self.telemetry.metrics.count_failure(ErrorKind.TRANSIENT, None)
            raise CleanupFailedError(
                kind=ErrorKind.TRANSIENT, error_code=ErrorCode.UNEXPECTED_ERROR, video_id=None
            ) from None

    def _sweep(self, event: Mapping[str, Any]) -> Mapping[str, Any]:
        """A sweep (the schedule, or a person): its summary; a request it cannot run is
        answered rejected, since running it again would not help."""
        try:
            request = read_sweep_request(event, self.settings)
        except SweepRequestError as error:
            return {
                "status": CleanupStatus.REJECTED.value,
                "errorCode": ErrorCode.INVALID_SWEEP_REQUEST.value,
                "detail": str(error),
            }
        return self.sweeper.sweep(request).to_json_dict()

    # -- the parts ---------------------------------------------------------------------------

    def _vod_client(self) -> VodClient:
        """The VOD adapter, paced; SettingsError if VOD cannot be reached with these settings."""
        settings = self.settings
        secrets = None
        if settings.credentials_secret_id:
            secrets = SecretsProvider(boto3_client=self.aws.client("secretsmanager"))
        openapi_client = build_openapi_client(settings, build_credential_client(settings, secrets))
        return VodClient(
            openapi_client,
            settings,
            pacers=self.pacers,
            clock=self.clock,
            deadline=self.deadline,
        )

    def _pacers(self) -> dict[str, Pacer]:
        """One pacer per VOD operation, each with this environment's share of its budget."""
        settings = self.settings
        pacers = {}
        for operation in OPERATIONS:
            calls_per_second = settings.vod_read_calls_per_second
            if operation is DELETE_MULTIPART_UPLOAD:
                calls_per_second = settings.vod_calls_per_second
            budget = Budget(calls_per_second, settings.vod_concurrent_callers)
            pacers[str(operation.action)] = Pacer(
                budget, clock=self.clock.monotonic, sleep=self.clock.sleep
            )
        return pacers

    def _cleaner(self, vod: VodClient) -> Cleaner:
        """The use case over the VOD client, once per notification if a table is set."""
        service = CleanupService(vod, self.telemetry, clock=self.clock)
        table_name = self.settings.idempotency_table_name
        if table_name is None:
            self.telemetry.logger.warning(
                "IDEMPOTENCY_TABLE_NAME is not set: duplicates will call VOD"
            )
            return service
        persistence = persistence_layer(table_name, self.aws.client("dynamodb"))
        return IdempotentCleanup(service, persistence, self.idempotency, self.telemetry)


@dataclass(frozen=True)
class NotConfigured:
    """The cleanup and the sweep when VOD cannot be reached with these settings (no
    credentials, no AWS region for the key's secret or the table): every upload is kept for
    a retry, counted as a configuration failure, and the log names what is missing."""

    problem: str
    telemetry: Telemetry

    def clean_up(self, event: UploadEvent) -> CleanupResult:
        self.telemetry.metrics.count_failure(ErrorKind.CONFIGURATION, event.outcome)
        raise self._kept(event.video_id)

    def confirm_ahead(self, claims: Sequence[UploadEvent]) -> None:
        """Nothing to read ahead: each record reports the problem, and is kept."""

    def sweep(self, request: SweepRequest, *, progress: Progress | None = None) -> SweepSummary:
        raise self._kept(None)

    def _kept(self, video_id: str | None) -> CleanupFailedError:
        self.telemetry.logger.error(
            "the function is not configured to reach VOD; the event is kept",
            extra={"videoId": video_id, "detail": self.problem},
        )
        return CleanupFailedError(
            kind=ErrorKind.CONFIGURATION, error_code=ErrorCode.NOT_CONFIGURED, video_id=video_id
        )
