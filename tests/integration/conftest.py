"""Fixtures of the integration tests: the local VOD stand-in over real HTTP, moto (in-process,
and as a server for the receiver's own AWS client), settings pointing at them, the stack's
functions wired to them, and a reader of what the functions write to stdout."""

import datetime as dt
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support import (
    CALLBACK_KEY,
    CALLBACK_URL,
    FastClock,
    FunctionUnderTest,
    IdempotencyTable,
    MotoQueue,
    ReadOutputFixture,
    configure,
    read_output,
)
from vod_parts_cleanup.shared.settings import Secret, Settings
from vod_parts_cleanup_dev.dynamodb import create_idempotency_table
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.moto_server import moto_server_endpoint, receiver_endpoint_variables
from vod_parts_cleanup_dev.vod_server import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET, LocalVod


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


@pytest.fixture
def handler(settings: Settings, clock: FastClock) -> FunctionUnderTest:
    """The real handlers of the stack's functions, configured (as Lambda would by
    environment) for the stand-in."""
    return FunctionUnderTest(settings, clock)


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


@pytest.fixture
def work_queue(aws: None) -> MotoQueue:
    client = boto3.client("sqs", region_name="us-east-1")
    return MotoQueue(client, client.create_queue(QueueName="vod-parts-cleanup-work")["QueueUrl"])


@pytest.fixture
def idempotent_handler(
    handler: FunctionUnderTest, idempotency_table: IdempotencyTable
) -> FunctionUnderTest:
    """The handler with every notification's result kept in the idempotency table."""
    return configure(handler, idempotency_table_name=idempotency_table.name)


@pytest.fixture
def deployed_handler(
    idempotent_handler: FunctionUnderTest, work_queue: MotoQueue
) -> FunctionUnderTest:
    """The handler as deployed: idempotency table, and the work queue for callbacks."""
    return configure(idempotent_handler, work_queue_url=work_queue.url)


@pytest.fixture
def context() -> LocalLambdaContext:
    return LocalLambdaContext(timeout_seconds=30)


@pytest.fixture
def output(capsys: pytest.CaptureFixture[str]) -> ReadOutputFixture:
    """Call it to read (and consume) what the functions have written to stdout so far."""

    def read() -> Any:
        return read_output(capsys.readouterr().out)

    return read


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (PEM certificate, PEM key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    certificate_file, key_file = folder / "certificate.pem", folder / "key.pem"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certificate_file, key_file
