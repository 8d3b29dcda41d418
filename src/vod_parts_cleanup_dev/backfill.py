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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from vod_parts_cleanup.consumer.sweep import SweepRequest, SweepSummary
from vod_parts_cleanup.shared.vocabulary import CleanupStatus
from vod_parts_cleanup_dev.outcomes import (
    CANDIDATE,
    FAILED,
    NOT_DONE,
    NOT_QUEUED,
    QUEUED,
    ItemOutcome,
    outcome_of_failure,
    outcome_of_result,
)
from vod_parts_cleanup_dev.report import outcomes_of
from vod_parts_cleanup_dev.runner import LocalRun, LocalWorld
from vod_parts_cleanup_dev.sqs import delete_done, lambda_sqs_event, receive_all
from vod_parts_cleanup_dev.vod_catalog import Video

# The summary's columns: what an outcome's status counts as.
LABELS = {
    CleanupStatus.DELETED.value: "deleted",
    CleanupStatus.ALREADY_CLEAN.value: "already clean",
    CleanupStatus.MEDIA_NOT_FOUND.value: "media not found",
    CleanupStatus.SKIPPED.value: "skipped",
    CleanupStatus.IGNORED.value: "ignored",
    CleanupStatus.REJECTED.value: "rejected",
    FAILED: "failed",
    QUEUED: "queued",
    NOT_QUEUED: "not queued",
}
CLEANED_COLUMNS = ("deleted", "already clean", "media not found", "skipped", "failed")
# A sweep by hand has a quarter of an hour, as the scheduled one has its Lambda timeout.
SWEEP_SECONDS = 15 * 60


@dataclass
class BackfillSummary:
    found: int = 0
    outcomes: list[ItemOutcome] = field(default_factory=list)
    interrupted: bool = False
    # A sweep's: Uploading uploads VOD reports no detail for, left alone (too young for that).
    unvouched: int | None = None

    def add(self, outcome: ItemOutcome) -> None:
        self.outcomes.append(outcome)

    @property
    def counts(self) -> Counter[str]:
        return Counter(LABELS.get(outcome.status, outcome.status) for outcome in self.outcomes)

    @property
    def not_done(self) -> list[ItemOutcome]:
        """What the command was asked to do and did not get done."""
        return [outcome for outcome in self.outcomes if outcome.status in NOT_DONE]


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
        bars.update(queueing, total=swept.candidates, completed=swept.queued)
        summary.found = swept.candidates
        summary.unvouched = swept.unvouched
        if request.dry_run:
            summary.outcomes = [ItemOutcome(video_id=id_, status=CANDIDATE) for id_ in swept.found]
        elif run.world.sqs_client is None:
            summary.outcomes = handed_off(swept)
        else:
            summary.outcomes = [o for o in handed_off(swept) if o.status == NOT_QUEUED]
            cleaning = bars.add_task("cleaning", total=swept.queued)
            try:
                for outcome in drain(run):
                    summary.add(outcome)
                    bars.advance(cleaning)
            except KeyboardInterrupt:
                summary.interrupted = True
    return summary, swept.to_json_dict(), swept.found


def handed_off(swept: SweepSummary) -> list[ItemOutcome]:
    """Each candidate queued or not: the queue takes them in order and stops at its first
    refusal, so the first ``queued`` went in."""
    return [
        ItemOutcome(video_id=video_id, status=QUEUED)
        if number < swept.queued
        else ItemOutcome(
            video_id=video_id, status=NOT_QUEUED, error_code=swept.error_code, cause=swept.detail
        )
        for number, video_id in enumerate(swept.found)
    ]


def drain(run: LocalRun) -> Iterator[ItemOutcome]:
    """Play Lambda's SQS trigger on the embedded work queue until it is empty: each record's
    outcome, as the consumer's answer and logs tell it."""
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
        told = {outcome.message_id: outcome for outcome in outcomes_of(invocation)}
        for message in messages:
            video_id = _video_id_of(message["Body"])
            outcome = told.get(message["MessageId"])
            if outcome is None:  # no answer and no log for it: nobody can say it was done
                outcome = ItemOutcome(video_id=video_id, status=FAILED, cause="no result logged")
            yield replace(outcome, video_id=outcome.video_id or video_id)


def _video_id_of(body: str) -> str | None:
    try:
        video_id = json.loads(body).get("VideoId")
    except (ValueError, AttributeError):
        return None
    return video_id if isinstance(video_id, str) else None


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
                if invocation.error is not None:
                    summary.add(outcome_of_failure(invocation.error, video_id))
                else:
                    summary.add(outcome_of_result(invocation.response))
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


def summary_table(summary: BackfillSummary, title: str, *, queued_elsewhere: bool) -> Table:
    """The counts: what was cleaned here, or (a sweep queued to the deployed consumer) what
    the work queue took."""
    counts = summary.counts
    columns = ["queued", "not queued"] if queued_elsewhere else list(CLEANED_COLUMNS)
    columns += [
        label for label in ("rejected", "not queued") if counts[label] and label not in columns
    ]
    cells = [str(summary.found), *(str(counts[label]) for label in columns)]
    if summary.unvouched is not None:
        columns.append("left: no detail")
        cells.append(str(summary.unvouched))
    table = Table(title=title)
    table.add_column("found", justify="right")
    for label in columns:
        table.add_column(label, justify="right")
    table.add_row(*cells)
    return table


def candidates_line(found: Sequence[str], *, limit: int = 20, ids_out: Path | None) -> str:
    if not found:
        return "candidates: none"
    shown = ", ".join(found[:limit])
    if len(found) <= limit:
        return f"candidates: {shown}"
    where = f"all in {ids_out}" if ids_out else "--ids-out FILE writes them all"
    return f"candidates: {shown} and {len(found) - limit} more ({where})"


def write_ids(path: Path, video_ids: Sequence[str]) -> None:
    """One VideoId a line, as ``clean --ids-file`` reads them."""
    path.write_text("".join(f"{video_id}\n" for video_id in video_ids), encoding="utf-8")


def as_json(answer: dict[str, Any]) -> str:
    return json.dumps(answer)
