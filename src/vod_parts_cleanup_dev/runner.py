"""The local runner's world: the stack's functions in this process, and stand-ins for
whatever the settings leave unconfigured (VOD: the local stand-in; DynamoDB and SQS: moto).

Why: ``make invoke`` must run the real handler, end to end, on a machine with no cloud
account, and show what happened. Nothing here patches the product: it builds the same
applications Lambda builds, from settings that point at the stand-ins.
"""

import base64
import contextlib
import dataclasses
import io
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, cast

from aws_lambda_powertools.utilities.typing import LambdaContext

from vod_parts_cleanup.consumer.app import NotConfigured
from vod_parts_cleanup.consumer.intake import notification_body, read_notification
from vod_parts_cleanup.consumer.models import UploadEvent
from vod_parts_cleanup.shared.aws_json import aws_access_from
from vod_parts_cleanup.shared.envelopes import decode_json_object, recognise_trigger
from vod_parts_cleanup.shared.errors import MalformedEventError, SettingsError
from vod_parts_cleanup.shared.observability import LambdaHandler
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup.shared.vocabulary import VIDEO_STATUS_UPLOADING, Trigger
from vod_parts_cleanup_dev.downstream import LocalDownstream, Received
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.sqs import LOCAL_REGION, delete_done, lambda_sqs_event, receive_all
from vod_parts_cleanup_dev.stack import Stack
from vod_parts_cleanup_dev.targets import aws_line, choose_targets, vod_line
from vod_parts_cleanup_dev.vod_catalog import DEFAULT_STATUS, Video
from vod_parts_cleanup_dev.vod_server import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET, LocalVod

LOCAL_WORK_QUEUE = "vod-parts-cleanup-work"
LOCAL_RELAY_QUEUE = "vod-parts-cleanup-relay"
# moto needs some credentials and a region; none of them reaches AWS.
LOCAL_AWS_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": LOCAL_REGION,
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
}


@dataclass
class CapturedOutput(io.TextIOBase):
    """Stands in for stdout while the handler runs: Lambda's log stream, split into lines."""

    lines: list[str] = field(default_factory=list)
    _partial: str = ""

    def write(self, text: str) -> int:
        pieces = (self._partial + text).split("\n")
        self._partial = pieces.pop()
        self.lines.extend(piece for piece in pieces if piece.strip())
        return len(text)

    def drain(self) -> list[dict[str, Any]]:
        """The JSON records written since the last drain (EMF metrics and structured logs)."""
        records = []
        for line in self.lines:
            try:
                record = json.loads(line)
            except ValueError:
                record = {"message": line}
            records.append(record if isinstance(record, dict) else {"message": line})
        self.lines.clear()
        return records


@dataclass
class Invocation:
    """One call of the handler and everything it caused."""

    label: str
    response: Any
    error: BaseException | None
    records: list[dict[str, Any]]
    vod_requests: list[Any] | None
    queued: list[dict[str, Any]]
    # What the downstream receiver got meanwhile (relay mode, with the local downstream),
    # each with whether its body is the callback's, byte for byte.
    relayed: list[tuple[Received, bool]] = field(default_factory=list)


class StandInState(StrEnum):
    """How the local stand-in holds the videos an event names (``invoke --stand-in``)."""

    FINISHED = "finished"  # a finished upload with parts left: VOD takes the delete
    UPLOADING = "uploading"  # VOD still says Uploading, parts left
    NO_PARTS = "no-parts"  # a finished upload whose parts are gone already
    UNKNOWN = "unknown"  # not there at all: VOD does not know the video


def stand_in_videos(video_ids: Sequence[str], state: StandInState) -> list[Video]:
    """The videos to seed the stand-in with so that it holds ``video_ids`` as ``state``."""
    if state is StandInState.UNKNOWN:
        return []
    status = VIDEO_STATUS_UPLOADING if state is StandInState.UPLOADING else DEFAULT_STATUS
    has_parts = state is not StandInState.NO_PARTS
    return [Video.new(video_id, status=status, has_parts=has_parts) for video_id in video_ids]


@dataclass
class LocalWorld:
    """Settings that reach the stand-ins, and the stand-ins themselves (None: the real one)."""

    settings: Settings
    notes: list[str]
    vod: LocalVod | None = None
    sqs_client: Any = None
    work_queue_url: str | None = None
    relay_queue_url: str | None = None
    downstream: LocalDownstream | None = None
    # One line: the VOD and the AWS resources this run talks to.
    where: str = ""

    @property
    def work_queue_arn(self) -> str:
        return f"arn:aws:sqs:{LOCAL_REGION}:123456789012:{LOCAL_WORK_QUEUE}"

    @property
    def relay_queue_arn(self) -> str:
        return f"arn:aws:sqs:{LOCAL_REGION}:123456789012:{LOCAL_RELAY_QUEUE}"


@contextlib.contextmanager
def local_world(
    settings: Settings,
    *,
    local: bool = False,
    asked_by: str = "--local",
    videos: Sequence[Video] = (),
    relay: bool = False,
) -> Iterator[LocalWorld]:
    """Stand-ins where ``settings`` configure nothing (or everywhere, with ``local``), for as
    long as the block runs, the stand-in VOD holding ``videos``; with ``relay`` (or
    RELAY_CALLBACK_URL set), relay mode, towards a local downstream receiver unless one is
    configured. SettingsError, before anything starts, for a half configuration.
    ``asked_by`` names the option that made the run local, in what the run says."""
    targets = choose_targets(settings, local=local)
    world = LocalWorld(settings=targets.settings_for_run(settings), notes=[])
    if targets.set_aside:
        world.notes.append(f"{asked_by}: {', '.join(targets.set_aside)} left unused")
    region = None if targets.aws_local else _configured_aws_region(world)
    with contextlib.ExitStack() as stack:
        if targets.vod_local:
            _embed_vod(world, stack, videos)
        if targets.aws_local:
            _embed_aws(world, stack)
        if relay or world.settings.relay_callback_url:
            _embed_relay(world, stack)
        stand_in = world.vod.endpoint if world.vod else None
        world.where = " | ".join(
            [
                vod_line(world.settings, stand_in=stand_in, asked_by=asked_by if local else None),
                aws_line(world.settings, embedded=targets.aws_local, region=region),
            ]
        )
        yield world


def _configured_aws_region(world: LocalWorld) -> str:
    """The region boto3 finds (environment or ~/.aws/config), given to the functions' own
    AWS client too, so both reach the same resources; SettingsError if there is none."""
    import boto3

    region: str | None = boto3.session.Session().region_name
    if region is None:
        msg = (
            "no AWS region for the configured AWS resources: set AWS_DEFAULT_REGION "
            "(boto3 does not read AWS_REGION)"
        )
        raise SettingsError(msg)
    aws = dataclasses.replace(world.settings.aws, region=region)
    world.settings = world.settings.with_changes(aws=aws)
    return region


def _embed_vod(world: LocalWorld, stack: contextlib.ExitStack, videos: Sequence[Video]) -> None:
    vod = stack.enter_context(LocalVod())
    vod.add_videos(videos)
    world.vod = vod
    world.settings = world.settings.with_changes(
        vod_endpoint=vod.endpoint,
        vod_protocol="http",
        access_key_id=LOCAL_ACCESS_KEY_ID,
        access_key_secret=LOCAL_ACCESS_KEY_SECRET,
    )
    if videos:
        world.notes.append(_held(videos))


def _held(videos: Sequence[Video], shown: int = 5) -> str:
    listed = ", ".join(
        f"{video.video_id} ({video.status}, {'parts left' if video.has_parts else 'no parts'})"
        for video in videos[:shown]
    )
    more = f" and {len(videos) - shown} more" if len(videos) > shown else ""
    return f"the stand-in holds {len(videos)} video(s): {listed}{more}"


def _embed_aws(world: LocalWorld, stack: contextlib.ExitStack) -> None:
    """An embedded DynamoDB and SQS (moto, in this process) for a run whose settings name no
    AWS resource."""
    import boto3
    from moto import mock_aws

    from vod_parts_cleanup_dev.dynamodb import create_idempotency_table
    from vod_parts_cleanup_dev.moto_server import moto_server_endpoint, receiver_endpoint_variables

    for variable, value in LOCAL_AWS_ENVIRONMENT.items():
        os.environ.setdefault(variable, value)
    stack.enter_context(mock_aws())
    # The receiver's own SQS and Secrets Manager client speaks real HTTP: to moto's server,
    # which shares the patched clients' state.
    endpoint = stack.enter_context(moto_server_endpoint())
    aws = aws_access_from(LOCAL_AWS_ENVIRONMENT | receiver_endpoint_variables(endpoint))
    table = create_idempotency_table(boto3.client("dynamodb", region_name=LOCAL_REGION))
    world.sqs_client = boto3.client("sqs", region_name=LOCAL_REGION)
    world.work_queue_url = world.sqs_client.create_queue(QueueName=LOCAL_WORK_QUEUE)["QueueUrl"]
    world.settings = world.settings.with_changes(
        idempotency_table_name=table, aws=aws, work_queue_url=world.work_queue_url
    )


def _embed_relay(world: LocalWorld, stack: contextlib.ExitStack) -> None:
    """Relay mode: the local downstream receiver (a customer's own, checking VOD's signature)
    unless RELAY_CALLBACK_URL names one, and the relay queue beside the embedded work queue."""
    settings = world.settings
    updates: dict[str, Any] = {}
    if settings.relay_callback_url is None:
        world.downstream = stack.enter_context(LocalDownstream())
        updates["relay_callback_url"] = world.downstream.url
        updates["relay_callback_auth_key"] = world.downstream.key
        world.notes.append(
            f"relay mode: a local downstream receiver at {world.downstream.url} checks VOD's "
            "signature with its own key, as a customer's receiver would"
        )
    else:
        world.notes.append(f"relay mode: relaying to {settings.relay_callback_url}")
    if settings.relay_queue_url is None:
        if world.sqs_client is None:
            world.notes.append("no RELAY_QUEUE_URL and no embedded SQS: nothing is relayed")
        else:
            world.relay_queue_url = world.sqs_client.create_queue(QueueName=LOCAL_RELAY_QUEUE)[
                "QueueUrl"
            ]
            updates["relay_queue_url"] = world.relay_queue_url
            world.notes.append(f"relay queue: embedded SQS queue {world.relay_queue_url}")
    world.settings = settings.with_changes(**updates)


class LocalRun:
    """Invokes the real handlers of the in-process ``Stack`` in the local world, playing
    Lambda's part for the work queue (the consumer runs on what a receiver queued)."""

    def __init__(self, world: LocalWorld, *, timeout_seconds: float = 30.0) -> None:
        self.world = world
        self._timeout_seconds = timeout_seconds
        self._captured = CapturedOutput()
        with self.captured():  # the functions' start-up logs, as Lambda's init phase writes them
            self.stack = Stack(world.settings)
        self.handler: LambdaHandler = self.stack.lambda_handler
        if isinstance(self.stack.consumer.cleaner, NotConfigured):
            msg = (
                f"VOD cannot be reached with these settings: {self.stack.consumer.cleaner.problem}"
            )
            raise SettingsError(msg)

    @contextlib.contextmanager
    def captured(self) -> Iterator[None]:
        """What the application writes meanwhile (Lambda's log stream) is kept off the
        terminal, as during an invocation."""
        with contextlib.redirect_stdout(self._captured):
            yield
        self._captured.drain()

    def invoke_once(self, event: Any) -> Invocation:
        """One invocation, leaving the work queue alone (its caller drains it itself)."""
        return self._invoke_once(event, "", look_at_the_queue=False)

    def invoke(self, event: Any, label: str) -> list[Invocation]:
        """The invocation, then the consumer on every batch it queued (VOD's path), then (in
        relay mode) the relay on every batch of the relay queue."""
        invocations = [self._invoke_once(event, label)]
        while queued := invocations[-1].queued:
            batch = lambda_sqs_event(queued, self.world.work_queue_arn)
            invocation = self._invoke_once(batch, f"the consumer, on a batch of {len(queued)}")
            failed = {
                item["itemIdentifier"]
                for item in (invocation.response or {}).get("batchItemFailures", [])
            }
            delete_done(self.world.sqs_client, str(self.world.work_queue_url), queued, failed)
            invocations.append(invocation)
            if failed:
                break  # the rest waits for the queue's visibility timeout, as in AWS
        return invocations + self._relay(callback_body_of(event))

    def relay_pending(self) -> list[Invocation]:
        """The relay on what its queue holds now (its trigger played), as ``invoke`` does."""
        return self._relay(None)

    def _relay(self, sent: bytes | None) -> list[Invocation]:
        """The relay's batches, as its SQS trigger would hand them over (one try each: a
        failed delivery waits for its next try, which a local run does not wait for)."""
        world = self.world
        invocations: list[Invocation] = []
        if world.relay_queue_url is None or world.sqs_client is None:
            return invocations
        while messages := receive_all(world.sqs_client, world.relay_queue_url):
            seen = len(world.downstream.received) if world.downstream else 0
            batch = lambda_sqs_event(messages, world.relay_queue_arn)
            invocation = self._invoke_once(
                batch, f"the relay, on a batch of {len(messages)}", look_at_the_queue=False
            )
            received = world.downstream.received[seen:] if world.downstream else []
            invocation.relayed = [(request, request.body == sent) for request in received]
            failed = {
                item["itemIdentifier"]
                for item in (invocation.response or {}).get("batchItemFailures", [])
            }
            delete_done(world.sqs_client, world.relay_queue_url, messages, failed)
            invocations.append(invocation)
            if failed:
                break
        return invocations

    def _invoke_once(self, event: Any, label: str, *, look_at_the_queue: bool = True) -> Invocation:
        vod = self.world.vod
        seen = len(vod.requests) if vod else 0
        context = LocalLambdaContext(timeout_seconds=self._timeout_seconds)
        error: BaseException | None = None
        response: Any = None
        with contextlib.redirect_stdout(self._captured):
            try:
                response = self.handler(event, cast(LambdaContext, context))
            except Exception as raised:  # shown, as Lambda would record it
                error = raised
        queued = []
        world = self.world
        if look_at_the_queue and world.sqs_client is not None and world.work_queue_url:
            queued = receive_all(world.sqs_client, world.work_queue_url)
        return Invocation(
            label=label,
            response=response,
            error=error,
            records=self._captured.drain(),
            vod_requests=vod.requests[seen:] if vod else None,
            queued=queued,
        )


def callback_body_of(event: Any) -> bytes | None:
    """The body VOD sent, if ``event`` is an API Gateway callback."""
    if recognise_trigger(event) is not Trigger.HTTP:
        return None
    body = event.get("body")
    if not isinstance(body, str):
        return None
    if event.get("isBase64Encoded") is True:
        return base64.b64decode(body)
    return body.encode("utf-8")


def video_ids_in(event: Any) -> list[str]:
    """The VideoIds the handler will clean up, so the stand-in can hold parts for them."""
    video_ids: list[str] = []
    for body in _notification_bodies(event):
        notification = read_notification(notification_body(body))
        if isinstance(notification, UploadEvent) and notification.video_id not in video_ids:
            video_ids.append(notification.video_id)
    return video_ids


def _notification_bodies(event: Any) -> list[object]:
    trigger = recognise_trigger(event)
    if trigger in {Trigger.DIRECT, Trigger.EVENTBRIDGE}:
        return [event]
    texts: list[str | None]
    if trigger is Trigger.SQS:
        texts = [record.get("body") for record in event["Records"]]
    else:
        from aws_lambda_powertools.utilities.data_classes import (
            APIGatewayProxyEventV2,
        )

        texts = [APIGatewayProxyEventV2(event).decoded_body]
    bodies: list[object] = []
    for text in texts:
        with contextlib.suppress(MalformedEventError):
            bodies.append(decode_json_object(text))
    return bodies
