"""What the tests share besides fixtures: the sample events and how to sign them, a fast
clock, the stack's functions under test, a moto queue played as Lambda's SQS trigger, and
readers for what the functions write to stdout (EMF and logs).

Imports neither moto nor the stand-ins (the unit tests use it too); the fixtures that need
them are in ``tests/integration/conftest.py``.
"""

import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from vod_parts_cleanup.consumer.app import ConsumerApp
from vod_parts_cleanup.consumer.credentials import build_credential_client
from vod_parts_cleanup.consumer.vod_client import VodClient, build_openapi_client
from vod_parts_cleanup.receiver.app import ReceiverApp
from vod_parts_cleanup.shared.aws_json import aws_access_from
from vod_parts_cleanup.shared.clock import Clock, Deadline
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.sqs import delete_done, lambda_sqs_event, receive_all
from vod_parts_cleanup_dev.stack import Stack

EVENTS = Path(__file__).resolve().parent.parent / "events"
# The callback URL and auth key the HTTP samples in events/ are signed with.
CALLBACK_URL = "https://abcdef1234.execute-api.us-east-1.amazonaws.com/vod/callback"
CALLBACK_KEY = "local-callback-key"


def load_event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def uploader_event(video_id: str, status: str = "success") -> dict[str, Any]:
    """An uploader's EventBridge event, sent straight to the cleanup function: a believed
    channel (consumer.trust), so VOD is asked to delete at once, with no status check."""
    return {
        "version": "0",
        "id": "0e7d3c1a-0000-4000-8000-000000000001",
        "detail-type": "VOD Upload Event",
        "source": "custom.alibabacloud.vod",
        "account": "123456789012",
        "time": "2026-11-20T08:15:30Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"EventType": "FileUploadComplete", "VideoId": video_id, "Status": status},
    }


def vod_signature(callback_url: str, timestamp: int | str, auth_key: str) -> str:
    """VOD's documented formula, written out here independently of the code under test."""
    return hashlib.md5(f"{callback_url}|{timestamp}|{auth_key}".encode()).hexdigest()


def signed(
    event: dict[str, Any],
    *,
    key: str = CALLBACK_KEY,
    url: str = CALLBACK_URL,
    timestamp: int | None = None,
    body: str | None = None,
) -> dict[str, Any]:
    """An API Gateway v2 event as AWS would pass a VOD callback signed at ``timestamp``."""
    event = json.loads(json.dumps(event))
    timestamp = int(time.time()) if timestamp is None else timestamp
    if body is not None:
        event["body"] = body
        event["headers"]["content-length"] = str(len(body.encode("utf-8", "surrogatepass")))
    event["headers"]["x-vod-timestamp"] = str(timestamp)
    event["headers"]["x-vod-signature"] = vod_signature(url, timestamp, key)
    event["requestContext"]["timeEpoch"] = int(time.time() * 1000)  # received by API Gateway now
    return event


class FastClock:
    """Real time, except that sleeping is instant: it moves this clock forward instead.

    The VOD stand-in answers over real HTTP, so time must still pass as it really does;
    only the pauses the application decides on itself (pacing, backoff) cost nothing.
    """

    def __init__(self) -> None:
        self.slept: list[float] = []
        self.woke_at: list[float] = []  # this clock's monotonic() as each sleep ended
        self._offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def time(self) -> float:
        return time.time() + self._offset

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self._offset += max(seconds, 0.0)
        self.woke_at.append(self.monotonic())


def vod_client_for(
    settings: Settings, clock: Clock | None = None, deadline: Deadline | None = None
) -> VodClient:
    """The production VOD adapter, built the way the application builds it (unpaced)."""
    import boto3
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    secrets = None
    if settings.credentials_secret_id:
        secrets = SecretsProvider(boto3_client=boto3.client("secretsmanager"))
    openapi_client = build_openapi_client(settings, build_credential_client(settings, secrets))
    clock = clock or FastClock()
    return VodClient(openapi_client, settings, clock=clock, deadline=deadline or Deadline(clock))


class FunctionUnderTest:
    """The stack's functions as Lambda runs them, each in one execution environment, built
    from settings; ``lambda_handler`` hands an event to the function the template wires its
    trigger to (``Stack``). ``reconfigure`` is a new environment with other settings."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.clock = clock  # a FastClock, unless a test needs time itself to pass
        self.reconfigure(settings)

    def reconfigure(self, settings: Settings) -> None:
        self.settings = settings
        self.stack = Stack(settings, clock=self.clock)
        self.lambda_handler = self.stack.lambda_handler

    @property
    def receiver(self) -> ReceiverApp:
        return self.stack.receiver

    @property
    def consumer(self) -> ConsumerApp:
        return self.stack.consumer


def configure(function: FunctionUnderTest, **changes: Any) -> FunctionUnderTest:
    """The function with some settings changed, as a new execution environment would see them
    (with AWS's own variables, such as an endpoint a test points elsewhere, read again)."""
    changes.setdefault("aws", aws_access_from(os.environ))
    function.reconfigure(function.settings.with_changes(**changes))
    return function


@dataclass(frozen=True)
class IdempotencyTable:
    """A moto DynamoDB table built from template.yaml's definition."""

    client: Any
    name: str

    def items(self) -> list[dict[str, Any]]:
        return list(self.client.scan(TableName=self.name)["Items"])


@dataclass
class MotoQueue:
    """A moto SQS queue standing in for a queue an SQS trigger reads (the work queue)."""

    client: Any
    url: str
    kept: list[str] = field(default_factory=list)  # receipt handles of failed messages
    dead_letter_url: str | None = None

    def receive(self) -> list[dict[str, Any]]:
        """A look at the visible messages, which stay visible."""
        return receive_all(self.client, self.url, peek=True)

    def depth(self) -> int:
        """Every message the queue holds, visible or in flight."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=names)
        return sum(int(attributes["Attributes"][name]) for name in names)

    @property
    def arn(self) -> str:
        return self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]

    def make_visible_again(self) -> None:
        """What the visibility timeout does, at once: the messages a batch reported as failed
        may be received again."""
        while self.kept:
            self.client.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=self.kept.pop(), VisibilityTimeout=0
            )

    def drain(
        self, function: "FunctionUnderTest", context: LocalLambdaContext
    ) -> list[dict[str, Any]]:
        """Play Lambda's SQS trigger: hand the visible messages to the function in batches
        until none is left, deleting what each batch finished; the batch responses. Failed
        messages stay in flight (see ``make_visible_again``)."""
        responses = []
        arn = self.arn
        while messages := receive_all(self.client, self.url):
            # Each batch is an invocation of its own, with the whole timeout ahead of it.
            fresh = LocalLambdaContext(timeout_seconds=context.timeout_seconds)
            response = dict(function.lambda_handler(lambda_sqs_event(messages, arn), fresh))
            failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
            delete_done(self.client, self.url, messages, failed)
            self.kept.extend(m["ReceiptHandle"] for m in messages if m["MessageId"] in failed)
            responses.append(response)
            if failed:
                break
        return responses


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    value: float
    namespace: str
    dimensions: dict[str, str]


@dataclass(frozen=True)
class Output:
    """What the function wrote to stdout: CloudWatch EMF records and structured log records."""

    text: str
    metrics: list[Metric]
    logs: list[dict[str, Any]]

    def metric_names(self) -> list[str]:
        return [metric.name for metric in self.metrics]

    def counted(self, name: str) -> list[Metric]:
        return [metric for metric in self.metrics if metric.name == name]


def read_output(text: str) -> Output:
    metrics: list[Metric] = []
    logs: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        if "_aws" not in record:
            logs.append(record)
            continue
        for directive in record["_aws"]["CloudWatchMetrics"]:
            # Every dimension of every set: the service total and the detailed breakdown.
            names = {name for dimension_set in directive["Dimensions"] for name in dimension_set}
            for metric in directive["Metrics"]:
                metrics.append(
                    Metric(
                        name=metric["Name"],
                        unit=metric["Unit"],
                        value=_single(record[metric["Name"]]),
                        namespace=directive["Namespace"],
                        dimensions={name: record[name] for name in names},
                    )
                )
    return Output(text=text, metrics=metrics, logs=logs)


def _single(value: float | list[float]) -> float:
    """EMF may write one value as a one-element list."""
    if isinstance(value, list):
        [value] = value
    return value


ReadOutputFixture = Callable[[], Output]


# -- Local sockets that fail the way a dependency can: refusing, hanging, answering garbage.
# The function must answer within its budget and keep the event whatever its dependencies
# do; these stand in for VOD or an AWS endpoint that is down, stuck or broken.

GARBAGE_ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 24\r\n"
    b"Connection: close\r\n\r\n<html>not an API</html>\n"
)


class Fault(StrEnum):
    REFUSED = "refused"  # nothing listens: the connection is refused at once
    HANGING = "hanging"  # accepts, reads, never answers
    GARBAGE = "garbage"  # answers at once with a page that is no API's answer
    SLOW = "slow"  # answers that page only after SLOW_SECONDS, past every timeout we use
    TRICKLING = "trickling"  # answers a byte every TRICKLE_SECONDS: no socket read times out


SLOW_SECONDS = 2.5
TRICKLE_SECONDS = 0.8


@contextmanager
def faulty_endpoint(fault: Fault) -> Iterator[str]:
    """``host:port`` of a local endpoint failing as ``fault`` says, while the block runs."""
    if fault is Fault.REFUSED:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        yield f"127.0.0.1:{port}"  # closed again: nothing listens there now
        return
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.1)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            held.append(connection)
            if fault in {Fault.GARBAGE, Fault.SLOW}:
                threading.Thread(target=answer_garbage, args=(connection,), daemon=True).start()
            if fault is Fault.TRICKLING:
                threading.Thread(target=trickle, args=(connection,), daemon=True).start()

    def answer_garbage(connection: socket.socket) -> None:
        connection.settimeout(SLOW_SECONDS + 1)
        try:
            connection.recv(65536)
            if fault is Fault.SLOW and stop.wait(SLOW_SECONDS):
                return
            connection.sendall(GARBAGE_ANSWER)
        except OSError:
            pass

    def trickle(connection: socket.socket) -> None:
        body = b'{"MessageId": "' + b"m" * 64 + b'"}'
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        try:
            connection.recv(65536)
            for index in range(len(answer)):
                if stop.wait(TRICKLE_SECONDS):
                    return
                connection.sendall(answer[index : index + 1])
        except OSError:
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        for connection in held:
            connection.close()
        server.close()


class BrownoutProxy:
    """An AWS endpoint as a function meets it in a brownout: requests passed through to
    ``target`` (moto) while healthy; taken and never answered while ``hanging``. It counts
    every request that reached it, so a test sees what an outage costs the service."""

    def __init__(self, target: str) -> None:
        self._target = target
        self.hanging = False
        self.requests = 0
        self._stop = threading.Event()
        self._server: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "BrownoutProxy":
        import http.client
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import urlsplit

        proxy, target = self, urlsplit(self._target)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                proxy.requests += 1
                if proxy.hanging:
                    proxy._stop.wait()
                    self.close_connection = True
                    return
                upstream = http.client.HTTPConnection(target.hostname or "", target.port, timeout=5)
                try:
                    upstream.request("POST", self.path, body, dict(self.headers))
                    answer = upstream.getresponse()
                    data = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status)
                for name in ("Content-Type", "x-amzn-ErrorType", "x-amzn-RequestId"):
                    if value := answer.getheader(name):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")  # as moto: nothing left open after
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = True

            def log_message(self, *_: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
