"""``make bench``: every scenario for the function and the naive handler, then the tables.

Why: one command, one machine, one run, so the two are compared under the same stand-in
settings; the function's targets are checked and any miss is named.
"""

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import TextIO

from vod_parts_cleanup_dev.bench import cold_start, relay
from vod_parts_cleanup_dev.bench.rows import (
    BUDGET_PER_SECOND,
    DRAIN_TARGET_RATIO,
    HEADERS,
    Observed,
    Row,
    table,
)
from vod_parts_cleanup_dev.bench.scenarios import (
    CALLBACK_ATTEMPTS,
    CALLBACKS_PER_SECOND,
    CONSUMERS,
    RECEIVER_ENVIRONMENTS,
    Contender,
    Naive,
    Ours,
    Stage,
    burst,
    drain,
)
from vod_parts_cleanup_dev.bench.world import (
    MAX_RECEIVES,
    VISIBILITY_TIMEOUT_SECONDS,
    VOD_RATE_LIMITS,
    Aws,
    BatchingPolicy,
    BenchError,
    moto_server,
)
from vod_parts_cleanup_dev.vod_server import LocalVod

SCENARIOS = ("drain", "burst", "relay", "cold")
# Run for the function alone (the naive handler has no relay), after the throughput pairs.
OURS_ONLY = frozenset({"relay", "cold"})


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out = sys.stdout
    started = time.monotonic()
    only = set(args.only or SCENARIOS)
    try:
        with LocalVod() as vod, moto_server():
            stage = Stage(vod=vod, aws=Aws())
            _print_settings(args, out)
            rows = _throughput(stage, args, only, out)
            if rows:
                _print_rows(rows, out)
            if "relay" in only:
                print("... relay: running", file=out, flush=True)
                with _quiet():
                    figures = relay.run(stage, callbacks=args.callbacks)
                relay.report(figures, out)
            if "cold" in only:
                cold_start.compare(stage, args.cold_runs, out)
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    print(f"\nbench run time: {time.monotonic() - started:.0f} s", file=out)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m vod_parts_cleanup_dev.bench",
        description="The function against a naive handler: drain, burst, cold start; relay.",
    )
    parser.add_argument("--events", type=int, default=500, help="notifications to drain")
    parser.add_argument("--callbacks", type=int, default=100, help="callbacks in the burst")
    parser.add_argument(
        "--latency-ms",
        type=int,
        action="append",
        help="VOD's latency for drain and burst (repeatable; default 20 and 150)",
    )
    parser.add_argument("--cold-runs", type=int, default=cold_start.RUNS)
    parser.add_argument("--only", action="append", choices=SCENARIOS, help="(repeatable)")
    return parser


def _print_settings(args: argparse.Namespace, out: TextIO) -> None:
    limits = ", ".join(f"{action} {limit:g}/s" for action, limit in VOD_RATE_LIMITS.items())
    batching = BatchingPolicy.from_template()
    lines = [
        f"VOD stand-in: rate limits {limits}; latency as each scenario says",
        f"work queue (moto server on loopback): visibility timeout {VISIBILITY_TIMEOUT_SECONDS} s, "
        f"dead-letter queue after {MAX_RECEIVES} receives",
        f"consumers: {CONSUMERS} execution environments (threads), batches of up to "
        f"{batching.batch_size} gathered for up to {batching.window_seconds:g} s (template.yaml); "
        f"ours paced to {BUDGET_PER_SECOND:g} DeleteMultipartUpload/s shared by {CONSUMERS}",
        f"burst: {args.callbacks} signed callbacks at {CALLBACKS_PER_SECOND:g}/s to up to "
        f"{RECEIVER_ENVIRONMENTS} receiver environments; VOD tries each {CALLBACK_ATTEMPTS} "
        "times ~1 s apart, then drops it",
    ]
    for line in lines:
        print(line, file=out, flush=True)


def _throughput(stage: Stage, args: argparse.Namespace, only: set[str], out: TextIO) -> list[Row]:
    """Each scenario at each latency, the function first, then the naive handler."""
    latencies = [milliseconds / 1000 for milliseconds in (args.latency_ms or [20, 150])]
    rows = []
    for scenario in (name for name in SCENARIOS if name in only and name not in OURS_ONLY):
        for latency in latencies:
            for contender in (Ours(), Naive()):
                label = f"{scenario} {latency * 1000:.0f} ms, {contender.name}"
                print(f"... {label}: running", file=out, flush=True)
                with _quiet():
                    row = Row.of(_run(scenario, stage, contender, latency, args))
                print(f"... {label}: {row.drain_seconds:.1f} s", file=out, flush=True)
                rows.append(row)
    return rows


def _run(
    scenario: str, stage: Stage, contender: Contender, latency: float, args: argparse.Namespace
) -> Observed:
    if scenario == "drain":
        return drain(stage, contender, latency_seconds=latency, events=args.events)
    return burst(stage, contender, latency_seconds=latency, callbacks=args.callbacks)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The functions' logs and metrics (stdout, as on Lambda) go nowhere meanwhile."""
    with open(os.devnull, "w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink):
        yield


def _print_rows(rows: Sequence[Row], out: TextIO) -> None:
    print(
        "\nthroughput (lost: neither cleaned nor in the work or dead-letter queue, or a callback "
        "VOD dropped; redeliveries: SQS receives beyond the first + callback retries; "
        f"ideal: events / {BUDGET_PER_SECOND:g} per s)",
        file=out,
    )
    for line in table(HEADERS, [row.cells() for row in rows]):
        print(line, file=out)
    print(
        f"\ntargets for ours: 0 throttled, 0 lost, 0 deleted twice, DeleteMultipartUpload calls "
        f"= events, drain <= {DRAIN_TARGET_RATIO} x ideal",
        file=out,
    )
    for row in rows:
        if row.function == Ours.name:
            missed = row.missed_targets()
            verdict = "met" if not missed else "MISSED: " + "; ".join(missed)
            print(f"  {row.scenario}: {verdict}", file=out)
