"""``vod-parts-cleanup sweep`` and ``clean``: backfills by hand, with progress and a summary.

Both run the function's own parts in this process (the sweeper, the handler), paced by the
same budget as in Lambda. Cleaning is once per video through the idempotency table, so a run
stopped with Ctrl-C is resumed by running it again: what was done is replayed, not redone
(against a configured table; the embedded one lives as long as the run).
"""

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from vod_parts_cleanup.consumer.sweep import SweepRequest
from vod_parts_cleanup_dev.runner import LocalRun, LocalWorld
from vod_parts_cleanup_dev.sqs import delete_done, lambda_sqs_event, receive_all
from vod_parts_cleanup_dev.vod_catalog import Video

# The summary's rows: what a result's status counts as.
OUTCOMES = {
    "deleted": "deleted",
    "already_clean": "already clean",
    "media_not_found": "media not found",
    "skipped": "skipped",
    "ignored": "ignored",
    "rejected": "rejected",
}
FAILED = "failed"
# A sweep by hand has a quarter of an hour, as the scheduled one has its Lambda timeout.
SWEEP_SECONDS = 15 * 60


@dataclass
class BackfillSummary:
    found: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    interrupted: bool = False
    # A sweep's: Uploading uploads VOD reports no detail for, left alone (too young for that).
    unvouched: int | None = None

    def count(self, status: str | None) -> None:
        self.counts[OUTCOMES.get(status or "", FAILED)] += 1


@contextmanager
def progress_bars(console: Console) -> Iterator[Progress]:
    with Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bars:
        yield bars


def seed_demo(world: LocalWorld, *, stalled: int = 60) -> str:
    """A mix for ``make sweep`` in the local stand-in: stalled and failed uploads to clean,
    and uploads the sweep must leave alone (too young, recently touched, finished, past the
    purge horizon, and a client-SDK upload VOD gives no detail for that is not yet 3 days
    old); an older one of those is cleaned."""
    if world.vod is None:
        return "a configured VOD: nothing seeded"
    now = datetime.now(UTC).replace(microsecond=0)
    # (what, how many, status, created how long ago, touched how long after that, id prefix,
    # whether GetUploadDetails reports it)
    kinds = [
        ("stalled", stalled, "Uploading", timedelta(days=2), timedelta(0), "a001", True),
        ("failed", 12, "UploadFail", timedelta(days=3), timedelta(0), "a002", True),
        ("too young", 8, "Uploading", timedelta(hours=3), timedelta(0), "a003", True),
        (
            "recently touched",
            5,
            "Uploading",
            timedelta(days=2),
            timedelta(days=2, minutes=-20),
            "a004",
            True,
        ),
        ("finished", 10, "Normal", timedelta(days=1), timedelta(0), "a005", True),
        ("past purge", 4, "Uploading", timedelta(days=8), timedelta(0), "a006", True),
        ("no-detail young", 3, "Uploading", timedelta(hours=30), timedelta(0), "a007", False),
        ("no-detail old", 2, "Uploading", timedelta(days=4), timedelta(0), "a008", False),
    ]
    videos = []
    for _, count, status, age, touched_later, prefix, detailed in kinds:
        for number in range(count):
            created = now - age - timedelta(minutes=number)
            video_id = f"{prefix}{number:028x}"
            videos.append(
                Video.new(
                    video_id,
                    status=status,
                    creation_time=created,
                    modification_time=created + touched_later,
                    reports_upload_detail=detailed,
                )
            )
    world.vod.add_videos(videos)
    return "seeded the stand-in: " + ", ".join(f"{count} {kind}" for kind, count, *_ in kinds)


def run_sweep(
    run: LocalRun, request: SweepRequest, console: Console
) -> tuple[BackfillSummary, dict[str, Any], list[str]]:
    """The sweep, then (when the work queue is the embedded one) the consumer on what it
    queued; the summary, the sweep's own answer and the candidates it found."""
    summary = BackfillSummary()
    app = run.stack.consumer
    with progress_bars(console) as bars:
        listing = bars.add_task("listing", total=None)
        queueing = bars.add_task("queueing", total=None, visible=not request.dry_run)

        def shown(stage: str, count: int) -> None:
            bars.update(listing if stage == "listed" else queueing, completed=count)

        app.deadline.start(SWEEP_SECONDS)
        with run.captured():
            swept = app.sweeper.sweep(request, progress=shown)
        bars.update(listing, total=max(swept.pages, 1), completed=max(swept.pages, 1))
        bars.update(queueing, total=swept.queued, completed=swept.queued)
        summary.found = swept.candidates
        summary.unvouched = swept.unvouched
        if not request.dry_run and run.world.sqs_client is not None:
            cleaning = bars.add_task("cleaning", total=swept.queued)
            try:
                for status in drain(run):
                    summary.count(status)
                    bars.advance(cleaning)
            except KeyboardInterrupt:
                summary.interrupted = True
    return summary, swept.to_json_dict(), swept.found


def drain(run: LocalRun) -> Iterator[str | None]:
    """Play Lambda's SQS trigger on the embedded work queue until it is empty: each record's
    result status (None for a record kept for a retry)."""
    world = run.world
    if world.sqs_client is None or world.work_queue_url is None:
        return
    while messages := receive_all(world.sqs_client, world.work_queue_url):
        invocation = run.invoke_once(lambda_sqs_event(messages, world.work_queue_arn))
        failed = {
            item["itemIdentifier"]
            for item in (invocation.response or {}).get("batchItemFailures", [])
        }
        delete_done(world.sqs_client, world.work_queue_url, messages, failed)
        statuses = {
            record["messageId"]: record["result"].get("status")
            for record in invocation.records
            if isinstance(record.get("result"), dict) and "messageId" in record
        }
        for message in messages:
            kept = message["MessageId"] in failed
            yield None if kept else statuses.get(message["MessageId"], "deleted")


def run_clean(
    run: LocalRun, video_ids: Sequence[str], console: Console, *, force: bool = False
) -> BackfillSummary:
    """Each video cleaned now, once (a direct invocation each: a person's request, so VOD is
    asked first, and an upload still in progress is skipped unless ``force``), paced."""
    summary = BackfillSummary(found=len(video_ids))
    with progress_bars(console) as bars:
        cleaning = bars.add_task("cleaning", total=len(video_ids))
        try:
            for video_id in video_ids:
                request: dict[str, object] = {"VideoId": video_id}
                if force:
                    request["Force"] = True
                invocation = run.invoke_once(request)
                response = invocation.response if isinstance(invocation.response, dict) else {}
                summary.count(None if invocation.error else response.get("status"))
                bars.advance(cleaning)
        except KeyboardInterrupt:
            summary.interrupted = True
    return summary


def read_video_ids(arguments: Iterable[str], ids_file: str | None) -> list[str]:
    """The ids given, then those in the file (one per line, # comments), each once."""
    given = list(arguments)
    if ids_file:
        with open(ids_file, encoding="utf-8") as lines:
            given += [line.split("#", 1)[0].strip() for line in lines]
    return list(dict.fromkeys(video_id for video_id in given if video_id))


def summary_table(summary: BackfillSummary, title: str) -> Table:
    table = Table(title=title)
    table.add_column("found", justify="right")
    labels = ("deleted", "already clean", "media not found", "skipped", FAILED)
    for label in labels:
        table.add_column(label, justify="right")
    cells = [str(summary.found), *(str(summary.counts[label]) for label in labels)]
    if summary.unvouched is not None:
        table.add_column("left: no detail", justify="right")
        cells.append(str(summary.unvouched))
    table.add_row(*cells)
    return table


def candidates_table(found: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(found[:limit])
    more = f" and {len(found) - limit} more" if len(found) > limit else ""
    return f"candidates: {shown}{more}" if found else "candidates: none"


def as_json(answer: dict[str, Any]) -> str:
    return json.dumps(answer)
