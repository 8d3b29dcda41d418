"""The composition root: every object the function needs, built from ``Settings`` in one place.

Lambda builds one ``Application`` per execution environment (``handler.py``); the tests and
the local runner build their own, in-process, with a clock of their own, instead of
patching module globals. Each part is built on first use and then kept: a receiver's cold
start never imports the VOD SDK, a batch of ignored events never builds a VOD client.
"""

import functools
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from vod_parts_cleanup.aws_clients import AwsClients, TimeBudget
from vod_parts_cleanup.clock import SYSTEM_CLOCK, Clock
from vod_parts_cleanup.observability import CleanupMetrics, CurrentStdout, Telemetry
from vod_parts_cleanup.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from vod_parts_cleanup.aws_json import AwsJsonClient
    from vod_parts_cleanup.cleanup import Cleaner
    from vod_parts_cleanup.consumer import QueueConsumer
    from vod_parts_cleanup.http_callback import CallbackReceiver
    from vod_parts_cleanup.pacing import Pacer
    from vod_parts_cleanup.pipeline import Pipeline
    from vod_parts_cleanup.sweep import Sweeper
    from vod_parts_cleanup.vod_client import VodClient
    from vod_parts_cleanup.work_queue import WorkQueue

LambdaHandler = Callable[[Any, LambdaContext], Mapping[str, Any]]
TriggerHandler = Callable[["Application", Any, LambdaContext], Mapping[str, Any]]

# Kept back from Lambda's remaining time, so an answer is written before the timeout.
SECONDS_TO_ANSWER = 1.0
# VOD waits 5 s for a callback's answer, counted from when API Gateway received it.
CALLBACK_ANSWER_SECONDS = 4.5


class Application:
    """The function's objects for one execution environment."""

    def __init__(self, settings: Settings, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.settings = settings
        self.clock = clock
        self.budget = TimeBudget(clock)
        self.aws = AwsClients(self.budget)
        self.telemetry = Telemetry(
            metrics=CleanupMetrics(
                namespace=settings.metrics_namespace, service=settings.service_name
            ),
            logger=Logger(service=settings.service_name, stream=CurrentStdout()),  # type: ignore[arg-type]
        )
        self._context: LambdaContext | None = None

    @classmethod
    def from_environment(cls) -> "Application":
        return cls(Settings.from_environment())

    # -- the Lambda handler ----------------------------------------------------------------

    def wrap(self, handler: TriggerHandler) -> LambdaHandler:
        """The Lambda handler: ``handler`` with this application, its logger's context and
        (only if tracing is on: the X-Ray SDK costs a cold start ~80 ms) its tracer."""

        def lambda_handler(event: Any, context: LambdaContext) -> Mapping[str, Any]:
            self._context = context
            if "idempotency" in self.__dict__:
                self.idempotency.register_lambda_context(context)
            return handler(self, event, context)

        # log_event=False even if POWERTOOLS_LOGGER_LOG_EVENT is set: a callback's headers
        # carry VOD's signature, which must never reach a log.
        wrapped: LambdaHandler = self.telemetry.logger.inject_lambda_context(
            clear_state=True, log_event=False
        )(lambda_handler)
        if not self.settings.trace_disabled:
            from aws_lambda_powertools import Tracer  # noqa: PLC0415 - see the docstring

            tracer = Tracer(service=self.settings.service_name)
            wrapped = tracer.capture_lambda_handler(capture_response=False)(wrapped)
        return functools.wraps(handler)(wrapped)

    def deadline(self, context: LambdaContext, *, received_at: float | None = None) -> float:
        """When this invocation's work must be over, on the application's clock; every VOD
        and AWS call is bounded by it. ``received_at`` (Unix seconds) is when API Gateway got
        a callback: VOD's 5 s started then."""
        now = self.clock.monotonic()
        deadline = now + context.get_remaining_time_in_millis() / 1000 - SECONDS_TO_ANSWER
        if received_at is not None:
            waited = min(max(self.clock.time() - received_at, 0.0), CALLBACK_ANSWER_SECONDS)
            deadline = min(deadline, now + CALLBACK_ANSWER_SECONDS - waited)
        self.budget.deadline = deadline
        return deadline

    # -- the parts ---------------------------------------------------------------------------

    @cached_property
    def receiver(self) -> "CallbackReceiver":
        """The HTTP callback receiver; SettingsError if callback authentication is not set."""
        from vod_parts_cleanup.callback_auth import CallbackAuthenticator  # noqa: PLC0415
        from vod_parts_cleanup.http_callback import CallbackReceiver  # noqa: PLC0415

        authenticator = CallbackAuthenticator.from_settings(
            self.settings,
            lambda: self.secrets_manager,
            clock=self.clock.time,
            monotonic=self.clock.monotonic,
        )
        return CallbackReceiver(
            authenticator=authenticator,
            work_queue=self.work_queue,
            clock=self.clock,
            telemetry=self.telemetry,
        )

    @cached_property
    def work_queue(self) -> "WorkQueue | None":
        """Where receivers hand notifications to the consumer (None without WORK_QUEUE_URL)."""
        from vod_parts_cleanup.aws_json import SQS, AwsJsonClient  # noqa: PLC0415
        from vod_parts_cleanup.work_queue import WorkQueue  # noqa: PLC0415

        if self.settings.work_queue_url is None:
            self.telemetry.logger.warning("WORK_QUEUE_URL is not set: nothing can be handed off")
            return None
        sqs = AwsJsonClient(SQS, self.settings.aws, seconds_left=self.budget.seconds_left)
        return WorkQueue(self.settings.work_queue_url, sqs)

    @cached_property
    def secrets_manager(self) -> "AwsJsonClient":
        """Secrets Manager without botocore, for the receiver's callback keys (its cold start
        cannot afford botocore; the consumer reads its VOD key through Powertools)."""
        from vod_parts_cleanup.aws_json import SECRETS_MANAGER, AwsJsonClient  # noqa: PLC0415

        return AwsJsonClient(
            SECRETS_MANAGER, self.settings.aws, seconds_left=self.budget.seconds_left
        )

    @cached_property
    def pipeline(self) -> "Pipeline":
        from vod_parts_cleanup.pipeline import Pipeline  # noqa: PLC0415

        return Pipeline(
            cleaner=lambda: self.cleaner,
            confirm_unverified_claims=self.settings.callback_confirm_upload,
            telemetry=self.telemetry,
        )

    @cached_property
    def consumer(self) -> "QueueConsumer":
        from vod_parts_cleanup.consumer import QueueConsumer  # noqa: PLC0415

        return QueueConsumer(self.pipeline, clock=self.clock, telemetry=self.telemetry)

    @cached_property
    def vod(self) -> "VodClient":
        """The VOD adapter, paced; SettingsError if VOD cannot be reached with these settings."""
        from vod_parts_cleanup.credentials import build_credential_client  # noqa: PLC0415
        from vod_parts_cleanup.vod_client import VodClient, build_openapi_client  # noqa: PLC0415

        settings = self.settings
        secrets = self.secrets if settings.credentials_secret_id else None
        openapi_client = build_openapi_client(settings, build_credential_client(settings, secrets))
        return VodClient(openapi_client, settings, pacers=self.pacers, clock=self.clock)

    @cached_property
    def sweeper(self) -> "Sweeper":
        from vod_parts_cleanup.sweep import Sweeper  # noqa: PLC0415

        return Sweeper(
            vod=self.vod, work_queue=self.work_queue, clock=self.clock, telemetry=self.telemetry
        )

    @cached_property
    def cleaner(self) -> "Cleaner":
        """The use case over the VOD client, once per notification if a table is set;
        SettingsError if VOD cannot be reached with these settings."""
        from vod_parts_cleanup.cleanup import CleanupService  # noqa: PLC0415
        from vod_parts_cleanup.idempotency import (  # noqa: PLC0415
            IdempotentCleanup,
            persistence_layer,
        )

        settings = self.settings
        service = CleanupService(self.vod, self.telemetry, clock=self.clock)
        if settings.idempotency_table_name is None:
            self.telemetry.logger.warning(
                "IDEMPOTENCY_TABLE_NAME is not set: duplicates will call VOD"
            )
            return service
        persistence = persistence_layer(
            settings.idempotency_table_name, self.aws.client("dynamodb")
        )
        return IdempotentCleanup(service, persistence, self.idempotency, self.telemetry)

    @cached_property
    def idempotency(self) -> "IdempotencyConfig":
        from vod_parts_cleanup.idempotency import idempotency_config  # noqa: PLC0415

        config = idempotency_config(
            ttl_seconds=self.settings.idempotency_ttl_seconds, telemetry=self.telemetry
        )
        if self._context is not None:
            config.register_lambda_context(self._context)
        return config

    @cached_property
    def pacers(self) -> dict[str, "Pacer"]:
        """One pacer per VOD operation, each with this environment's share of its budget."""
        from vod_parts_cleanup.pacing import Budget, Pacer  # noqa: PLC0415
        from vod_parts_cleanup.vod_client import DELETE_MULTIPART_UPLOAD, OPERATIONS  # noqa: PLC0415

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

    @cached_property
    def secrets(self) -> "SecretsProvider":
        """Powertools Parameters over the function's own Secrets Manager client."""
        from aws_lambda_powertools.utilities.parameters import SecretsProvider  # noqa: PLC0415

        return SecretsProvider(boto3_client=self.aws.client("secretsmanager"))
