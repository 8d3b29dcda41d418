"""``vod-parts-cleanup``: run the real function locally, against stand-ins for what is not set up.

- ``invoke EVENT_FILE``: the handler on a sample event (``events/``); with no VOD endpoint or
  credentials configured it uses the local VOD stand-in, seeded so the event's videos have
  upload parts; with no idempotency table it embeds DynamoDB and SQS (moto). What a receiver
  hands to the work queue, the consumer then cleans, as in AWS. An HTTP callback sample
  signed with the local callback key is signed again at the current time, so the real
  signature and freshness check runs on it.
- ``sign EVENT_FILE``: print an HTTP callback sample signed now (for ``sam local invoke``).
"""

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from vod_parts_cleanup.intake import recognise_trigger
from vod_parts_cleanup.local.callbacks import (
    LOCAL_CALLBACK_AUTH_KEY,
    OLD_CALLBACK_AUTH_KEY,
    callback_url_of,
    is_signed_with,
    sign_callback,
)
from vod_parts_cleanup.local.report import print_invocation, print_run_figures
from vod_parts_cleanup.local.runner import LocalRun, local_world, video_ids_in
from vod_parts_cleanup.local.sqs import receive_all
from vod_parts_cleanup.models import Trigger
from vod_parts_cleanup.settings import Settings, SettingsError


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = _parser()
    arguments = parser.parse_args(argv)
    if arguments.command == "invoke" and arguments.repeat < 1:
        parser.error("--repeat must be at least 1")
    try:
        event = json.loads(arguments.event_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        parser.error(f"cannot read {arguments.event_file}: {error}")
    try:
        settings = Settings.from_environment()
        if arguments.command == "sign":
            return _sign(event, settings, out)
        return _invoke(event, settings, arguments, out)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
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
    return parser


def _sign(event: Any, settings: Settings, out: TextIO) -> int:
    """The event signed at the current time with VOD_CALLBACK_AUTH_KEY, or the local key."""
    if recognise_trigger(event) is not Trigger.HTTP:
        print("error: not an API Gateway HTTP API event", file=sys.stderr)
        return 2
    key = settings.callback_auth_key
    signed = sign_callback(event, key.get_secret_value() if key else LOCAL_CALLBACK_AUTH_KEY)
    print(json.dumps(signed, indent=2), file=out)
    return 0


def _invoke(event: Any, settings: Settings, arguments: argparse.Namespace, out: TextIO) -> int:
    if recognise_trigger(event) is Trigger.HTTP:
        settings, event = _callback_ready(event, settings, as_is=arguments.as_is, out=out)
    with local_world(settings, video_ids=video_ids_in(event)) as world:
        for note in world.notes:
            print(note, file=out)
        run = LocalRun(world, timeout_seconds=arguments.timeout)
        everything = []
        failures = 0
        for number in range(1, arguments.repeat + 1):
            print(
                f"\n== invocation {number} of {arguments.repeat}: {arguments.event_file}", file=out
            )
            for step, invocation in enumerate(run.invoke(event, str(arguments.event_file))):
                if step:
                    print(f"-- {invocation.label}", file=out)
                print_invocation(invocation, out, logs=arguments.logs)
                failures += invocation.error is not None
                everything.append(invocation)
        depth = None
        if world.sqs_client is not None and world.work_queue_url is not None:
            depth = len(receive_all(world.sqs_client, world.work_queue_url))
        print(file=out)
        print_run_figures(everything, world.settings, out, queue_depth=depth)
    return 1 if failures else 0


def _callback_ready(
    event: Any, settings: Settings, *, as_is: bool, out: TextIO
) -> tuple[Settings, Any]:
    """The settings and the event for a sample callback: configured with the local key and
    the sample's URL where nothing is, and signed again at the current time if the sample is
    signed with the local key (a sample that is not shows a rejection, so it goes as it is)."""
    if settings.callback_auth_key_secret_id:
        print("callback sent as it is: its auth key is in Secrets Manager", file=out)
        return settings, event
    updates: dict[str, Any] = {}
    key = settings.callback_auth_key.get_secret_value() if settings.callback_auth_key else None
    if key is None:
        key = LOCAL_CALLBACK_AUTH_KEY
        updates["callback_auth_key"] = key
        print("no VOD_CALLBACK_AUTH_KEY configured: using the local callback key", file=out)
    if not settings.callback_urls:
        updates["callback_urls"] = (callback_url_of(event),)
        print(f"no VOD_CALLBACK_URL configured: using {callback_url_of(event)}", file=out)
    settings = settings.with_changes(**updates)
    if as_is:
        print("callback sent as it is (--as-is), with the file's own headers", file=out)
        return settings, event
    if is_signed_with(event, OLD_CALLBACK_AUTH_KEY):
        print(
            "callback signed again at the current time with the key it was signed with, "
            f"{OLD_CALLBACK_AUTH_KEY!r}, which the function does not know "
            "(expect a 401 from the signature check)",
            file=out,
        )
        return settings, sign_callback(event, OLD_CALLBACK_AUTH_KEY)
    if not is_signed_with(event, LOCAL_CALLBACK_AUTH_KEY):
        print(
            "callback sent as it is: it is not signed with the local callback key "
            "(expect a 401 from the signature check)",
            file=out,
        )
        return settings, event
    signed = sign_callback(event, key)
    print(
        "callback signed again with the configured key at the current time "
        f"(X-VOD-TIMESTAMP {signed['headers']['x-vod-timestamp']}); --as-is sends the file's "
        "own, stale headers",
        file=out,
    )
    return settings, signed


if __name__ == "__main__":
    raise SystemExit(main())
