"""Nothing lost, nothing twice: a thousand queued notifications, a fifth of them delivered
twice, a tenth meeting a VOD outage on their first delivery. Every distinct notification is
cleaned exactly once, and VOD is called exactly as often as it must be."""

import json
import random
from collections import Counter

from tests.support import FunctionUnderTest, configure, load_event
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.vod_server import LocalVod

MESSAGES = 1_000
DUPLICATE_SHARE = 0.2
TRANSIENT_SHARE = 0.1
DELETE = "DeleteMultipartUpload"


def test_a_thousand_messages_with_duplicates_and_transient_failures(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod
) -> None:
    configure(deployed_handler, max_attempts=1)
    shuffle = random.Random(20261125)
    distinct = round(MESSAGES * (1 - DUPLICATE_SHARE))
    video_ids = [f"{number:032x}" for number in range(1, distinct + 1)]
    deliveries = video_ids + [shuffle.choice(video_ids) for _ in range(MESSAGES - distinct)]
    shuffle.shuffle(deliveries)
    for video_id in video_ids:
        stand_in.add_video(video_id)
    messages = {
        f"message-{number}": json.dumps(
            {
                "EventType": "FileUploadComplete",
                "VideoId": video_id,
                "Status": "success",
                "EventTime": "2026-11-20T08:15:30Z",
            }
        )
        for number, video_id in enumerate(deliveries)
    }
    # VOD is down for a tenth of the videos while the queue is first drained.
    failing = set(shuffle.sample(video_ids, round(distinct * TRANSIENT_SHARE)))
    for video_id in failing:
        stand_in.fail_video(video_id, "ServiceUnavailable", status=503)

    kept = deliver_in_batches(deployed_handler, messages)
    assert len(kept) == sum(1 for video_id in deliveries if video_id in failing)

    for video_id in failing:
        stand_in.clear_video_failure(video_id)
    assert deliver_in_batches(deployed_handler, {key: messages[key] for key in kept}) == []

    assert not any(stand_in.has_parts(video_id) for video_id in video_ids)
    deleted = Counter(
        request.query["MediaId"]
        for request in stand_in.requests
        if request.action == DELETE and request.status == 200
    )
    assert deleted == Counter(video_ids)  # each distinct notification cleaned exactly once
    # Exactly the calls needed: one delete per notification, plus one failed call for each
    # delivery that met the outage (max_attempts=1); duplicates are replayed from the table.
    assert stand_in.calls(DELETE) == distinct + len(kept)


def deliver_in_batches(function: FunctionUnderTest, messages: dict[str, str]) -> list[str]:
    """Lambda's SQS trigger over a queue holding ``messages`` (id -> body), in batches of
    ten, each batch an invocation of its own; the ids the batches reported, to redeliver."""
    template = load_event("sqs-completed.json")["Records"][0]
    kept = []
    ids = list(messages)
    for start in range(0, len(ids), 10):
        batch = [
            template | {"messageId": message_id, "body": messages[message_id]}
            for message_id in ids[start : start + 10]
        ]
        context = LocalLambdaContext(timeout_seconds=60)
        response = function.lambda_handler({"Records": batch}, context)
        kept += [item["itemIdentifier"] for item in response["batchItemFailures"]]
    return kept
