"""The benchmark's world: the VOD stand-in under VOD's rate limits, AWS as a moto server on
loopback, and Lambda's SQS trigger played by threads, one per execution environment.

Why: threads stand in for Lambda environments running at once, each with its own clients,
as separate processes would; a moto server (rather than moto's in-process patching) gives
them, and the cold-start processes, one AWS to share over real HTTP.
"""

import contextlib
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vod_parts_cleanup_dev.dynamodb import create_idempotency_table, load_template
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.moto_server import MotoServerError, moto_server_endpoint
from vod_parts_cleanup_dev.runner import LOCAL_AWS_ENVIRONMENT
from vod_parts_cleanup_dev.sqs import delete_done, lambda_sqs_event, receive_all
from vod_parts_cleanup_dev.vod_catalog import Video, format_time
from vod_parts_cleanup_dev.vod_server import LocalVod

# Short, so that what a batch reports failed is received again within the benchmark (the
# template's is 360 s); still longer than the function's slowest batch of 10 (~3.5 s).
VISIBILITY_TIMEOUT_SECONDS = 6
# The bench's own redrive count (the template's is 1000, a safety net behind the consumer's
# own retry horizon, which the bench does not play): a short run still shows dead letters.
MAX_RECEIVES = 5
VOD_RATE_LIMITS = {"DeleteMultipartUpload": 10.0, "GetVideoInfo": 100.0, "GetVideoInfos": 100.0}
CONSUMER_TIMEOUT_SECONDS = 60.0  # template.yaml: CleanupFunction's Timeout
SQS_MESSAGES_PER_REQUEST = 10  # the most ReceiveMessage returns and SendMessageBatch takes
_EMPTY_POLL_PAUSE_SECONDS = 0.05
_SETTLED_CHECK_SECONDS = 0.1
_PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY")

Handler = Callable[[Any, Any], Mapping[str, Any]]


class BenchError(Exception):
    """The benchmark cannot run or measure; the message says why."""


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on loopback for as long as the block runs; its endpoint URL, which AWS
    clients built in this process meanwhile reach (AWS_ENDPOINT_URL)."""
    with contextlib.ExitStack() as stack:
        try:
            endpoint = stack.enter_context(moto_server_endpoint())
        except MotoServerError as error:
            raise BenchError(str(error)) from None
        # darabonba would send even loopback calls through a proxy from the environment.
        changes: dict[str, str | None] = dict.fromkeys(_PROXY_VARIABLES)
        changes |= {**LOCAL_AWS_ENVIRONMENT, "AWS_ENDPOINT_URL": endpoint}
        stack.enter_context(_environment(changes))
        yield endpoint


@contextlib.contextmanager
def _environment(changes: Mapping[str, str | None]) -> Iterator[None]:
    """``os.environ`` with these variables set (None: unset), restored afterwards."""
    saved = {name: os.environ.get(name) for name in changes}
    _set_environment(changes)
    try:
        yield
    finally:
        _set_environment(saved)


def _set_environment(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@dataclass(frozen=True)
class WorkQueue:
    """A work queue with its dead-letter queue, as template.yaml pairs them."""

    url: str
    arn: str
    dead_letter_url: str


class Aws:
    """The moto server's SQS and DynamoDB, through clients of the benchmark's own."""

    def __init__(self) -> None:
        import boto3

        self.sqs = boto3.client("sqs")
        self.dynamodb = boto3.client("dynamodb")

    def new_work_queue(self, name: str, *, max_receives: int = MAX_RECEIVES) -> WorkQueue:
        """A queue with its dead-letter queue (the work queue's, or the relay's)."""
        dead_letter_url = self.sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        redrive = {
            "deadLetterTargetArn": self._arn(dead_letter_url),
            "maxReceiveCount": max_receives,
        }
        attributes = {
            "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS),
            "RedrivePolicy": json.dumps(redrive),
        }
        url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        return WorkQueue(url=url, arn=self._arn(url), dead_letter_url=dead_letter_url)

    def new_table(self, name: str) -> str:
        return create_idempotency_table(self.dynamodb, name)

    def send(self, queue: WorkQueue, bodies: Sequence[str]) -> None:
        for start in range(0, len(bodies), SQS_MESSAGES_PER_REQUEST):
            entries = [
                {"Id": str(index), "MessageBody": body}
                for index, body in enumerate(bodies[start : start + SQS_MESSAGES_PER_REQUEST])
            ]
            answer = self.sqs.send_message_batch(QueueUrl=queue.url, Entries=entries)
            if answer.get("Failed"):
                msg = f"the work queue refused messages: {answer['Failed']}"
                raise BenchError(msg)

    def is_empty(self, url: str) -> bool:
        """No message waiting, in flight or delayed."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        names.append("ApproximateNumberOfMessagesDelayed")
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)
        return all(int(value) == 0 for value in attributes["Attributes"].values())

    def bodies(self, url: str) -> list[str]:
        """The body of every visible message, each received once (they stay hidden)."""
        found: list[str] = []
        while True:
            answer = self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=SQS_MESSAGES_PER_REQUEST,
                VisibilityTimeout=3_600,
            )
            messages = answer.get("Messages", [])
            if not messages:
                return found
            found.extend(message["Body"] for message in messages)

    def _arn(self, url: str) -> str:
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(attributes["Attributes"]["QueueArn"])


def upload_notification(video_id: str) -> str:
    """An uploader's SQS body for an upload that completed now."""
    return json.dumps(
        {
            "EventType": "FileUploadComplete",
            "VideoId": video_id,
            "Status": "success",
            "EventTime": format_time(datetime.now(UTC)),
        }
    )


def video_id_of(body: str) -> str:
    return str(json.loads(body)["VideoId"])


def seed_videos(vod: LocalVod, video_ids: Iterable[str]) -> None:
    """Uploaded videos that still have their parts."""
    vod.add_videos(Video.new(video_id, has_parts=True) for video_id in video_ids)


@dataclass
class Deliveries:
    """Every receive of every message, across all environments of one run."""

    _received: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, messages: Iterable[Mapping[str, Any]]) -> None:
        with self._lock:
            self._received.update(message["MessageId"] for message in messages)

    @property
    def redeliveries(self) -> int:
        """Receives beyond each message's first."""
        with self._lock:
            return sum(count - 1 for count in self._received.values())


@dataclass(frozen=True)
class BatchingPolicy:
    """How template.yaml's event source mapping gathers a batch for the consumer."""

    batch_size: int
    window_seconds: float

    @classmethod
    def from_template(cls, function: str = "CleanupFunction") -> "BatchingPolicy":
        resources = load_template()["Resources"]
        events = resources[function]["Properties"]["Events"].values()
        [trigger] = [event["Properties"] for event in events if event["Type"] == "SQS"]
        window = float(trigger.get("MaximumBatchingWindowInSeconds", 0))
        return cls(batch_size=int(trigger["BatchSize"]), window_seconds=window)


@dataclass
class SqsTrigger:
    """Lambda's SQS event source mapping for one execution environment: gather up to the
    batch size within the batching window, invoke, delete what the batch response did not
    report; the rest reappears after the visibility timeout (and after 5 receives goes to
    the dead-letter queue)."""

    handler: Handler
    queue: WorkQueue
    sqs: Any
    deliveries: Deliveries
    receive_lock: threading.Lock
    """moto's ReceiveMessage is not atomic: two at once can hand out one message twice."""
    batching: BatchingPolicy

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            messages = self._gather(stop)
            if not messages:
                stop.wait(_EMPTY_POLL_PAUSE_SECONDS)
                continue
            self.deliveries.count(messages)
            failed = self._invoke(messages)
            delete_done(self.sqs, self.queue.url, messages, failed)

    def _gather(self, stop: threading.Event) -> list[dict[str, Any]]:
        """A batch: once a message is in hand, more until the batch is full or the window
        since the first has passed."""
        messages = self._receive(self.batching.batch_size)
        window_ends = time.monotonic() + self.batching.window_seconds
        while (
            messages
            and len(messages) < self.batching.batch_size
            and time.monotonic() < window_ends
            and not stop.is_set()
        ):
            more = self._receive(self.batching.batch_size - len(messages))
            messages += more
            if not more:
                stop.wait(_EMPTY_POLL_PAUSE_SECONDS)
        return messages

    def _receive(self, limit: int) -> list[dict[str, Any]]:
        with self.receive_lock:
            return receive_all(self.sqs, self.queue.url, limit=min(limit, SQS_MESSAGES_PER_REQUEST))

    def _invoke(self, messages: Sequence[Mapping[str, Any]]) -> set[str]:
        """The MessageIds to keep: those reported, or the whole batch if the handler raised."""
        event = lambda_sqs_event(messages, self.queue.arn)
        context = LocalLambdaContext(timeout_seconds=CONSUMER_TIMEOUT_SECONDS)
        try:
            response = self.handler(event, context)
        except Exception:  # as Lambda does: the batch failed as a whole
            return {message["MessageId"] for message in messages}
        return {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}


@contextlib.contextmanager
def sqs_triggers(
    handlers: Sequence[Handler], queue: WorkQueue | None, *, function: str = "CleanupFunction"
) -> Iterator[Deliveries]:
    """One trigger thread per environment's handler, polling until the block ends, batching
    as template.yaml's trigger of ``function`` does."""
    deliveries = Deliveries()
    if queue is None or not handlers:
        yield deliveries
        return
    import boto3

    stop, receive_lock = threading.Event(), threading.Lock()
    batching = BatchingPolicy.from_template(function)
    # Clients are built here, one at a time: boto3's default session is not thread-safe.
    triggers = [
        SqsTrigger(handler, queue, boto3.client("sqs"), deliveries, receive_lock, batching)
        for handler in handlers
    ]
    threads = [
        threading.Thread(target=trigger.run, args=(stop,), name=f"sqs-trigger-{index}")
        for index, trigger in enumerate(triggers)
    ]
    for thread in threads:
        thread.start()
    try:
        yield deliveries
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def wait_until(done: Callable[[], bool], *, limit_seconds: float) -> bool:
    """Whether ``done`` came true within the limit (checked every 0.1 s)."""
    give_up = time.monotonic() + limit_seconds
    while not done():
        if time.monotonic() > give_up:
            return False
        time.sleep(_SETTLED_CHECK_SECONDS)
    return True
