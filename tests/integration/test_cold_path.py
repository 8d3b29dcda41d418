"""What a cold start imports: the receiver never loads the VOD SDK (its OpenAPI core pulls in
aiohttp and requests, most of a cold start), nor the X-Ray SDK unless tracing is on; a batch
of notifications that need no VOD call loads no VOD SDK either. Checked in fresh processes,
since this test process has imported everything already."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CALLBACK_KEY, CALLBACK_URL, load_event, signed

HEAVY = ("alibabacloud_tea_openapi", "alibabacloud_credentials", "Tea", "aiohttp", "aws_xray_sdk")

RUN = """
import json, sys
from vod_parts_cleanup.handler import lambda_handler
from vod_parts_cleanup.local.lambda_context import LocalLambdaContext
answer = lambda_handler(json.loads(sys.argv[1]), LocalLambdaContext())
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[2].split(",")))
print(json.dumps({"answer": answer, "heavy": heavy}))
"""


def cold(event: object, **environment: str) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-c", RUN, json.dumps(event), ",".join(HEAVY)],
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


def test_a_callback_imports_no_vod_sdk_and_no_xray() -> None:
    report = cold(
        signed(load_event("http-completed.json")),
        VOD_CALLBACK_URL=CALLBACK_URL,
        VOD_CALLBACK_AUTH_KEY=CALLBACK_KEY,
        WORK_QUEUE_URL="http://127.0.0.1:9/000000000000/work",  # nothing listens: 503
    )
    assert report["heavy"] == []
    assert report["answer"]["statusCode"] == 503  # type: ignore[index]


@pytest.mark.parametrize("name", ["sqs-ignored.json", "direct-ignored.json"])
def test_notifications_that_need_no_vod_call_import_no_vod_sdk(name: str) -> None:
    report = cold(load_event(name))
    assert report["heavy"] == []
