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

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, EventBridgeEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from vod_parts_cleanup.application import Application
from vod_parts_cleanup.intake import recognise_trigger
from vod_parts_cleanup.models import Trigger
from vod_parts_cleanup.settings import SettingsError
from vod_parts_cleanup.work_queue import Delivery


def handle(app: Application, event: Any, context: LambdaContext) -> Mapping[str, Any]:
    """Route one invocation by its envelope."""
    trigger = recognise_trigger(event)
    app.logger.append_keys(trigger=trigger.value)
    if trigger is Trigger.HTTP:
        return _answer_callback(app, APIGatewayProxyEventV2(event))
    deadline = app.deadline(context)
    if trigger is Trigger.SQS:
        return app.consumer.consume(event, deadline=deadline)
    body = EventBridgeEvent(event).detail if trigger is Trigger.EVENTBRIDGE else event
    return app.pipeline.process(body, Delivery(trigger), deadline=deadline).to_json_dict()


def _answer_callback(app: Application, request: APIGatewayProxyEventV2) -> Mapping[str, Any]:
    from vod_parts_cleanup.callback_auth import RejectionReason  # noqa: PLC0415
    from vod_parts_cleanup.http_callback import http_response, unchecked_answer  # noqa: PLC0415

    if request.request_context.http.method.upper() != "POST":
        return http_response(HTTPStatus.METHOD_NOT_ALLOWED, {"message": "use POST"})
    try:
        receiver = app.receiver
    except SettingsError:
        app.logger.exception("callback authentication is not configured; the callback is refused")
        return unchecked_answer(RejectionReason.NOT_CONFIGURED, app.metrics)
    return receiver.answer(request)


application = Application.from_environment()
lambda_handler = application.wrap(handle)
