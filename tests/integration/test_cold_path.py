"""What each function imports when it starts, checked in fresh processes (this test process
has imported everything already).

- The receiver's module graph never reaches pydantic, botocore (beyond the bare package
  Powertools reads its version from), the OpenAPI core (which pulls in aiohttp and
  requests) or the X-Ray SDK: it answers a callback, handed to a real queue, without them.
- The entry modules (receiver, consumer, relay) share no product module but the shared ones,
  and the relay, like the receiver, needs none of the consumer's heavy imports.
- The consumer imports what it uses at start-up, and the X-Ray SDK only if tracing is on.
"""

import json
import subprocess
import sys
from pathlib import Path

from tests.support import CALLBACK_KEY, CALLBACK_URL, MotoQueue, load_event, signed
from vod_parts_cleanup_dev.package import BARE_LAMBDA_CONTEXT

SRC = Path(__file__).resolve().parents[2] / "src"
RECEIVER = "vod_parts_cleanup.receiver.handler"
CONSUMER = "vod_parts_cleanup.consumer.handler"
RELAY = "vod_parts_cleanup.relay.handler"
SHARED = "vod_parts_cleanup.shared"
HEAVY = ("alibabacloud_tea_openapi", "alibabacloud_credentials", "Tea", "aiohttp", "aws_xray_sdk")
# What the receiver leaves out besides: together most of the naive handler's cold start.
# (Powertools imports the bare ``botocore`` package for its user agent: under a millisecond.)
RECEIVER_SKIPS = ("pydantic", "boto3", "botocore.session", "botocore.client")

# A bare context, as Lambda's runtime passes: the local tools would import what we look for.
RUN = (
    BARE_LAMBDA_CONTEXT
    + """
import importlib, json, sys
handler = importlib.import_module(sys.argv[1])
event = json.loads(sys.argv[2])
answer = handler.lambda_handler(event, Context()) if event is not None else None
print(json.dumps({"answer": answer, "modules": sorted(sys.modules)}))
"""
)


def cold(module: str, event: object = None, **environment: str) -> dict[str, object]:
    """Import ``module`` in a fresh interpreter, hand it ``event``; its answer and modules."""
    completed = subprocess.run(
        [sys.executable, "-c", RUN, module, json.dumps(event)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "PYTHONPATH": str(SRC),
            **environment,
        },
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report: dict[str, object] = json.loads(completed.stdout.splitlines()[-1])
    return report


def loaded(report: dict[str, object], names: tuple[str, ...]) -> list[str]:
    modules = report["modules"]
    assert isinstance(modules, list)
    return sorted(set(modules) & set(names))


def product_modules(report: dict[str, object]) -> set[str]:
    modules = report["modules"]
    assert isinstance(modules, list)
    return {name for name in modules if name.startswith("vod_parts_cleanup.")}


def test_a_callback_is_queued_without_vod_sdk_xray_pydantic_or_botocore(
    work_queue: MotoQueue, aws_endpoints: str
) -> None:
    event = signed(load_event("http-completed.json"))
    report = cold(
        RECEIVER,
        event,
        VOD_CALLBACK_URL=CALLBACK_URL,
        VOD_CALLBACK_AUTH_KEY=CALLBACK_KEY,
        WORK_QUEUE_URL=work_queue.url,
        AWS_ENDPOINT_URL_SQS=aws_endpoints,
    )
    assert loaded(report, HEAVY + RECEIVER_SKIPS) == []
    assert report["answer"]["statusCode"] == 200  # type: ignore[index]
    [message] = work_queue.receive()
    assert message["Body"] == event["body"]


def test_the_functions_share_only_the_shared_modules() -> None:
    graphs = {module: cold(module) for module in (RECEIVER, CONSUMER, RELAY)}
    rooms = {module: module.rsplit(".", 1)[0] for module in graphs}

    for module, report in graphs.items():
        modules = product_modules(report)
        assert module in modules
        others = [room for other, room in rooms.items() if other != module]
        assert not any(name.startswith(tuple(others)) for name in modules), module
        outside_its_room = {name for name in modules if not name.startswith(rooms[module])}
        assert outside_its_room, module
        assert all(name == SHARED or name.startswith(SHARED + ".") for name in outside_its_room)
    # Like the receiver, the relay needs none of the consumer's heavy imports.
    assert loaded(graphs[RELAY], HEAVY + RECEIVER_SKIPS) == []


def test_the_consumer_imports_its_sdks_at_start_and_xray_only_when_tracing() -> None:
    report = cold(CONSUMER, load_event("sqs-ignored.json"))

    assert report["answer"] == {"batchItemFailures": []}
    assert loaded(report, ("alibabacloud_tea_openapi", "pydantic", "boto3")) == [
        "alibabacloud_tea_openapi",
        "boto3",
        "pydantic",
    ]
    assert loaded(report, ("aws_xray_sdk",)) == []
