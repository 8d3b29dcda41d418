"""The benchmark's floor (the consumer's required libraries and clients, nothing of ours)
really does the consumer's one job, so its cold start is a fair floor: it cleans a video
once through the OpenAPI core, under Powertools Idempotency, against the stand-in."""

import json
from typing import Any

from tests.support import IdempotencyTable
from vod_parts_cleanup_dev.floor_handler import FloorFunction
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.vod_server import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET, LocalVod

VIDEO_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def record(message_id: str) -> dict[str, Any]:
    body = {"EventType": "FileUploadComplete", "VideoId": VIDEO_ID, "Status": "success"}
    return {"messageId": message_id, "body": json.dumps(body)}


def test_the_floor_cleans_once_through_the_openapi_core_under_idempotency(
    stand_in: LocalVod, idempotency_table: IdempotencyTable
) -> None:
    stand_in.add_video(VIDEO_ID)
    floor = FloorFunction(
        {
            "ALIBABA_CLOUD_ACCESS_KEY_ID": LOCAL_ACCESS_KEY_ID,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": LOCAL_ACCESS_KEY_SECRET,
            "VOD_ENDPOINT": stand_in.endpoint,
            "VOD_PROTOCOL": "http",
            "IDEMPOTENCY_TABLE_NAME": idempotency_table.name,
        }
    )
    event = {"Records": [record("m-1"), record("m-2")]}

    answer = floor.sqs_handler(event, LocalLambdaContext(timeout_seconds=60))

    assert answer == {"batchItemFailures": []}
    assert not stand_in.has_parts(VIDEO_ID)
    assert stand_in.calls("DeleteMultipartUpload") == 1  # the second record: a replay
    assert len(idempotency_table.items()) == 1
