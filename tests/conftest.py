"""Shared fixtures: the local VOD stand-in over real HTTP, settings pointing at it, the real
handler wired to it, and readers for what the function writes to stdout (EMF and logs)."""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from vod_parts_cleanup.credentials import build_credential_client
from vod_parts_cleanup.local import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET, LocalVod
from vod_parts_cleanup.local.dynamodb import create_idempotency_table
from vod_parts_cleanup.local.lambda_context import LocalLambdaContext
from vod_parts_cleanup.settings import ENVIRONMENT_VARIABLES, Settings
from vod_parts_cleanup.vod_client import VodClient, build_openapi_client

EVENTS = Path(__file__).resolve().parent.parent / "events"


def load_event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting of the machine running the tests may leak into them."""
    for variable in ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    # darabonba sends through HTTP(S)_PROXY from the environment, even to 127.0.0.1.
    for variable in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture(scope="session")
def _running_stand_in() -> Iterator[LocalVod]:
    with LocalVod() as stand_in:
        yield stand_in


@pytest.fixture
def stand_in(_running_stand_in: LocalVod) -> LocalVod:
    """The local VOD, emptied before each test."""
    _running_stand_in.reset()
    _running_stand_in.latency_seconds = 0
    _running_stand_in.rate_limit_per_second = None
    return _running_stand_in


@pytest.fixture
def settings(stand_in: LocalVod) -> Settings:
    """Settings that reach the stand-in, with short timeouts so failure tests stay fast."""
    return Settings(
        vod_endpoint=stand_in.endpoint,
        vod_protocol="http",
        access_key_id=LOCAL_ACCESS_KEY_ID,
        access_key_secret=LOCAL_ACCESS_KEY_SECRET,
        connect_timeout_ms=500,
        read_timeout_ms=1_000,
    )


def vod_client_for(settings: Settings, **options: Any) -> VodClient:
    """The production VOD adapter, built the way the handler builds it."""
    openapi_client = build_openapi_client(settings, build_credential_client(settings))
    return VodClient(openapi_client, settings, **options)


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[ModuleType]:
    """The real handler module, configured (as Lambda would by environment) for the stand-in."""
    from vod_parts_cleanup import handler as module

    monkeypatch.setattr(module, "settings", settings)
    module.cleanup_service.cache_clear()
    yield module
    module.cleanup_service.cache_clear()


@dataclass(frozen=True)
class IdempotencyTable:
    """A moto DynamoDB table built from template.yaml's definition."""

    client: Any
    name: str

    def items(self) -> list[dict[str, Any]]:
        return list(self.client.scan(TableName=self.name)["Items"])


@pytest.fixture
def idempotency_table() -> Iterator[IdempotencyTable]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        yield IdempotencyTable(client, create_idempotency_table(client))


@pytest.fixture
def idempotent_handler(
    handler: ModuleType, idempotency_table: IdempotencyTable, monkeypatch: pytest.MonkeyPatch
) -> ModuleType:
    """The handler as deployed: every notification's result kept in the idempotency table."""
    configured = handler.settings.model_copy(
        update={"idempotency_table_name": idempotency_table.name}
    )
    monkeypatch.setattr(handler, "settings", configured)
    handler.cleanup_service.cache_clear()
    return handler


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
            names = directive["Dimensions"][0]
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
