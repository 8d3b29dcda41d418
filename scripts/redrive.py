"""Move every message of the failed-events queue (or of the dead-letter queue, where the
consumer gives notifications up) to the work queue, losing none; each is a new message there,
so it is tried again for another CLEANUP_RETRY_HOURS.

    python -m scripts.redrive --from SOURCE_QUEUE_URL --to WORK_QUEUE_URL [--dry-run]

A source message is deleted only once the work queue has taken its payload; a message whose
send or delete fails stays in the source queue and is visible again a minute later. A body
that cannot be read is left where it is, for a person.

The work queue gets a VOD notification, as an uploader would send it. So a Lambda on-failure
record gives its ``requestPayload``, and an EventBridge event (one EventBridge could not
deliver, or one inside such a record) gives its ``detail``: the consumer would read the whole
event too, but a plain body reads the same in the queue, the dead-letter queue and a log.
"""

import argparse
import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TextIO
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

from vod_parts_cleanup.consumer.intake import VIDEO_ID_PATTERN
from vod_parts_cleanup.shared.envelopes import decode_json_object, recognise_trigger
from vod_parts_cleanup.shared.errors import MalformedEventError
from vod_parts_cleanup.shared.queues import TRIGGER_ATTRIBUTE
from vod_parts_cleanup.shared.vocabulary import Trigger

# The most messages SQS returns per receive and takes per batch call.
BATCH_SIZE = 10
# A short long poll: it asks every SQS server, so an empty answer means an empty queue.
WAIT_SECONDS = 1
# How long a received message stays hidden. Long enough that a message left behind (failed
# or unreadable) is not received again in the same run, so the run ends; short enough that
# the next run, a minute later, retries it.
VISIBILITY_TIMEOUT_SECONDS = 60

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_ARGUMENTS = 2

_QUEUE_HOST = re.compile(
    r"^(?:sqs(?:-fips)?\.(?P<region>[a-z0-9-]+)|(?P<legacy_region>[a-z0-9-]+)\.queue)"
    r"\.amazonaws\.com(?:\.cn)?$"
)


class PayloadKind(StrEnum):
    """Where a message came from, which decides what the work queue gets from it."""

    LAMBDA_FAILURE_DIRECT = "lambda-failure/direct"
    LAMBDA_FAILURE_EVENTBRIDGE = "lambda-failure/eventbridge"
    EVENTBRIDGE_UNDELIVERED = "eventbridge-undelivered"
    VOD_BODY = "vod-body"
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Payload:
    kind: PayloadKind
    body: str = ""  # what the work queue gets; empty when unreadable
    video_id: str | None = None
    problem: str | None = None  # why an unreadable message cannot be moved
    # The message attributes the work queue gets with it, in SQS's form: the source
    # message's own, so what a receiver said of a body travels with it (trigger=http keeps
    # an unsigned claim confirmed with VOD); for a failed direct invocation, trigger=direct:
    # it was a person's request, and is confirmed as one (consumer.trust).
    attributes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceMessage:
    message_id: str
    receipt_handle: str
    payload: Payload

    @classmethod
    def from_sqs(cls, message: dict[str, Any]) -> "SourceMessage":
        attributes = {
            name: {
                key: value[key]
                for key in ("DataType", "StringValue", "BinaryValue")
                if key in value
            }
            for name, value in (message.get("MessageAttributes") or {}).items()
        }
        return cls(
            message_id=str(message["MessageId"]),
            receipt_handle=str(message["ReceiptHandle"]),
            payload=read_payload(str(message.get("Body", "")), attributes),
        )

    @property
    def readable(self) -> bool:
        return self.payload.kind is not PayloadKind.UNREADABLE


@dataclass
class Summary:
    dry_run: bool = False
    received: int = 0
    moved: int = 0  # in a dry run: would be moved
    failed: int = 0
    unreadable: int = 0
    errors: list[str] = field(default_factory=list)  # calls that were not about one message

    @property
    def succeeded(self) -> bool:
        return self.failed == 0 and not self.errors


def read_payload(body: str, attributes: Mapping[str, Mapping[str, str]] | None = None) -> Payload:
    """What the work queue should get for one source message, or why the message must stay."""
    try:
        document = decode_json_object(body)
    except MalformedEventError as error:
        return Payload(PayloadKind.UNREADABLE, problem=str(error))
    payload: object = document
    kind = PayloadKind.VOD_BODY
    if is_lambda_failure_record(document):
        payload = document["requestPayload"]
        kind = PayloadKind.LAMBDA_FAILURE_DIRECT
    if isinstance(payload, dict) and recognise_trigger(payload) is Trigger.EVENTBRIDGE:
        payload = payload["detail"]
        kind = (
            PayloadKind.LAMBDA_FAILURE_EVENTBRIDGE
            if kind is PayloadKind.LAMBDA_FAILURE_DIRECT
            else PayloadKind.EVENTBRIDGE_UNDELIVERED
        )
    if not isinstance(payload, dict):
        problem = f"the payload is a JSON {type(payload).__name__}, not an object"
        return Payload(PayloadKind.UNREADABLE, problem=problem)
    if recognise_trigger(payload) is not Trigger.DIRECT:
        # An SQS batch or an HTTP request would be rejected by the work queue's reader.
        problem = f"the payload is an {recognise_trigger(payload).value} event, not a VOD body"
        return Payload(PayloadKind.UNREADABLE, problem=problem)
    # A body that is already the notification is sent byte for byte as it arrived.
    text = body if payload is document else json.dumps(payload)
    kept = dict(attributes or {})
    if kind is PayloadKind.LAMBDA_FAILURE_DIRECT:
        kept[TRIGGER_ATTRIBUTE] = {"DataType": "String", "StringValue": Trigger.DIRECT.value}
    return Payload(kind, body=text, video_id=video_id_of(payload), attributes=kept)


def is_lambda_failure_record(document: dict[str, Any]) -> bool:
    """Lambda's on-failure destination record; its ``requestPayload`` is the original event."""
    return "requestContext" in document and "requestPayload" in document


def video_id_of(payload: dict[str, Any]) -> str | None:
    """The VideoId for the dry run's listing, only if it looks like one (never raw input)."""
    for key, value in payload.items():
        if key.strip() == "VideoId" and isinstance(value, str):
            video_id = value.strip()
            return video_id if VIDEO_ID_PATTERN.fullmatch(video_id) else None
    return None


def describe(error: Exception) -> str:
    """An AWS error's code and message: never the request, so never a body or a credential."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'ClientError')}: {details.get('Message', '')}".rstrip(": ")
    return f"{type(error).__name__}: {error}"


def receive(client: Any, queue_url: str, limit: int, wait_seconds: int) -> list[dict[str, Any]]:
    response = client.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=limit,
        WaitTimeSeconds=wait_seconds,
        VisibilityTimeout=VISIBILITY_TIMEOUT_SECONDS,
        MessageAttributeNames=["All"],
    )
    return list(response.get("Messages", []))


def drain(
    client: Any,
    queue_url: str,
    *,
    max_messages: int | None = None,
    wait_seconds: int = WAIT_SECONDS,
) -> Iterator[list[SourceMessage]]:
    """Batches of messages new to this run, until the queue has nothing new to give.

    A message this run already handled is skipped: if it comes back (its visibility timeout
    ran out during a long run), handling it again could repeat a failure forever. A receive
    that brings back only such messages ends the run; what is left is for the next one.
    """
    seen: set[str] = set()
    while max_messages is None or len(seen) < max_messages:
        limit = BATCH_SIZE if max_messages is None else min(BATCH_SIZE, max_messages - len(seen))
        new = [
            message
            for message in receive(client, queue_url, limit, wait_seconds)
            if message["MessageId"] not in seen
        ]
        if not new:
            return
        seen.update(message["MessageId"] for message in new)
        yield [SourceMessage.from_sqs(message) for message in new]


def failures_of(response: dict[str, Any], messages: Sequence[SourceMessage]) -> dict[str, str]:
    """Per-message reasons from a batch answer whose entry ids are the messages' positions.

    An entry SQS did not list as successful counts as failed, listed as failed or not.
    """
    successful = {entry["Id"] for entry in response.get("Successful", [])}
    reasons = {
        entry["Id"]: f"{entry.get('Code', 'Failed')}: {entry.get('Message', '')}".rstrip(": ")
        for entry in response.get("Failed", [])
    }
    return {
        message.message_id: reasons.get(str(position), "no answer for this entry")
        for position, message in enumerate(messages)
        if str(position) not in successful
    }


def send(client: Any, queue_url: str, messages: Sequence[SourceMessage]) -> dict[str, str]:
    """Send the payloads; return the reason for each message the queue did not take."""
    entries = [{"Id": str(position), **sent(message)} for position, message in enumerate(messages)]
    try:
        response = client.send_message_batch(QueueUrl=queue_url, Entries=entries)
    except (BotoCoreError, ClientError):
        # One entry the queue refuses (too large, say) can fail the whole call: sent one by
        # one, it holds back only itself.
        return send_one_by_one(client, queue_url, messages)
    return failures_of(response, messages)


def sent(message: SourceMessage) -> dict[str, Any]:
    """What SendMessage gets for a message: its payload, and its attributes if it has any."""
    fields: dict[str, Any] = {"MessageBody": message.payload.body}
    if message.payload.attributes:
        fields["MessageAttributes"] = {
            name: dict(value) for name, value in message.payload.attributes.items()
        }
    return fields


def send_one_by_one(
    client: Any, queue_url: str, messages: Sequence[SourceMessage]
) -> dict[str, str]:
    failures: dict[str, str] = {}
    for message in messages:
        try:
            client.send_message(QueueUrl=queue_url, **sent(message))
        except (BotoCoreError, ClientError) as error:
            failures[message.message_id] = describe(error)
    return failures


def delete(client: Any, queue_url: str, messages: Sequence[SourceMessage]) -> dict[str, str]:
    """Delete the messages; return the reason for each one that is still in the queue."""
    entries = [
        {"Id": str(position), "ReceiptHandle": message.receipt_handle}
        for position, message in enumerate(messages)
    ]
    try:
        response = client.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    except (BotoCoreError, ClientError) as error:
        return dict.fromkeys((message.message_id for message in messages), describe(error))
    return failures_of(response, messages)


def make_visible(client: Any, queue_url: str, messages: Sequence[SourceMessage]) -> dict[str, str]:
    """Give received messages back to the queue now rather than after the visibility timeout."""
    failures: dict[str, str] = {}
    for start in range(0, len(messages), BATCH_SIZE):
        batch = messages[start : start + BATCH_SIZE]
        entries = [
            {"Id": str(position), "ReceiptHandle": message.receipt_handle, "VisibilityTimeout": 0}
            for position, message in enumerate(batch)
        ]
        try:
            response = client.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
        except (BotoCoreError, ClientError) as error:
            failures.update(
                dict.fromkeys((message.message_id for message in batch), describe(error))
            )
        else:
            failures.update(failures_of(response, batch))
    return failures


def move(
    client: Any,
    source_url: str,
    destination_url: str,
    messages: Sequence[SourceMessage],
    *,
    summary: Summary,
    out: TextIO,
) -> None:
    """One received batch: send what can be read, then delete exactly what was sent."""
    readable = [message for message in messages if message.readable]
    not_sent = send(client, destination_url, readable) if readable else {}
    sent = [message for message in readable if message.message_id not in not_sent]
    not_deleted = delete(client, source_url, sent) if sent else {}
    for message in messages:
        if not message.readable:
            summary.unreadable += 1
            print_line("kept", message, f"unreadable: {message.payload.problem}", out)
        elif message.message_id in not_sent:
            summary.failed += 1
            print_line("failed", message, f"not sent: {not_sent[message.message_id]}", out)
        elif message.message_id in not_deleted:
            # Harmless: the function answers a notification it already cleaned from its table.
            summary.failed += 1
            reason = not_deleted[message.message_id]
            print_line(
                "failed", message, f"sent, not deleted (a rerun sends it again): {reason}", out
            )
        else:
            summary.moved += 1
            print_line("moved", message, what_is_sent(message.payload), out)


def redrive(
    client: Any,
    source_url: str,
    destination_url: str,
    *,
    max_messages: int | None = None,
    wait_seconds: int = WAIT_SECONDS,
    out: TextIO,
) -> Summary:
    """Move every message of the source queue to the destination queue."""
    summary = Summary()
    try:
        for messages in drain(
            client, source_url, max_messages=max_messages, wait_seconds=wait_seconds
        ):
            summary.received += len(messages)
            move(client, source_url, destination_url, messages, summary=summary, out=out)
    except (BotoCoreError, ClientError) as error:
        summary.errors.append(f"could not receive from the source queue: {describe(error)}")
    print_summary(summary, out)
    return summary


def preview(
    client: Any,
    source_url: str,
    *,
    max_messages: int | None = None,
    wait_seconds: int = WAIT_SECONDS,
    out: TextIO,
) -> Summary:
    """What a redrive would send, changing nothing: every message is made visible again."""
    summary = Summary(dry_run=True)
    received: list[SourceMessage] = []
    try:
        for messages in drain(
            client, source_url, max_messages=max_messages, wait_seconds=wait_seconds
        ):
            received.extend(messages)
            for message in messages:
                print_preview_line(message, summary, out)
    except (BotoCoreError, ClientError) as error:
        summary.errors.append(f"could not receive from the source queue: {describe(error)}")
    finally:
        # Also on Ctrl-C: the messages must not stay hidden from the function's operators.
        still_hidden = make_visible(client, source_url, received)
    if still_hidden:
        summary.errors.append(
            f"{len(still_hidden)} messages could not be made visible again; they will be "
            f"within {VISIBILITY_TIMEOUT_SECONDS} s ({next(iter(still_hidden.values()))})"
        )
    print_summary(summary, out)
    return summary


def print_preview_line(message: SourceMessage, summary: Summary, out: TextIO) -> None:
    summary.received += 1
    if message.readable:
        summary.moved += 1
        print_line("would send", message, what_is_sent(message.payload), out)
    else:
        summary.unreadable += 1
        print_line("would keep", message, f"unreadable: {message.payload.problem}", out)


def what_is_sent(payload: Payload) -> str:
    video_id = f"VideoId={payload.video_id}" if payload.video_id else "no VideoId"
    return f"{payload.kind}  {video_id}"


def print_line(action: str, message: SourceMessage, detail: str, out: TextIO) -> None:
    """One line per message, never its body: the message id finds it in the console."""
    print(f"{action:<11} {message.message_id}  {detail}", file=out)


def print_summary(summary: Summary, out: TextIO) -> None:
    left = "would stay" if summary.dry_run else "left"
    rows = [
        ("received", summary.received, ""),
        ("would move" if summary.dry_run else "moved", summary.moved, ""),
        (
            "failed",
            summary.failed,
            f"{left} in the source queue, visible again within "
            f"{VISIBILITY_TIMEOUT_SECONDS} s: run again to retry",
        ),
        ("unreadable", summary.unreadable, f"{left} in the source queue for a person to read"),
    ]
    if summary.dry_run:
        print("dry run: nothing was sent or deleted", file=out)
    for label, count, note in rows:
        print(f"{label:<11}{count:>5}{'  ' + note if count and note else ''}", file=out)
    for error in summary.errors:
        print(f"error: {error}", file=out)


def region_from_queue_url(url: str) -> str | None:
    """The region in an SQS queue URL's host (sqs.REGION.amazonaws.com, REGION.queue...)."""
    match = _QUEUE_HOST.match(urlsplit(url).hostname or "")
    if match is None:
        return None
    return match.group("region") or match.group("legacy_region")


def positive_integer(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        msg = f"expected a whole number of at least 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return number


def queue_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in {"https", "http"} or not parts.hostname or parts.path in {"", "/"}:
        example = "https://sqs.REGION.amazonaws.com/ACCOUNT/NAME"
        msg = f"expected a queue URL such as {example}, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return text


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.redrive",
        description=(
            "Move every message of the failed-events queue to the work queue. A message is "
            "deleted only after the work queue took it; unreadable ones are left in place."
        ),
    )
    parser.add_argument(
        "--from",
        dest="source",
        required=True,
        type=queue_url,
        metavar="SOURCE_QUEUE_URL",
        help="the failed-events queue (the stack output FailedEventsQueueUrl)",
    )
    parser.add_argument(
        "--to",
        dest="destination",
        required=True,
        type=queue_url,
        metavar="WORK_QUEUE_URL",
        help="the work queue (the stack output WorkQueueUrl)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be sent; change nothing"
    )
    parser.add_argument(
        "--max-messages", type=positive_integer, metavar="N", help="stop after receiving N messages"
    )
    parser.add_argument("--region", help="default: the region in the queue URL, else AWS_REGION")
    arguments = parser.parse_args(argv)
    if arguments.source.rstrip("/") == arguments.destination.rstrip("/"):
        parser.error("--from and --to are the same queue")
    regions = {
        region_from_queue_url(arguments.source),
        region_from_queue_url(arguments.destination),
    }
    if arguments.region is None and len(regions - {None}) > 1:
        parser.error("--from and --to are in different regions; one run uses one region")
    return arguments


def build_client(region: str | None) -> Any:
    """An SQS client from the AWS CLI's usual credential chain, retrying throttling itself."""
    session = boto3.session.Session(region_name=region)
    return session.client("sqs", config=Config(retries={"mode": "standard", "max_attempts": 5}))


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    region = arguments.region or region_from_queue_url(arguments.source)
    try:
        client = build_client(region)
    except NoRegionError:
        print("no AWS region: pass --region or set AWS_REGION", file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    if arguments.dry_run:
        summary = preview(
            client, arguments.source, max_messages=arguments.max_messages, out=sys.stdout
        )
    else:
        summary = redrive(
            client,
            arguments.source,
            arguments.destination,
            max_messages=arguments.max_messages,
            out=sys.stdout,
        )
    return EXIT_OK if summary.succeeded else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
