"""The SQS queues the functions hand notifications through, and what a message carries.

- The **work queue**: receivers (and uploaders, and the sweep) hand notifications to the
  paced consumer. The body is the notification exactly as it arrived (a VOD body, an
  EventBridge event or a direct request), so any message can be read, redriven or sent by
  hand the same way. What the consumer must know besides the body travels as message
  attributes: which trigger received it (an HTTP callback's body is an unsigned claim, to be
  confirmed with VOD) and when.
- The **relay queue** (relay mode): the receiver keeps every authenticated callback for the
  relay, which delivers it to the customer's own receiver. The body is the callback's body
  as VOD sent it (base64 only in the rare case SQS could not hold its characters), with its
  content type and when it was received as attributes.
"""

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vod_parts_cleanup.shared.aws_json import SQS, AwsJsonClient
from vod_parts_cleanup.shared.clock import Deadline
from vod_parts_cleanup.shared.errors import AwsCallError, HandOffFailedError, OutOfTimeError
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup.shared.vocabulary import Trigger

TRIGGER_ATTRIBUTE = "trigger"
SEND_BATCH = 10  # SQS takes at most ten messages a request
RECEIVED_AT_ATTRIBUTE = "receivedAt"
CONTENT_TYPE_ATTRIBUTE = "contentType"
BODY_ENCODING_ATTRIBUTE = "bodyEncoding"
BASE64 = "base64"
# What an SQS message body may hold (XML 1.0's characters); anything else is sent as base64.
_SQS_SAFE = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")


@dataclass(frozen=True)
class Delivery:
    """How a notification reached the consumer, as far as the message says."""

    trigger: Trigger | None = None
    received_at: float | None = None


def delivery_attributes(trigger: Trigger, *, received_at: float) -> dict[str, str]:
    """The message attributes a receiver sends along with a body."""
    return {TRIGGER_ATTRIBUTE: trigger.value, RECEIVED_AT_ATTRIBUTE: f"{received_at:.3f}"}


def delivery_of(message_attributes: Mapping[str, Any] | None) -> Delivery:
    """The delivery an SQS record's attributes describe (Lambda's camelCase record form)."""
    attributes = message_attributes or {}
    trigger_text = _string_value(attributes.get(TRIGGER_ATTRIBUTE))
    try:
        trigger = Trigger(trigger_text) if trigger_text else None
    except ValueError:
        trigger = None
    return Delivery(trigger=trigger, received_at=_received_at(attributes))


@dataclass(frozen=True)
class RelayedCallback:
    """A callback kept for the relay: its body, byte for byte, and how VOD sent it."""

    body: bytes
    content_type: str | None
    received_at: float | None


def relay_message(callback: RelayedCallback) -> tuple[str, dict[str, str]]:
    """The relay queue's message body and attributes for a callback."""
    attributes = {}
    if callback.received_at is not None:
        attributes[RECEIVED_AT_ATTRIBUTE] = f"{callback.received_at:.3f}"
    if callback.content_type:
        attributes[CONTENT_TYPE_ATTRIBUTE] = callback.content_type
    try:
        text = callback.body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or not _SQS_SAFE.fullmatch(text):
        attributes[BODY_ENCODING_ATTRIBUTE] = BASE64
        text = base64.b64encode(callback.body).decode("ascii")
    return text, attributes


def relayed_callback_of(body: str, message_attributes: Mapping[str, Any] | None) -> RelayedCallback:
    """The callback a relay queue record holds (Lambda's camelCase record form); ValueError
    if its body says base64 and is not."""
    attributes = message_attributes or {}
    if _string_value(attributes.get(BODY_ENCODING_ATTRIBUTE)) == BASE64:
        try:
            raw = base64.b64decode(body, validate=True)
        except binascii.Error as error:
            msg = f"the body is not the base64 its bodyEncoding says: {error}"
            raise ValueError(msg) from None
    else:
        raw = body.encode("utf-8")
    return RelayedCallback(
        body=raw,
        content_type=_string_value(attributes.get(CONTENT_TYPE_ATTRIBUTE)),
        received_at=_received_at(attributes),
    )


def receive_count(value: object) -> int:
    """Which try a received message is on (SQS's ApproximateReceiveCount, this one included;
    1 if it cannot be read)."""
    try:
        return max(int(str(value)), 1)
    except ValueError:
        return 1


def string_attributes_of(message_attributes: Mapping[str, Any] | None) -> dict[str, str]:
    """An SQS record's string attributes (Lambda's camelCase form), as ``hand_off`` takes
    them: what travels with a message moved to another queue."""
    found = {}
    for name, attribute in (message_attributes or {}).items():
        value = _string_value(attribute)
        if value is not None:
            found[name] = value
    return found


def _received_at(attributes: Mapping[str, Any]) -> float | None:
    """When the stack received what the message holds (Unix seconds), if it says so."""
    text = _string_value(attributes.get(RECEIVED_AT_ATTRIBUTE))
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _string_value(attribute: object) -> str | None:
    if isinstance(attribute, Mapping):
        value = attribute.get("stringValue")
        return value if isinstance(value, str) else None
    return None


def _message_attributes(attributes: Mapping[str, str]) -> dict[str, dict[str, str]]:
    return {
        name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
    }


@dataclass(frozen=True)
class HandedOff:
    """What a queue took of a list of bodies; ``problem``, in one line, why not the rest."""

    taken: int
    problem: str | None = None


def _why_not_taken(error: AwsCallError | OutOfTimeError) -> str:
    if isinstance(error, AwsCallError):
        return str(error)  # "SendMessageBatch failed: <AWS's code> (HTTP 400): <its message>"
    return f"no time left to send: {error}"


def _first_failed_entry(failed: object) -> str | None:
    """SendMessageBatch's own reason for an entry it refused, if it refused any."""
    if not isinstance(failed, list) or not failed or not isinstance(failed[0], Mapping):
        return None
    entry = failed[0]
    return f"SendMessageBatch refused {len(failed)}: {entry.get('Code')}: {entry.get('Message')}"


class SqsQueue:
    """A queue, through the function's own SQS client (AWS's JSON protocol, without
    botocore: the receiver hands off on its cold start, and botocore's import alone costs
    more than that start may)."""

    def __init__(self, queue_url: str, sqs_client: AwsJsonClient, *, name: str) -> None:
        self._queue_url = queue_url
        self._client = sqs_client
        self.name = name  # in errors: "the work queue did not take the message"

    def hand_off_many(self, bodies: Sequence[str], attributes: Mapping[str, str]) -> HandedOff:
        """Queue the bodies, ten to a request; how many the queue took, and why it took no
        more (the rest are left to whoever finds them again: the sweep runs again)."""
        taken = 0
        problem = None
        for start in range(0, len(bodies), SEND_BATCH):
            entries = [
                {
                    "Id": str(number),
                    "MessageBody": body,
                    "MessageAttributes": _message_attributes(attributes),
                }
                for number, body in enumerate(bodies[start : start + SEND_BATCH])
            ]
            try:
                answer = self._client.call(
                    "SendMessageBatch", {"QueueUrl": self._queue_url, "Entries": entries}
                )
            except (AwsCallError, OutOfTimeError) as error:
                problem = _why_not_taken(error)
                break
            successful = answer.get("Successful")
            taken += len(successful) if isinstance(successful, list) else 0
            problem = problem or _first_failed_entry(answer.get("Failed"))
        return HandedOff(taken, problem)

    def hand_off(self, body: str, attributes: Mapping[str, str]) -> str:
        """Queue the body; return the SQS MessageId, or raise HandOffFailedError."""
        request = {
            "QueueUrl": self._queue_url,
            "MessageBody": body,
            "MessageAttributes": _message_attributes(attributes),
        }
        try:
            response = self._client.call("SendMessage", request)
        except (AwsCallError, OutOfTimeError) as error:
            reason = error.code if isinstance(error, AwsCallError) else type(error).__name__
            msg = f"the {self.name} did not take the message: {reason}"
            raise HandOffFailedError(msg) from None
        message_id = response.get("MessageId")
        if not isinstance(message_id, str):
            msg = f"the {self.name} did not take the message: its answer has no MessageId"
            raise HandOffFailedError(msg)
        return message_id

    def retry_later(self, receipt_handle: str, seconds: int) -> None:
        """Let a received message come back after ``seconds`` (its next try), or raise
        HandOffFailedError; the caller reports it failed either way, so it is kept."""
        request = {
            "QueueUrl": self._queue_url,
            "ReceiptHandle": receipt_handle,
            "VisibilityTimeout": seconds,
        }
        try:
            self._client.call("ChangeMessageVisibility", request)
        except (AwsCallError, OutOfTimeError) as error:
            reason = error.code if isinstance(error, AwsCallError) else type(error).__name__
            msg = f"the {self.name} did not take the new delay: {reason}"
            raise HandOffFailedError(msg) from None


def work_queue_for(settings: Settings, deadline: Deadline) -> SqsQueue | None:
    """The queue ``WORK_QUEUE_URL`` names, through the function's own SQS client, bounded by
    its deadline (None without the setting)."""
    if settings.work_queue_url is None:
        return None
    return _queue(settings.work_queue_url, "work queue", settings, deadline)


def dead_letter_queue_for(settings: Settings, deadline: Deadline) -> SqsQueue | None:
    """The work queue's dead-letter queue, ``DEAD_LETTER_QUEUE_URL`` (None without it: then
    the queue's own redrive policy is the only way there)."""
    if settings.dead_letter_queue_url is None:
        return None
    return _queue(settings.dead_letter_queue_url, "dead-letter queue", settings, deadline)


def relay_queue_for(settings: Settings, deadline: Deadline) -> SqsQueue | None:
    """The queue ``RELAY_QUEUE_URL`` names (None without it: the relay is off)."""
    if settings.relay_queue_url is None:
        return None
    return _queue(settings.relay_queue_url, "relay queue", settings, deadline)


def _queue(url: str, name: str, settings: Settings, deadline: Deadline) -> SqsQueue:
    sqs = AwsJsonClient(SQS, settings.aws, seconds_left=deadline.seconds_left)
    return SqsQueue(url, sqs, name=name)
