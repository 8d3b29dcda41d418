"""``vod-parts-cleanup``: run the real function locally, against stand-ins for what is not set up.

- ``invoke EVENT_FILE``: the handler on a sample event (``events/``); with no VOD endpoint or
  credentials configured it uses the local VOD stand-in, seeded so the event's videos have
  upload parts; with no idempotency table it embeds DynamoDB and SQS (moto). What a receiver
  hands to the work queue, the consumer then cleans, as in AWS. An HTTP callback sample
  signed with the local callback key is signed again at the current time, so the real
  signature and freshness check runs on it.
- ``sign EVENT_FILE``: print an HTTP callback sample signed now (for ``sam local invoke``).
- ``sweep [--older-than 24h] [--status Uploading,UploadFail] [--dry-run]``: find the uploads
  no event announced and clean them, with progress and a summary table.
- ``clean ID... | --ids-file FILE``: clean these videos now (a backfill), once each.
"""

import argparse
import json
import re
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console

from vod_parts_cleanup.consumer.sweep import read_sweep_request
from vod_parts_cleanup.shared.envelopes import recognise_trigger
from vod_parts_cleanup.shared.errors import CleanupFailedError, SettingsError, SweepRequestError
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup.shared.vocabulary import Trigger
from vod_parts_cleanup_dev.backfill import (
    BackfillSummary,
    as_json,
    candidates_table,
    read_video_ids,
    run_clean,
    run_sweep,
    seed_demo,
    summary_table,
)
from vod_parts_cleanup_dev.callbacks import (
    LOCAL_CALLBACK_AUTH_KEY,
    OLD_CALLBACK_AUTH_KEY,
    callback_url_of,
    is_signed_with,
    sign_callback,
)
from vod_parts_cleanup_dev.report import print_invocation, print_run_figures
from vod_parts_cleanup_dev.runner import LocalRun, local_world, video_ids_in
from vod_parts_cleanup_dev.sqs import receive_all


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = _parser()
    arguments = parser.parse_args(argv)
    if arguments.command == "invoke" and arguments.repeat < 1:
        parser.error("--repeat must be at least 1")
    try:
        settings = Settings.from_environment()
        if arguments.command == "sweep":
            return _sweep(settings, arguments, out)
        if arguments.command == "clean":
            return _clean(settings, arguments, parser, out)
        try:
            event = json.loads(arguments.event_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            parser.error(f"cannot read {arguments.event_file}: {error}")
        if arguments.command == "sign":
            return _sign(event, settings, out)
        return _invoke(event, settings, arguments, out)
    except (SettingsError, FileNotFoundError) as error:  # e.g. no template.yaml here
        print(f"error: {error}", file=sys.stderr)
        return 2
    except CleanupFailedError as error:  # e.g. the sweep's listing, refused by VOD
        print(
            f"error: stopped, VOD could not be asked ({error.kind.value}: {error.error_code}); "
            "check the credentials and the RAM policy, then run the command again",
            file=sys.stderr,
        )
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vod-parts-cleanup", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    invoke = commands.add_parser("invoke", help="run the handler on an event file")
    invoke.add_argument(
        "event_file", type=Path, help="a JSON event, e.g. events/sqs-completed.json"
    )
    invoke.add_argument("--repeat", type=int, default=1, help="invoke N times (default 1)")
    invoke.add_argument("--logs", action="store_true", help="also print the structured logs")
    invoke.add_argument(
        "--relay",
        action="store_true",
        help="relay mode: callbacks are also delivered to a local downstream receiver (or "
        "RELAY_CALLBACK_URL), and what it received is shown",
    )
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
    sweep = commands.add_parser(
        "sweep", help="find the uploads no event announced and clean them (paced, once each)"
    )
    sweep.add_argument(
        "--older-than",
        type=_age,
        default=None,
        metavar="AGE",
        help="the minimum age, e.g. 24h, 90m, 2d (at least 1h; default SWEEP_MIN_AGE_MINUTES)",
    )
    sweep.add_argument(
        "--status",
        type=lambda text: tuple(part.strip() for part in text.split(",") if part.strip()),
        default=None,
        help="comma-separated VOD statuses (default SWEEP_STATUSES: Uploading,UploadFail)",
    )
    sweep.add_argument("--dry-run", action="store_true", help="list the candidates, clean none")
    sweep.add_argument(
        "--seed-demo",
        action="store_true",
        help="seed the local stand-in with a mix of uploads first (make sweep)",
    )
    clean = commands.add_parser("clean", help="clean these videos now, once each (a backfill)")
    clean.add_argument("video_ids", nargs="*", metavar="ID", help="VideoIds")
    clean.add_argument("--ids-file", help="a file of VideoIds, one per line")
    clean.add_argument(
        "--force",
        action="store_true",
        help="delete the parts even of an upload VOD reports as still in progress (Uploading); "
        "without it such a video is skipped",
    )
    return parser


def _age(text: str) -> timedelta:
    """24h, 90m, 2d: how long ago, at least an hour (the sweep's floor)."""
    match = re.fullmatch(r"\s*(\d+)\s*([mhd])\s*", text)
    if match is None:
        msg = f"{text!r}: use a number and m, h or d, e.g. 24h"
        raise argparse.ArgumentTypeError(msg)
    unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    age = timedelta(**{unit: int(match.group(1))})
    if age < timedelta(hours=1):
        msg = f"{text!r}: at least 1h (an upload younger than that may still be going on)"
        raise argparse.ArgumentTypeError(msg)
    return age


def _sweep(settings: Settings, arguments: argparse.Namespace, out: TextIO) -> int:
    console = Console(file=sys.stderr)
    body: dict[str, Any] = {"DryRun": arguments.dry_run}
    if arguments.older_than is not None:
        body["MinAgeMinutes"] = int(arguments.older_than.total_seconds() // 60)
    if arguments.status is not None:
        body["Statuses"] = list(arguments.status)
    try:
        request = read_sweep_request({"Sweep": body}, settings)
    except SweepRequestError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    with local_world(settings) as world:
        for note in world.notes:
            print(note, file=out)
        if arguments.seed_demo:
            print(seed_demo(world), file=out)
        run = LocalRun(world)
        summary, answer, found = run_sweep(run, request, console)
        print(f"sweep: {as_json(answer)}", file=out)
        if request.dry_run:
            print(candidates_table(found), file=out)
        elif world.sqs_client is None:
            print(
                "queued to the configured work queue: the deployed consumer cleans them", file=out
            )
        Console(file=out).print(summary_table(summary, "sweep"))
    return _finish(summary, out)


def _clean(
    settings: Settings,
    arguments: argparse.Namespace,
    parser: argparse.ArgumentParser,
    out: TextIO,
) -> int:
    try:
        video_ids = read_video_ids(arguments.video_ids, arguments.ids_file)
    except OSError as error:
        parser.error(f"cannot read {arguments.ids_file}: {error}")
    if not video_ids:
        parser.error("give VideoIds, or --ids-file")
    with local_world(settings, video_ids=video_ids) as world:
        for note in world.notes:
            print(note, file=out)
        summary = run_clean(
            LocalRun(world), video_ids, Console(file=sys.stderr), force=arguments.force
        )
        Console(file=out).print(summary_table(summary, "clean"))
    return _finish(summary, out)


def _finish(summary: BackfillSummary, out: TextIO) -> int:
    if summary.interrupted:
        print(
            "interrupted: run the same command again to resume; what is done is replayed "
            "from the idempotency table, not done again",
            file=out,
        )
        return 130
    return 1 if summary.counts["failed"] else 0


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
    with local_world(settings, video_ids=video_ids_in(event), relay=arguments.relay) as world:
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
