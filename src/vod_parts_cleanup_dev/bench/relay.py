"""The relay scenario: a burst of signed callbacks through receivers in relay mode, and the
relay's environments delivering them to a downstream receiver (the local stand-in of a
customer's own, which checks VOD's signature) that answers each in 50 ms.

Why: relay mode must deliver every callback once, soon, and cost VOD's answer next to
nothing; so it reports what the downstream got (delivered, retried, lost, duplicated), the
delivery latency from our 200 to the downstream's receipt, and a warm receiver's answer
time with the relay on beside off (the second hand-off).
"""

import json
import statistics
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TextIO

from vod_parts_cleanup.receiver.app import ReceiverApp
from vod_parts_cleanup.relay.app import RelayApp
from vod_parts_cleanup.relay.retry import receives_for
from vod_parts_cleanup.shared.settings import Secret, Settings
from vod_parts_cleanup_dev.bench.rows import table
from vod_parts_cleanup_dev.bench.scenarios import (
    CALLBACKS_PER_SECOND,
    RECEIVER_ENVIRONMENTS,
    CallbackSender,
    Stage,
    callback_event,
    callback_template,
)
from vod_parts_cleanup_dev.bench.world import (
    BatchingPolicy,
    Handler,
    WorkQueue,
    sqs_triggers,
    video_id_of,
    wait_until,
)
from vod_parts_cleanup_dev.callbacks import LOCAL_CALLBACK_AUTH_KEY, callback_url_of
from vod_parts_cleanup_dev.downstream import LocalDownstream, Script
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext

RELAY_FUNCTION = "RelayFunction"
RELAY_ENVIRONMENTS = 2  # template.yaml: RelayMaximumConcurrency's default
DOWNSTREAM_LATENCY_SECONDS = 0.05
WARM_CALLS = 200
SECOND_HAND_OFF_TARGET_MS = 15.0
_SETTLE_LIMIT_SECONDS = 120.0


@dataclass(frozen=True)
class RelayFigures:
    callbacks: int
    delivered: int
    retried: int
    lost: int
    duplicated: int
    latency_ms: Sequence[float]
    answer_off_ms: Sequence[float]
    answer_on_ms: Sequence[float]

    @property
    def second_hand_off_ms(self) -> float:
        return statistics.median(self.answer_on_ms) - statistics.median(self.answer_off_ms)

    def missed_targets(self) -> list[str]:
        missed = []
        if self.delivered != self.callbacks or self.lost or self.duplicated:
            missed.append("every callback delivered once")
        if self.second_hand_off_ms > SECOND_HAND_OFF_TARGET_MS:
            missed.append(f"second hand-off <= {SECOND_HAND_OFF_TARGET_MS:g} ms p50")
        return missed


def run(stage: Stage, *, callbacks: int) -> RelayFigures:
    """The burst through relay-mode receivers, then the relay's environments draining."""
    name = "relayours"
    video_ids = [f"{name}x{index:04d}" for index in range(callbacks)]
    work_queue = stage.aws.new_work_queue(f"{name}-work")
    relay_queue = stage.aws.new_work_queue(name, max_receives=receives_for(24))
    script = Script(latency_seconds=DOWNSTREAM_LATENCY_SECONDS)
    with LocalDownstream(script=script) as downstream:
        answered = _Answered()
        receivers = [
            answered.recording(ReceiverApp(_receiver_settings(work_queue, relay_queue, downstream)))
            for _ in range(RECEIVER_ENVIRONMENTS)
        ]
        relays = [
            RelayApp(_relay_settings(relay_queue, downstream)).lambda_handler
            for _ in range(RELAY_ENVIRONMENTS)
        ]
        sender = CallbackSender(receivers)
        with sqs_triggers(relays, relay_queue, function=RELAY_FUNCTION):
            sender.start(video_ids)
            wait_until(
                lambda: sender.finished() and stage.aws.is_empty(relay_queue.url),
                limit_seconds=_SETTLE_LIMIT_SECONDS,
            )
        sender.join()
        received = list(downstream.received)
        answer_off, answer_on = _warm_answers(work_queue, relay_queue, downstream)
    delivered_at: dict[str, list[float]] = {}
    for request in received:
        if request.answered == HTTPStatus.OK:
            delivered_at.setdefault(video_id_of(request.body.decode()), []).append(request.at)
    accepted = answered.first_ok()
    return RelayFigures(
        callbacks=callbacks,
        delivered=len(delivered_at),
        retried=sum(1 for request in received if request.answered != HTTPStatus.OK),
        lost=len(set(accepted) - set(delivered_at)),
        duplicated=sum(len(times) - 1 for times in delivered_at.values()),
        latency_ms=[
            (min(times) - accepted[video_id]) * 1000
            for video_id, times in delivered_at.items()
            if video_id in accepted
        ],
        answer_off_ms=answer_off,
        answer_on_ms=answer_on,
    )


class _Answered:
    """When each callback was first answered 200 (VOD's view of "delivered to us")."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._first_ok: dict[str, float] = {}

    def recording(self, receiver: ReceiverApp) -> Handler:
        def handler(event: Any, context: Any) -> Mapping[str, Any]:
            answer = receiver.lambda_handler(event, context)
            if answer.get("statusCode") == HTTPStatus.OK:
                video_id = json.loads(event["body"])["VideoId"]
                with self._lock:
                    self._first_ok.setdefault(video_id, time.time())
            return answer

        return handler

    def first_ok(self) -> dict[str, float]:
        with self._lock:
            return dict(self._first_ok)


def _receiver_settings(
    work_queue: WorkQueue, relay_queue: WorkQueue | None, downstream: LocalDownstream
) -> Settings:
    return Settings(
        callback_urls=(callback_url_of(callback_template()),),
        callback_auth_key=Secret(LOCAL_CALLBACK_AUTH_KEY),
        work_queue_url=work_queue.url,
        relay_queue_url=relay_queue.url if relay_queue else None,
        relay_callback_url=downstream.url if relay_queue else None,
    )


def _relay_settings(relay_queue: WorkQueue, downstream: LocalDownstream) -> Settings:
    return Settings(
        relay_callback_url=downstream.url,
        relay_callback_auth_key=Secret(downstream.key),
        relay_queue_url=relay_queue.url,
    )


def _warm_answers(
    work_queue: WorkQueue, relay_queue: WorkQueue, downstream: LocalDownstream
) -> tuple[list[float], list[float]]:
    """One warm receiver with the relay off and one with it on, called in turn: each
    answer's time in ms (signing the callback is not counted)."""
    off: Handler = ReceiverApp(_receiver_settings(work_queue, None, downstream)).lambda_handler
    on: Handler = ReceiverApp(
        _receiver_settings(work_queue, relay_queue, downstream)
    ).lambda_handler
    template = callback_template()
    times: dict[bool, list[float]] = {False: [], True: []}
    for number in range(WARM_CALLS + 2):
        for relay, handler in ((False, off), (True, on)):
            event = callback_event(template, f"warm{number:04d}{int(relay)}")
            started = time.perf_counter()
            answer = handler(event, LocalLambdaContext(timeout_seconds=10))
            elapsed = (time.perf_counter() - started) * 1000
            if answer["statusCode"] == HTTPStatus.OK and number >= 2:  # the first two warm up
                times[relay].append(elapsed)
    return times[False], times[True]


def report(figures: RelayFigures, out: TextIO) -> None:
    batching = BatchingPolicy.from_template(RELAY_FUNCTION)
    print(
        f"\nrelay: {figures.callbacks} signed callbacks at {CALLBACKS_PER_SECOND:g}/s to "
        f"receivers in relay mode; the downstream receiver answers each in "
        f"{DOWNSTREAM_LATENCY_SECONDS * 1000:.0f} ms; {RELAY_ENVIRONMENTS} relay environments, "
        f"batches of up to {batching.batch_size} (template.yaml); latency: from our 200 to VOD "
        "to the downstream's receipt",
        file=out,
    )
    latencies = sorted(figures.latency_ms) or [float("nan")]
    headers = ["callbacks", "delivered", "retried", "lost", "duplicated", "p50 ms", "p99 ms"]
    row = [
        str(figures.callbacks),
        str(figures.delivered),
        str(figures.retried),
        str(figures.lost),
        str(figures.duplicated),
        f"{statistics.median(latencies):.0f}",
        f"{_percentile(latencies, 0.99):.0f}",
    ]
    for line in table(headers, [row]):
        print(line, file=out)
    print(
        f"receiver's warm answer, p50 of {len(figures.answer_off_ms)}: relay off "
        f"{statistics.median(figures.answer_off_ms):.1f} ms, relay on "
        f"{statistics.median(figures.answer_on_ms):.1f} ms: the second hand-off costs "
        f"{figures.second_hand_off_ms:+.1f} ms (target <= {SECOND_HAND_OFF_TARGET_MS:g})",
        file=out,
    )
    missed = figures.missed_targets()
    print(f"  relay: {'met' if not missed else 'MISSED: ' + '; '.join(missed)}", file=out)


def _percentile(ordered: Sequence[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]
