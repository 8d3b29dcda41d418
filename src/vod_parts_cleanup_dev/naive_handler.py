"""The handler one would write first with the official VOD SDK: the benchmark's baseline.

Why: the benchmark measures the function against this. A client of the official SDK
(``alibabacloud_vod20170321``) is built once per execution environment, at import;
every SQS record or HTTP callback calls DeleteMultipartUpload at once: no pacing, no
retry, no idempotency, no signature check. Any error, throttling included, fails the
record (SQS delivers it again, then dead-letters it) or answers 500 (VOD tries the
callback again, then drops it). It imports only the standard library and the SDK, so the
benchmark can run this file alone beside the SDK, as Lambda would.
"""

import base64
import json
import os
from collections.abc import Mapping
from typing import Any

from alibabacloud_tea_openapi.utils_models import Config
from alibabacloud_vod20170321.client import Client  # type: ignore[import-untyped]
from alibabacloud_vod20170321.models import (  # type: ignore[import-untyped]
    DeleteMultipartUploadRequest,
)

ACCESS_KEY_ID = "ALIBABA_CLOUD_ACCESS_KEY_ID"


def client_from(environment: Mapping[str, str]) -> Any:
    """The SDK client, configured from the environment as the SDK's examples do."""
    region = environment.get("VOD_REGION", "cn-shanghai")
    return Client(
        Config(
            access_key_id=environment[ACCESS_KEY_ID],
            access_key_secret=environment["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
            endpoint=environment.get("VOD_ENDPOINT") or f"vod.{region}.aliyuncs.com",
            protocol=environment.get("VOD_PROTOCOL", "https").upper(),
            region_id=region,
        )
    )


class NaiveFunction:
    """One execution environment of the naive function: its one client and two handlers."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def sqs_handler(self, event: Mapping[str, Any], context: object) -> dict[str, Any]:
        """Each record's video cleaned now; a record that met any error is reported failed."""
        failures = []
        for record in event["Records"]:
            try:
                self._delete(json.loads(record["body"])["VideoId"])
            except Exception:  # the naive way: every error fails the record
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    def http_handler(self, event: Mapping[str, Any], context: object) -> dict[str, Any]:
        """VOD's callback cleaned inline; 500 on any error, so VOD tries again."""
        try:
            body = event.get("body") or ""
            if event.get("isBase64Encoded"):
                body = base64.b64decode(body).decode()
            self._delete(json.loads(body)["VideoId"])
        except Exception as error:  # the naive way
            return {"statusCode": 500, "body": json.dumps({"error": type(error).__name__})}
        return {"statusCode": 200, "body": json.dumps({"status": "deleted"})}

    def _delete(self, video_id: str) -> None:
        self._client.delete_multipart_upload(
            DeleteMultipartUploadRequest(media_id=video_id, media_type="video")
        )


# As deployed: the environment's client is built at import (the benchmark, which imports
# this module without VOD settings, builds one NaiveFunction per simulated environment).
_DEPLOYED = NaiveFunction(client_from(os.environ)) if os.environ.get(ACCESS_KEY_ID) else None


def lambda_handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """The SQS trigger's entry point."""
    if _DEPLOYED is None:
        msg = f"{ACCESS_KEY_ID} is not set"
        raise RuntimeError(msg)
    return _DEPLOYED.sqs_handler(event, context)
