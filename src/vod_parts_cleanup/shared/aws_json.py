"""A small client for AWS's JSON protocol (SQS, Secrets Manager): stdlib only; and the time
bounds every AWS client of the functions keeps.

Why: the receiver must cold-start fast, and importing botocore alone costs more than that
start may. These few calls need no more than a signed JSON POST: SigV4 written with hashlib
and hmac (tests check it against botocore's signer), sent over one kept-alive http.client
connection. The consumer's boto3 clients (``consumer.aws_clients``) keep the same bounds.
"""

import dataclasses
import functools
import hashlib
import hmac
import http.client
import json
import os
import select
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from vod_parts_cleanup.shared.aws_credentials import (
    AwsCredentials,
    ContainerCredentials,
    CredentialsError,
    container_credentials_from,
)
from vod_parts_cleanup.shared.bounds import Watchdog
from vod_parts_cleanup.shared.errors import AwsCallError, OutOfTimeError
from vod_parts_cleanup.shared.vocabulary import ErrorCode

# Per attempt, for every AWS client of the functions (botocore waits 60 s for each by
# default, while a callback has 5 s): with two attempts a call that hangs is given up
# after about 3 s. Here the answer's whole time is bounded, not each read (bounds.Watchdog).
CONNECT_TIMEOUT_SECONDS = 0.5
READ_TIMEOUT_SECONDS = 1.0
MAX_ATTEMPTS = 2
ATTEMPT_SECONDS = CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS


def refuse_a_late_attempt(seconds_left: float | None) -> None:
    """Each attempt, retries included, of any AWS client: only if it can end in time."""
    if seconds_left is not None and seconds_left < ATTEMPT_SECONDS:
        msg = f"{seconds_left:.1f} s left, an attempt may take {ATTEMPT_SECONDS:.1f} s"
        raise OutOfTimeError(msg)


USER_AGENT = "vod-parts-cleanup"
_MAX_PAUSE_SECONDS = 0.1
_SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
# Headers botocore leaves out of the signature (proxies and clients may change them).
_UNSIGNED_HEADERS = frozenset(
    {
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "traceparent",
        "tracestate",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)
# AWS's answers that say "try again shortly"; any other 4xx would fail the same way again.
_THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "RequestThrottled",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "InternalError",
        "InternalFailure",
    }
)
_RETRYABLE_CODES = _THROTTLING_CODES | {ErrorCode.CONNECTION_FAILED, ErrorCode.TIMEOUT}
# How a kept-alive connection the server has closed fails when it is used again.
_STALE_CONNECTION_ERRORS = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


@dataclass(frozen=True)
class AwsService:
    """What differs between the JSON-protocol services this client talks to."""

    signing_name: str  # SigV4 service name and endpoint prefix
    target_prefix: str  # X-Amz-Target: f"{target_prefix}.{operation}"
    json_version: str  # Content-Type: application/x-amz-json-{json_version}
    endpoint_variable: str  # AWS_ENDPOINT_URL_<this> overrides its endpoint, as in botocore


SQS = AwsService("sqs", "AmazonSQS", "1.0", "SQS")
SECRETS_MANAGER = AwsService("secretsmanager", "secretsmanager", "1.1", "SECRETS_MANAGER")


@dataclass(frozen=True)
class AwsAccess:
    """Where and as whom: region, credentials, endpoint overrides."""

    region: str
    credentials: AwsCredentials | None  # from the environment
    endpoint_url: str | None = None  # AWS_ENDPOINT_URL
    # endpoint_variable -> URL, from AWS_ENDPOINT_URL_<endpoint_variable>
    service_endpoint_urls: Mapping[str, str] = field(default_factory=dict)
    # Without credentials in the environment: the container endpoint's (SnapStart, ECS).
    container: ContainerCredentials | None = field(default=None, compare=False)
    # AWS_CA_BUNDLE: the certificates https endpoints are checked against (else the system's).
    ca_bundle: str | None = None
    # Settings this client does not honour, as "NAME=value": said once at start (log line).
    not_honoured: tuple[str, ...] = ()
    # X-Amzn-Trace-Id to forward with each call (in Lambda, as botocore does), read per call.
    trace_header: Callable[[], str | None] = field(default=lambda: None, compare=False, repr=False)

    def credentials_now(self, seconds_left: Callable[[], float | None]) -> AwsCredentials | None:
        """The environment's credentials, else the container endpoint's (CredentialsError
        if it cannot give them in the time left), else None."""
        if self.credentials is not None or self.container is None:
            return self.credentials
        return self.container.current(seconds_left())

    def endpoint_for(self, service: AwsService) -> str:
        """The service's own override, else the global one, else AWS's regional endpoint (in
        the region's partition: China's regions answer under amazonaws.com.cn)."""
        return (
            self.service_endpoint_urls.get(service.endpoint_variable)
            or self.endpoint_url
            or f"https://{service.signing_name}.{self.region}.{dns_suffix(self.region)}"
        )


# Each partition's region prefix and domain, as botocore's partitions.json has them.
_PARTITION_DNS_SUFFIXES = (
    ("cn-", "amazonaws.com.cn"),
    ("eusc-", "amazonaws.eu"),
    ("us-isob-", "sc2s.sgov.gov"),
    ("us-isof-", "csp.hci.ic.gov"),
    ("us-iso-", "c2s.ic.gov"),
    ("eu-isoe-", "cloud.adc-e.uk"),
)


def dns_suffix(region: str) -> str:
    """The domain of the region's partition (amazonaws.com for the commercial regions and
    GovCloud)."""
    return next(
        (suffix for prefix, suffix in _PARTITION_DNS_SUFFIXES if region.startswith(prefix)),
        "amazonaws.com",
    )


def aws_access_from(environment: Mapping[str, str]) -> AwsAccess:
    """AWS's standard variables, read from ``environment`` (the caller passes os.environ, so
    tests can pass their own). Blank values count as unset; credentials need both the key id
    and the secret. AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true drops the overrides, as in botocore.
    """

    def value(name: str) -> str | None:
        text = environment.get(name, "").strip()
        return text or None

    region = value("AWS_REGION") or value("AWS_DEFAULT_REGION") or "us-east-1"
    key_id, secret = value("AWS_ACCESS_KEY_ID"), value("AWS_SECRET_ACCESS_KEY")
    credentials = (
        AwsCredentials(key_id, secret, value("AWS_SESSION_TOKEN")) if key_id and secret else None
    )
    access = AwsAccess(
        region=region,
        credentials=credentials,
        container=None
        if credentials
        else container_credentials_from({name: value(name) for name in _CONTAINER_VARIABLES}),
        not_honoured=tuple(
            f"{name}={text}"
            for name, honoured_if in _NOT_HONOURED.items()
            if (text := value(name)) is not None and not honoured_if(text)
        ),
        trace_header=_trace_header_of(environment),
        ca_bundle=value("AWS_CA_BUNDLE"),
    )
    if (value("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") or "").lower() == "true":
        return access
    prefix = "AWS_ENDPOINT_URL_"
    service_endpoint_urls = {
        name.removeprefix(prefix): url
        for name in environment
        if name.startswith(prefix) and (url := value(name))
    }
    return dataclasses.replace(
        access, endpoint_url=value("AWS_ENDPOINT_URL"), service_endpoint_urls=service_endpoint_urls
    )


_CONTAINER_VARIABLES = (
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
)
# What botocore reads that this client does not do, and the values that ask for nothing.
_NOT_HONOURED: Mapping[str, Callable[[str], bool]] = {
    "AWS_USE_FIPS_ENDPOINT": lambda text: text.lower() == "false",
    "AWS_USE_DUALSTACK_ENDPOINT": lambda text: text.lower() == "false",
}


def _trace_header_of(environment: Mapping[str, str]) -> Callable[[], str | None]:
    """Lambda sets _X_AMZN_TRACE_ID for each invocation; botocore forwards it (as
    X-Amzn-Trace-Id) when in Lambda, so the receiver's calls show in its X-Ray trace."""
    if not environment.get("AWS_LAMBDA_FUNCTION_NAME"):
        return lambda: None
    return lambda: environment.get("_X_AMZN_TRACE_ID") or None


def signed_headers(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    credentials: AwsCredentials,
    region: str,
    service: str,
    now: datetime,
) -> dict[str, str]:
    """``headers`` plus Host, X-Amz-Date, X-Amz-Security-Token (with a session token) and
    Authorization: SigV4 as botocore's SigV4Auth computes it, step for step, so the tests
    can hold the two side by side."""
    moment = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    timestamp = moment.strftime(_SIGV4_TIMESTAMP)
    reset = {"authorization", "x-amz-date"}
    if credentials.session_token:
        reset.add("x-amz-security-token")
    result = {name: value for name, value in headers.items() if name.lower() not in reset}
    result["X-Amz-Date"] = timestamp
    if credentials.session_token:
        result["X-Amz-Security-Token"] = credentials.session_token
    parts = urlsplit(url)
    if not any(name.lower() == "host" for name in result):
        result = {"Host": _host_from(parts.scheme, parts.hostname or "", parts.port), **result}

    to_sign: dict[str, list[str]] = {}
    for name, value in result.items():
        if name.lower() not in _UNSIGNED_HEADERS:
            to_sign.setdefault(name.lower(), []).append(" ".join(value.split()))
    names = sorted(to_sign)
    signed_names = ";".join(names)
    payload_hash = next(
        (value for name, value in result.items() if name.lower() == "x-amz-content-sha256"),
        hashlib.sha256(body).hexdigest(),
    )
    canonical_request = "\n".join(
        [
            method.upper(),
            quote(_normalized_path(parts.path), safe="/~"),
            _canonical_query(parts.query),
            "".join(f"{name}:{','.join(to_sign[name])}\n" for name in names),
            signed_names,
            payload_hash,
        ]
    )
    scope = f"{timestamp[:8]}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            timestamp,
            scope,
            hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
        ]
    )
    key = f"AWS4{credentials.secret_access_key}".encode()
    for part in (timestamp[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    result["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={signed_names}, Signature={signature}"
    )
    return result


def _host_from(scheme: str, hostname: str, port: int | None) -> str:
    host = f"[{hostname}]" if ":" in hostname else hostname
    if port is not None and port != {"http": 80, "https": 443}.get(scheme):
        host = f"{host}:{port}"
    return host


def _normalized_path(path: str) -> str:
    """RFC 3986's dot-segment removal, dropping empty segments too (as botocore does)."""
    if not path:
        return "/"
    kept: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment and segment != ".":
            kept.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and kept else ""
    return first + "/".join(kept) + last


def _canonical_query(query: str) -> str:
    if not query:
        return ""
    pairs = sorted(pair.partition("=")[::2] for pair in query.split("&"))
    return "&".join(f"{key}={value}" for key, value in pairs)


class AwsJsonClient:
    """One service's calls over one kept-alive connection (warm invocations skip the TLS
    handshake), each attempt bounded like the boto3 clients': CONNECT_TIMEOUT_SECONDS to
    connect, READ_TIMEOUT_SECONDS for the answer, MAX_ATTEMPTS in all, and no attempt that
    could not end before ``seconds_left()`` runs out. One thread at a time."""

    def __init__(
        self,
        service: AwsService,
        access: AwsAccess,
        *,
        seconds_left: Callable[[], float | None] = lambda: None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._service = service
        self._access = access
        self._seconds_left = seconds_left
        self._wall_clock = wall_clock
        self._connection: http.client.HTTPConnection | None = None
        self._endpoint = access.endpoint_for(service)
        self._endpoint_problem: str | None = None
        try:
            parts = urlsplit(self._endpoint)
            self._port = parts.port
        except ValueError:
            parts, self._port = urlsplit(""), None
        self._https = parts.scheme == "https"
        self._hostname = parts.hostname or ""
        self._path = parts.path or "/"
        self._signing_url = f"{parts.scheme}://{parts.netloc}{self._path}"
        if parts.scheme not in {"http", "https"} or not self._hostname:
            # Reported by each call rather than raised here: a bad setting must not stop the
            # function from starting (and from answering what needs no AWS).
            self._endpoint_problem = f"the endpoint {self._endpoint!r} is not an http(s) URL"

    def sibling(self) -> "AwsJsonClient":
        """The same service and access over a connection of its own, bounded by its own
        attempts only: for work another thread does beside this client's (a key refresh)."""
        return AwsJsonClient(self._service, self._access, wall_clock=self._wall_clock)

    def call(
        self, operation: str, request: Mapping[str, Any], *, attempts: int = MAX_ATTEMPTS
    ) -> dict[str, Any]:
        """POST the JSON request, signed; the decoded JSON object answered, or AwsCallError /
        OutOfTimeError after ``attempts`` at most."""
        try:
            credentials = self._access.credentials_now(self._seconds_left)
        except CredentialsError as error:
            raise AwsCallError(operation, ErrorCode.NO_CREDENTIALS, str(error)) from None
        if credentials is None:
            detail = (
                "no AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                "AWS_CONTAINER_CREDENTIALS_FULL_URI)"
            )
            raise AwsCallError(operation, ErrorCode.NO_CREDENTIALS, detail)
        if self._endpoint_problem is not None:
            raise AwsCallError(operation, ErrorCode.CONNECTION_FAILED, self._endpoint_problem)
        body = json.dumps(request, separators=(",", ":")).encode("utf-8")
        attempt = 1
        while True:
            refuse_a_late_attempt(self._seconds_left())
            try:
                return self._attempt(operation, body, credentials)
            except AwsCallError as error:
                if attempt >= attempts or not _is_retryable(error):
                    raise
            attempt += 1
            self._pause()

    def close(self) -> None:
        """Close the kept-alive connection (the next call opens a new one)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _pause(self) -> None:
        """A short jittered pause before a retry (so throttled callers spread out), skipped
        when the time left is better spent on the attempt itself."""
        pause = _MAX_PAUSE_SECONDS * (0.2 + 0.8 * os.urandom(1)[0] / 255)
        left = self._seconds_left()
        if left is None or left - pause >= ATTEMPT_SECONDS:
            time.sleep(pause)

    def _attempt(self, operation: str, body: bytes, credentials: AwsCredentials) -> dict[str, Any]:
        service = self._service
        headers = signed_headers(
            "POST",
            self._signing_url,
            {
                "Content-Type": f"application/x-amz-json-{service.json_version}",
                "X-Amz-Target": f"{service.target_prefix}.{operation}",
            },
            body,
            credentials=credentials,
            region=self._access.region,
            service=service.signing_name,
            now=datetime.fromtimestamp(self._wall_clock(), tz=UTC),
        )
        headers["User-Agent"] = USER_AGENT
        if trace := self._access.trace_header():
            headers["X-Amzn-Trace-Id"] = quote(trace, safe="-=;:+&[]{}\"',")  # as botocore
        try:
            status, data, error_type = self._exchange(headers, body)
        except TimeoutError:
            detail = f"{self._hostname} did not answer in time"
            raise AwsCallError(operation, ErrorCode.TIMEOUT, detail) from None
        except (OSError, http.client.IncompleteRead) as error:
            detail = f"{self._hostname}: {type(error).__name__}: {error}"
            raise AwsCallError(operation, ErrorCode.CONNECTION_FAILED, detail) from None
        except http.client.HTTPException as error:
            detail = f"{self._hostname} answered outside HTTP: {type(error).__name__}: {error}"
            raise AwsCallError(operation, ErrorCode.INVALID_RESPONSE, detail) from None
        answer = _json_object(data)
        if 200 <= status < 300:
            if answer is None:
                detail = f"the answer is not a JSON object: {_excerpt(data)}"
                raise AwsCallError(operation, ErrorCode.INVALID_RESPONSE, detail, status=status)
            return answer
        failure = answer or {}
        code = _error_code(failure, error_type) or _xml_element(data, "Code") or str(status)
        message = failure.get("message") or failure.get("Message") or _xml_element(data, "Message")
        detail = message if isinstance(message, str) and message else _excerpt(data)
        raise AwsCallError(operation, code, detail, status=status)

    def _exchange(self, headers: dict[str, str], body: bytes) -> tuple[int, bytes, str | None]:
        """One request and its answer. A kept-alive connection the server closed while we
        were idle (or frozen between invocations) is re-opened at once, within the attempt."""
        connection, reused = self._ready_connection()
        try:
            return self._round_trip(connection, headers, body)
        except _STALE_CONNECTION_ERRORS:
            if not reused:
                raise
        refuse_a_late_attempt(self._seconds_left())
        connection, _ = self._ready_connection()
        return self._round_trip(connection, headers, body)

    def _round_trip(
        self, connection: http.client.HTTPConnection, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, str | None]:
        # The answer as a whole within READ_TIMEOUT_SECONDS: the socket's timeout bounds
        # each read only, and a trickling server would hold the attempt read after read.
        watchdog = Watchdog(connection, READ_TIMEOUT_SECONDS)
        watchdog.hold(connection.sock)
        try:
            connection.request("POST", self._path, body, headers)
            response = connection.getresponse()
            data = response.read()
        except BaseException:
            self.close()  # in an unknown state: never reuse it
            if watchdog.fired:
                raise TimeoutError from None
            raise
        finally:
            watchdog.cancel()
        if watchdog.fired:  # the answer ended because the watchdog shut the socket
            self.close()
            raise TimeoutError
        if connection.sock is None:  # the server said "Connection: close"; http.client obeyed
            self._connection = None
        return response.status, data, response.getheader("x-amzn-ErrorType")

    def _ready_connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """The kept-alive connection if it is still open, else a new one (and whether it was
        reused). Connects within the connect timeout, then waits for answers the read one."""
        connection = self._connection
        if (
            connection is not None
            and connection.sock is not None
            and not _is_dropped(connection.sock)
        ):
            return connection, True
        self.close()
        connection = self._new_connection()
        try:
            connection.connect()
            if connection.sock is None:  # pragma: no cover - connect() sets it or raises
                raise ConnectionError("no socket after connecting")  # noqa: TRY301
            connection.sock.settimeout(READ_TIMEOUT_SECONDS)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection, False

    def _new_connection(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(
                self._hostname,
                self._port,
                timeout=CONNECT_TIMEOUT_SECONDS,
                context=_tls(self._access.ca_bundle),
            )
        return http.client.HTTPConnection(
            self._hostname, self._port, timeout=CONNECT_TIMEOUT_SECONDS
        )


@functools.cache
def _tls(ca_bundle: str | None) -> ssl.SSLContext:
    """One verifying TLS context for every client, built on the first https connection
    (loading the CA certificates takes time; a function that answers without AWS skips it):
    the system's certificates, or AWS_CA_BUNDLE's as botocore reads it."""
    return ssl.create_default_context(cafile=ca_bundle)


def _is_dropped(sock: socket.socket) -> bool:
    """Whether an idle kept-alive connection has become readable: the server closed it (or
    sent something unasked); either way it cannot carry the next request."""
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)
    except (OSError, ValueError):
        return True


def _is_retryable(error: AwsCallError) -> bool:
    """Connection trouble, timeouts, 5xx and throttling may pass; other answers would not."""
    if error.code in _RETRYABLE_CODES:
        return True
    return (
        error.status is not None
        and error.status >= 500
        and error.code != ErrorCode.INVALID_RESPONSE
    )


def _json_object(data: bytes) -> dict[str, Any] | None:
    """The JSON object in an answer ({} for an empty one, as botocore reads it), else None."""
    if not data.strip():
        return {}
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


def _error_code(answer: Mapping[str, Any], error_type: str | None) -> str | None:
    """The error code of a JSON error answer: "com.amazonaws.sqs#QueueDoesNotExist" ->
    "QueueDoesNotExist" (from the body's __type, code or Code, else x-amzn-ErrorType)."""
    for candidate in (answer.get("__type"), answer.get("code"), answer.get("Code"), error_type):
        if isinstance(candidate, str) and candidate:
            code = candidate.rsplit("#", 1)[-1].split(":", 1)[0].strip()
            if code:
                return code
    return None


def _xml_element(data: bytes, tag: str) -> str | None:
    """An element of an XML error answer (some front ends, and moto's signature check,
    answer JSON requests in the query protocol's XML)."""
    start = data.find(f"<{tag}>".encode())
    end = data.find(f"</{tag}>".encode(), start)
    if start < 0 or end < 0:
        return None
    return data[start + len(tag) + 2 : end].decode("utf-8", "replace").strip() or None


def _excerpt(data: bytes) -> str:
    text = " ".join(data[:200].decode("utf-8", "replace").split())
    return repr(text) if text else "(empty)"
