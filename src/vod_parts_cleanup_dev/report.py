"""What the local runner prints: results, VOD requests, queued messages, metrics, run figures.

Everything is read from what the function wrote (its EMF metrics and JSON logs) and from the
stand-in's record of requests, the way an operator reads CloudWatch: nothing is asked of
the function's internals.
"""

import contextlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from vod_parts_cleanup.consumer.cleanup import VOD_CALL_LOG_MESSAGE
from vod_parts_cleanup.consumer.idempotency import REPLAY_LOG_MESSAGE
from vod_parts_cleanup.shared.observability import METRIC_FOR_STATUS, MetricName
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup_dev.outcomes import (
    FAILED,
    NOT_QUEUED,
    ItemOutcome,
    advice_for,
    outcome_of_failure,
    outcome_of_result,
)
from vod_parts_cleanup_dev.runner import Invocation

# The metrics that say an event came in and how it ended (each event counts one of them).
EVENT_METRICS = frozenset(
    {metric.value for metric in METRIC_FOR_STATUS.values()}
    | {
        MetricName.IDEMPOTENT_REPLAY.value,
        MetricName.CLEANUP_FAILED.value,
        MetricName.CLEANUP_DEFERRED.value,
    }
)


def print_invocation(invocation: Invocation, out: TextIO, *, logs: bool) -> None:
    if invocation.error is not None:
        print(f"raised {type(invocation.error).__name__}: {invocation.error}", file=out)
        [failure] = outcomes_of(invocation)
        if (advice := advice_for(failure.error_code, failure.cause)) is not None:
            print(f"  -> {advice}", file=out)
    else:
        print("result:", file=out)
        print(_indent(json.dumps(_readable(invocation.response), indent=2)), file=out)
    _print_event_results(invocation.records, out)
    _print_vod_requests(invocation.vod_requests, invocation.records, out)
    _print_queued(invocation.queued, out)
    _print_relayed(invocation, out)
    _print_metrics(invocation.records, out)
    if logs:
        _print_logs(invocation.records, out)


def print_run_figures(
    invocations: Sequence[Invocation], settings: Settings, out: TextIO, *, queue_depth: int | None
) -> None:
    """The dashboard's figures for this run: events in, VOD calls against the budget,
    throttles, the work queue."""
    emf = [record for invocation in invocations for record in _emf(invocation.records)]
    events_in = sum(1 for record in emf for name in _metric_names(record) if name in EVENT_METRICS)
    calls = Counter(
        str(record.get("Operation"))
        for record in emf
        if MetricName.VOD_LATENCY.value in _metric_names(record)
    )
    throttled = sum(1 for record in emf if MetricName.VOD_THROTTLED.value in _metric_names(record))
    by_operation = ", ".join(f"{name} {count}" for name, count in sorted(calls.items()))
    share = settings.vod_calls_per_second / settings.vod_concurrent_callers
    print("run figures:", file=out)
    print(f"  events in: {events_in}", file=out)
    print(f"  VOD calls: {sum(calls.values())} ({by_operation or 'none'})", file=out)
    print(
        f"  DeleteMultipartUpload budget: {settings.vod_calls_per_second:g}/s for the account, "
        f"{share:g}/s for each of {settings.vod_concurrent_callers} environments",
        file=out,
    )
    print(f"  throttled VOD answers: {throttled}", file=out)
    if queue_depth is not None:
        print(f"  work queue depth after the run: {queue_depth}", file=out)


def _readable(response: Any) -> Any:
    """An HTTP answer with its JSON body shown as JSON rather than as one escaped string."""
    if isinstance(response, dict) and isinstance(response.get("body"), str):
        with contextlib.suppress(ValueError):
            return response | {"body": json.loads(response["body"])}
    return response


def _print_event_results(records: list[dict[str, Any]], out: TextIO) -> None:
    """One line per event handled, from the logs: an SQS batch answers only with failures."""
    results = [record for record in records if isinstance(record.get("result"), dict)]
    replays = [record["message"] == REPLAY_LOG_MESSAGE for record in results]
    if len(results) < 2 and not any(replays) and "messageId" not in str(results):
        return
    print("events handled:", file=out)
    for record, replayed_record in zip(results, replays, strict=True):
        result = record["result"]
        where = f"message {record['messageId']}: " if "messageId" in record else ""
        reason = f" ({result['errorCode']})" if "errorCode" in result else ""
        if "reason" in result:
            reason += f" ({result['reason']})"
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
            f"  {call.get('action')} attempt {call.get('attempt')}: HTTP {call.get('httpStatus')} "
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
        shown = ", ".join(
            f"{name}={value.get('StringValue')}" for name, value in sorted(attributes.items())
        )
        print(f"  {message['MessageId']} ({shown}): {message['Body']}", file=out)


def _print_metrics(records: list[dict[str, Any]], out: TextIO) -> None:
    emf = list(_emf(records))
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


def _emf(records: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    return (record for record in records if "_aws" in record)


def _metric_names(record: dict[str, Any]) -> list[str]:
    return [
        metric["Name"]
        for directive in record["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    ]


def _as_list(value: float | list[float]) -> list[float]:
    return value if isinstance(value, list) else [value]


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


def _print_relayed(invocation: Invocation, out: TextIO) -> None:
    """What the local downstream receiver got, as its own log would show it."""
    if not invocation.relayed:
        return
    print(f"the downstream receiver got {len(invocation.relayed)} request(s):", file=out)
    for request, identical in invocation.relayed:
        verdict = "valid" if request.signature_valid and request.fresh else "NOT valid"
        headers = request.headers
        print(
            f"  POST {request.content_type or '(no content type)'}, "
            f"X-VOD-TIMESTAMP {headers.get('x-vod-timestamp')}, X-VOD-SIGNATURE {verdict} for "
            f"its URL and key; body {len(request.body)} bytes"
            f"{', identical to the callback' if identical else ''}; "
            f"answered {request.answered}",
            file=out,
        )


def outcomes_of(invocation: Invocation) -> list[ItemOutcome]:
    """What one invocation answered, one outcome per event it handled (an SQS batch's from
    its logs, as an operator reads them): for ``--report`` and the exit status."""
    step = invocation.label or None
    if invocation.error is not None:
        return [outcome_of_failure(invocation.error, None, step=step)]
    response = invocation.response
    if not isinstance(response, Mapping):
        return []
    if "statusCode" in response:  # an HTTP answer (the receiver's)
        body = _readable(response).get("body")
        body = body if isinstance(body, Mapping) else {}
        return [
            ItemOutcome(
                video_id=None,
                status=str(body.get("status", "-")),
                reason=body.get("reason"),
                error_code=body.get("errorCode"),
                cause=body.get("detail"),
                http_status=response["statusCode"],
                step=step,
            )
        ]
    if "batchItemFailures" in response:
        return _batch_outcomes(invocation.records, response, step)
    if "candidates" in response:  # a sweep's summary
        status = NOT_QUEUED if response.get("notQueued") else "swept"
        return [
            ItemOutcome(
                video_id=None,
                status=status,
                error_code=response.get("errorCode"),
                cause=response.get("detail"),
                summary=response,
                step=step,
            )
        ]
    return [outcome_of_result(response, step=step)]


def _batch_outcomes(
    records: list[dict[str, Any]], response: Mapping[str, Any], step: str | None
) -> list[ItemOutcome]:
    """Each record's result from the logs; a record reported failed without one was kept for
    a retry, and its failure log says why."""
    outcomes = []
    answered = set()
    for record in records:
        if isinstance(record.get("result"), dict) and "messageId" in record:
            answered.add(record["messageId"])
            outcomes.append(
                outcome_of_result(record["result"], step=step, message_id=record["messageId"])
            )
    for item in response.get("batchItemFailures", []):
        message_id = item.get("itemIdentifier")
        if message_id in answered:
            continue
        failure: dict[str, Any] = (
            next(  # the last word on it: the failure's own log, after its VOD calls
                (
                    record
                    for record in reversed(records)
                    if record.get("messageId") == message_id and record.get("errorCode")
                ),
                {},
            )
        )
        outcomes.append(
            ItemOutcome(
                video_id=failure.get("videoId"),
                status=FAILED,
                error_code=failure.get("errorCode"),
                cause=failure.get("cause"),
                step=step,
                message_id=message_id,
            )
        )
    return outcomes
