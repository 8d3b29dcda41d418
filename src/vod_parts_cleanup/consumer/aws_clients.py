"""The consumer's boto3 clients (DynamoDB for Idempotency, Secrets Manager for the VOD key),
each built once, all bounded in time.

botocore waits 60 s to connect and 60 s for an answer by default, while a batch must answer
before Lambda's timeout. These clients keep the bounds every AWS client of the functions
keeps (``shared.aws_json``): they give up quickly, bound each attempt as a whole
(``shared.bounds``), and start no attempt (retries included) that could not finish before
the invocation's deadline. Powertools (Idempotency, Parameters)
is handed them rather than building its own.
"""

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import NoRegionError, ReadTimeoutError

from vod_parts_cleanup.shared.aws_json import (
    ATTEMPT_SECONDS,
    CONNECT_TIMEOUT_SECONDS,
    MAX_ATTEMPTS,
    READ_TIMEOUT_SECONDS,
    refuse_a_late_attempt,
)
from vod_parts_cleanup.shared.bounds import AttemptTimedOut, call_within
from vod_parts_cleanup.shared.clock import Deadline
from vod_parts_cleanup.shared.errors import SettingsError


class AwsClients:
    """One boto3 client per service, built on first use and then kept."""

    def __init__(self, deadline: Deadline, *, region_name: str | None = None) -> None:
        self._deadline = deadline
        self._region_name = region_name
        self._clients: dict[str, Any] = {}

    def client(self, service_name: str) -> Any:
        """The service's client; SettingsError if AWS's region is not set."""
        if service_name not in self._clients:
            self._clients[service_name] = self._build(service_name)
        return self._clients[service_name]

    def _build(self, service_name: str) -> Any:
        config = Config(
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        )
        try:
            client = boto3.client(service_name, region_name=self._region_name, config=config)
        except NoRegionError:
            msg = f"no AWS region for the {service_name} client: set AWS_DEFAULT_REGION"
            raise SettingsError(msg) from None
        # No attempt that could not end in time; each one bounded as a whole: botocore's
        # timeouts bound each socket read, and a trickling server would hold it read after
        # read. Its own HTTP session still sends (after any stub, moto's included).
        client.meta.events.register("before-send", self._refuse_a_late_attempt)
        endpoint = client._endpoint
        endpoint.http_session = _BoundedSession(endpoint.http_session, f"aws-{service_name}")
        return client

    def _refuse_a_late_attempt(self, **_: Any) -> None:
        refuse_a_late_attempt(self._deadline.seconds_left())


class _BoundedSession:
    """botocore's HTTP session, each request's whole exchange within ATTEMPT_SECONDS; past
    it, the ReadTimeoutError botocore's retries know."""

    def __init__(self, session: Any, name: str) -> None:
        self._session = session
        self._name = name

    def send(self, request: Any) -> Any:
        try:
            return call_within(
                ATTEMPT_SECONDS, lambda: self._session.send(request), name=self._name
            )
        except AttemptTimedOut:
            raise ReadTimeoutError(endpoint_url=request.url) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)
