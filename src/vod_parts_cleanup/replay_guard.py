"""Stops a captured callback header pair from being replayed with another body.

VOD's signature covers the URL, the timestamp and the key, not the body: while the timestamp
is fresh, someone who saw one callback could send the same headers with another VideoId. So
each accepted (timestamp, signature) is remembered with a hash of its body, in the
idempotency table, by one conditional write. The same pair with the same body is VOD's own
retry and passes (idempotency then replays its result); with another body it is refused.
"""

import hashlib
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from vod_parts_cleanup.callback_auth import (
    CallbackAuthUnavailableError,
    CallbackRejectedError,
    RejectionReason,
    SignedCallback,
)
from vod_parts_cleanup.idempotency import TABLE_EXPIRY_ATTRIBUTE, TABLE_KEY_ATTRIBUTE

# Stable, and apart from the idempotency records' prefix, so the two never collide.
REPLAY_KEY_PREFIX = "vod-parts-cleanup#callback"
BODY_HASH_ATTRIBUTE = "bodySha256"
# Kept a little past the freshness window, so an item never expires while its pair is usable.
RETENTION_MARGIN_SECONDS = 60


class ReplayGuard(Protocol):
    def admit(self, callback: SignedCallback, body: bytes) -> None:
        """Return if this pair may carry this body; raise CallbackRejectedError if not."""
        ...


class DynamoDBReplayGuard:
    """One conditional PutItem per callback: new pair, or the same pair with the same body."""

    def __init__(self, table_name: str, dynamodb_client: Any, *, max_skew_seconds: int) -> None:
        self._table_name = table_name
        self._client = dynamodb_client
        self._max_skew_seconds = max_skew_seconds

    def admit(self, callback: SignedCallback, body: bytes) -> None:
        body_hash = hashlib.sha256(body).hexdigest()
        try:
            self._client.put_item(
                TableName=self._table_name,
                Item={
                    TABLE_KEY_ATTRIBUTE: {"S": _replay_key(callback)},
                    BODY_HASH_ATTRIBUTE: {"S": body_hash},
                    TABLE_EXPIRY_ATTRIBUTE: {"N": str(self._expires_at(callback))},
                },
                ConditionExpression="attribute_not_exists(#key) OR #body = :body",
                ExpressionAttributeNames={
                    "#key": TABLE_KEY_ATTRIBUTE,
                    "#body": BODY_HASH_ATTRIBUTE,
                },
                ExpressionAttributeValues={":body": {"S": body_hash}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise CallbackRejectedError(
                    RejectionReason.REPLAY,
                    "this X-VOD-TIMESTAMP/X-VOD-SIGNATURE pair already came with another body",
                ) from None
            raise _unavailable(error) from None
        except BotoCoreError as error:
            raise _unavailable(error) from None

    def _expires_at(self, callback: SignedCallback) -> int:
        return callback.timestamp + self._max_skew_seconds + RETENTION_MARGIN_SECONDS


def _replay_key(callback: SignedCallback) -> str:
    """A hash of the pair, so the table holds no signature that could be reused."""
    pair = f"{callback.timestamp}|{callback.signature}".encode()
    return f"{REPLAY_KEY_PREFIX}#{hashlib.sha256(pair).hexdigest()}"


def _unavailable(error: Exception) -> CallbackAuthUnavailableError:
    return CallbackAuthUnavailableError(
        RejectionReason.REPLAY_CHECK_UNAVAILABLE,
        f"cannot record the callback in the idempotency table: {type(error).__name__}",
    )
