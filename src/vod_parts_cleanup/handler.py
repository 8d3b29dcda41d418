"""Lambda entry point: wires Powertools and routes each trigger to the cleanup use case.

Every trigger keeps what it cannot finish: a direct or EventBridge invocation raises (so
Lambda retries it and then sends it to the on-failure destination), an SQS record becomes
a batch item failure (so it returns to the queue and ends in its dead-letter queue), an
HTTP callback is handed to the work queue (or, if even that fails, answered 503 so VOD
delivers it again).
"""

import time
from collections.abc import Mapping
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, EventBridgeEvent
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from vod_parts_cleanup.callback_auth import CallbackAuthenticator, RejectionReason
from vod_parts_cleanup.cleanup import Cleaner, CleanupService, account_for, reject_unreadable
from vod_parts_cleanup.credentials import build_credential_client
from vod_parts_cleanup.http_callback import CallbackRoute, http_response, not_checked
from vod_parts_cleanup.idempotency import IdempotentCleanup, idempotency_config, persistence_layer
from vod_parts_cleanup.intake import (
    MALFORMED_EVENT,
    MalformedEventError,
    decode_json_object,
    read_notification,
    recognise_trigger,
)
from vod_parts_cleanup.models import (
    CleanupResult,
    CleanupStatus,
    ErrorKind,
    Trigger,
    UploadEvent,
)
from vod_parts_cleanup.observability import CleanupMetrics, CurrentStdout
from vod_parts_cleanup.settings import Settings, SettingsError
from vod_parts_cleanup.vod_client import VodClient, build_openapi_client
from vod_parts_cleanup.work_queue import SqsWorkQueue

settings = Settings.from_environment()
logger = Logger(service=settings.service_name, stream=CurrentStdout())  # type: ignore[arg-type]
tracer = Tracer(service=settings.service_name)
metrics = CleanupMetrics(namespace=settings.metrics_namespace, service=settings.service_name)
idempotency = idempotency_config(
    ttl_seconds=settings.idempotency_ttl_seconds, metrics=metrics, logger=logger
)
batch_processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


# botocore waits 60 s for a connection or an answer by default; a callback has 5 s in all.
AWS_CLIENT_CONFIG = {
    "connect_timeout": 1,
    "read_timeout": 2,
    "retries": {"mode": "standard", "max_attempts": 3},
}


@cache
def aws_client(service_name: str) -> Any:
    """One boto3 client per AWS service, built on first use, kept while the environment lives."""
    import boto3  # noqa: PLC0415 - only paths that reach AWS pay for building a client
    from botocore.config import Config  # noqa: PLC0415

    return boto3.client(service_name, config=Config(**AWS_CLIENT_CONFIG))


@cache
def cleanup_service() -> Cleaner:
    """Built on first use and kept for the life of the execution environment."""
    vod_client = VodClient(
        build_openapi_client(settings, build_credential_client(settings)), settings
    )
    service = CleanupService(vod_client, metrics, logger)
    if settings.idempotency_table_name is None:
        logger.warning("IDEMPOTENCY_TABLE_NAME is not set: duplicates will call VOD again")
        return service
    persistence = persistence_layer(settings.idempotency_table_name, aws_client("dynamodb"))
    return IdempotentCleanup(service, persistence, idempotency, metrics=metrics, logger=logger)


@cache
def callback_route() -> CallbackRoute:
    """The HTTP callback route; SettingsError if callback authentication is not configured."""
    authenticator = CallbackAuthenticator.from_settings(settings)
    work_queue = None
    if settings.work_queue_url is None:
        logger.warning("WORK_QUEUE_URL is not set: callbacks that fail are answered 503")
    else:
        work_queue = SqsWorkQueue(settings.work_queue_url, aws_client("sqs"))
    return CallbackRoute(
        authenticator=authenticator,
        confirm_upload=settings.callback_confirm_upload,
        work_queue=work_queue,
        clean_up=_clean_up,
        metrics=metrics,
        logger=logger,
    )


# log_event=False even if POWERTOOLS_LOGGER_LOG_EVENT is set: a callback's headers carry
# VOD's signature, which must never reach a log.
@logger.inject_lambda_context(clear_state=True, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: Any, context: LambdaContext) -> Mapping[str, Any]:
    idempotency.register_lambda_context(context)
    trigger = recognise_trigger(event)
    logger.append_keys(trigger=trigger.value)
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000
    if trigger is Trigger.SQS:
        if not event["Records"]:  # Powertools refuses an empty batch; nothing to report
            return {"batchItemFailures": []}
        return process_partial_response(
            event=event,
            record_handler=lambda record: _handle_sqs_record(record, deadline),
            processor=batch_processor,
            context=context,
        )
    if trigger is Trigger.HTTP:
        return _handle_http(APIGatewayProxyEventV2(event), deadline)
    body = EventBridgeEvent(event).detail if trigger is Trigger.EVENTBRIDGE else event
    return _process(body, deadline).to_json_dict()


def _process(body: object, deadline: float) -> CleanupResult:
    """One VOD notification, whatever carried it; raises CleanupFailedError to keep it."""
    return _clean_up(read_notification(body), deadline)


def _clean_up(intake: UploadEvent | CleanupResult, deadline: float) -> CleanupResult:
    if isinstance(intake, CleanupResult):
        account_for(intake, metrics=metrics, logger=logger)
        return intake
    try:
        service = cleanup_service()
    except SettingsError:
        metrics.count_failure(ErrorKind.CONFIGURATION, intake.outcome)
        logger.exception("the function is not configured to reach VOD; the event is kept")
        raise
    return service.clean_up(intake, deadline=deadline)


def _handle_sqs_record(record: SQSRecord, deadline: float) -> dict[str, Any]:
    with logger.append_context_keys(messageId=record.message_id):
        try:
            body = decode_json_object(record.body)
        except MalformedEventError as error:
            _count_malformed(str(error))
            raise
        intake = read_notification(body)
        if isinstance(intake, CleanupResult) and intake.status is CleanupStatus.REJECTED:
            # Reported, so the message ends in the dead-letter queue for inspection.
            account_for(intake, metrics=metrics, logger=logger)
            raise MalformedEventError(f"{intake.error_code}: {intake.detail}")
        return _clean_up(intake, deadline).to_json_dict()


def _handle_http(request: APIGatewayProxyEventV2, deadline: float) -> Mapping[str, Any]:
    if request.request_context.http.method.upper() != "POST":
        return http_response(HTTPStatus.METHOD_NOT_ALLOWED, {"message": "use POST"})
    try:
        route = callback_route()
    except SettingsError:
        logger.exception("callback authentication is not configured; the callback is refused")
        return not_checked(RejectionReason.NOT_CONFIGURED, metrics)
    return route.answer(request, lambda_deadline=deadline)


def _count_malformed(detail: str) -> CleanupResult:
    return reject_unreadable(MALFORMED_EVENT, detail, metrics=metrics, logger=logger)
