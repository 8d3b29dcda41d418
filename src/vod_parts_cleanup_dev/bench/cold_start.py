"""Cold starts: import and first answer, timed inside fresh Python 3.13 processes that see
only a Lambda package (with its bytecode) and what the runtime provides beside it.

Why: a cold start is what VOD's callback timeout and the queue's latency pay for; it is
measured for the function's package as `sam build` makes it, for the naive handler with
the official SDK, and for the consumer's floor (the imports and clients the design card
requires, nothing of ours: ``floor_handler``), in the same run, interleaved, so all meet
the same machine. Our own part of the consumer's cold start is what it costs above the floor.
"""

import json
import os
import shutil
import statistics
import subprocess
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, TextIO

from vod_parts_cleanup_dev import floor_handler, naive_handler
from vod_parts_cleanup_dev.bench.rows import table
from vod_parts_cleanup_dev.bench.scenarios import Stage, callback_event, callback_template
from vod_parts_cleanup_dev.bench.world import BenchError, seed_videos, upload_notification
from vod_parts_cleanup_dev.callbacks import LOCAL_CALLBACK_AUTH_KEY, callback_url_of
from vod_parts_cleanup_dev.package import (
    BARE_LAMBDA_CONTEXT,
    build_package,
    compile_bytecode,
    host_platform,
    install_locked,
    lambda_python,
    runtime_provided,
)
from vod_parts_cleanup_dev.runner import LOCAL_AWS_ENVIRONMENT
from vod_parts_cleanup_dev.sqs import lambda_sqs_event

RUNS = 7
# The targets: the route's cold start against the naive handler's, and the consumer's.
ROUTE_TARGET = 0.3
CONSUMER_TARGET = 0.7
# The consumer above its floor: our own part of its cold start.
FLOOR_TARGET = 1.15
NAIVE_SDK = "alibabacloud-vod20170321"
IMPORT_TIME_LINES = 15
VOD_LATENCY_SECONDS = 0.02
_SECONDS_PER_PROCESS = 60

# Timed from just before the first import of the function to its answer; the event is
# read first, as Lambda's runtime reads it before calling the handler.
COLD_START_SCRIPT = (
    BARE_LAMBDA_CONTEXT
    + """
import importlib, json, sys, time
event = json.loads(sys.argv[1])
started = time.perf_counter()
sys.path[:0] = sys.argv[3:]
handler = importlib.import_module(sys.argv[2]).lambda_handler
imported = time.perf_counter()
answer = handler(event, Context())
answered = time.perf_counter()
print("COLD " + json.dumps({
    "importMs": (imported - started) * 1000,
    "totalMs": (answered - started) * 1000,
    "answer": answer,
}))
"""
)


@dataclass(frozen=True)
class Process:
    """One kind of cold process: what it sees, what it is sent, what a right answer is."""

    name: str
    module: str
    path: tuple[Path, ...]
    environment: Mapping[str, str]
    event_for: Callable[[str], dict[str, Any]]
    answered: Callable[[Mapping[str, Any]], bool]
    cleans: bool
    """Its answer comes after VOD deleted the video's parts (a real call to the stand-in)."""


@dataclass(frozen=True)
class Timing:
    total_ms: float
    import_ms: float


@dataclass(frozen=True)
class Directories:
    """What the processes import from: the function's package, the naive handler beside the
    official SDK, and the runtime's boto3; all compiled."""

    package: Path
    naive: Path
    floor: Path
    runtime: Path
    python: str


@contextmanager
def built_directories(say: Callable[[str], None]) -> Iterator[Directories]:
    with TemporaryDirectory(prefix="vod-bench-") as scratch:
        root = Path(scratch)
        python = lambda_python()
        platform_tag = host_platform()
        say(f"building the Lambda package for {platform_tag} (make build-CleanupFunction)")
        package = build_package(root / "package", platform_tag)
        say(f"installing {NAIVE_SDK} from uv.lock beside the naive handler")
        naive = install_locked(root / "naive", [NAIVE_SDK], python)
        shutil.copy2(str(naive_handler.__file__), naive / "naive_handler.py")
        compile_bytecode(naive, python)
        floor = root / "floor"
        floor.mkdir()
        shutil.copy2(str(floor_handler.__file__), floor / "floor_handler.py")
        compile_bytecode(floor, python)
        say("copying and compiling the runtime's boto3, botocore, ...")
        runtime = runtime_provided(root / "runtime", compiled_by=python)
        yield Directories(package=package, naive=naive, floor=floor, runtime=runtime, python=python)


def processes(stage: Stage, directories: Directories) -> list[Process]:
    """(a) the HTTP route, (b) the consumer, (c) the naive handler, (d) the consumer's floor."""
    work_queue = stage.aws.new_work_queue("coldstart")
    table_name = stage.aws.new_table("coldstart")
    template = callback_template()
    ours = (directories.package, directories.runtime)
    return [
        Process(
            name="(a) route",
            module="vod_parts_cleanup.receiver.handler",
            path=ours,
            environment={
                "VOD_CALLBACK_URL": callback_url_of(template),
                "VOD_CALLBACK_AUTH_KEY": LOCAL_CALLBACK_AUTH_KEY,
                "WORK_QUEUE_URL": work_queue.url,
            },
            event_for=lambda video_id: callback_event(template, video_id),
            answered=_queued,
            cleans=False,
        ),
        Process(
            name="(b) consumer",
            module="vod_parts_cleanup.consumer.handler",
            path=ours,
            environment=stage.vod_environment
            | {"IDEMPOTENCY_TABLE_NAME": table_name, "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true"},
            event_for=_sqs_event,
            answered=_nothing_failed,
            cleans=True,
        ),
        Process(
            name="(c) naive",
            module="naive_handler",
            path=(directories.naive, directories.runtime),
            environment=stage.vod_environment,
            event_for=_sqs_event,
            answered=_nothing_failed,
            cleans=True,
        ),
        Process(
            name="(d) floor",
            module="floor_handler",
            path=(directories.floor, directories.package, directories.runtime),
            environment=stage.vod_environment
            | {"IDEMPOTENCY_TABLE_NAME": table_name, "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true"},
            event_for=_sqs_event,
            answered=_nothing_failed,
            cleans=True,
        ),
    ]


def _queued(answer: Mapping[str, Any]) -> bool:
    return answer.get("statusCode") == 200 and json.loads(answer["body"])["status"] == "queued"


def _nothing_failed(answer: Mapping[str, Any]) -> bool:
    return answer.get("batchItemFailures") == []


def _sqs_event(video_id: str) -> dict[str, Any]:
    """A batch of one uploader's notification, as the SQS trigger hands it over."""
    message = {
        "MessageId": str(uuid.uuid4()),
        "ReceiptHandle": "cold-start",
        "Body": upload_notification(video_id),
    }
    return lambda_sqs_event([message], "arn:aws:sqs:us-east-1:123456789012:coldstart")


def run_once(
    stage: Stage, directories: Directories, process: Process, *, import_time: bool = False
) -> tuple[Timing, str]:
    """One fresh process: its timing, and its stderr (the import times, if asked for)."""
    video_id = f"cold{uuid.uuid4().hex}"
    seed_videos(stage.vod, [video_id])
    event = process.event_for(video_id)
    command = [directories.python, "-I", "-S", "-B"]
    command += ["-X", "importtime"] if import_time else []
    command += ["-c", COLD_START_SCRIPT, json.dumps(event), process.module]
    command += [str(path) for path in process.path]
    completed = subprocess.run(  # noqa: S603 - the Lambda Python on our own script
        command,
        env=_lambda_environment(process.environment),
        capture_output=True,
        text=True,
        check=False,
        timeout=_SECONDS_PER_PROCESS,
    )
    report = _report_in(completed.stdout)
    left_parts = process.cleans and stage.vod.has_parts(video_id)
    if report is None or not process.answered(report["answer"]) or left_parts:
        msg = (
            f"{process.name} did not answer as expected (exit {completed.returncode}): "
            f"{report and report['answer']}\n{completed.stderr[-3000:]}"
        )
        raise BenchError(msg)
    return Timing(report["totalMs"], report["importMs"]), completed.stderr


def _lambda_environment(variables: Mapping[str, str]) -> dict[str, str]:
    """What Lambda sets, the moto server's endpoint, and the process's own variables."""
    return {
        "PATH": os.defpath,
        "LANG": "C.UTF-8",
        "AWS_REGION": LOCAL_AWS_ENVIRONMENT["AWS_DEFAULT_REGION"],
        "AWS_LAMBDA_FUNCTION_NAME": "vod-parts-cleanup",
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "vod-parts-cleanup",
        "POWERTOOLS_METRICS_NAMESPACE": "VodPartsCleanup",
        **LOCAL_AWS_ENVIRONMENT,
        **variables,
    }


def _report_in(stdout: str) -> dict[str, Any] | None:
    for line in stdout.splitlines():
        if line.startswith("COLD "):
            report: dict[str, Any] = json.loads(line.removeprefix("COLD "))
            return report
    return None


def compare(stage: Stage, runs: int, out: TextIO) -> list["Verdict"]:
    """Build, time, print the table, and show the imports behind any missed target."""
    with built_directories(lambda line: _say(out, line)) as directories:
        stage.prepare(VOD_LATENCY_SECONDS, [])
        kinds = processes(stage, directories)
        timings = measure(stage, directories, kinds, runs, out)
        results = verdicts(timings)
        print(
            f"\ncold start: import + first answer inside a fresh `python3.13 -I -S` that sees "
            f"only the package and the runtime's boto3 (all compiled); {runs} runs each, "
            "interleaved, after one untimed run each; VOD latency "
            f"{VOD_LATENCY_SECONDS * 1000:.0f} ms; import ms: the entry module, which imports "
            "and builds everything its function uses",
            file=out,
        )
        for line in verdict_table(results, timings):
            print(line, file=out)
        for verdict in results:
            if not verdict.met:
                process = next(kind for kind in kinds if kind.name == verdict.name)
                _explain_miss(stage, directories, process, out)
        return results


def _explain_miss(stage: Stage, directories: Directories, process: Process, out: TextIO) -> None:
    """The process's top imports, from one more cold process under ``-X importtime``."""
    _, stderr = run_once(stage, directories, process, import_time=True)
    print(
        f"\n{process.name} misses its target; its top imports by cumulative time "
        "(python -X importtime, one more cold process):",
        file=out,
    )
    for line in top_imports(stderr):
        print(f"  {line}", file=out)


def measure(
    stage: Stage, directories: Directories, kinds: Sequence[Process], runs: int, out: TextIO
) -> dict[str, list[Timing]]:
    """``runs`` timings per process, interleaved, after one untimed run of each (which
    warms the file cache, as a busy Lambda host has it)."""
    timings: dict[str, list[Timing]] = {process.name: [] for process in kinds}
    for process in kinds:
        run_once(stage, directories, process)
    for run in range(1, runs + 1):
        for process in kinds:
            timings[process.name].append(run_once(stage, directories, process)[0])
        _say(out, f"cold starts: round {run}/{runs} done")
    return timings


def _say(out: TextIO, line: str) -> None:
    print(f"... {line}", file=out, flush=True)


@dataclass(frozen=True)
class Verdict:
    name: str
    median_ms: float
    import_ms: float
    ratio: float | None
    target: float | None
    floor_ratio: float | None = None  # the consumer's median over its floor's

    @property
    def met_against_naive(self) -> bool:
        return self.ratio is None or self.target is None or self.ratio <= self.target

    @property
    def met_against_floor(self) -> bool:
        return self.floor_ratio is None or self.floor_ratio <= FLOOR_TARGET

    @property
    def met(self) -> bool:
        return self.met_against_naive and self.met_against_floor


def verdicts(timings: Mapping[str, Sequence[Timing]]) -> list[Verdict]:
    """Medians, each of ours against the naive handler's median, the consumer against its
    floor's."""
    targets = {"(a) route": ROUTE_TARGET, "(b) consumer": CONSUMER_TARGET}
    medians = {name: statistics.median(t.total_ms for t in runs) for name, runs in timings.items()}
    naive, floor = medians["(c) naive"], medians.get("(d) floor")
    return [
        Verdict(
            name=name,
            median_ms=medians[name],
            import_ms=statistics.median(t.import_ms for t in runs),
            ratio=medians[name] / naive if name in targets else None,
            target=targets.get(name),
            floor_ratio=medians[name] / floor if name == "(b) consumer" and floor else None,
        )
        for name, runs in timings.items()
    ]


def verdict_table(results: Sequence[Verdict], timings: Mapping[str, Sequence[Timing]]) -> list[str]:
    headers = (
        "process",
        "runs",
        "median ms",
        "min",
        "max",
        "import ms",
        "x naive",
        "target",
        "met",
        "x floor",
        "target",
        "met",
    )
    rows = []
    for verdict in results:
        totals = [timing.total_ms for timing in timings[verdict.name]]
        rows.append(
            (
                verdict.name,
                str(len(totals)),
                f"{verdict.median_ms:.0f}",
                f"{min(totals):.0f}",
                f"{max(totals):.0f}",
                f"{verdict.import_ms:.0f}",
                "-" if verdict.ratio is None else f"{verdict.ratio:.2f}",
                "-" if verdict.target is None else f"<= {verdict.target}",
                "-" if verdict.target is None else _yes_no(verdict.met_against_naive),
                "-" if verdict.floor_ratio is None else f"{verdict.floor_ratio:.2f}",
                "-" if verdict.floor_ratio is None else f"<= {FLOOR_TARGET}",
                "-" if verdict.floor_ratio is None else _yes_no(verdict.met_against_floor),
            )
        )
    return table(headers, rows)


def _yes_no(met: bool) -> str:
    return "yes" if met else "NO"


def top_imports(stderr: str, count: int = IMPORT_TIME_LINES) -> list[str]:
    """The imports that took longest, cumulatively, from ``python -X importtime``'s lines
    (``import time: self [us] | cumulative | imported package``), nesting kept visible."""
    entries = []
    for line in stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if not line.startswith("import time:") or len(fields) != 3:
            continue
        own, cumulative = fields[0].strip(), fields[1].strip()
        if own.isdigit() and cumulative.isdigit():
            entries.append((int(cumulative), int(own), fields[2].removeprefix(" ").rstrip()))
    entries.sort(reverse=True)
    return [
        f"{cumulative / 1000:8.1f} ms  (self {own / 1000:6.1f})  {name}"
        for cumulative, own, name in entries[:count]
    ]
