"""Lambda entry point: recognise the envelope, hand the body to the right part, answer.

- API Gateway (VOD's HTTP callback): the receiver authenticates and hands off to the work
  queue; it never calls VOD.
- SQS (the work queue): the paced consumer cleans each record; what it cannot finish is
  reported as a batch item failure, so SQS keeps it (and then the dead-letter queue).
- Anything else (a direct invocation, or EventBridge wired straight to the function): the
  pipeline cleans it now; a failure raises, so Lambda retries it and then records it in the
  on-failure destination.
"""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from vod_parts_cleanup.application import Application
from vod_parts_cleanup.envelopes import is_sweep_request, recognise_trigger
from vod_parts_cleanup.settings import SettingsError
from vod_parts_cleanup.vocabulary import ErrorKind, Trigger
from vod_parts_cleanup.work_queue import Delivery

UNEXPECTED_ERROR = "UnexpectedError"


def handle(app: Application, event: Any, context: LambdaContext) -> Mapping[str, Any]:
    """Route one invocation by its envelope."""
    trigger = recognise_trigger(event)
    app.telemetry.logger.append_keys(trigger=trigger.value)
    if trigger is Trigger.HTTP:
        return _answer_callback(app, event, context)
    return _clean(app, event, trigger, app.deadline(context))


def _clean(app: Application, event: Any, trigger: Trigger, deadline: float) -> Mapping[str, Any]:
    """The consumer's side: a batch, a sweep, or one event now. Only this side imports the
    models (pydantic), idempotency and the VOD client; the HTTP route's cold start skips them."""
    from vod_parts_cleanup.models import CleanupFailedError  # noqa: PLC0415 - see above

    if trigger is Trigger.SQS:
        return app.consumer.consume(event, deadline=deadline)
    if trigger is Trigger.DIRECT and is_sweep_request(event):
        return _sweep(app, event, deadline)
    body = event["detail"] if trigger is Trigger.EVENTBRIDGE else event
    try:
        return app.pipeline.process(body, Delivery(trigger), deadline=deadline).to_json_dict()
    except CleanupFailedError:
        raise
    except Exception:  # a bug: still the documented failure, so Lambda retries and records it
        app.telemetry.logger.exception("unexpected error; the event is kept for a retry")
        app.telemetry.metrics.count_failure(ErrorKind.TRANSIENT, None)
        raise CleanupFailedError(
            kind=ErrorKind.TRANSIENT, error_code=UNEXPECTED_ERROR, video_id=None
        ) from None


def _sweep(app: Application, event: Mapping[str, Any], deadline: float) -> Mapping[str, Any]:
    """A sweep (the schedule, or a person): its summary; a request it cannot run is rejected."""
    from vod_parts_cleanup.models import CleanupFailedError  # noqa: PLC0415 - see _clean
    from vod_parts_cleanup.pipeline import NOT_CONFIGURED  # noqa: PLC0415
    from vod_parts_cleanup.sweep import SweepRequestError, read_sweep_request  # noqa: PLC0415

    try:
        request = read_sweep_request(event, app.settings)
    except SweepRequestError as error:
        return {"status": "rejected", "errorCode": "InvalidSweepRequest", "detail": str(error)}
    try:
        sweeper = app.sweeper
    except SettingsError as error:
        app.telemetry.logger.exception("the function is not configured to reach VOD; no sweep")
        raise CleanupFailedError(
            kind=ErrorKind.CONFIGURATION, error_code=NOT_CONFIGURED, video_id=None
        ) from error
    return sweeper.sweep(request, deadline=deadline).to_json_dict()


def _answer_callback(
    app: Application, event: Mapping[str, Any], context: LambdaContext
) -> Mapping[str, Any]:
    """Every callback gets an answer with a status, whatever it holds: never an exception."""
    from vod_parts_cleanup.callback_auth import RejectionReason  # noqa: PLC0415
    from vod_parts_cleanup.http_callback import (  # noqa: PLC0415
        callback_request,
        http_response,
        unchecked_answer,
    )

    request = callback_request(event)
    if request.method != "POST":
        return http_response(HTTPStatus.METHOD_NOT_ALLOWED, {"message": "use POST"})
    app.deadline(context, received_at=request.received_at)
    try:
        receiver = app.receiver
    except SettingsError:
        app.telemetry.logger.exception(
            "callback authentication is not configured; the callback is refused"
        )
        return unchecked_answer(RejectionReason.NOT_CONFIGURED, app.telemetry.metrics)
    try:
        return receiver.answer(request)
    except Exception:  # a bug must not cost VOD's callback: 503, and VOD delivers again
        app.telemetry.logger.exception(
            "the callback could not be answered; VOD will deliver it again"
        )
        return http_response(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "failed"})


application = Application.from_environment()
lambda_handler = application.wrap(handle)
