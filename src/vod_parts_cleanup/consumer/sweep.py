"""The sweep: uploads no event announced, found by listing VOD, handed to the paced consumer.

VOD sends nothing when a resumable upload stalls or fails (the video stays ``Uploading``),
and drops a callback after three tries, so some parts are only ever found by looking. The
sweep lists the videos in the chosen statuses created between VOD's own purge horizon
(7 days ago) and the minimum age, leaves alone an upload touched within the minimum age,
and queues each of the rest as a "sweep found" notification: the consumer cleans it once
(its idempotency key is the video and the outcome ``swept``), however often sweeps run.

GetVideoList reaches only the first 5,000 videos of a filter, so the age window is walked in
time slices: a slice that holds 5,000 or more is split in two until each can be read whole.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vod_parts_cleanup.consumer.intake import SWEEP_FOUND_EVENT_TYPE, SWEEP_REQUEST_KEY
from vod_parts_cleanup.consumer.vod_client import (
    LIST_PAGE_SIZE,
    LIST_REACH,
    UPLOAD_DETAILS_BATCH,
    ListedVideo,
    VideoPage,
    VodClient,
)
from vod_parts_cleanup.shared.clock import Clock, Deadline
from vod_parts_cleanup.shared.errors import SweepRequestError
from vod_parts_cleanup.shared.observability import Telemetry
from vod_parts_cleanup.shared.queues import HandedOff, SqsQueue, delivery_attributes
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup.shared.vocabulary import (
    VIDEO_STATUS_UPLOADING,
    VIDEO_STATUSES,
    ErrorCode,
    Trigger,
)

# VOD purges the parts of an unfinished upload after 7 days: older ones need nobody.
PURGE_HORIZON = timedelta(days=7)
# Stop starting listing calls with less than this left: the summary must still be sent.
SECONDS_TO_FINISH = 2.0


class SweepRequestModel(BaseModel):
    """The body of ``{"Sweep": {...}}``; every key optional, defaults from the settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_age_minutes: int | None = Field(default=None, alias="MinAgeMinutes", ge=60, le=7 * 1440)
    unvouched_min_age_minutes: int | None = Field(
        default=None, alias="UnvouchedMinAgeMinutes", ge=60, le=7 * 1440
    )
    statuses: tuple[str, ...] | None = Field(default=None, alias="Statuses", min_length=1)
    dry_run: bool = Field(default=False, alias="DryRun", strict=True)


@dataclass(frozen=True, kw_only=True)
class SweepRequest:
    min_age: timedelta
    statuses: tuple[str, ...]
    dry_run: bool = False
    # An Uploading upload VOD reports no detail for (GetUploadDetails omits it: a client-SDK
    # upload) is left alone until it was created this long ago: silence is no evidence that
    # it stopped. Never shorter than ``min_age``.
    unvouched_min_age: timedelta


def read_sweep_request(body: Any, settings: Settings) -> SweepRequest:
    """The sweep ``body[SWEEP_REQUEST_KEY]`` asks for, with the settings' defaults."""
    asked = body.get(SWEEP_REQUEST_KEY) if isinstance(body, dict) else None
    try:
        model = SweepRequestModel.model_validate(asked if asked is not None else {})
    except ValidationError as error:
        problems = sorted(
            {
                f"{'.'.join(str(part) for part in detail['loc']) or SWEEP_REQUEST_KEY} "
                f"({detail['msg'].replace(' or instance of SweepRequestModel', '')})"
                for detail in error.errors(include_input=False, include_url=False)
            }
        )
        raise SweepRequestError("invalid " + ", ".join(problems)) from None
    statuses = model.statuses or settings.sweep_statuses
    unknown = sorted(set(statuses) - set(VIDEO_STATUSES))
    if unknown:
        msg = f"unknown status {', '.join(unknown)}: use some of {', '.join(VIDEO_STATUSES)}"
        raise SweepRequestError(msg)
    minutes = model.min_age_minutes or settings.sweep_min_age_minutes
    unvouched = model.unvouched_min_age_minutes or settings.sweep_unvouched_min_age_minutes
    return SweepRequest(
        min_age=timedelta(minutes=minutes),
        statuses=tuple(statuses),
        dry_run=model.dry_run,
        unvouched_min_age=timedelta(minutes=max(unvouched, minutes)),
    )


@dataclass
class SweepSummary:
    """What one sweep found and did; answered in camelCase and counted as metrics."""

    dry_run: bool
    window_start: datetime
    window_end: datetime
    candidates: int = 0
    queued: int = 0
    too_young: int = 0
    unvouched: int = 0
    pages: int = 0
    complete: bool = True
    # Candidates the work queue did not take (not configured, refused, no time left): the
    # sweep did not do its job for them, so ``complete`` is false and the log says why.
    not_queued: int = 0
    error_code: str | None = None
    detail: str | None = None
    found: list[str] = field(default_factory=list, repr=False)

    def to_json_dict(self) -> dict[str, object]:
        answer: dict[str, object] = {
            "candidates": self.candidates,
            "queued": self.queued,
            "notQueued": self.not_queued,
            "tooYoung": self.too_young,
            "unvouched": self.unvouched,
            "pages": self.pages,
            "dryRun": self.dry_run,
            "complete": self.complete,
            "windowStart": self.window_start.isoformat().replace("+00:00", "Z"),
            "windowEnd": self.window_end.isoformat().replace("+00:00", "Z"),
        }
        if self.error_code is not None:
            answer |= {"errorCode": self.error_code, "detail": self.detail}
        return answer


# Told of each listing page (candidates so far) and each queued batch, for a progress bar.
Progress = Callable[[str, int], None]


def _no_progress(stage: str, count: int) -> None:
    """Nobody watches."""


@dataclass(frozen=True, kw_only=True)
class Sweeper:
    """Finds the uploads to clean and queues them; it deletes nothing itself."""

    vod: VodClient
    work_queue: SqsQueue | None
    clock: Clock
    deadline: Deadline
    telemetry: Telemetry

    def sweep(self, request: SweepRequest, *, progress: Progress = _no_progress) -> SweepSummary:
        now = datetime.fromtimestamp(int(self.clock.time()), UTC)
        summary = SweepSummary(
            dry_run=request.dry_run,
            window_start=now - PURGE_HORIZON,
            window_end=now - request.min_age,
        )
        videos = self._list(request, summary, progress)
        eligible = self._without_recent_activity(videos, now, request, summary)
        summary.candidates = len(eligible)
        summary.found = [video.video_id for video in eligible]
        if not request.dry_run:
            self._queue(eligible, summary, progress)
        self._account_for(summary)
        return summary

    def _list(
        self, request: SweepRequest, summary: SweepSummary, progress: Progress
    ) -> dict[str, ListedVideo]:
        """Every video in the statuses and the window, each once."""
        found: dict[str, ListedVideo] = {}
        for video in self._walk(request, summary):
            found.setdefault(video.video_id, video)
            if len(found) % LIST_PAGE_SIZE == 0:
                progress("listed", len(found))
        progress("listed", len(found))
        return found

    def _walk(self, request: SweepRequest, summary: SweepSummary) -> Iterator[ListedVideo]:
        """The window's videos, slice by slice; a slice VOD cannot list whole is halved."""

        def page(start: datetime, end: datetime, number: int) -> VideoPage:
            summary.pages += 1
            return self.vod.list_videos(
                statuses=request.statuses,
                created_from=start,
                created_to=end,
                page=number,
            )

        if summary.window_start >= summary.window_end:
            return  # a minimum age of 7 days: VOD has purged everything older, nothing to list
        slices = [(summary.window_start, summary.window_end)]
        while slices:
            start, end = slices.pop()
            if self._out_of_time(summary):
                return
            first = page(start, end, 1)
            if first.total >= LIST_REACH and end - start > timedelta(seconds=1):
                middle = (start + (end - start) / 2).replace(microsecond=0)
                slices += [(middle + timedelta(seconds=1), end), (start, middle)]
                continue
            if first.total > LIST_REACH:  # one second holding more than VOD will list
                summary.complete = False
            yield from first.videos
            pages = -(-min(first.total, LIST_REACH) // LIST_PAGE_SIZE)
            for number in range(2, pages + 1):
                if self._out_of_time(summary):
                    return
                yield from page(start, end, number).videos

    def _without_recent_activity(
        self,
        videos: dict[str, ListedVideo],
        now: datetime,
        request: SweepRequest,
        summary: SweepSummary,
    ) -> list[ListedVideo]:
        """An Uploading upload is queued only with evidence that it stopped: VOD says it was
        last touched before the minimum age. One VOD gives no detail for is left alone
        until it was created before the unvouched age (``unvouched``). UploadFail and the
        other statuses need no evidence: VOD itself says the upload is over."""
        uploading = [
            video.video_id for video in videos.values() if video.status == VIDEO_STATUS_UPLOADING
        ]
        touched: dict[str, datetime] = {}
        checked: set[str] = set()
        for start in range(0, len(uploading), UPLOAD_DETAILS_BATCH):
            if self._out_of_time(summary):
                break  # the rest is not checked in time: the next sweep decides
            batch = uploading[start : start + UPLOAD_DETAILS_BATCH]
            touched |= self.vod.last_upload_activity(batch)
            checked.update(batch)
        eligible = []
        for video in videos.values():
            if video.status == VIDEO_STATUS_UPLOADING:
                if video.video_id not in checked:
                    continue
                activity = touched.get(video.video_id)
                if activity is None and not _created_before(video, now - request.unvouched_min_age):
                    # GetUploadDetails reports only console and server-SDK uploads (VOD's
                    # Chinese and Indonesian pages of 2025-2026 exclude the client SDKs; an
                    # older English page lists them): the safe reading is that a web or
                    # mobile resumable upload may get no detail, so no detail means nothing.
                    summary.unvouched += 1
                    continue
                if activity is not None and activity > now - request.min_age:
                    summary.too_young += 1
                    continue
            eligible.append(video)
        return eligible

    def _queue(self, videos: list[ListedVideo], summary: SweepSummary, progress: Progress) -> None:
        """Hand the candidates to the work queue; what it did not take is counted, and the
        summary and an error log say why."""
        if self.work_queue is None:
            handed = HandedOff(0, "WORK_QUEUE_URL is not set")
            error_code = ErrorCode.NOT_CONFIGURED
        else:
            handed = self._hand_off(self.work_queue, videos, progress)
            error_code = ErrorCode.HAND_OFF_FAILED
        summary.queued = handed.taken
        summary.not_queued = len(videos) - handed.taken
        if summary.not_queued:
            summary.complete = False
            summary.error_code = error_code
            summary.detail = (
                f"the work queue took {handed.taken} of {len(videos)}: "
                f"{handed.problem or 'no reason given'}"
            )
            self.telemetry.logger.error(
                "the sweep could not queue every candidate; the next sweep finds them again",
                extra={"errorCode": error_code, "detail": summary.detail},
            )

    def _hand_off(
        self, queue: SqsQueue, videos: list[ListedVideo], progress: Progress
    ) -> HandedOff:
        attributes = delivery_attributes(Trigger.SWEEP, received_at=self.clock.time())
        bodies = [
            json.dumps(
                {
                    "EventType": SWEEP_FOUND_EVENT_TYPE,
                    "VideoId": video.video_id,
                    "Status": video.status,
                }
            )
            for video in videos
        ]
        queued = 0
        for start in range(0, len(bodies), 100):
            handed = queue.hand_off_many(bodies[start : start + 100], attributes)
            queued += handed.taken
            progress("queued", queued)
            if handed.problem is not None:
                return HandedOff(queued, handed.problem)
        return HandedOff(queued)

    def _out_of_time(self, summary: SweepSummary) -> bool:
        seconds_left = self.deadline.seconds_left()
        if seconds_left is None or seconds_left >= SECONDS_TO_FINISH:
            return False
        summary.complete = False
        return True

    def _account_for(self, summary: SweepSummary) -> None:
        self.telemetry.metrics.count_sweep(
            candidates=summary.candidates,
            queued=summary.queued,
            too_young=summary.too_young,
            unvouched=summary.unvouched,
            pages=summary.pages,
        )
        level = self.telemetry.logger.info if summary.complete else self.telemetry.logger.warning
        message = "sweep done"
        if summary.not_queued:
            message = "sweep done, but not every candidate was queued"
        elif not summary.complete:
            message = "sweep cut short by the time left"
        level(message, extra={"sweep": summary.to_json_dict()})


def _created_before(video: ListedVideo, moment: datetime) -> bool:
    """Whether VOD says the video was created before ``moment`` (unknown: no)."""
    return video.creation_time is not None and video.creation_time <= moment
