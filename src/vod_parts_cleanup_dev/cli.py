"""``vod-parts-cleanup``: the real function, run from a person's machine.

- ``invoke EVENT_FILE``: the handler on an event file (``events/``), then the consumer on
  what it queued.
- ``sign EVENT_FILE``: an HTTP callback sample signed now, or ahead (for sam local invoke).
- ``sweep``: find the uploads no event announced and clean them, with a summary.
- ``clean ID... | --ids-file FILE``: clean these videos now (a backfill), once each.

Every command but ``sign`` first says, in one line, which VOD and which AWS resources it
talks to: the local stand-ins when nothing of VOD is configured (or with ``--local``), the
configured ones otherwise; half a configuration is refused. It exits 0 when everything it
was asked to do is done, 1 when something failed or was not handed off (the summary says
which and why), 2 when it did not start (bad input or configuration), 130 when interrupted.
"""

import argparse
import json
import math
import re
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, NoReturn, TextIO

from rich.console import Console

from vod_parts_cleanup.consumer.intake import VIDEO_ID_PATTERN, VIDEO_ID_RULE
from vod_parts_cleanup.consumer.sweep import PURGE_HORIZON, read_sweep_request
from vod_parts_cleanup.shared.aws_json import ATTEMPT_SECONDS
from vod_parts_cleanup.shared.clock import SECONDS_TO_ANSWER
from vod_parts_cleanup.shared.envelopes import recognise_trigger
from vod_parts_cleanup.shared.errors import CleanupFailedError, SettingsError, SweepRequestError
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup.shared.vocabulary import VIDEO_STATUSES, Trigger
from vod_parts_cleanup_dev.backfill import (
    BackfillSummary,
    as_json,
    candidates_line,
    read_video_ids,
    run_clean,
    run_sweep,
    seed_demo,
    summary_table,
    write_ids,
)
from vod_parts_cleanup_dev.callbacks import (
    LOCAL_CALLBACK_AUTH_KEY,
    OLD_CALLBACK_AUTH_KEY,
    callback_url_of,
    is_signed_with,
    sign_callback,
)
from vod_parts_cleanup_dev.outcomes import (
    FAILED,
    NOT_QUEUED,
    ItemOutcome,
    advice_for,
    explained,
    write_report,
)
from vod_parts_cleanup_dev.report import outcomes_of, print_invocation, print_run_figures
from vod_parts_cleanup_dev.runner import (
    LocalRun,
    LocalWorld,
    StandInState,
    local_world,
    stand_in_videos,
    video_ids_in,
)
from vod_parts_cleanup_dev.sqs import receive_all
from vod_parts_cleanup_dev.targets import queue_name

EXIT_NOT_DONE = 1
EXIT_NOT_STARTED = 2
EXIT_INTERRUPTED = 130
# The least a run needs (the time kept to answer, and one attempt of an AWS call: the
# idempotency table's), and Lambda's own limit.
TIMEOUT_SECONDS = (float(math.ceil(SECONDS_TO_ANSWER + ATTEMPT_SECONDS)), 900.0)
SHORTEST_AGE = timedelta(hours=1)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    arguments = _parser().parse_args(argv)
    debug = bool(getattr(arguments, "debug", False))
    try:
        settings = Settings.from_environment()
        command: Callable[[Settings, argparse.Namespace, TextIO], int] = arguments.run
        return command(settings, arguments, out)
    except SettingsError as error:  # half a configuration, a value out of range
        return _stopped(f"error: {error}", debug)
    except CleanupFailedError as error:  # the sweep's listing, refused or unreachable
        cause = f": {error.cause}" if error.cause else ""
        advice = advice_for(error.error_code, error.cause)
        return _stopped(
            f"error: stopped, VOD could not be asked ({error.kind.value}: {error.error_code}"
            f"{cause}){f'; {advice}' if advice else ''}",
            debug,
            EXIT_NOT_DONE,
        )
    except OSError as error:  # a file that cannot be written, a socket that cannot be opened
        return _stopped(f"error: {error}", debug, EXIT_NOT_DONE)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # a bug, or something unforeseen: still one line
        return _stopped(
            f"error: unexpected {type(error).__name__}: {error} (--debug shows where)",
            debug,
            EXIT_NOT_DONE,
        )


def _stopped(message: str, debug: bool, status: int = EXIT_NOT_STARTED) -> int:
    if debug:
        traceback.print_exc()
    print(message, file=sys.stderr)
    return status


# -- arguments ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vod-parts-cleanup", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--version", action="version", version=_version())
    every = argparse.ArgumentParser(add_help=False)
    every.add_argument(
        "--debug", action="store_true", help="show the traceback of an error, not one line"
    )
    running = argparse.ArgumentParser(add_help=False, parents=[every])
    running.add_argument(
        "--local",
        action="store_true",
        help="use the local stand-ins for VOD and AWS even if they are configured",
    )
    running.add_argument(
        "--report",
        type=_writable,
        metavar="FILE",
        help="write every outcome (id, status, error code, cause) to FILE as JSON lines",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _invoke_parser(commands, running)
    _sign_parser(commands, every)
    _sweep_parser(commands, running)
    _clean_parser(commands, running)
    return parser


def _version() -> str:
    try:
        product, tools = version("vod-parts-cleanup"), version("vod-parts-cleanup-dev")
    except PackageNotFoundError:
        return "vod-parts-cleanup (not installed: run make setup)"
    return f"vod-parts-cleanup {product} (tools {tools})"


Commands = Any  # argparse's _SubParsersAction is private


def _invoke_parser(commands: Commands, parent: argparse.ArgumentParser) -> None:
    invoke = commands.add_parser(
        "invoke", parents=[parent], help="run the handler on an event file"
    )
    invoke.set_defaults(run=_invoke, usage_error=invoke.error)
    invoke.add_argument(
        "event_file", type=Path, help="a JSON event, e.g. events/sqs-completed.json"
    )
    invoke.add_argument(
        "--repeat", type=_at_least_one, default=1, help="invoke N times (default 1)"
    )
    invoke.add_argument("--logs", action="store_true", help="also print the structured logs")
    invoke.add_argument(
        "--relay",
        action="store_true",
        help="relay mode: callbacks are also delivered to a local downstream receiver (or "
        "RELAY_CALLBACK_URL), and what it received is shown",
    )
    invoke.add_argument(
        "--timeout",
        type=_timeout,
        default=30.0,
        metavar="SECONDS",
        help=f"the Lambda timeout, {TIMEOUT_SECONDS[0]:g} to {TIMEOUT_SECONDS[1]:g} (default 30)",
    )
    invoke.add_argument(
        "--as-is",
        action="store_true",
        help="send an HTTP callback with the headers in the file (do not sign it again)",
    )
    invoke.add_argument(
        "--stand-in",
        type=StandInState,
        choices=list(StandInState),
        default=None,
        metavar="STATE",
        help="how the local stand-in holds the event's videos: finished (default: a finished "
        "upload with parts left), uploading (VOD still says Uploading), no-parts (cleaned "
        "already), unknown (VOD does not know them)",
    )


def _sign_parser(commands: Commands, parent: argparse.ArgumentParser) -> None:
    sign = commands.add_parser(
        "sign",
        parents=[parent],
        help="print an HTTP callback event signed now (or --ahead), e.g. for sam local invoke",
    )
    sign.set_defaults(run=_sign, usage_error=sign.error)
    sign.add_argument("event_file", type=Path, help="an API Gateway event, e.g. events/http-*.json")
    sign.add_argument(
        "--ahead",
        type=_seconds_ahead,
        default=0,
        metavar="SECONDS",
        help="sign for this many seconds from now, so it is still fresh when it arrives (sam "
        "local takes longer than VOD's 5 s to start); below VOD_CALLBACK_MAX_SKEW_SECONDS",
    )


def _sweep_parser(commands: Commands, parent: argparse.ArgumentParser) -> None:
    sweep = commands.add_parser(
        "sweep",
        parents=[parent],
        help="find the uploads no event announced and clean them (paced, once each)",
    )
    sweep.set_defaults(run=_sweep, usage_error=sweep.error)
    sweep.add_argument(
        "--older-than",
        type=_age,
        default=None,
        metavar="AGE",
        help="the minimum age, from 1h to 7d, e.g. 24h, 90m, 2d (default SWEEP_MIN_AGE_MINUTES)",
    )
    sweep.add_argument(
        "--status",
        type=_statuses,
        default=None,
        metavar="S,...",
        help=f"VOD statuses, some of {', '.join(VIDEO_STATUSES)} (default SWEEP_STATUSES: "
        "Uploading,UploadFail)",
    )
    sweep.add_argument("--dry-run", action="store_true", help="list the candidates, clean none")
    sweep.add_argument(
        "--ids-out",
        type=_writable,
        metavar="FILE",
        help="write every candidate's VideoId to FILE, one a line (clean --ids-file reads it)",
    )
    sweep.add_argument(
        "--seed-demo",
        action="store_true",
        help="seed the local stand-in with a mix of uploads first, and run on the stand-ins "
        "(make sweep)",
    )


def _clean_parser(commands: Commands, parent: argparse.ArgumentParser) -> None:
    clean = commands.add_parser(
        "clean", parents=[parent], help="clean these videos now, once each (a backfill)"
    )
    clean.set_defaults(run=_clean, usage_error=clean.error)
    clean.add_argument("video_ids", nargs="*", metavar="ID", help=f"VideoIds ({VIDEO_ID_RULE})")
    clean.add_argument(
        "--ids-file", type=Path, metavar="FILE", help="a file of VideoIds, one a line, # comments"
    )
    clean.add_argument(
        "--force",
        action="store_true",
        help="delete the parts even of an upload VOD reports as still in progress (Uploading); "
        "without it such a video is skipped",
    )
    clean.add_argument(
        "--seed-demo",
        action="store_true",
        help="seed the local stand-in with these videos as finished uploads with parts, and "
        "run on the stand-ins",
    )


def _at_least_one(text: str) -> int:
    if not re.fullmatch(r"\s*\d+\s*", text) or int(text) < 1:
        msg = f"{text!r}: a whole number, at least 1"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


def _timeout(text: str) -> float:
    """Seconds, within what Lambda allows and a run needs."""
    least, most = TIMEOUT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not least <= seconds <= most:  # NaN compares false: refused too
        msg = (
            f"{text!r}: seconds from {least:g} to {most:g} (the function keeps "
            f"{SECONDS_TO_ANSWER:g} s to answer, and an AWS call may take {ATTEMPT_SECONDS:g} s)"
        )
        raise argparse.ArgumentTypeError(msg)
    return seconds


def _seconds_ahead(text: str) -> int:
    if not re.fullmatch(r"\s*\d+\s*", text) or int(text) > 3600:
        msg = f"{text!r}: whole seconds from 0 to 3600"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


def _age(text: str) -> timedelta:
    """24h, 90m, 2d: how long ago, from an hour (younger may still be going on) to 7 days
    (VOD purges older parts itself)."""
    match = re.fullmatch(r"\s*(\d+)\s*([mhd])\s*", text)
    rule = (
        "from 1h to 7d: younger may still be uploading, and VOD purges an unfinished "
        "upload's parts after 7 days"
    )
    if match is None:
        msg = f"{text!r}: a number and m, h or d, {rule}"
        raise argparse.ArgumentTypeError(msg)
    unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    age = timedelta(**{unit: int(match.group(1))})
    if not SHORTEST_AGE <= age <= PURGE_HORIZON:
        msg = f"{text!r}: {rule}"
        raise argparse.ArgumentTypeError(msg)
    return age


def _statuses(text: str) -> tuple[str, ...]:
    """VOD's statuses, in any case (uploading is Uploading); an unknown one is refused."""
    known = {status.lower(): status for status in VIDEO_STATUSES}
    asked = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [status for status in asked if status.lower() not in known]
    if not asked or unknown:
        msg = f"{', '.join(unknown) or repr(text)}: use some of {', '.join(VIDEO_STATUSES)}"
        raise argparse.ArgumentTypeError(msg)
    return tuple(dict.fromkeys(known[status.lower()] for status in asked))


def _writable(text: str) -> Path:
    path = Path(text)
    if not path.parent.is_dir():
        msg = f"{text!r}: no folder {str(path.parent)!r} to write it in"
        raise argparse.ArgumentTypeError(msg)
    if path.is_dir():
        msg = f"{text!r} is a folder"
        raise argparse.ArgumentTypeError(msg)
    return path


def _usage_error(arguments: argparse.Namespace, message: str) -> NoReturn:
    """Refused as given, with the subcommand's usage line (exit 2)."""
    error: Callable[[str], NoReturn] = arguments.usage_error
    error(message)


# -- invoke -----------------------------------------------------------------------------------


def _invoke(settings: Settings, arguments: argparse.Namespace, out: TextIO) -> int:
    event = _read_event(arguments)
    notes: list[str] = []
    if recognise_trigger(event) is Trigger.HTTP:
        settings, event = _callback_ready(event, settings, as_is=arguments.as_is, notes=notes)
    state = arguments.stand_in or StandInState.FINISHED
    video_ids = video_ids_in(event)
    videos = stand_in_videos(video_ids, state)
    with local_world(
        settings, local=arguments.local, videos=videos, relay=arguments.relay
    ) as world:
        if arguments.stand_in is not None and world.vod is None:
            msg = (
                "--stand-in sets what the local stand-in holds, but VOD is configured: add --local"
            )
            raise SettingsError(msg)
        if world.vod is not None and video_ids and not videos:
            notes.append(f"the stand-in holds none of {', '.join(video_ids)} (--stand-in {state})")
        run = LocalRun(world, timeout_seconds=arguments.timeout)
        _say_where(world, out, notes)
        everything = []
        for number in range(1, arguments.repeat + 1):
            print(
                f"\n== invocation {number} of {arguments.repeat}: {arguments.event_file}", file=out
            )
            for step, invocation in enumerate(run.invoke(event, str(arguments.event_file))):
                if step:
                    print(f"-- {invocation.label}", file=out)
                print_invocation(invocation, out, logs=arguments.logs)
                everything.append(invocation)
        depth = None
        if world.sqs_client is not None and world.work_queue_url is not None:
            depth = len(receive_all(world.sqs_client, world.work_queue_url))
        print(file=out)
        print_run_figures(everything, world.settings, out, queue_depth=depth)
    outcomes = [outcome for invocation in everything for outcome in outcomes_of(invocation)]
    return _finish_invoke(outcomes, arguments.report, out)


def _read_event(arguments: argparse.Namespace) -> Any:
    try:
        return json.loads(arguments.event_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        _usage_error(arguments, f"cannot read {arguments.event_file}: {_reason(error)}")


def _reason(error: Exception) -> str:
    return error.strerror if isinstance(error, OSError) and error.strerror else str(error)


def _finish_invoke(outcomes: list[ItemOutcome], report: Path | None, out: TextIO) -> int:
    if report is not None:
        write_report(report, outcomes)
    not_done = [
        outcome
        for outcome in outcomes
        if outcome.status in {FAILED, NOT_QUEUED} or (outcome.http_status or 0) >= 500
    ]
    if not not_done:
        return 0
    print(f"not done: {len(not_done)}, kept for a retry", file=out)
    for line in explained(not_done):
        print(f"  {line}", file=out)
    return EXIT_NOT_DONE


def _callback_ready(
    event: Any, settings: Settings, *, as_is: bool, notes: list[str]
) -> tuple[Settings, Any]:
    """The settings and the event for a sample callback: configured with the local key and
    the sample's URL where nothing is, and signed again at the current time if the sample is
    signed with the local key (a sample that is not shows a rejection, so it goes as it is)."""
    if settings.callback_auth_key_secret_id:
        notes.append("callback sent as it is: its auth key is in Secrets Manager")
        return settings, event
    updates: dict[str, Any] = {}
    key = settings.callback_auth_key.get_secret_value() if settings.callback_auth_key else None
    if key is None:
        key = LOCAL_CALLBACK_AUTH_KEY
        updates["callback_auth_key"] = key
        notes.append("no VOD_CALLBACK_AUTH_KEY configured: using the local callback key")
    if not settings.callback_urls:
        updates["callback_urls"] = (callback_url_of(event),)
        notes.append(f"no VOD_CALLBACK_URL configured: using {callback_url_of(event)}")
    settings = settings.with_changes(**updates)
    if as_is:
        notes.append("callback sent as it is (--as-is), with the file's own headers")
        return settings, event
    if is_signed_with(event, OLD_CALLBACK_AUTH_KEY):
        notes.append(
            "callback signed again at the current time with the key it was signed with, "
            f"{OLD_CALLBACK_AUTH_KEY!r}, which the function does not know "
            "(expect a 401 from the signature check)"
        )
        return settings, sign_callback(event, OLD_CALLBACK_AUTH_KEY)
    if not is_signed_with(event, LOCAL_CALLBACK_AUTH_KEY):
        notes.append(
            "callback sent as it is: it is not signed with the local callback key "
            "(expect a 401 from the signature check)"
        )
        return settings, event
    signed = sign_callback(event, key)
    notes.append(
        "callback signed again with the configured key at the current time "
        f"(X-VOD-TIMESTAMP {signed['headers']['x-vod-timestamp']}); --as-is sends the file's "
        "own, stale headers"
    )
    return settings, signed


def _say_where(world: LocalWorld, out: TextIO, notes: Sequence[str] = ()) -> None:
    """The run's first line: which VOD and which AWS; then what else it decided."""
    print(world.where, file=out)
    for note in [*world.notes, *notes]:
        print(note, file=out)
    out.flush()  # before any error, which goes to stderr


# -- sign -------------------------------------------------------------------------------------


def _sign(settings: Settings, arguments: argparse.Namespace, out: TextIO) -> int:
    """The event signed with VOD_CALLBACK_AUTH_KEY or the local key, now or ``--ahead``; what
    it was signed with goes to stderr, so stdout stays the event."""
    event = _read_event(arguments)
    if recognise_trigger(event) is not Trigger.HTTP:
        _usage_error(arguments, f"{arguments.event_file} is not an API Gateway HTTP API event")
    if arguments.ahead >= settings.callback_max_skew_seconds:
        _usage_error(
            arguments,
            f"--ahead {arguments.ahead}: the receiver refuses a timestamp "
            f"VOD_CALLBACK_MAX_SKEW_SECONDS ({settings.callback_max_skew_seconds}) or more ahead",
        )
    key = settings.callback_auth_key
    timestamp = int(_now()) + arguments.ahead
    signed = sign_callback(
        event, key.get_secret_value() if key else LOCAL_CALLBACK_AUTH_KEY, timestamp=timestamp
    )
    which = (
        "VOD_CALLBACK_AUTH_KEY" if key else f"the local callback key {LOCAL_CALLBACK_AUTH_KEY!r}"
    )
    print(
        f"signed for {callback_url_of(event)} with {which}, X-VOD-TIMESTAMP {timestamp} "
        f"(now + {arguments.ahead} s): the receiver accepts it until "
        f"{settings.callback_max_skew_seconds} s after that, answering within VOD's 5 s of it",
        file=sys.stderr,
    )
    print(json.dumps(signed, indent=2), file=out)
    return 0


def _now() -> float:
    return time.time()


# -- sweep and clean --------------------------------------------------------------------------


def _sweep(settings: Settings, arguments: argparse.Namespace, out: TextIO) -> int:
    body: dict[str, Any] = {"DryRun": arguments.dry_run}
    if arguments.older_than is not None:
        body["MinAgeMinutes"] = int(arguments.older_than.total_seconds() // 60)
    if arguments.status is not None:
        body["Statuses"] = list(arguments.status)
    try:
        request = read_sweep_request({"Sweep": body}, settings)
    except SweepRequestError as error:
        _usage_error(arguments, str(error))
    local, asked_by = _local(arguments)
    with local_world(settings, local=local, asked_by=asked_by) as world:
        if not request.dry_run and world.settings.work_queue_url is None:
            msg = (
                "WORK_QUEUE_URL is not set: a sweep hands its candidates to the work queue; "
                "set it, or --dry-run to list them only"
            )
            raise SettingsError(msg)
        run = LocalRun(world)
        _say_where(world, out)
        if arguments.seed_demo:
            print(seed_demo(world), file=out)
        if request.min_age >= PURGE_HORIZON:
            print(
                "nothing to look for: VOD purges an unfinished upload's parts after 7 days",
                file=out,
            )
        summary, answer, found = run_sweep(run, request, Console(file=sys.stderr))
        print(f"sweep: {as_json(answer)}", file=out)
        if request.dry_run:
            print(candidates_line(found, ids_out=arguments.ids_out), file=out)
        elif world.sqs_client is None and answer["queued"]:
            print(
                f"queued {answer['queued']} to {queue_name(world.settings.work_queue_url)}: "
                "the deployed consumer cleans them",
                file=out,
            )
        if arguments.ids_out is not None:
            write_ids(arguments.ids_out, found)
        queued_elsewhere = world.sqs_client is None and not request.dry_run
        Console(file=out).print(summary_table(summary, "sweep", queued_elsewhere=queued_elsewhere))
    return _finish(summary, arguments.report, out)


def _clean(settings: Settings, arguments: argparse.Namespace, out: TextIO) -> int:
    video_ids = _video_ids(arguments)
    videos = stand_in_videos(video_ids, StandInState.FINISHED) if arguments.seed_demo else []
    local, asked_by = _local(arguments)
    with local_world(settings, local=local, asked_by=asked_by, videos=videos) as world:
        run = LocalRun(world)
        notes = []
        if world.vod is not None and not videos:
            notes.append(
                "the stand-in holds none of these videos, so VOD does not know them "
                "(--seed-demo seeds them as finished uploads with parts)"
            )
        _say_where(world, out, notes)
        summary = run_clean(run, video_ids, Console(file=sys.stderr), force=arguments.force)
        Console(file=out).print(summary_table(summary, "clean", queued_elsewhere=False))
    return _finish(summary, arguments.report, out)


def _local(arguments: argparse.Namespace) -> tuple[bool, str]:
    """Whether the run is on the stand-ins, and which option said so (--seed-demo seeds the
    stand-in, so it runs there, whatever is configured)."""
    if arguments.seed_demo:
        return True, "--seed-demo"
    return arguments.local, "--local"


def _video_ids(arguments: argparse.Namespace) -> list[str]:
    """The ids asked for, each checked by VOD's rule before anything is done."""
    try:
        video_ids = read_video_ids(arguments.video_ids, arguments.ids_file)
    except (OSError, UnicodeDecodeError) as error:
        _usage_error(
            arguments, f"--ids-file {arguments.ids_file}: cannot read it: {_reason(error)}"
        )
    if not video_ids:
        if arguments.ids_file is not None:
            _usage_error(
                arguments,
                f"--ids-file {arguments.ids_file} holds no VideoId (one a line, # comments)",
            )
        _usage_error(arguments, "give VideoIds, or --ids-file FILE")
    invalid = [video_id for video_id in video_ids if not VIDEO_ID_PATTERN.fullmatch(video_id)]
    if invalid:
        shown = ", ".join(repr(video_id) for video_id in invalid[:5])
        more = f" and {len(invalid) - 5} more" if len(invalid) > 5 else ""
        _usage_error(arguments, f"not a VideoId ({VIDEO_ID_RULE}): {shown}{more}; nothing done")
    return video_ids


def _finish(summary: BackfillSummary, report: Path | None, out: TextIO) -> int:
    """What was not simply done, grouped by cause; the report; the exit status."""
    for line in explained(summary.outcomes):
        print(line, file=out)
    if report is not None:
        write_report(report, summary.outcomes)
    if summary.interrupted:
        print(
            "interrupted: run the same command again to resume; what is done is replayed "
            "from the idempotency table, not done again",
            file=out,
        )
        return EXIT_INTERRUPTED
    not_done = summary.not_done
    if not_done:
        print(f"not done: {len(not_done)} of {summary.found} (above: which, and why)", file=out)
        return EXIT_NOT_DONE
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
