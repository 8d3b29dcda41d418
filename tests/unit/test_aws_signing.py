"""The stdlib AWS client's pure parts, with botocore as the oracle.

Why: the HTTP route signs its SQS and Secrets Manager calls without botocore (its import
costs more than the route's cold start may); a signature that differs from botocore's in
any corner (header folding, path normalisation, session tokens) would be refused by AWS.
"""

import socket
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from vod_parts_cleanup.shared.aws_credentials import AwsCredentials
from vod_parts_cleanup.shared.aws_json import (
    SECRETS_MANAGER,
    SQS,
    AwsAccess,
    AwsJsonClient,
    AwsService,
    aws_access_from,
    signed_headers,
)
from vod_parts_cleanup.shared.errors import AwsCallError

# Any text UTF-8 can carry (lone surrogates cannot be encoded by either signer).
texts = st.text(st.characters(codec="utf-8"), min_size=1, max_size=24)
header_values = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF) | st.sampled_from("\t "), max_size=30
)
# Few letters, so names often collide but for case (botocore then joins their values).
header_names = st.text("aAbB-", min_size=1, max_size=3) | st.sampled_from(
    [
        "Content-Type",
        "X-Amz-Target",
        "Host",
        "user-agent",
        "Connection",
        "X-Amzn-Trace-Id",
        "Authorization",
        "x-amz-date",
        "X-Amz-Security-Token",
        "X-Amz-Content-SHA256",
    ]
)
hosts = st.sampled_from(["sqs.us-east-1.amazonaws.com", "LocalHost", "127.0.0.1", "[::1]", "moto"])
path_segments = st.sampled_from(["", ".", "..", "a", "queue name", "é", "~x", "%41", "b+c"])
paths = st.lists(path_segments, max_size=5).map(lambda segments: "/" + "/".join(segments))
queries = st.lists(
    st.tuples(st.text("abAB%2", max_size=3), st.text("xy=%", max_size=3)), max_size=3
).map(lambda pairs: "&".join(f"{key}={value}" for key, value in pairs))


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https"]))
    port = draw(st.sampled_from(["", ":80", ":443", ":4566"]))
    query = draw(queries)
    return f"{scheme}://{draw(hosts)}{port}{draw(paths)}{'?' + query if query else ''}"


credentials_strategy = st.builds(
    AwsCredentials,
    access_key_id=texts,
    secret_access_key=texts,
    session_token=st.none() | st.just("") | texts,
)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1))


def botocore_signed(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    credentials: AwsCredentials,
    region: str,
    service: str,
    now: datetime,
) -> AWSRequest:
    request = AWSRequest(method=method, url=url, headers=headers, data=body)
    oracle = Credentials(
        credentials.access_key_id, credentials.secret_access_key, credentials.session_token
    )
    # SigV4Auth.add_auth takes its time from this function (it overwrites any timestamp
    # put in request.context beforehand), so it is patched where SigV4Auth looks it up.
    with mock.patch("botocore.auth.get_current_datetime", return_value=now):
        SigV4Auth(oracle, service, region).add_auth(request)
    return request


@settings(max_examples=300)
@given(
    method=st.sampled_from(["POST", "GET", "put"]),
    url=urls(),
    headers=st.dictionaries(header_names, header_values, max_size=6),
    body=st.binary(max_size=64),
    credentials=credentials_strategy,
    region=texts,
    service=texts,
    now=moments,
)
def test_the_signature_is_botocores(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    credentials: AwsCredentials,
    region: str,
    service: str,
    now: datetime,
) -> None:
    ours = signed_headers(
        method,
        url,
        headers,
        body,
        credentials=credentials,
        region=region,
        service=service,
        now=now,
    )
    theirs = botocore_signed(method, url, headers, body, credentials, region, service, now)

    assert ours["Authorization"] == theirs.headers["Authorization"]
    assert ours["X-Amz-Date"] == theirs.headers["X-Amz-Date"]
    assert ours.get("X-Amz-Security-Token") == theirs.headers.get("X-Amz-Security-Token")


def test_an_aware_time_is_signed_in_utc() -> None:
    credentials = AwsCredentials("AKID", "secret")
    arguments: dict[str, Any] = {
        "credentials": credentials,
        "region": "eu-west-1",
        "service": "sqs",
    }
    utc = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    naive = utc.replace(tzinfo=None)
    elsewhere = utc.astimezone(datetime.fromisoformat("2024-01-01T00:00:00+05:30").tzinfo)

    first = signed_headers("POST", "https://x/", {}, b"", now=naive, **arguments)
    second = signed_headers("POST", "https://x/", {}, b"", now=elsewhere, **arguments)

    assert first == second
    assert first["X-Amz-Date"] == "20240506T070809Z"


def test_only_the_host_and_amz_headers_are_added_and_the_user_agent_is_not_signed() -> None:
    headers = {"Content-Type": "application/x-amz-json-1.0", "User-Agent": "vod-parts-cleanup"}

    signed = signed_headers(
        "POST",
        "http://127.0.0.1:4566/",
        headers,
        b"{}",
        credentials=AwsCredentials("AKID", "secret", "token"),
        region="us-east-1",
        service="sqs",
        now=datetime(2024, 1, 1),
    )

    assert set(signed) == {*headers, "Host", "X-Amz-Date", "X-Amz-Security-Token", "Authorization"}
    assert signed["Host"] == "127.0.0.1:4566"
    assert (
        "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"
        in (signed["Authorization"])
    )


@pytest.mark.parametrize(
    ("service", "botocore_name"), [(SQS, "sqs"), (SECRETS_MANAGER, "secretsmanager")]
)
def test_the_services_are_described_as_botocore_describes_them(
    service: AwsService, botocore_name: str
) -> None:
    model = botocore.session.get_session().get_service_model(botocore_name)

    assert model.protocol == "json"
    assert service.signing_name == model.signing_name
    assert service.target_prefix == model.metadata["targetPrefix"]
    assert service.json_version == model.metadata["jsonVersion"]
    # botocore's AWS_ENDPOINT_URL_<SERVICE>: the service id, upper case, spaces as "_"
    assert service.endpoint_variable == model.service_id.upper().replace(" ", "_")


def test_access_reads_the_standard_variables() -> None:
    access = aws_access_from(
        {
            "AWS_REGION": "eu-west-1",
            "AWS_DEFAULT_REGION": "us-west-2",
            "AWS_ACCESS_KEY_ID": "AKID",
            "AWS_SECRET_ACCESS_KEY": "the-secret",
            "AWS_SESSION_TOKEN": "the-token",
            "AWS_ENDPOINT_URL": "http://localhost:4566",
            "AWS_ENDPOINT_URL_SQS": "http://localhost:9324",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": " ",
        }
    )

    assert access.region == "eu-west-1"
    assert access.credentials == AwsCredentials("AKID", "the-secret", "the-token")
    assert access.endpoint_url == "http://localhost:4566"
    assert dict(access.service_endpoint_urls) == {"SQS": "http://localhost:9324"}


@pytest.mark.parametrize(
    ("environment", "region"),
    [
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-west-2"}, "eu-west-1"),
        ({"AWS_REGION": "  ", "AWS_DEFAULT_REGION": "us-west-2"}, "us-west-2"),
        ({"AWS_DEFAULT_REGION": ""}, "us-east-1"),
        ({}, "us-east-1"),
    ],
)
def test_the_region_falls_back_as_aws_sdks_do(environment: dict[str, str], region: str) -> None:
    assert aws_access_from(environment).region == region


@pytest.mark.parametrize(
    "environment",
    [
        {},
        {"AWS_ACCESS_KEY_ID": "AKID"},
        {"AWS_SECRET_ACCESS_KEY": "secret"},
        {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": " "},
        {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "t"},
    ],
)
def test_credentials_need_both_the_key_id_and_the_secret(environment: dict[str, str]) -> None:
    assert aws_access_from(environment).credentials is None


def test_a_blank_session_token_is_no_token() -> None:
    access = aws_access_from(
        {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": ""}
    )

    assert access.credentials == AwsCredentials("AKID", "s", None)


def test_endpoint_overrides_can_be_ignored_as_in_botocore() -> None:
    access = aws_access_from(
        {
            "AWS_ENDPOINT_URL": "http://localhost:4566",
            "AWS_ENDPOINT_URL_SQS": "http://localhost:9324",
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "True",
        }
    )

    assert access.endpoint_for(SQS) == "https://sqs.us-east-1.amazonaws.com"


def test_the_service_endpoint_wins_over_the_global_one_over_aws() -> None:
    both = AwsAccess(
        "eu-central-1",
        None,
        endpoint_url="http://global:4566",
        service_endpoint_urls={"SQS": "http://sqs-only:9324"},
    )
    global_only = AwsAccess("eu-central-1", None, endpoint_url="http://global:4566")
    neither = AwsAccess("eu-central-1", None)

    assert both.endpoint_for(SQS) == "http://sqs-only:9324"
    assert both.endpoint_for(SECRETS_MANAGER) == "http://global:4566"
    assert global_only.endpoint_for(SQS) == "http://global:4566"
    assert neither.endpoint_for(SQS) == "https://sqs.eu-central-1.amazonaws.com"
    assert neither.endpoint_for(SECRETS_MANAGER) == (
        "https://secretsmanager.eu-central-1.amazonaws.com"
    )


@pytest.mark.parametrize(
    "region",
    [
        "us-east-1",
        "eu-central-1",
        "ap-southeast-1",
        "cn-north-1",
        "cn-northwest-1",
        "us-gov-west-1",
    ],
)
@pytest.mark.parametrize("service", [SQS, SECRETS_MANAGER])
def test_the_regional_endpoint_is_botocores(region: str, service: AwsService) -> None:
    """Where botocore would send the call, in every partition a user may run in (AWS China's
    regions pair naturally with VOD's Chinese regions)."""
    session = botocore.session.Session()
    client = session.create_client(
        service.signing_name,
        region_name=region,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="example",
    )
    assert AwsAccess(region, None).endpoint_for(service) == client.meta.endpoint_url


def test_no_secret_shows_in_a_repr() -> None:
    credentials = AwsCredentials("AKIDVISIBLE", "SECRET-VALUE", "TOKEN-VALUE")
    access = AwsAccess("us-east-1", credentials)

    for text in (repr(credentials), str(credentials), repr(access)):
        assert "AKIDVISIBLE" in text
        assert "SECRET-VALUE" not in text
        assert "TOKEN-VALUE" not in text


def test_an_error_says_what_failed_briefly() -> None:
    error = AwsCallError("SendMessage", "QueueDoesNotExist", "x" * 5000, status=400)

    assert (error.operation, error.code, error.status) == ("SendMessage", "QueueDoesNotExist", 400)
    assert str(error).startswith("SendMessage failed: QueueDoesNotExist (HTTP 400): xxx")
    assert len(str(error)) < 400


def test_without_credentials_no_connection_is_attempted(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> socket.socket:
        pytest.fail("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    client = AwsJsonClient(SQS, AwsAccess("us-east-1", None, endpoint_url="http://127.0.0.1:9"))

    with pytest.raises(AwsCallError) as raised:
        client.call("SendMessage", {"QueueUrl": "q", "MessageBody": "b"})

    assert raised.value.code == "NoCredentials"


@pytest.mark.parametrize("endpoint", ["ftp://host/", "localhost:4566", "http://host:99999/"])
def test_a_bad_endpoint_fails_each_call_not_the_start(endpoint: str) -> None:
    access = AwsAccess("us-east-1", AwsCredentials("AKID", "secret"), endpoint_url=endpoint)
    client = AwsJsonClient(SQS, access)

    with pytest.raises(AwsCallError) as raised:
        client.call("SendMessage", {})

    assert raised.value.code == "ConnectionFailed"
    assert endpoint in str(raised.value)


def test_the_module_imports_nothing_heavy() -> None:
    """The reason it exists: checked in a fresh interpreter, whatever this one has loaded."""
    import subprocess
    import sys

    probe = (
        "import sys, vod_parts_cleanup.shared.aws_json; "
        "print(' '.join(m for m in ('boto3', 'botocore', 'pydantic', 'aws_lambda_powertools')"
        " if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()

    assert loaded == []
