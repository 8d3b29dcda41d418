"""Shared fixtures: the local VOD stand-in over real HTTP, settings pointing at it, the real
handler wired to it, and readers for what the function writes to stdout (EMF and logs)."""

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from moto import mock_aws

from vod_parts_cleanup.application import Application
from vod_parts_cleanup.aws_json import aws_access_from
from vod_parts_cleanup.credentials import build_credential_client
from vod_parts_cleanup.handler import handle
from vod_parts_cleanup.local import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET, LocalVod
from vod_parts_cleanup.local.dynamodb import create_idempotency_table
from vod_parts_cleanup.local.lambda_context import LocalLambdaContext
from vod_parts_cleanup.local.moto_server import moto_server_endpoint, receiver_endpoint_variables
from vod_parts_cleanup.local.sqs import delete_done, lambda_sqs_event, receive_all
from vod_parts_cleanup.settings import Secret, Settings
from vod_parts_cleanup.vod_client import VodClient, build_openapi_client

EVENTS = Path(__file__).resolve().parent.parent / "events"
# The callback URL and auth key the HTTP samples in events/ are signed with.
CALLBACK_URL = "https://abcdef1234.execute-api.us-east-1.amazonaws.com/vod/callback"
CALLBACK_KEY = "local-callback-key"


def load_event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


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


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting of the machine running the tests may leak into them."""
    for variable in Settings.variables():
        monkeypatch.delenv(variable, raising=False)
    # darabonba sends through HTTP(S)_PROXY from the environment, even to 127.0.0.1.
    for variable in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


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


@pytest.fixture
def clock() -> FastClock:
    return FastClock()


@pytest.fixture(scope="session")
def _running_stand_in() -> Iterator[LocalVod]:
    with LocalVod() as stand_in:
        yield stand_in


@pytest.fixture
def stand_in(_running_stand_in: LocalVod) -> LocalVod:
    """The local VOD, emptied before each test."""
    _running_stand_in.reset()
    _running_stand_in.latency_seconds = 0
    _running_stand_in.rate_limits = {}
    return _running_stand_in


@pytest.fixture(scope="session")
def _moto_server() -> Iterator[str]:
    with moto_server_endpoint() as endpoint:
        yield endpoint


@pytest.fixture
def aws_endpoints(_moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """SQS and Secrets Manager at a moto server over real HTTP, as the receiver's own client
    (no botocore for ``mock_aws`` to patch) needs; it shares ``mock_aws``'s state."""
    for variable, endpoint in receiver_endpoint_variables(_moto_server).items():
        monkeypatch.setenv(variable, endpoint)
    return _moto_server


@pytest.fixture
def settings(stand_in: LocalVod, aws_endpoints: str) -> Settings:
    """Settings that reach the stand-in, with short timeouts so failure tests stay fast."""
    return Settings(
        vod_endpoint=stand_in.endpoint,
        vod_protocol="http",
        access_key_id=LOCAL_ACCESS_KEY_ID,
        access_key_secret=Secret(LOCAL_ACCESS_KEY_SECRET),
        connect_timeout_ms=500,
        read_timeout_ms=1_000,
        callback_urls=(CALLBACK_URL,),
        callback_auth_key=Secret(CALLBACK_KEY),
    )


def vod_client_for(settings: Settings, clock: Any = None) -> VodClient:
    """The production VOD adapter, built the way the application builds it (unpaced)."""
    secrets = None
    if settings.credentials_secret_id:
        secrets = SecretsProvider(boto3_client=boto3.client("secretsmanager"))
    openapi_client = build_openapi_client(settings, build_credential_client(settings, secrets))
    return VodClient(openapi_client, settings, clock=clock or FastClock())


class FunctionUnderTest:
    """The function as Lambda runs it in one execution environment: an ``Application`` built
    from settings, and its handler. ``reconfigure`` is a new environment with other settings."""

    def __init__(self, settings: Settings, clock: Any) -> None:
        self.clock = clock  # a FastClock, unless a test needs time itself to pass
        self.reconfigure(settings)

    def reconfigure(self, settings: Settings) -> None:
        self.settings = settings
        self.app = Application(settings, clock=self.clock)
        self.lambda_handler = self.app.wrap(handle)


@pytest.fixture
def handler(settings: Settings, clock: FastClock) -> FunctionUnderTest:
    """The real handler of an application configured (as Lambda would by environment) for
    the stand-in."""
    return FunctionUnderTest(settings, clock)


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


@pytest.fixture
def aws() -> Iterator[None]:
    """moto standing in for every AWS service the test touches."""
    with mock_aws():
        yield


@pytest.fixture
def secrets(aws: None) -> Any:
    """A moto Secrets Manager client."""
    return boto3.client("secretsmanager", region_name="us-east-1")


@pytest.fixture
def idempotency_table(aws: None) -> IdempotencyTable:
    client = boto3.client("dynamodb", region_name="us-east-1")
    return IdempotencyTable(client, create_idempotency_table(client))


@dataclass
class WorkQueue:
    """A moto SQS queue standing in for the work queue the SQS trigger reads."""

    client: Any
    url: str
    kept: list[str] = field(default_factory=list)  # receipt handles of failed messages

    def receive(self) -> list[dict[str, Any]]:
        """A look at the visible messages, which stay visible."""
        return receive_all(self.client, self.url, peek=True)

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


@pytest.fixture
def work_queue(aws: None) -> WorkQueue:
    client = boto3.client("sqs", region_name="us-east-1")
    return WorkQueue(client, client.create_queue(QueueName="vod-parts-cleanup-work")["QueueUrl"])


@pytest.fixture
def idempotent_handler(
    handler: FunctionUnderTest, idempotency_table: IdempotencyTable
) -> FunctionUnderTest:
    """The handler with every notification's result kept in the idempotency table."""
    return configure(handler, idempotency_table_name=idempotency_table.name)


@pytest.fixture
def deployed_handler(
    idempotent_handler: FunctionUnderTest, work_queue: WorkQueue
) -> FunctionUnderTest:
    """The handler as deployed: idempotency table, and the work queue for callbacks."""
    return configure(idempotent_handler, work_queue_url=work_queue.url)


@pytest.fixture
def context() -> LocalLambdaContext:
    return LocalLambdaContext(timeout_seconds=30)


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


@pytest.fixture
def output(capsys: pytest.CaptureFixture[str]) -> ReadOutputFixture:
    """Call it to read (and consume) what the function has written to stdout so far."""

    def read() -> Output:
        return read_output(capsys.readouterr().out)

    return read
