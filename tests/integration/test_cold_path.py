"""What a cold start imports: the receiver never loads the VOD SDK (its OpenAPI core pulls in
aiohttp and requests, most of a cold start), nor the X-Ray SDK unless tracing is on, nor
pydantic or botocore (it reaches SQS with its own small client); a batch of notifications
that need no VOD call loads no VOD SDK either. Checked in fresh processes, since this test
process has imported everything already."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CALLBACK_KEY, CALLBACK_URL, WorkQueue, load_event, signed
from vod_parts_cleanup.local.package import BARE_LAMBDA_CONTEXT

HEAVY = ("alibabacloud_tea_openapi", "alibabacloud_credentials", "Tea", "aiohttp", "aws_xray_sdk")
# What the receiver leaves out besides: together most of the naive handler's cold start.
# (Powertools imports the bare ``botocore`` package for its user agent: under a millisecond.)
RECEIVER_SKIPS = ("pydantic", "boto3", "botocore.session", "botocore.client")

# A bare context, as Lambda's runtime passes: the local tools would import what we look for.
RUN = (
    BARE_LAMBDA_CONTEXT
    + """
import json, sys
from vod_parts_cleanup.handler import lambda_handler
answer = lambda_handler(json.loads(sys.argv[1]), Context())
heavy = sorted(set(sys.modules) & set(sys.argv[2].split(",")))
print(json.dumps({"answer": answer, "heavy": heavy}))
"""
)


def cold(
    event: object, *, looked_for: tuple[str, ...] = HEAVY, **environment: str
) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-c", RUN, json.dumps(event), ",".join(looked_for)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
            **environment,
        },
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report: dict[str, object] = json.loads(completed.stdout.splitlines()[-1])
    return report


def test_a_callback_is_queued_without_vod_sdk_xray_pydantic_or_botocore(
    work_queue: WorkQueue, aws_endpoints: str
) -> None:
    event = signed(load_event("http-completed.json"))
    report = cold(
        event,
        looked_for=HEAVY + RECEIVER_SKIPS,
        VOD_CALLBACK_URL=CALLBACK_URL,
        VOD_CALLBACK_AUTH_KEY=CALLBACK_KEY,
        WORK_QUEUE_URL=work_queue.url,
        AWS_ENDPOINT_URL_SQS=aws_endpoints,
    )
    assert report["heavy"] == []
    assert report["answer"]["statusCode"] == 200  # type: ignore[index]
    [message] = work_queue.receive()
    assert message["Body"] == event["body"]


@pytest.mark.parametrize("name", ["sqs-ignored.json", "direct-ignored.json"])
def test_notifications_that_need_no_vod_call_import_no_vod_sdk(name: str) -> None:
    report = cold(load_event(name))
    assert report["heavy"] == []
