"""The local runner: `vod-parts-cleanup invoke EVENT_FILE` against the embedded stand-ins,
in this process (as `main` runs it) and once as the installed command."""

import io
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import CALLBACK_KEY, CALLBACK_URL, EVENTS, vod_signature
from vod_parts_cleanup_dev import cli
from vod_parts_cleanup_dev.vod_server import LOCAL_ACCESS_KEY_SECRET


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def invoke(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """``vod-parts-cleanup invoke ...`` with nothing configured, so the stand-ins are used."""

    def run(*arguments: str) -> Run:
        out = io.StringIO()
        returncode = cli.main(["invoke", *arguments], out=out)
        return Run(returncode, out.getvalue(), capsys.readouterr().err)

    return run


def test_the_installed_command_runs_a_sample_in_a_fresh_process() -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "vod_parts_cleanup_dev.cli",
            "invoke",
            str(EVENTS / "direct-completed.json"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("VOD: the local stand-in at http://127.0.0.1:")
    assert '"status": "deleted"' in run.stdout
    assert "run figures:" in run.stdout


def test_invoke_runs_the_handler_against_the_stand_in_and_shows_everything(
    invoke: Callable[..., Run],
) -> None:
    run = invoke(str(EVENTS / "direct-completed.json"), "--repeat", "2")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    where = out.splitlines()[0]
    assert re.fullmatch(
        r"VOD: the local stand-in at http://127\.0\.0\.1:\d+ \(nothing of VOD configured\) \| "
        r"AWS embedded \(moto\): table \S+, work queue vod-parts-cleanup-work",
        where,
    )
    assert "the stand-in holds 1 video(s): 932f6b326f1dbf6080ff2da4ac4ff33a" in out
    first, second = out.split("== invocation 2 of 2")
    assert '"status": "deleted"' in first
    assert "DeleteMultipartUpload 2017-03-21 MediaId=932f6b326f1dbf6080ff2da4ac4ff33a" in first
    assert "MediaType=video (valid signature) -> 200 OK" in first
    assert "VodPartsCleanup/PartsDeleted = 1 Count" in first
    # The second run is the same notification: replayed from the store, VOD not called.
    assert '"status": "deleted"' in second
    assert "replayed from the idempotency store" in second
    assert "VOD requests received by the stand-in: 0" in second
    assert "VodPartsCleanup/IdempotentReplay = 1 Count" in second
    assert LOCAL_ACCESS_KEY_SECRET not in out + run.stderr


def test_invoke_shows_each_record_of_a_batch_and_the_logs(invoke: Callable[..., Run]) -> None:
    run = invoke(str(EVENTS / "sqs-mixed-batch.json"), "--logs")
    assert run.returncode == 0, run.stderr
    assert "batchItemFailures" in run.stdout
    assert "rejected (MalformedEvent)" in run.stdout
    assert "ignored" in run.stdout
    assert '"level": "INFO"' in run.stdout


def test_a_failure_is_shown_and_sets_the_exit_status(
    monkeypatch: pytest.MonkeyPatch, invoke: Callable[..., Run]
) -> None:
    monkeypatch.setenv("VOD_ENDPOINT", "127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("VOD_PROTOCOL", "http")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI5tLocal")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "cli-test-secret")
    monkeypatch.setenv("VOD_MAX_ATTEMPTS", "1")
    run = invoke(str(EVENTS / "direct-manual.json"))
    assert run.returncode == 1
    assert run.stdout.startswith(
        "VOD: http://127.0.0.1:9 (region cn-shanghai), access key ...ocal | AWS embedded"
    )
    assert "raised CleanupFailedError" in run.stdout
    assert "NetworkError" in run.stdout
    assert "refused: nothing accepts connections at 127.0.0.1:9" in run.stdout
    assert "-> check VOD_ENDPOINT and VOD_PROTOCOL: nothing listens there" in run.stdout
    assert "cli-test-secret" not in run.stdout + run.stderr


def test_a_bad_configuration_is_reported_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, invoke: Callable[..., Run]
) -> None:
    monkeypatch.setenv("VOD_PROTOCOL", "http")
    monkeypatch.setenv("VOD_ENDPOINT", "vod.cn-shanghai.aliyuncs.com")
    run = invoke(str(EVENTS / "direct-manual.json"))
    assert run.returncode == 2
    assert "VOD_PROTOCOL=http is allowed only for loopback hosts" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_sample_callback_is_signed_again_and_passes_the_real_check(
    monkeypatch: pytest.MonkeyPatch, invoke: Callable[..., Run]
) -> None:
    # Powertools' switch to log every incoming event must not put the signature in a log.
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    run = invoke(str(EVENTS / "http-completed.json"), "--repeat", "2", "--logs")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "using the local callback key" in out
    signed_at = re.search(r"signed again .* current time \(X-VOD-TIMESTAMP (\d+)\)", out)
    assert signed_at is not None
    first, second = out.split("== invocation 2 of 2")
    # The receiver queues it, then the consumer (playing the SQS trigger) cleans it.
    assert '"statusCode": 200' in first and '"status": "queued"' in first
    assert "-- the consumer, on a batch of 1" in first
    assert re.search(r"message \S+: ae6e1e92b89b120907004a263578a15a deleted", first)
    assert "GetVideoInfo 2017-03-21 VideoId=ae6e1e92b89b120907004a263578a15a" in first
    # The same signed callback again is VOD's own retry: let through, replayed.
    assert "replayed from the idempotency store" in second
    assert "VOD calls: 2 (DeleteMultipartUpload 1, GetVideoInfo 1)" in out
    signature = vod_signature(CALLBACK_URL, signed_at.group(1), CALLBACK_KEY)
    assert signature not in out + run.stderr
    assert CALLBACK_KEY not in out + run.stderr


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        (["http-wrong-key.json"], "bad_signature"),
        (["http-unsigned.json"], "missing_header"),
        (["http-completed.json", "--as-is"], "stale_timestamp"),
    ],
)
def test_sample_callbacks_that_must_be_refused_are_sent_as_they_are(
    invoke: Callable[..., Run], arguments: list[str], reason: str
) -> None:
    run = invoke(str(EVENTS / arguments[0]), *arguments[1:])
    assert run.returncode == 0, run.stderr
    assert '"statusCode": 401' in run.stdout
    assert (
        f"VodPartsCleanup/CallbackRejected = 1 Count  [service=vod-parts-cleanup, Reason={reason}]"
        in run.stdout
    )
    assert "VOD requests received by the stand-in: 0" in run.stdout


def test_sign_prints_the_callback_signed_now(capsys: pytest.CaptureFixture[str]) -> None:
    before = int(time.time())
    assert cli.main(["sign", str(EVENTS / "http-failed.json")]) == 0
    event = json.loads(capsys.readouterr().out)
    timestamp = int(event["headers"]["x-vod-timestamp"])
    assert before <= timestamp <= time.time()
    assert event["headers"]["x-vod-signature"] == vod_signature(
        CALLBACK_URL, timestamp, CALLBACK_KEY
    )
    assert event["body"] == json.loads((EVENTS / "http-failed.json").read_text())["body"]


@pytest.mark.parametrize("arguments", [["missing.json"], ["--repeat", "0", "x.json"]])
def test_bad_arguments_are_refused(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_status:
        cli.main(["invoke", *arguments])
    assert exit_status.value.code == 2
    assert "vod-parts-cleanup" in capsys.readouterr().err


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """``vod-parts-cleanup <arguments>`` in this process."""

    def run(*arguments: str) -> Run:
        out = io.StringIO()
        returncode = cli.main(list(arguments), out=out)
        return Run(returncode, out.getvalue(), capsys.readouterr().err)

    return run


def test_sweep_finds_the_seeded_uploads_and_cleans_them_with_a_summary(
    run_cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOD_CALLS_PER_SECOND", "1000")  # the pacing itself is tested elsewhere
    monkeypatch.setenv("VOD_READ_CALLS_PER_SECOND", "1000")
    run = run_cli("sweep", "--older-than", "24h", "--seed-demo")
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout.split("sweep: ", 1)[1].splitlines()[0])
    # The mix: 60 stalled and 12 failed uploads to clean, and 2 of 5 days old that VOD
    # gives no detail for; 5 touched within the day, and 3 without detail of only 30 hours.
    assert (answer["candidates"], answer["queued"], answer["tooYoung"]) == (74, 74, 5)
    assert answer["unvouched"] == 3
    [row] = [line for line in run.stdout.splitlines() if line.startswith("│")]
    # found, deleted, already clean, media not found, skipped, failed, left: no detail
    cells = ["74", "74", "0", "0", "0", "0", "3"]
    assert [cell.strip() for cell in row.split("│")[1:-1]] == cells
    assert "cleaning" in run.stderr  # the progress bars


def test_a_dry_run_sweep_lists_and_cleans_nothing(run_cli: Callable[..., Run]) -> None:
    run = run_cli("sweep", "--older-than", "3d", "--dry-run", "--seed-demo")
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout.split("sweep: ", 1)[1].splitlines()[0])
    # Three days: the 60 stalled uploads (two days old) are too young for it, the 12 failed
    # ones (three days) and the 2 without detail (four days) are not.
    assert (answer["candidates"], answer["queued"], answer["dryRun"]) == (14, 0, True)
    [line] = [line for line in run.stdout.splitlines() if line.startswith("candidates: ")]
    assert {video_id[:4] for video_id in line.removeprefix("candidates: ").split(", ")} == {
        "a002",  # failed
        "a008",  # no detail from VOD, and older than the unvouched age
    }


def test_a_sweep_that_cannot_reach_vod_says_why_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, run_cli: Callable[..., Run]
) -> None:
    """The access key's secret cannot be read (here: AWS refuses the connection)."""
    monkeypatch.setenv("VOD_CREDENTIALS_SECRET_ID", "vod-parts-cleanup/access-key")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    run = run_cli("sweep", "--dry-run")
    assert run.returncode == 1
    assert run.stdout.startswith(
        "VOD: https://vod.cn-shanghai.aliyuncs.com (region cn-shanghai), access key from secret "
        "vod-parts-cleanup/access-key | AWS region us-east-1: no idempotency table"
    )
    assert "error: stopped, VOD could not be asked (configuration: CredentialsUnavailable: " in (
        run.stderr
    )
    assert "check VOD_CREDENTIALS_SECRET_ID" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("age", ["30m", "soon", "0h", "8d", "10081m"])
def test_sweep_refuses_an_age_under_an_hour_or_unreadable(
    run_cli: Callable[..., Run], age: str
) -> None:
    with pytest.raises(SystemExit) as exit_status:
        run_cli("sweep", "--older-than", age)
    assert exit_status.value.code == 2


def test_clean_cleans_each_video_once(
    run_cli: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOD_CALLS_PER_SECOND", "1000")
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(
        "# a backfill\n" + "\n".join(f"{number:032x}" for number in range(1, 6)) + "\n",
        encoding="utf-8",
    )
    run = run_cli("clean", f"{1:032x}", f"{9:032x}", "--ids-file", str(ids_file), "--seed-demo")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("VOD: the local stand-in at http://127.0.0.1:")
    assert "(--seed-demo) | AWS embedded (moto)" in run.stdout.splitlines()[0]
    [row] = [line for line in run.stdout.splitlines() if line.startswith("│")]
    assert [cell.strip() for cell in row.split("│")[1:-1]] == ["6", "6", "0", "0", "0", "0"]


def test_invoke_in_relay_mode_shows_what_the_downstream_received(
    invoke: Callable[..., Run],
) -> None:
    run = invoke(str(EVENTS / "http-transcode-ignored.json"), "--relay")

    assert run.returncode == 0, run.stderr
    assert "relay mode: a local downstream receiver at http://127.0.0.1:" in run.stdout
    assert "-- the relay, on a batch of 1" in run.stdout
    assert "the downstream receiver got 1 request(s):" in run.stdout
    assert (
        "X-VOD-SIGNATURE valid for its URL and key; body " in run.stdout
        and "bytes, identical to the callback; answered 200" in run.stdout
    )
    assert "RelayDelivered = 1 Count" in run.stdout
    # The transcode notice is relayed and ignored by cleanup: no VOD call for it.
    assert "VOD requests received by the stand-in: 0" in run.stdout


def test_clean_skips_an_upload_in_progress_unless_forced() -> None:
    """The person's channel: VOD is asked first; --force deletes under a live upload."""
    from rich.console import Console

    from vod_parts_cleanup.shared.settings import Settings
    from vod_parts_cleanup_dev.backfill import run_clean
    from vod_parts_cleanup_dev.runner import LocalRun, StandInState, local_world, stand_in_videos

    video_id = f"{7:032x}"
    quiet = Console(file=io.StringIO())
    uploading = stand_in_videos([video_id], StandInState.UPLOADING)
    settings = Settings(vod_calls_per_second=1000, vod_read_calls_per_second=1000)
    with local_world(settings, videos=uploading) as world:
        assert world.vod is not None
        run = LocalRun(world)
        skipped = run_clean(run, [video_id], quiet)
        assert world.vod.has_parts(video_id)
        forced = run_clean(run, [video_id], quiet, force=True)
        assert not world.vod.has_parts(video_id)

    assert (skipped.counts["skipped"], skipped.counts["deleted"]) == (1, 0)
    assert (forced.counts["skipped"], forced.counts["deleted"]) == (0, 1)
