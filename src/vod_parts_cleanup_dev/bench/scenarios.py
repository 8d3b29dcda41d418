"""The throughput scenarios, each run for the function and for the naive handler.

- drain: a work queue already full of uploaders' notifications, read by 2 environments.
- burst: signed HTTP callbacks at 50 per second to the HTTP route; for the function, the
  same 2 environments drain what the receivers queued (each batch's claims are confirmed
  with one GetVideoInfos before the deletes); the naive route calls VOD inline.

Why: these are the loads VOD's rate limit makes hard; each run reports what VOD saw, what
SQS saw and what was left undone (see ``rows``).
"""

import copy
import json
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol

from vod_parts_cleanup.consumer.app import ConsumerApp
from vod_parts_cleanup.receiver.app import ReceiverApp
from vod_parts_cleanup.shared.settings import Secret, Settings
from vod_parts_cleanup_dev.bench.rows import BUDGET_PER_SECOND, Observed, VodRequest
from vod_parts_cleanup_dev.bench.world import (
    VISIBILITY_TIMEOUT_SECONDS,
    VOD_RATE_LIMITS,
    Aws,
    Handler,
    WorkQueue,
    seed_videos,
    sqs_triggers,
    upload_notification,
    video_id_of,
    wait_until,
)
from vod_parts_cleanup_dev.callbacks import LOCAL_CALLBACK_AUTH_KEY, callback_url_of, sign_callback
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.naive_handler import NaiveFunction, client_from
from vod_parts_cleanup_dev.package import ROOT
from vod_parts_cleanup_dev.vod_server import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET, LocalVod

CONSUMERS = 2  # the SQS trigger's maximum concurrency (template.yaml)
# API Gateway invokes as many receivers as callbacks arrive at once; 10 covers 50/s.
RECEIVER_ENVIRONMENTS = 10
RECEIVER_TIMEOUT_SECONDS = 10.0  # template.yaml: CallbackFunction's Timeout
CALLBACKS_PER_SECOND = 50.0
# VOD's delivery: only a 200 counts; 3 attempts in all, about a second apart, then dropped.
CALLBACK_ATTEMPTS = 3
CALLBACK_RETRY_SECONDS = 1.0
CALLBACK_TEMPLATE = ROOT / "events" / "http-completed.json"
# A run that has not settled after this many ideal times is cut short.
_LIMIT_IN_IDEAL_TIMES = 4.0
_SHORTEST_LIMIT_SECONDS = 60.0


@dataclass(frozen=True)
class Stage:
    """What every scenario runs against: one VOD stand-in and one (moto) AWS."""

    vod: LocalVod
    aws: Aws

    @property
    def vod_environment(self) -> dict[str, str]:
        """The variables that point a function at the stand-in with its keys."""
        return {
            "ALIBABA_CLOUD_ACCESS_KEY_ID": LOCAL_ACCESS_KEY_ID,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": LOCAL_ACCESS_KEY_SECRET,
            "VOD_ENDPOINT": self.vod.endpoint,
            "VOD_PROTOCOL": "http",
        }

    def prepare(self, latency_seconds: float, video_ids: Sequence[str]) -> None:
        """A stand-in with only these videos (with parts), VOD's limits and this latency."""
        self.vod.reset()
        self.vod.latency_seconds = latency_seconds
        self.vod.rate_limits = dict(VOD_RATE_LIMITS)
        seed_videos(self.vod, video_ids)

    def observe(
        self,
        *,
        scenario: str,
        function: str,
        video_ids: Sequence[str],
        work_queue: WorkQueue,
        redeliveries: int,
        dropped: frozenset[str],
        drain_seconds: float,
        settled: bool,
    ) -> Observed:
        if not settled:  # let what is in flight become visible, to find it in the queue
            time.sleep(VISIBILITY_TIMEOUT_SECONDS)
        return Observed(
            scenario=scenario,
            function=function,
            notifications=tuple(video_ids),
            requests=tuple(
                VodRequest(
                    request.action,
                    request.query.get("MediaId") or request.query.get("VideoId"),
                    request.error_code,
                )
                for request in self.vod.requests
            ),
            cleaned=frozenset(v for v in video_ids if not self.vod.has_parts(v)),
            kept=frozenset(map(video_id_of, self.aws.bodies(work_queue.url))),
            dead_lettered=tuple(map(video_id_of, self.aws.bodies(work_queue.dead_letter_url))),
            dropped=dropped,
            redeliveries=redeliveries,
            drain_seconds=drain_seconds,
            settled=settled,
        )


class Contender(Protocol):
    """A function under measurement, as its execution environments are built."""

    name: str
    hands_off: bool
    """Its HTTP route hands callbacks to the work queue, which consumers then drain."""

    def consumer(self, stage: Stage, work_queue: WorkQueue, table: str) -> Handler: ...

    def receiver(self, stage: Stage, work_queue: WorkQueue) -> Handler: ...


class Ours:
    """The functions: one application per environment, as Lambda builds it."""

    name = "ours"
    hands_off = True

    def consumer(self, stage: Stage, work_queue: WorkQueue, table: str) -> Handler:
        settings = Settings.from_environment(stage.vod_environment).with_changes(
            idempotency_table_name=table,
            vod_calls_per_second=BUDGET_PER_SECOND,
            vod_concurrent_callers=CONSUMERS,
        )
        # Built here, in one thread: boto3's default session (which builds the DynamoDB
        # client) is not thread-safe, and the environments' threads will run it.
        return ConsumerApp(settings).lambda_handler

    def receiver(self, stage: Stage, work_queue: WorkQueue) -> Handler:
        settings = Settings(
            callback_urls=(callback_url_of(callback_template()),),
            callback_auth_key=Secret(LOCAL_CALLBACK_AUTH_KEY),
            work_queue_url=work_queue.url,
        )
        return ReceiverApp(settings).lambda_handler


class Naive:
    """The naive handler: one SDK client per environment."""

    name = "naive"
    hands_off = False

    def consumer(self, stage: Stage, work_queue: WorkQueue, table: str) -> Handler:
        return NaiveFunction(client_from(stage.vod_environment)).sqs_handler

    def receiver(self, stage: Stage, work_queue: WorkQueue) -> Handler:
        return NaiveFunction(client_from(stage.vod_environment)).http_handler


def drain(stage: Stage, contender: Contender, *, latency_seconds: float, events: int) -> Observed:
    """A work queue holding ``events`` distinct notifications, drained by 2 environments."""
    name = _run_name("drain", contender, latency_seconds)
    video_ids = [f"{name}x{index:04d}" for index in range(events)]
    stage.prepare(latency_seconds, video_ids)
    work_queue, table = stage.aws.new_work_queue(name), stage.aws.new_table(name)
    stage.aws.send(work_queue, [upload_notification(video_id) for video_id in video_ids])
    consumers = [contender.consumer(stage, work_queue, table) for _ in range(CONSUMERS)]
    started = time.monotonic()
    with sqs_triggers(consumers, work_queue) as deliveries:
        settled = wait_until(
            lambda: stage.aws.is_empty(work_queue.url), limit_seconds=_time_limit(events)
        )
        drain_seconds = time.monotonic() - started
    return stage.observe(
        scenario=f"drain {_milliseconds(latency_seconds)} ms",
        function=contender.name,
        video_ids=video_ids,
        work_queue=work_queue,
        redeliveries=deliveries.redeliveries,
        dropped=frozenset(),
        drain_seconds=drain_seconds,
        settled=settled,
    )


def burst(
    stage: Stage, contender: Contender, *, latency_seconds: float, callbacks: int
) -> Observed:
    """``callbacks`` signed callbacks at 50 per second; the time runs until every callback
    was answered or dropped and the work queue is empty."""
    name = _run_name("burst", contender, latency_seconds)
    video_ids = [f"{name}x{index:04d}" for index in range(callbacks)]
    stage.prepare(latency_seconds, video_ids)
    work_queue, table = stage.aws.new_work_queue(name), stage.aws.new_table(name)
    receivers = [contender.receiver(stage, work_queue) for _ in range(RECEIVER_ENVIRONMENTS)]
    consumers: list[Handler] = []
    if contender.hands_off:
        consumers = [contender.consumer(stage, work_queue, table) for _ in range(CONSUMERS)]
    sender = CallbackSender(receivers)
    started = time.monotonic()
    with sqs_triggers(consumers, work_queue) as deliveries:
        sender.start(video_ids)
        settled = wait_until(
            lambda: sender.finished() and stage.aws.is_empty(work_queue.url),
            limit_seconds=_time_limit(callbacks),
        )
        drain_seconds = time.monotonic() - started
    sender.join()
    return stage.observe(
        scenario=f"burst {_milliseconds(latency_seconds)} ms",
        function=contender.name,
        video_ids=video_ids,
        work_queue=work_queue,
        redeliveries=deliveries.redeliveries + sender.retries,
        dropped=sender.dropped,
        drain_seconds=drain_seconds,
        settled=settled,
    )


class CallbackSender:
    """VOD's side of HTTP callbacks: each is sent at its time and, until it is answered 200,
    sent again about a second later, 3 attempts in all; then VOD drops it.

    Each attempt is answered by a free receiver environment (API Gateway invokes one).
    """

    def __init__(self, receivers: Sequence[Handler]) -> None:
        self._free: queue.Queue[Handler] = queue.Queue()
        for receiver in receivers:
            self._free.put(receiver)
        self._template = callback_template()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._dropped: set[str] = set()
        self.retries = 0

    def start(self, video_ids: Sequence[str]) -> None:
        """Send one callback per video, ``CALLBACKS_PER_SECOND`` apart, from now on."""
        first = time.monotonic()
        for index, video_id in enumerate(video_ids):
            due = first + index / CALLBACKS_PER_SECOND
            thread = threading.Thread(target=self._deliver, args=(video_id, due), daemon=True)
            self._threads.append(thread)
            thread.start()

    def finished(self) -> bool:
        return not any(thread.is_alive() for thread in self._threads)

    def join(self) -> None:
        for thread in self._threads:
            thread.join()

    @property
    def dropped(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._dropped)

    def _deliver(self, video_id: str, due: float) -> None:
        time.sleep(max(0.0, due - time.monotonic()))
        event = callback_event(self._template, video_id)
        for attempt in range(CALLBACK_ATTEMPTS):
            if attempt:
                with self._lock:
                    self.retries += 1
                time.sleep(CALLBACK_RETRY_SECONDS)
            if self._post(event) == HTTPStatus.OK:
                return
        with self._lock:
            self._dropped.add(video_id)

    def _post(self, event: Mapping[str, Any]) -> int:
        receiver = self._free.get()
        try:
            answer = receiver(event, LocalLambdaContext(timeout_seconds=RECEIVER_TIMEOUT_SECONDS))
        except Exception:  # a crashed invocation: API Gateway answers 502
            return HTTPStatus.BAD_GATEWAY
        finally:
            self._free.put(receiver)
        return int(answer.get("statusCode", HTTPStatus.BAD_GATEWAY))


def callback_template() -> dict[str, Any]:
    """An API Gateway event of a VOD callback (the sample in events/)."""
    template: dict[str, Any] = json.loads(CALLBACK_TEMPLATE.read_text(encoding="utf-8"))
    return template


def callback_event(template: Mapping[str, Any], video_id: str) -> dict[str, Any]:
    """The callback VOD sends now for this video's completed upload, signed."""
    event = copy.deepcopy(dict(template))
    body = upload_notification(video_id)
    event["body"] = body
    event["headers"]["content-length"] = str(len(body.encode()))
    return sign_callback(event, LOCAL_CALLBACK_AUTH_KEY)


def _run_name(scenario: str, contender: Contender, latency_seconds: float) -> str:
    """Letters and digits only: it prefixes the run's VideoIds."""
    return f"{scenario}{contender.name}{_milliseconds(latency_seconds)}"


def _milliseconds(seconds: float) -> int:
    return round(seconds * 1000)


def _time_limit(events: int) -> float:
    return max(_SHORTEST_LIMIT_SECONDS, _LIMIT_IN_IDEAL_TIMES * events / BUDGET_PER_SECOND)
