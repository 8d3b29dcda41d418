"""Hands a VOD notification to the SQS work queue that the function's SQS trigger reads.

Why: VOD gives a callback 5 seconds and 3 attempts. When a cleanup cannot finish now for a
reason that is not the event's fault, the callback's body goes to the queue (unchanged, so
the SQS trigger reads it like any other record) and VOD is told it was delivered.
"""

from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

# Message attributes, so an operator looking at the queue sees where a message came from.
SOURCE_ATTRIBUTE = "source"
SOURCE_HTTP_CALLBACK = "vod-http-callback"
ERROR_CODE_ATTRIBUTE = "errorCode"


class HandOffFailedError(Exception):
    """The queue did not take the message; the caller must keep the event another way."""


class WorkQueue(Protocol):
    def hand_off(self, body: str, *, error_code: str) -> str:
        """Queue the body; return the SQS MessageId, or raise HandOffFailedError."""
        ...


class SqsWorkQueue:
    def __init__(self, queue_url: str, sqs_client: Any) -> None:
        self._queue_url = queue_url
        self._client = sqs_client

    def hand_off(self, body: str, *, error_code: str) -> str:
        try:
            response = self._client.send_message(
                QueueUrl=self._queue_url,
                MessageBody=body,
                MessageAttributes={
                    SOURCE_ATTRIBUTE: {"DataType": "String", "StringValue": SOURCE_HTTP_CALLBACK},
                    ERROR_CODE_ATTRIBUTE: {"DataType": "String", "StringValue": error_code},
                },
            )
        except (BotoCoreError, ClientError) as error:
            reason = type(error).__name__
            if isinstance(error, ClientError):
                reason = str(error.response.get("Error", {}).get("Code") or reason)
            msg = f"the work queue did not take the callback: {reason}"
            raise HandOffFailedError(msg) from None
        return str(response["MessageId"])
