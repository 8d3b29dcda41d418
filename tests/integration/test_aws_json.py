"""The stdlib AWS client over real HTTP: against moto's server, a scripted AWS stand-in, and
endpoints that refuse, hang or answer garbage.

Why: the HTTP route hands callbacks to SQS (and reads its key from Secrets Manager) through
this client rather than boto3, so it must speak the JSON protocol as AWS answers it, sign as
AWS checks it, keep its connection alive across warm invocations, and give up in bounded time.
"""

import hashlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

from tests.support import Fault, faulty_endpoint
from vod_parts_cleanup.receiver.app import ReceiverApp
from vod_parts_cleanup.shared import aws_json
from vod_parts_cleanup.shared.aws_credentials import AwsCredentials, CredentialsError
from vod_parts_cleanup.shared.aws_json import (
    ATTEMPT_SECONDS,
    SECRETS_MANAGER,
    SQS,
    AwsAccess,
    AwsJsonClient,
    AwsService,
    aws_access_from,
)
from vod_parts_cleanup.shared.errors import AwsCallError, OutOfTimeError
from vod_parts_cleanup.shared.settings import Secret, Settings

CREDENTIALS = AwsCredentials("testing", "SECRET-MARKER-0123", "TOKEN-MARKER-4567")
TRIGGER_ATTRIBUTES = {"trigger": {"DataType": "String", "StringValue": "http"}}


@pytest.fixture
def moto_endpoint(_moto_server: str) -> str:
    """moto's server in this process (conftest's): it shares its state with ``mock_aws``."""
    return _moto_server


@dataclass
class Aws:
    """The state the tests set up with boto3, for AwsJsonClient to find through moto's server."""

    endpoint: str
    queue_url: str
    secret_name: str = "vod/callback-key"
    secret_value: str = "the-callback-key"


@pytest.fixture
def aws(moto_endpoint: str) -> Iterator[Aws]:
    with mock_aws():
        queue_url = boto3.client("sqs").create_queue(QueueName="work")["QueueUrl"]
        state = Aws(moto_endpoint, queue_url)
        boto3.client("secretsmanager").create_secret(
            Name=state.secret_name, SecretString=state.secret_value
        )
        yield state


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """The addresses the code under test connects to (http.client goes through this)."""
    opened: list[tuple[str, int]] = []
    connect = socket.create_connection

    def counting(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        opened.append(address)
        return connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", counting)
    return opened


@contextmanager
def client_for(
    service: AwsService,
    endpoint: str,
    *,
    credentials: AwsCredentials | None = CREDENTIALS,
    seconds_left: Callable[[], float | None] = lambda: None,
    wall_clock: Callable[[], float] = time.time,
    ca_bundle: str | None = None,
) -> Iterator[AwsJsonClient]:
    access = AwsAccess("us-east-1", credentials, endpoint_url=endpoint, ca_bundle=ca_bundle)
    client = AwsJsonClient(service, access, seconds_left=seconds_left, wall_clock=wall_clock)
    try:
        yield client
    finally:
        client.close()


def received(queue_url: str) -> list[dict[str, Any]]:
    answer = boto3.client("sqs").receive_message(
        QueueUrl=queue_url, MessageAttributeNames=["All"], MaxNumberOfMessages=10
    )
    return list(answer.get("Messages", []))


# --- against moto ------------------------------------------------------------------------


def test_a_message_lands_as_boto3_receives_it(aws: Aws) -> None:
    body = json.dumps({"VideoId": "v-1", "note": 'quotes " and ünïcode 😀'})

    with client_for(SQS, aws.endpoint) as client:
        answer = client.call(
            "SendMessage",
            {
                "QueueUrl": aws.queue_url,
                "MessageBody": body,
                "MessageAttributes": TRIGGER_ATTRIBUTES,
            },
        )

    assert answer["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    [message] = received(aws.queue_url)
    assert message["MessageId"] == answer["MessageId"]
    assert message["Body"] == body
    assert message["MessageAttributes"] == TRIGGER_ATTRIBUTES


def test_a_batch_answers_its_successful_entries(aws: Aws) -> None:
    entries = [
        {
            "Id": str(number),
            "MessageBody": f"body {number}",
            "MessageAttributes": TRIGGER_ATTRIBUTES,
        }
        for number in range(3)
    ]

    with client_for(SQS, aws.endpoint) as client:
        answer = client.call("SendMessageBatch", {"QueueUrl": aws.queue_url, "Entries": entries})

    assert sorted(entry["Id"] for entry in answer["Successful"]) == ["0", "1", "2"]
    assert not answer.get("Failed")
    assert sorted(message["Body"] for message in received(aws.queue_url)) == [
        "body 0",
        "body 1",
        "body 2",
    ]


def test_a_secret_is_read(aws: Aws) -> None:
    with client_for(SECRETS_MANAGER, aws.endpoint) as client:
        answer = client.call("GetSecretValue", {"SecretId": aws.secret_name})

    assert answer["SecretString"] == aws.secret_value


def test_one_client_serves_both_answers_a_server_closing_each_connection(
    aws: Aws, connections: list[tuple[str, int]]
) -> None:
    """moto answers "Connection: close" each time: each call must open a new connection."""
    with client_for(SQS, aws.endpoint) as client:
        for number in range(3):
            client.call("SendMessage", {"QueueUrl": aws.queue_url, "MessageBody": str(number)})

    assert len(connections) == 3
    assert len(received(aws.queue_url)) == 3


def test_an_unknown_queue_is_aws_error_code_and_no_secret_or_body_shows(aws: Aws) -> None:
    with client_for(SQS, aws.endpoint) as client, pytest.raises(AwsCallError) as raised:
        client.call(
            "SendMessage", {"QueueUrl": aws.queue_url + "-gone", "MessageBody": "BODY-MARKER"}
        )

    error = raised.value
    assert (error.operation, error.code, error.status) == ("SendMessage", "QueueDoesNotExist", 400)
    for text in (str(error), repr(error)):
        for hidden in ("BODY-MARKER", "SECRET-MARKER", "TOKEN-MARKER"):
            assert hidden not in text


def test_an_unknown_secret_is_resource_not_found(aws: Aws) -> None:
    with client_for(SECRETS_MANAGER, aws.endpoint) as client, pytest.raises(AwsCallError) as raised:
        client.call("GetSecretValue", {"SecretId": "no/such/secret"})

    assert raised.value.code == "ResourceNotFoundException"
    assert raised.value.status == 404


def test_aws_checks_the_signature_and_accepts_ours_only(aws: Aws) -> None:
    """moto recomputes the signature with botocore for an IAM user's key, as AWS would."""
    identity = boto3.client("iam")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}],
    }

    # The three IAM calls below are let through; every request after them is checked.
    @set_initial_no_auth_action_count(3)
    def with_authentication() -> tuple[dict[str, Any], AwsCallError]:
        identity.create_user(UserName="route")
        key = identity.create_access_key(UserName="route")["AccessKey"]
        identity.put_user_policy(
            UserName="route", PolicyName="send", PolicyDocument=json.dumps(policy)
        )
        right = AwsCredentials(key["AccessKeyId"], key["SecretAccessKey"])
        wrong = AwsCredentials(key["AccessKeyId"], key["SecretAccessKey"] + "x")
        request = {"QueueUrl": aws.queue_url, "MessageBody": "signed"}
        with client_for(SQS, aws.endpoint, credentials=right) as client:
            accepted = client.call("SendMessage", request)
        with (
            client_for(SQS, aws.endpoint, credentials=wrong) as client,
            pytest.raises(AwsCallError) as refused,
        ):
            client.call("SendMessage", request)
        return accepted, refused.value

    accepted, refused = with_authentication()

    assert "MessageId" in accepted
    assert (refused.code, refused.status) == ("SignatureDoesNotMatch", 403)
    assert [message["Body"] for message in received(aws.queue_url)] == ["signed"]


# --- against a scripted stand-in: what moto cannot show -----------------------------------


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    drop_after: bool = False  # close the connection after answering, without saying so


@dataclass
class ScriptedAws:
    """Answers each request with the next scripted answer; records requests and connections."""

    url: str = ""
    answers: list[Answer] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    connections: int = 0


@contextmanager
def scripted_aws(*answers: Answer, tls: ssl.SSLContext | None = None) -> Iterator[ScriptedAws]:
    state = ScriptedAws(answers=list(answers))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive unless told otherwise
        timeout = 5

        def setup(self) -> None:
            state.connections += 1
            super().setup()

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append((dict(self.headers), body))
            answer = state.answers.pop(0) if state.answers else Answer()
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
            self.close_connection = answer.drop_after

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    state.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=2)


def error_body(code: str, message: str = "it failed") -> bytes:
    return json.dumps({"__type": f"com.amazonaws.sqs#{code}", "message": message}).encode()


def test_the_request_is_aws_json_signed_at_the_wall_clock_time() -> None:
    with scripted_aws(Answer(body=b'{"MessageId": "m-1"}')) as aws:
        with client_for(SQS, aws.url, wall_clock=lambda: 1_700_000_000.0) as client:
            answer = client.call("SendMessage", {"QueueUrl": "q", "MessageBody": "b"})
        [(headers, body)] = aws.requests

    assert answer == {"MessageId": "m-1"}
    assert json.loads(body) == {"QueueUrl": "q", "MessageBody": "b"}
    assert headers["Content-Type"] == "application/x-amz-json-1.0"
    assert headers["X-Amz-Target"] == "AmazonSQS.SendMessage"
    assert headers["User-Agent"] == "vod-parts-cleanup"
    assert headers["X-Amz-Date"] == "20231114T221320Z"
    assert headers["X-Amz-Security-Token"] == CREDENTIALS.session_token
    assert headers["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=testing/20231114/us-east-1/sqs/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
    )


def test_warm_calls_reuse_one_connection() -> None:
    with scripted_aws() as aws, client_for(SQS, aws.url) as client:
        for _ in range(3):
            client.call("SendMessage", {})

        assert (aws.connections, len(aws.requests)) == (1, 3)


def test_a_connection_the_server_closed_while_idle_is_reopened() -> None:
    with scripted_aws(Answer(drop_after=True)) as aws, client_for(SQS, aws.url) as client:
        client.call("SendMessage", {})
        time.sleep(0.05)  # the server's close reaches the client while it is idle
        client.call("SendMessage", {})

        assert (aws.connections, len(aws.requests)) == (2, 2)


def test_a_stale_connection_found_only_on_use_is_reopened_within_the_attempt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a freeze the close may arrive only once the request is sent: then the request
    goes again at once on a new connection, without spending a retry."""
    monkeypatch.setattr(aws_json, "_is_dropped", lambda _: False)
    monkeypatch.setattr(aws_json, "MAX_ATTEMPTS", 1)
    with scripted_aws(Answer(drop_after=True)) as aws, client_for(SQS, aws.url) as client:
        client.call("SendMessage", {})
        time.sleep(0.05)
        assert client.call("SendMessage", {"n": 2}) == {}

        assert aws.connections == 2
        assert [json.loads(body) for _, body in aws.requests] == [{}, {"n": 2}]


@pytest.mark.parametrize(
    "first",
    [
        Answer(500, error_body("InternalFailure")),
        Answer(503, b"<html>Service Unavailable</html>"),
        Answer(400, error_body("ThrottlingException", "Rate exceeded")),
        Answer(400, json.dumps({"code": "RequestThrottled"}).encode()),
    ],
)
def test_server_errors_and_throttling_are_retried_once(first: Answer) -> None:
    with scripted_aws(first, Answer(body=b'{"ok": true}')) as aws, client_for(SQS, aws.url) as c:
        assert c.call("SendMessage", {}) == {"ok": True}
        assert len(aws.requests) == 2


def test_a_second_failure_is_reported_with_aws_code_and_status() -> None:
    failing = Answer(500, error_body("InternalFailure", "try later"))
    with scripted_aws(failing, failing, Answer()) as aws, client_for(SQS, aws.url) as client:
        with pytest.raises(AwsCallError) as raised:
            client.call("SendMessage", {})

        assert len(aws.requests) == 2
    assert (raised.value.code, raised.value.status) == ("InternalFailure", 500)
    assert "try later" in str(raised.value)


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (Answer(400, error_body("InvalidParameterValue", "bad")), "InvalidParameterValue"),
        (Answer(403, json.dumps({"Code": "AccessDenied"}).encode()), "AccessDenied"),
        (Answer(404, b"not json"), "404"),
        (Answer(200, b"[1, 2]"), "InvalidResponse"),
        (Answer(200, b"<html>hello</html>"), "InvalidResponse"),
    ],
)
def test_other_failures_are_not_retried(answer: Answer, code: str) -> None:
    with scripted_aws(answer, Answer()) as aws, client_for(SQS, aws.url) as client:
        with pytest.raises(AwsCallError) as raised:
            client.call("SendMessage", {})

        assert len(aws.requests) == 1
    assert raised.value.code == code
    assert raised.value.status == answer.status


def test_an_empty_answer_is_an_empty_object() -> None:
    with scripted_aws(Answer(body=b"")) as aws, client_for(SQS, aws.url) as client:
        assert client.call("DeleteMessage", {}) == {}


# --- https: the production path -----------------------------------------------------------


@pytest.fixture
def tls_server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def test_https_keeps_one_connection_alive_verified_against_aws_ca_bundle(
    certificate: tuple[Path, Path], tls_server_context: ssl.SSLContext
) -> None:
    """AWS_CA_BUNDLE honoured as botocore honours it: the server's certificate is trusted
    only through it."""
    with (
        scripted_aws(tls=tls_server_context) as aws,
        client_for(SECRETS_MANAGER, aws.url, ca_bundle=str(certificate[0])) as client,
    ):
        for _ in range(3):
            assert client.call("GetSecretValue", {"SecretId": "s"}) == {}

        assert (aws.connections, len(aws.requests)) == (1, 3)
        assert aws.requests[0][0]["Content-Type"] == "application/x-amz-json-1.1"
        assert aws.requests[0][0]["X-Amz-Target"] == "secretsmanager.GetSecretValue"


def test_https_refuses_a_certificate_it_cannot_verify(tls_server_context: ssl.SSLContext) -> None:
    with (
        scripted_aws(tls=tls_server_context) as aws,
        client_for(SQS, aws.url) as client,
        pytest.raises(AwsCallError) as raised,
    ):
        client.call("SendMessage", {})

    assert raised.value.code == "ConnectionFailed"
    assert "SSLCertVerificationError" in str(raised.value)
    assert not aws.requests


# --- faults and time ----------------------------------------------------------------------


def test_a_refused_connection_fails_fast(connections: list[tuple[str, int]]) -> None:
    with faulty_endpoint(Fault.REFUSED) as address, client_for(SQS, f"http://{address}") as c:
        started = time.monotonic()
        with pytest.raises(AwsCallError) as raised:
            c.call("SendMessage", {})

    assert raised.value.code == "ConnectionFailed"
    assert len(connections) == 2
    assert time.monotonic() - started < 2


def test_a_hanging_endpoint_times_out_after_two_attempts(
    connections: list[tuple[str, int]],
) -> None:
    with faulty_endpoint(Fault.HANGING) as address, client_for(SQS, f"http://{address}") as c:
        started = time.monotonic()
        with pytest.raises(AwsCallError) as raised:
            c.call("SendMessage", {})
        elapsed = time.monotonic() - started

    assert raised.value.code == "Timeout"
    assert len(connections) == 2
    assert elapsed < 4


def test_a_trickling_endpoint_is_cut_at_each_attempts_bound_and_fits_the_budget(
    connections: list[tuple[str, int]],
) -> None:
    """One byte every 0.8 s, each socket read inside the read timeout: before the watchdog
    one call lasted 16 s against a 4.5 s budget."""
    budget = time.monotonic() + 4.5
    with (
        faulty_endpoint(Fault.TRICKLING) as address,
        client_for(SQS, f"http://{address}", seconds_left=lambda: budget - time.monotonic()) as c,
    ):
        started = time.monotonic()
        with pytest.raises(AwsCallError) as raised:
            c.call("SendMessage", {})
        elapsed = time.monotonic() - started

    assert raised.value.code == "Timeout"
    assert len(connections) == 2  # each attempt bounded (ATTEMPT_SECONDS), then given up
    assert elapsed < 2 * ATTEMPT_SECONDS + 0.5 < 4.5


def test_garbage_is_an_invalid_response_not_retried(connections: list[tuple[str, int]]) -> None:
    with (
        faulty_endpoint(Fault.GARBAGE) as address,
        client_for(SQS, f"http://{address}") as client,
        pytest.raises(AwsCallError) as raised,
    ):
        client.call("SendMessage", {})

    assert (raised.value.code, raised.value.status) == ("InvalidResponse", 200)
    assert len(connections) == 1


def test_no_attempt_starts_that_could_not_end_in_time(
    connections: list[tuple[str, int]],
) -> None:
    with (
        faulty_endpoint(Fault.HANGING) as address,
        client_for(SQS, f"http://{address}", seconds_left=lambda: 1.4) as client,
        pytest.raises(OutOfTimeError, match=r"1\.4 s left, an attempt may take 1\.5 s"),
    ):
        client.call("SendMessage", {})

    assert connections == []


def test_a_retry_is_not_started_once_time_is_short(connections: list[tuple[str, int]]) -> None:
    left = iter([10.0])

    with (
        faulty_endpoint(Fault.REFUSED) as address,
        client_for(SQS, f"http://{address}", seconds_left=lambda: next(left, 0.5)) as client,
        pytest.raises(OutOfTimeError),
    ):
        client.call("SendMessage", {})

    assert len(connections) == 1


# --- credentials from the container endpoint (SnapStart, ECS), as botocore reads them -----


@dataclass
class ContainerEndpoint:
    """Lambda's container credentials endpoint: the credentials for a right token."""

    url: str = ""
    token: str = "container-token-3Fq"
    status: int = 200
    expires_in_seconds: float = 3600.0
    asked_with: list[str | None] = field(default_factory=list)

    def answer(self) -> dict[str, str]:
        expiration = time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + self.expires_in_seconds)
        )
        return {
            "AccessKeyId": "ASIACONTAINER",
            "SecretAccessKey": "container-secret-8Kd",
            "Token": "container-session-token-2Wp",
            "Expiration": expiration,
        }


@contextmanager
def container_endpoint() -> Iterator[ContainerEndpoint]:
    state = ContainerEndpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.asked_with.append(self.headers.get("Authorization"))
            right = self.headers.get("Authorization") == state.token
            status = state.status if right else 401
            body = json.dumps(state.answer() if status == 200 else {}).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/2018-06-01/credentials"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def container_environment(endpoint: ContainerEndpoint, **more: str) -> dict[str, str]:
    return {
        "AWS_REGION": "us-east-1",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.url,
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": endpoint.token,
        **more,
    }


def test_credentials_from_the_container_endpoint_sign_the_call() -> None:
    with container_endpoint() as endpoint, scripted_aws(Answer(), Answer()) as aws:
        environment = container_environment(endpoint, AWS_ENDPOINT_URL=aws.url)
        client = AwsJsonClient(SQS, aws_access_from(environment))
        client.call("SendMessage", {})
        client.call("SendMessage", {})  # the same credentials: not asked again
        client.close()

    assert endpoint.asked_with == [endpoint.token]
    for headers, _ in aws.requests:
        assert "Credential=ASIACONTAINER/" in headers["Authorization"]
        assert headers["X-Amz-Security-Token"] == "container-session-token-2Wp"


def test_the_container_endpoint_gives_what_botocore_reads_from_it(tmp_path: Path) -> None:
    """The reference: botocore's ContainerProvider, on the same endpoint and variables
    (here the token in a file, as Lambda may give it)."""
    from botocore.credentials import ContainerProvider

    with container_endpoint() as endpoint:
        token_file = tmp_path / "token"
        token_file.write_text(endpoint.token)
        environment = {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.url,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token_file),
        }
        theirs = ContainerProvider(environ=environment).load().get_frozen_credentials()
        container = aws_access_from(environment).container
        assert container is not None
        ours = container.current(seconds_left=None)

    assert (ours.access_key_id, ours.secret_access_key, ours.session_token) == (
        theirs.access_key,
        theirs.secret_key,
        theirs.token,
    )
    assert endpoint.asked_with == [endpoint.token, endpoint.token]


def test_credentials_near_expiry_are_read_again_and_serve_while_the_endpoint_fails() -> None:
    with container_endpoint() as endpoint:
        endpoint.expires_in_seconds = 12 * 60  # inside botocore's 15-minute refresh window
        container = aws_access_from(container_environment(endpoint)).container
        assert container is not None
        container.current(None)
        container.current(None)
        assert len(endpoint.asked_with) == 2  # read again: they expire soon
        endpoint.status = 500
        assert container.current(None).access_key_id == "ASIACONTAINER"  # still good
        endpoint.expires_in_seconds = 5 * 60
        endpoint.status = 200
        container.current(None)  # now holding ones that expire in 5 minutes
        endpoint.status = 500
        with pytest.raises(CredentialsError, match=r"answered 500"):
            container.current(None)


def test_a_wrong_token_or_a_foreign_host_is_no_credentials_named_as_such() -> None:
    with container_endpoint() as endpoint:
        environment = container_environment(endpoint, AWS_CONTAINER_AUTHORIZATION_TOKEN="wrong")
        client = AwsJsonClient(SQS, aws_access_from(environment))
        with pytest.raises(AwsCallError) as raised:
            client.call("SendMessage", {})
    assert raised.value.code == "NoCredentials"
    assert "answered 401" in str(raised.value) and "wrong" not in str(raised.value)
    foreign = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://metadata.example.com/creds"}
    assert aws_access_from(foreign).container is None  # botocore refuses it too


def test_the_trace_header_is_forwarded_in_lambda_as_botocore_does() -> None:
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    environment = {
        "AWS_ACCESS_KEY_ID": "AKID",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_LAMBDA_FUNCTION_NAME": "receiver",
        "_X_AMZN_TRACE_ID": trace,
    }
    with scripted_aws(Answer()) as aws:
        client = AwsJsonClient(SQS, aws_access_from({**environment, "AWS_ENDPOINT_URL": aws.url}))
        client.call("SendMessage", {})
        client.close()
    [(headers, _)] = aws.requests
    assert headers["X-Amzn-Trace-Id"] == trace
    assert "x-amzn-trace-id" not in headers["Authorization"].lower()  # never signed


@pytest.mark.parametrize(
    ("variables", "said"),
    [
        ({"AWS_USE_FIPS_ENDPOINT": "true"}, ("AWS_USE_FIPS_ENDPOINT=true",)),
        ({"AWS_USE_DUALSTACK_ENDPOINT": "TRUE"}, ("AWS_USE_DUALSTACK_ENDPOINT=TRUE",)),
        ({"AWS_CA_BUNDLE": "/opt/ca.pem"}, ()),  # honoured: the https endpoints' CAs
        ({"AWS_USE_FIPS_ENDPOINT": "false", "AWS_USE_DUALSTACK_ENDPOINT": " "}, ()),
    ],
)
def test_settings_the_client_does_not_honour_are_named(
    variables: dict[str, str], said: tuple[str, ...]
) -> None:
    assert aws_access_from(variables).not_honoured == said


def test_a_function_starting_with_such_a_setting_says_so_in_one_error_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    environment = {"AWS_USE_FIPS_ENDPOINT": "true", "AWS_USE_DUALSTACK_ENDPOINT": "true"}
    ReceiverApp(
        Settings(
            callback_urls=("https://example.com/vod/callback",),
            callback_auth_key=Secret("a-key"),
            aws=aws_access_from(environment),
        )
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    [said] = [line for line in lines if "notHonoured" in line]
    assert said["level"] == "ERROR"
    assert said["notHonoured"] == ["AWS_USE_FIPS_ENDPOINT=true", "AWS_USE_DUALSTACK_ENDPOINT=true"]
