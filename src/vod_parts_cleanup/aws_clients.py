"""The AWS clients of one execution environment, each built once, all with short timeouts.

botocore waits 60 s to connect and 60 s for an answer by default, while a callback has 5 s
and a batch must answer before Lambda's timeout. These clients give up quickly instead, and
Powertools (Idempotency, Parameters) is handed them rather than building its own.
"""

from typing import Any

# Per attempt; with two attempts a call that hangs is given up after about 3 s.
CONNECT_TIMEOUT_SECONDS = 0.5
READ_TIMEOUT_SECONDS = 1.0
MAX_ATTEMPTS = 2


class AwsClients:
    """One boto3 client per service, built on first use (importing boto3 costs a cold start
    ~0.2 s, so only paths that reach AWS pay it)."""

    def __init__(self, *, region_name: str | None = None) -> None:
        self._region_name = region_name
        self._clients: dict[str, Any] = {}

    def client(self, service_name: str) -> Any:
        if service_name not in self._clients:
            self._clients[service_name] = self._build(service_name)
        return self._clients[service_name]

    def _build(self, service_name: str) -> Any:
        import boto3  # noqa: PLC0415 - see the class docstring
        from botocore.config import Config  # noqa: PLC0415

        config = Config(
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        )
        return boto3.client(service_name, region_name=self._region_name, config=config)
