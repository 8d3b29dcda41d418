"""SQS messages as Lambda's SQS trigger hands them to the function.

Why: the local runner, the benchmark and the tests play the part of Lambda's event source
mapping: they receive messages from a (moto) queue and invoke the handler with a batch.
"""

from collections.abc import Mapping, Sequence
from typing import Any

LOCAL_REGION = "us-east-1"


def lambda_sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda builds from messages that ReceiveMessage returned (with
    ``MessageAttributeNames=["All"]`` and ``AttributeNames=["All"]``)."""
    return {"Records": [_record(message, queue_arn) for message in messages]}


def _record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType", "String"),
        }
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": LOCAL_REGION,
    }


def receive_all(
    sqs_client: Any, queue_url: str, *, limit: int = 10, peek: bool = False
) -> list[dict[str, Any]]:
    """Up to ``limit`` messages visible now, with every attribute, without waiting; ``peek``
    leaves them visible (a look, not a delivery)."""
    options = {"VisibilityTimeout": 0} if peek else {}
    answer = sqs_client.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=min(limit, 10),
        MessageAttributeNames=["All"],
        AttributeNames=["All"],
        **options,
    )
    return list(answer.get("Messages", []))


def delete_done(
    sqs_client: Any, queue_url: str, messages: Sequence[Mapping[str, Any]], failed_ids: set[str]
) -> None:
    """Delete what the batch finished, as the event source mapping does (a DeleteMessageBatch
    per ten); keep the failures. A message SQS fails to delete comes back, as in Lambda."""
    done = [message for message in messages if message["MessageId"] not in failed_ids]
    for start in range(0, len(done), 10):
        entries = [
            {"Id": str(number), "ReceiptHandle": message["ReceiptHandle"]}
            for number, message in enumerate(done[start : start + 10])
        ]
        sqs_client.delete_message_batch(QueueUrl=queue_url, Entries=entries)
