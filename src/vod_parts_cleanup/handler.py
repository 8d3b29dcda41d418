"""Lambda entry point: wires Powertools and routes each trigger to the cleanup use case.

Every trigger keeps what it cannot finish: a direct or EventBridge invocation raises (so
Lambda retries it and then sends it to the on-failure destination), an SQS record becomes
a batch item failure (so it returns to the queue and ends in its dead-letter queue), an
HTTP callback gets a 5xx (so VOD delivers it again).
"""

import json
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
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext

from vod_parts_cleanup.cleanup import Cleaner, CleanupService, account_for
from vod_parts_cleanup.credentials import build_credential_client
from vod_parts_cleanup.idempotency import IdempotentCleanup, idempotency_config
from vod_parts_cleanup.intake import (
    MALFORMED_EVENT,
    MalformedEventError,
    decode_json_object,
    read_notification,
    recognise_trigger,
)
from vod_parts_cleanup.models import (
    CleanupFailedError,
    CleanupResult,
    CleanupStatus,
    ErrorKind,
    Trigger,
    UploadEvent,
)
from vod_parts_cleanup.observability import CleanupMetrics, CurrentStdout
from vod_parts_cleanup.settings import Settings, SettingsError
from vod_parts_cleanup.vod_client import VodClient, build_openapi_client

settings = Settings.from_environment()
logger = Logger(service=settings.service_name, stream=CurrentStdout())  # type: ignore[arg-type]
tracer = Tracer(service=settings.service_name)
metrics = CleanupMetrics(namespace=settings.metrics_namespace, service=settings.service_name)
idempotency = idempotency_config(
    ttl_seconds=settings.idempotency_ttl_seconds, metrics=metrics, logger=logger
)
batch_processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

HTTP_STATUS_FOR_FAILURE = {
    ErrorKind.TRANSIENT: HTTPStatus.SERVICE_UNAVAILABLE,
    ErrorKind.CONFIGURATION: HTTPStatus.INTERNAL_SERVER_ERROR,
}


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
    persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table_name)
    return IdempotentCleanup(service, persistence, idempotency, metrics=metrics, logger=logger)


@logger.inject_lambda_context(clear_state=True)
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


def _handle_http(request: APIGatewayProxyEventV2, deadline: float) -> dict[str, Any]:
    if request.request_context.http.method.upper() != "POST":
        return _http_response(HTTPStatus.METHOD_NOT_ALLOWED, {"message": "use POST"})
    # Callback signature verification (X-VOD-SIGNATURE) plugs in here, before the body is read.
    try:
        body = decode_json_object(request.decoded_body)
    except MalformedEventError as error:
        result = _count_malformed(str(error))
        return _http_response(HTTPStatus.BAD_REQUEST, result.to_json_dict())
    try:
        result = _process(body, deadline)
    except CleanupFailedError as failure:
        return _http_response(
            HTTP_STATUS_FOR_FAILURE[failure.kind],
            {"videoId": failure.video_id, "status": "failed", "errorCode": failure.error_code},
        )
    except SettingsError:
        return _http_response(HTTPStatus.INTERNAL_SERVER_ERROR, {"status": "failed"})
    status = HTTPStatus.BAD_REQUEST if result.status is CleanupStatus.REJECTED else HTTPStatus.OK
    return _http_response(status, result.to_json_dict())


def _count_malformed(detail: str) -> CleanupResult:
    result = CleanupResult(
        video_id=None,
        outcome=None,
        status=CleanupStatus.REJECTED,
        error_code=MALFORMED_EVENT,
        detail=detail,
    )
    account_for(result, metrics=metrics, logger=logger)
    return result


def _http_response(status: HTTPStatus, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": int(status),
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }
