"""``vod-parts-cleanup invoke EVENT_FILE``: run the real handler on a sample event, locally.

With no VOD endpoint or credentials configured it starts the local VOD stand-in, seeded so
the event's videos have upload parts, and says so; otherwise it calls the configured VOD.
With no idempotency table it embeds DynamoDB and SQS (moto). An HTTP callback sample signed
with the local callback key is signed again at the current time, so the real signature and
freshness check runs on it. It prints the result, the VOD requests made, what was queued
and the metrics emitted, readably.
"""

import argparse
import contextlib
import io
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from vod_parts_cleanup.cleanup import VOD_CALL_LOG_MESSAGE
from vod_parts_cleanup.idempotency import REPLAY_LOG_MESSAGE
from vod_parts_cleanup.intake import (
    MalformedEventError,
    decode_json_object,
    read_notification,
    recognise_trigger,
)
from vod_parts_cleanup.local.lambda_context import LocalLambdaContext
from vod_parts_cleanup.models import Trigger, UploadEvent
from vod_parts_cleanup.settings import Settings, SettingsError


@dataclass
class CapturedOutput(io.TextIOBase):
    """Stands in for stdout while the handler runs: Lambda's log stream, split into lines."""

    lines: list[str] = field(default_factory=list)
    _partial: str = ""

    def write(self, text: str) -> int:
        pieces = (self._partial + text).split("\n")
        self._partial = pieces.pop()
        self.lines.extend(piece for piece in pieces if piece.strip())
        return len(text)

    def drain(self) -> list[dict[str, Any]]:
        """The JSON records written since the last drain (EMF metrics and structured logs)."""
        records = []
        for line in self.lines:
            try:
                record = json.loads(line)
            except ValueError:
                record = {"message": line}
            records.append(record if isinstance(record, dict) else {"message": line})
        self.lines.clear()
        return records


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vod-parts-cleanup", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    invoke = commands.add_parser("invoke", help="run the handler on an event file")
    invoke.add_argument(
        "event_file", type=Path, help="a JSON event, e.g. events/sqs-completed.json"
    )
    invoke.add_argument("--repeat", type=int, default=1, help="invoke N times (default 1)")
    invoke.add_argument("--logs", action="store_true", help="also print the structured logs")
    invoke.add_argument("--timeout", type=float, default=30.0, help="the Lambda timeout, seconds")
    invoke.add_argument(
        "--as-is",
        action="store_true",
        help="send an HTTP callback with the headers in the file (do not sign it again)",
    )
    sign = commands.add_parser(
        "sign",
        help="print an HTTP callback event signed now, e.g. for sam local invoke -e",
    )
    sign.add_argument("event_file", type=Path, help="an API Gateway event, e.g. events/http-*.json")
    arguments = parser.parse_args(argv)
    if arguments.command == "invoke" and arguments.repeat < 1:
        parser.error("--repeat must be at least 1")
    try:
        event = json.loads(arguments.event_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        parser.error(f"cannot read {arguments.event_file}: {error}")
    try:
        if arguments.command == "sign":
            return _sign(event, sys.stdout)
        return _invoke(event, arguments, sys.stdout)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _sign(event: Any, out: TextIO) -> int:
    """The event signed at the current time with VOD_CALLBACK_AUTH_KEY, or the local key."""
    from vod_parts_cleanup.local.callbacks import (  # noqa: PLC0415 - only for HTTP events
        LOCAL_CALLBACK_AUTH_KEY,
        sign_callback,
    )

    if recognise_trigger(event) is not Trigger.HTTP:
        print("error: not an API Gateway HTTP API event", file=sys.stderr)
        return 2
    settings = Settings.from_environment()
    key = settings.callback_auth_key
    signed = sign_callback(event, key.get_secret_value() if key else LOCAL_CALLBACK_AUTH_KEY)
    print(json.dumps(signed, indent=2), file=out)
    return 0


def _invoke(event: Any, arguments: argparse.Namespace, out: TextIO) -> int:
    settings = Settings.from_environment()
    signing_key = None
    if recognise_trigger(event) is Trigger.HTTP:
        signing_key = _callback_signing_key(event, settings, out)
        if arguments.as_is:
            print("callback sent as it is (--as-is), with the file's own headers", file=out)
            signing_key = None
    with _vod_for(settings, event, out) as stand_in, _local_aws_for(settings, out) as local_aws:
        from vod_parts_cleanup import handler  # noqa: PLC0415 - after the stand-in is set up

        if signing_key is not None:
            event = _signed_now(event, signing_key, out)

        captured = CapturedOutput()
        failures = 0
        for number in range(1, arguments.repeat + 1):
            seen = len(stand_in.requests) if stand_in else 0
            context = LocalLambdaContext(timeout_seconds=arguments.timeout)
            print(
                f"\n== invocation {number} of {arguments.repeat}: {arguments.event_file}", file=out
            )
            with contextlib.redirect_stdout(captured):
                try:
                    response: Any = handler.lambda_handler(event, context)
                except Exception as error:
                    response = None
                    failures += 1
                    print(f"raised {type(error).__name__}: {error}", file=out)
            if response is not None:
                print("result:", file=out)
                print(_indent(json.dumps(_readable(response), indent=2)), file=out)
            records = captured.drain()
            _print_event_results(records, out)
            _print_vod_requests(stand_in.requests[seen:] if stand_in else None, records, out)
            if local_aws is not None:
                _print_queued(local_aws.take_queued(), out)
            _print_metrics(records, out)
            if arguments.logs:
                _print_logs(records, out)
    return 1 if failures else 0


def _callback_signing_key(event: Any, settings: Settings, out: TextIO) -> str | None:
    """The key to sign a sample callback with again, configuring the local one if none is.

    None when the callback must go as it is: its key is in Secrets Manager, or the sample is
    not signed with the local key (it shows a rejection).
    """
    from vod_parts_cleanup.local.callbacks import (  # noqa: PLC0415 - only for HTTP events
        LOCAL_CALLBACK_AUTH_KEY,
        callback_url_of,
        is_signed_with,
    )

    if settings.callback_auth_key_secret_id:
        print("callback sent as it is: its auth key is in Secrets Manager", file=out)
        return None
    key = settings.callback_auth_key.get_secret_value() if settings.callback_auth_key else None
    if key is None:
        key = LOCAL_CALLBACK_AUTH_KEY
        os.environ["VOD_CALLBACK_AUTH_KEY"] = key
        print("no VOD_CALLBACK_AUTH_KEY configured: using the local callback key", file=out)
    if not settings.callback_urls:
        os.environ["VOD_CALLBACK_URL"] = callback_url_of(event)
        print(f"no VOD_CALLBACK_URL configured: using {callback_url_of(event)}", file=out)
    if not is_signed_with(event, LOCAL_CALLBACK_AUTH_KEY):
        print(
            "callback sent as it is: it is not signed with the local callback key "
            "(expect a 401 from the signature check)",
            file=out,
        )
        return None
    return key


def _signed_now(event: Any, key: str, out: TextIO) -> Any:
    """Signed again at the current time, so it passes the freshness check like a live one."""
    from vod_parts_cleanup.local.callbacks import sign_callback  # noqa: PLC0415

    signed = sign_callback(event, key)
    print(
        "callback signed again with the configured key at the current time "
        f"(X-VOD-TIMESTAMP {signed['headers']['x-vod-timestamp']}); --as-is sends the file's "
        "own, stale headers",
        file=out,
    )
    return signed


def _readable(response: Any) -> Any:
    """An HTTP answer with its JSON body shown as JSON rather than as one escaped string."""
    if isinstance(response, dict) and isinstance(response.get("body"), str):
        with contextlib.suppress(ValueError):
            return response | {"body": json.loads(response["body"])}
    return response


@dataclass
class LocalAws:
    """The embedded AWS of a local run: the work queue, to show what was handed to it."""

    sqs_client: Any
    work_queue_url: str | None

    def take_queued(self) -> list[dict[str, Any]]:
        """The messages queued since the last call, removed so each is shown once."""
        if self.work_queue_url is None:
            return []
        answer = self.sqs_client.receive_message(
            QueueUrl=self.work_queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        messages: list[dict[str, Any]] = answer.get("Messages", [])
        for message in messages:
            self.sqs_client.delete_message(
                QueueUrl=self.work_queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
        return messages


@contextlib.contextmanager
def _local_aws_for(settings: Settings, out: TextIO) -> Iterator[LocalAws | None]:
    """An embedded DynamoDB and SQS (moto, in this process) when no table is configured."""
    if settings.idempotency_table_name:
        print(f"idempotency table: {settings.idempotency_table_name}", file=out)
        yield None
        return
    if settings.credentials_secret_id or settings.callback_auth_key_secret_id:
        # moto would also answer the Secrets Manager call, so leave AWS alone.
        print("no IDEMPOTENCY_TABLE_NAME: running without idempotency", file=out)
        yield None
        return
    import boto3  # noqa: PLC0415 - development tools, only for local runs
    from moto import mock_aws  # noqa: PLC0415

    from vod_parts_cleanup.local.dynamodb import create_idempotency_table  # noqa: PLC0415

    for variable, value in _LOCAL_AWS_ENVIRONMENT.items():
        os.environ.setdefault(variable, value)
    region = os.environ["AWS_DEFAULT_REGION"]
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=region)
        os.environ["IDEMPOTENCY_TABLE_NAME"] = create_idempotency_table(dynamodb)
        print(
            "no IDEMPOTENCY_TABLE_NAME configured: using an embedded DynamoDB (moto) with the "
            "table from template.yaml",
            file=out,
        )
        sqs = boto3.client("sqs", region_name=region)
        queue_url = None
        if settings.work_queue_url is None:
            queue_url = sqs.create_queue(QueueName=LOCAL_WORK_QUEUE)["QueueUrl"]
            os.environ["WORK_QUEUE_URL"] = queue_url
            print(f"no WORK_QUEUE_URL configured: embedded SQS queue {queue_url}", file=out)
        yield LocalAws(sqs, queue_url)


LOCAL_WORK_QUEUE = "vod-parts-cleanup-work"
_LOCAL_AWS_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
}


@contextlib.contextmanager
def _vod_for(settings: Settings, event: Any, out: TextIO) -> Iterator[Any]:
    """The local stand-in when nothing points at a real VOD, else nothing (use the real one)."""
    configured = (
        settings.vod_endpoint or settings.has_static_credentials or settings.credentials_secret_id
    )
    if configured:
        print(f"using the configured VOD at {settings.vod_host}", file=out)
        yield None
        return
    from vod_parts_cleanup.local import (  # noqa: PLC0415 - only when no VOD is configured
        LOCAL_ACCESS_KEY_ID,
        LOCAL_ACCESS_KEY_SECRET,
        LocalVod,
    )

    with LocalVod() as stand_in:
        video_ids = _video_ids_in(event)
        for video_id in video_ids:
            stand_in.add_video(video_id, has_parts=True)
        os.environ.update(
            {
                "VOD_ENDPOINT": stand_in.endpoint,
                "VOD_PROTOCOL": "http",
                "ALIBABA_CLOUD_ACCESS_KEY_ID": LOCAL_ACCESS_KEY_ID,
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET": LOCAL_ACCESS_KEY_SECRET,
            }
        )
        seeded = ", ".join(video_ids) or "no video"
        print(
            f"no VOD endpoint or credentials configured: using the local VOD stand-in at "
            f"http://{stand_in.endpoint} (seeded: {seeded} with upload parts)",
            file=out,
        )
        yield stand_in


def _video_ids_in(event: Any) -> list[str]:
    """The VideoIds the handler will clean up, so the stand-in can hold parts for them."""
    video_ids = []
    for body in _notification_bodies(event):
        notification = read_notification(body)
        if isinstance(notification, UploadEvent) and notification.video_id not in video_ids:
            video_ids.append(notification.video_id)
    return video_ids


def _notification_bodies(event: Any) -> list[object]:
    trigger = recognise_trigger(event)
    texts: list[str | None]
    if trigger is Trigger.DIRECT:
        return [event]
    if trigger is Trigger.EVENTBRIDGE:
        return [event["detail"]]
    if trigger is Trigger.SQS:
        texts = [record.get("body") for record in event["Records"]]
    else:
        from aws_lambda_powertools.utilities.data_classes import (  # noqa: PLC0415
            APIGatewayProxyEventV2,
        )

        texts = [APIGatewayProxyEventV2(event).decoded_body]
    bodies: list[object] = []
    for text in texts:
        with contextlib.suppress(MalformedEventError):
            bodies.append(decode_json_object(text))
    return bodies


def _print_event_results(records: list[dict[str, Any]], out: TextIO) -> None:
    """One line per event handled, from the logs: an SQS batch answers only with failures."""
    results = [record for record in records if isinstance(record.get("result"), dict)]
    replays = [record["message"] == REPLAY_LOG_MESSAGE for record in results]
    if len(results) < 2 and not any(replays):
        return
    print("events handled:", file=out)
    for record, replayed_record in zip(results, replays, strict=True):
        result = record["result"]
        where = f"message {record['messageId']}: " if "messageId" in record else ""
        reason = f" ({result['errorCode']})" if "errorCode" in result else ""
        replayed = " - replayed from the idempotency store" if replayed_record else ""
        print(
            f"  {where}{result.get('videoId', '-')} {result['status']}{reason}{replayed}",
            file=out,
        )


def _print_vod_requests(
    requests: Sequence[Any] | None, records: list[dict[str, Any]], out: TextIO
) -> None:
    if requests is not None:
        print(f"VOD requests received by the stand-in: {len(requests)}", file=out)
        for request in requests:
            query = " ".join(f"{key}={value}" for key, value in sorted(request.query.items()))
            signature = "valid signature" if request.signature_valid else "INVALID signature"
            answer = request.error_code or "OK"
            print(
                f"  {request.method} {request.path} {request.action} {request.version} {query}"
                f" ({signature}) -> {request.status} {answer} RequestId {request.request_id}",
                file=out,
            )
        return
    calls = [record for record in records if record.get("message") == VOD_CALL_LOG_MESSAGE]
    print(f"VOD calls made: {len(calls)}", file=out)
    for call in calls:
        print(
            f"  attempt {call.get('attempt')}: HTTP {call.get('httpStatus')} "
            f"{call.get('errorCode') or 'OK'} RequestId {call.get('vodRequestId')} "
            f"in {call.get('latencyMs')} ms",
            file=out,
        )


def _print_queued(messages: list[dict[str, Any]], out: TextIO) -> None:
    if not messages:
        return
    print(f"handed to the work queue: {len(messages)} message(s)", file=out)
    for message in messages:
        attributes = message.get("MessageAttributes", {})
        error_code = attributes.get("errorCode", {}).get("StringValue", "-")
        print(f"  {message['MessageId']} ({error_code}): {message['Body']}", file=out)


def _print_metrics(records: list[dict[str, Any]], out: TextIO) -> None:
    emf = [record for record in records if "_aws" in record]
    print(f"metrics emitted: {len(emf)}", file=out)
    for record in emf:
        for directive in record["_aws"]["CloudWatchMetrics"]:
            dimension_names: list[str] = max(directive["Dimensions"], key=len, default=[])
            dimensions = ", ".join(f"{name}={record[name]}" for name in dimension_names)
            for metric in directive["Metrics"]:
                values = record[metric["Name"]]
                shown = " ".join(f"{round(value, 1):g}" for value in _as_list(values))
                print(
                    f"  {directive['Namespace']}/{metric['Name']} = {shown} {metric['Unit']}"
                    f"  [{dimensions}]",
                    file=out,
                )


def _print_logs(records: list[dict[str, Any]], out: TextIO) -> None:
    logs = [record for record in records if "_aws" not in record]
    print(f"logs: {len(logs)}", file=out)
    for record in logs:
        print(f"  {json.dumps(record)}", file=out)


def _as_list(value: float | list[float]) -> list[float]:
    return value if isinstance(value, list) else [value]


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


if __name__ == "__main__":
    raise SystemExit(main())
