"""The CLI never reports what did not happen (issue 21): each case a new user met, run as
they ran it. Every one is answered without a traceback, names its cause, exits non-zero
where the work was not done, and prints ``deleted`` only for what reached a VOD that was
configured or explicitly chosen."""

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support import (
    EVENTS,
    FastClock,
    Fault,
    FunctionUnderTest,
    faulty_endpoint,
)
from vod_parts_cleanup.shared.vocabulary import VIDEO_STATUSES
from vod_parts_cleanup_dev import cli
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.vod_catalog import Video
from vod_parts_cleanup_dev.vod_server import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET, LocalVod

VIDEO_ID = "5aed81b74ba84920be578cdfe004af4b"
SAMPLE = str(EVENTS / "direct-manual.json")


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def everything(self) -> str:
        return self.stdout + self.stderr

    def deleted_anything(self) -> bool:
        """Whether it says it deleted something: a result, or a summary's deleted column."""
        if '"status": "deleted"' in self.stdout:
            return True
        header = next((line for line in self.stdout.splitlines() if "deleted" in line), None)
        rows = [line for line in self.stdout.splitlines() if line.startswith("│")]
        if header is None or not rows:
            return False
        cells = [cell.strip() for cell in rows[-1].split("│")[1:-1]]
        return any(cell not in {"", "0"} for cell in cells[1:2])


@pytest.fixture
def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Run]:
    """``vod-parts-cleanup <arguments>`` in this process, as a person types it; a usage
    error's exit status is returned as the shell would see it."""
    monkeypatch.setenv("VOD_CALLS_PER_SECOND", "1000")  # pacing is tested elsewhere
    monkeypatch.setenv("VOD_READ_CALLS_PER_SECOND", "1000")

    def run(*arguments: str) -> Run:
        capsys.readouterr()  # what fixtures wrote before is not the command's
        out = io.StringIO()
        try:
            returncode = cli.main(list(arguments), out=out)
        except SystemExit as exit_status:
            returncode = int(exit_status.code or 0)
        captured = capsys.readouterr()
        return Run(returncode, out.getvalue() + captured.out, captured.err)

    return run


def assert_refused_before_any_work(run: Run, *causes: str) -> None:
    assert run.returncode == 2, run.everything
    assert "Traceback" not in run.everything
    for cause in causes:
        assert cause in run.stderr
    assert "VOD:" not in run.stdout  # nothing was started, so nothing is said to be reached
    assert not run.deleted_anything()


# -- where it talks to: never guessed -----------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "missing"),
    [
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET is not"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_ACCESS_KEY_ID is not"),
        ("VOD_ENDPOINT", "VOD_ENDPOINT is set, but no VOD credentials"),
        ("ALIBABA_CLOUD_SECURITY_TOKEN", "no VOD credentials"),
    ],
)
@pytest.mark.parametrize(
    "command", [["invoke", SAMPLE], ["clean", VIDEO_ID], ["sweep", "--dry-run"]]
)
def test_half_a_vod_configuration_is_refused_naming_what_is_missing(
    run_cli: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    missing: str,
    command: list[str],
) -> None:
    monkeypatch.setenv(variable, "vod.example.com" if variable == "VOD_ENDPOINT" else "LTAI5tHalf")
    run = run_cli(*command)
    assert_refused_before_any_work(run, missing, "--local")


def test_local_uses_the_stand_ins_whatever_is_configured_and_says_what_it_left_unused(
    run_cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI5tHalf")
    monkeypatch.setenv("WORK_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/1/q")
    run = run_cli("invoke", SAMPLE, "--local")
    assert run.returncode == 0, run.everything
    first, second = run.stdout.splitlines()[:2]
    assert first.startswith("VOD: the local stand-in at http://127.0.0.1:")
    assert "(--local) | AWS embedded (moto)" in first
    assert second == "--local: ALIBABA_CLOUD_ACCESS_KEY_ID, WORK_QUEUE_URL left unused"


def test_both_kinds_of_vod_credentials_at_once_are_refused(
    run_cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOD_CREDENTIALS_SECRET_ID", "vod/key")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI5tBoth")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "both-secret")
    run = run_cli("clean", VIDEO_ID)
    assert_refused_before_any_work(run, "VOD_CREDENTIALS_SECRET_ID and ALIBABA_CLOUD_ACCESS_KEY")
    assert "both-secret" not in run.everything


def test_the_stand_ins_videos_never_reach_a_real_queue(
    run_cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guide's step 6 exports WORK_QUEUE_URL; nothing of VOD is configured here."""
    monkeypatch.setenv("WORK_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/1/work")
    run = run_cli("sweep", "--older-than", "24h")
    assert_refused_before_any_work(run, "WORK_QUEUE_URL is set, but nothing of VOD is", "--local")


def test_a_secret_with_no_aws_region_is_refused_naming_the_variable(
    run_cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VOD_CREDENTIALS_SECRET_ID", "vod/key")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    run = run_cli("sweep", "--dry-run")
    assert_refused_before_any_work(run, "no AWS region", "AWS_DEFAULT_REGION")


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("VOD_PROTOCOL", "ftp", "VOD_PROTOCOL: must be one of https, http"),
        ("VOD_REGION", "cn_shanghai!", "VOD_REGION: must match"),
        ("VOD_CALLS_PER_SECOND", "abc", "VOD_CALLS_PER_SECOND: must be a number"),
        ("VOD_CALLS_PER_SECOND", "0", "VOD_CALLS_PER_SECOND: must be above 0"),
        ("VOD_MAX_ATTEMPTS", "-1", "VOD_MAX_ATTEMPTS: must be from 1 to 10"),
    ],
)
def test_a_bad_setting_is_one_line_and_help_still_works(
    run_cli: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    named: str,
) -> None:
    monkeypatch.setenv(variable, value)
    run = run_cli("clean", VIDEO_ID)
    assert_refused_before_any_work(run, named)
    assert len(run.stderr.strip().splitlines()) == 1
    helped = run_cli("--help")
    assert helped.returncode == 0 and "usage: vod-parts-cleanup" in helped.stdout


def test_debug_shows_the_traceback_the_one_line_replaces(
    run_cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI5tHalf")
    run = run_cli("clean", VIDEO_ID, "--debug")
    assert run.returncode == 2
    assert "Traceback" in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("error: ALIBABA_CLOUD_ACCESS_KEY_ID")


# -- inputs, checked before any work -------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["clean", "../../etc/passwd"], "not a VideoId (1 to 64 letters and digits)"),
        (["clean", VIDEO_ID, "a" * 65], "not a VideoId"),
        (["clean"], "give VideoIds, or --ids-file FILE"),
        (["invoke", SAMPLE, "--timeout", "2"], "seconds from 3 to 900"),
        (["invoke", SAMPLE, "--timeout", "nan"], "seconds from 3 to 900"),
        (["invoke", SAMPLE, "--timeout", "abc"], "seconds from 3 to 900"),
        (["invoke", SAMPLE, "--repeat", "0"], "at least 1"),
        (["invoke", "missing.json"], "cannot read missing.json: No such file or directory"),
        (["sweep", "--older-than", "8d"], "from 1h to 7d"),
        (["sweep", "--older-than", "30m"], "from 1h to 7d"),
        (["sweep", "--status", "Stalled"], f"use some of {', '.join(VIDEO_STATUSES)}"),
        (["sign", SAMPLE], "is not an API Gateway HTTP API event"),
        (["sign", str(EVENTS / "http-completed.json"), "--ahead", "300"], "or more ahead"),
    ],
)
def test_bad_input_is_refused_with_the_subcommands_usage_and_the_rule(
    run_cli: Callable[..., Run], arguments: list[str], said: str
) -> None:
    run = run_cli(*arguments)
    assert_refused_before_any_work(run, said, f"usage: vod-parts-cleanup {arguments[0]}")


def test_an_empty_or_unreadable_ids_file_is_refused(
    run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n\n", encoding="utf-8")
    assert_refused_before_any_work(
        run_cli("clean", "--ids-file", str(empty)), f"--ids-file {empty} holds no VideoId"
    )
    missing = tmp_path / "missing.txt"
    assert_refused_before_any_work(
        run_cli("clean", "--ids-file", str(missing)),
        f"--ids-file {missing}: cannot read it: No such file or directory",
    )


def test_a_status_in_another_case_is_read_as_vods(run_cli: Callable[..., Run]) -> None:
    run = run_cli("sweep", "--status", "uploading,UPLOADFAIL", "--dry-run")
    assert run.returncode == 0, run.everything
    assert "candidates: none" in run.stdout


def test_seven_days_is_the_longest_age_and_looks_for_nothing(run_cli: Callable[..., Run]) -> None:
    run = run_cli("sweep", "--older-than", "7d", "--dry-run", "--seed-demo")
    assert run.returncode == 0, run.everything
    assert "nothing to look for: VOD purges an unfinished upload's parts after 7 days" in run.stdout
    answer = json.loads(run.stdout.split("sweep: ", 1)[1].splitlines()[0])
    assert (answer["candidates"], answer["pages"]) == (0, 0)


# -- clean: no seeding unless asked; failures with their cause and ids -------------------------


def test_clean_never_seeds_the_stand_in_unless_asked(run_cli: Callable[..., Run]) -> None:
    run = run_cli("clean", VIDEO_ID)
    assert run.returncode == 0, run.everything
    assert "the stand-in holds none of these videos" in run.stdout
    assert not run.deleted_anything()
    assert "media not found 1 (InvalidVideo.NotFound: VOD does not know these videos)" in run.stdout
    assert f"  {VIDEO_ID}" in run.stdout


@pytest.fixture
def configured_vod(stand_in: LocalVod, monkeypatch: pytest.MonkeyPatch) -> LocalVod:
    """The stand-in fixture as a configured VOD: its endpoint and key in the environment."""
    monkeypatch.setenv("VOD_ENDPOINT", stand_in.endpoint)
    monkeypatch.setenv("VOD_PROTOCOL", "http")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", LOCAL_ACCESS_KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", LOCAL_ACCESS_KEY_SECRET)
    return stand_in


def test_a_wrong_key_fails_each_id_with_the_cause_and_the_advice(
    run_cli: Callable[..., Run],
    configured_vod: LocalVod,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    video_ids = [f"{number:032x}" for number in (1, 2)]
    for video_id in video_ids:
        configured_vod.add_video(video_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "a-wrong-secret")
    report = tmp_path / "report.jsonl"
    run = run_cli("clean", *video_ids, "--report", str(report))
    assert run.returncode == 1
    assert "Traceback" not in run.everything
    assert run.stdout.startswith(f"VOD: http://{configured_vod.endpoint}")
    assert "access key ...0000" in run.stdout.splitlines()[0]
    assert (
        "failed 2 (SignatureDoesNotMatch: Specified signature does not match our calculation.)"
        in run.stdout
    )
    assert f"  {video_ids[0]}, {video_ids[1]}" in run.stdout
    assert "-> check the access key: ALIBABA_CLOUD_ACCESS_KEY_ID" in run.stdout
    assert "not done: 2 of 2" in run.stdout
    assert not run.deleted_anything()
    assert "a-wrong-secret" not in run.everything + report.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    assert [(line["videoId"], line["status"], line["errorCode"]) for line in lines] == [
        (video_id, "failed", "SignatureDoesNotMatch") for video_id in video_ids
    ]


def test_an_unreachable_endpoint_names_the_host_and_what_to_check(
    run_cli: Callable[..., Run], configured_vod: LocalVod, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOD_MAX_ATTEMPTS", "1")
    with faulty_endpoint(Fault.REFUSED) as endpoint:
        monkeypatch.setenv("VOD_ENDPOINT", endpoint)
        clean = run_cli("clean", VIDEO_ID)
        invoke = run_cli("invoke", SAMPLE)
    for run in (clean, invoke):
        assert run.returncode == 1
        assert "Traceback" not in run.everything
        assert f"refused: nothing accepts connections at {endpoint}" in run.stdout
        assert "-> check VOD_ENDPOINT and VOD_PROTOCOL: nothing listens there" in run.stdout
        assert not run.deleted_anything()


def test_a_host_that_does_not_resolve_stops_the_sweep_with_dns_advice(
    run_cli: Callable[..., Run], configured_vod: LocalVod, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bogus VOD_REGION is a host that does not resolve (vod.<region>.aliyuncs.com); .invalid
    never does, so the test needs no network."""
    monkeypatch.setenv("VOD_ENDPOINT", "vod.nowhere.invalid")
    monkeypatch.setenv("VOD_PROTOCOL", "https")
    monkeypatch.setenv("VOD_MAX_ATTEMPTS", "1")
    run = run_cli("sweep", "--dry-run")
    assert run.returncode == 1
    assert "Traceback" not in run.everything
    [error] = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert "NetworkError: DNS: vod.nowhere.invalid does not resolve" in error
    assert "check VOD_REGION (or VOD_ENDPOINT)" in error
    assert "RAM policy" not in error


# -- the sweep: what its work queue did not take ----------------------------------------------


@pytest.fixture
def candidates(configured_vod: LocalVod) -> list[str]:
    created = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    video_ids = [f"c{number:031x}" for number in range(14)]
    configured_vod.add_videos(
        [Video.new(video_id, status="UploadFail", creation_time=created) for video_id in video_ids]
    )
    return video_ids


def test_a_sweep_whose_work_queue_is_broken_exits_non_zero_and_says_why(
    run_cli: Callable[..., Run],
    candidates: list[str],
    aws_endpoints: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """WORK_QUEUE_URL names a queue that does not exist (here: in moto's server)."""
    monkeypatch.setenv("WORK_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/gone")
    report = tmp_path / "report.jsonl"
    run = run_cli("sweep", "--older-than", "24h", "--report", str(report))
    assert run.returncode == 1, run.everything
    assert "Traceback" not in run.everything
    assert "| AWS region us-east-1: no idempotency table" in run.stdout.splitlines()[0]
    assert "work queue gone" in run.stdout.splitlines()[0]
    answer = json.loads(run.stdout.split("sweep: ", 1)[1].splitlines()[0])
    assert (answer["candidates"], answer["queued"], answer["notQueued"]) == (14, 0, 14)
    assert "the deployed consumer cleans them" not in run.stdout
    assert re.search(r"not queued 14 \(HandOffFailed: the work queue took 0 of 14: ", run.stdout)
    assert "NonExistentQueue" in run.stdout or "QueueDoesNotExist" in run.stdout
    assert "-> check WORK_QUEUE_URL" in run.stdout
    assert "not done: 14 of 14" in run.stdout
    statuses = {json.loads(line)["status"] for line in report.read_text().splitlines()}
    assert statuses == {"not_queued"}


def test_a_sweep_with_aws_but_no_work_queue_is_refused_unless_it_only_lists(
    run_cli: Callable[..., Run],
    candidates: list[str],
    aws_endpoints: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With AWS configured (a table), nothing is embedded: the candidates need a queue."""
    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", "vod-parts-cleanup-table")
    refused = run_cli("sweep")
    assert_refused_before_any_work(refused, "WORK_QUEUE_URL is not set", "--dry-run")
    listed = run_cli("sweep", "--dry-run")
    assert listed.returncode == 0, listed.everything
    assert "table vod-parts-cleanup-table, no work queue" in listed.stdout.splitlines()[0]


def test_seed_demo_runs_on_the_stand_ins_whatever_is_configured(
    run_cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORK_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/gone")
    run = run_cli("sweep", "--older-than", "24h", "--seed-demo")
    assert run.returncode == 0, run.everything
    assert "(--seed-demo) | AWS embedded (moto)" in run.stdout.splitlines()[0]
    assert "--seed-demo: WORK_QUEUE_URL left unused" in run.stdout


def test_a_dry_runs_ids_feed_clean(run_cli: Callable[..., Run], tmp_path: Path) -> None:
    ids_out = tmp_path / "ids.txt"
    listed = run_cli(
        "sweep", "--older-than", "24h", "--dry-run", "--seed-demo", "--ids-out", str(ids_out)
    )
    assert listed.returncode == 0, listed.everything
    video_ids = ids_out.read_text(encoding="utf-8").split()
    assert len(video_ids) == 74
    assert f"and 54 more (all in {ids_out})" in listed.stdout
    cleaned = run_cli("clean", "--ids-file", str(ids_out), "--seed-demo")
    assert cleaned.returncode == 0, cleaned.everything
    [row] = [line for line in cleaned.stdout.splitlines() if line.startswith("│")]
    assert [cell.strip() for cell in row.split("│")[1:3]] == ["74", "74"]


# -- sign: fresh long enough for sam local ------------------------------------------------------


@pytest.mark.parametrize(("ahead", "accepted"), [("60", True), ("0", False)])
def test_a_callback_signed_ahead_is_still_taken_when_it_arrives_late(
    run_cli: Callable[..., Run], deployed_handler: FunctionUnderTest, ahead: str, accepted: bool
) -> None:
    """sam local takes longer than VOD's 5 s to start a container: 30 s here."""
    run = run_cli("sign", str(EVENTS / "http-completed.json"), "--ahead", ahead)
    assert run.returncode == 0, run.stderr
    assert f"(now + {ahead} s)" in run.stderr
    event = json.loads(run.stdout)
    assert isinstance(deployed_handler.clock, FastClock)
    deployed_handler.clock.sleep(30)  # signed with the samples' key, which the handler knows
    answer = deployed_handler.lambda_handler(event, LocalLambdaContext(timeout_seconds=10))
    assert (answer["statusCode"] == 200) is accepted, answer


def test_version(run_cli: Callable[..., Run]) -> None:
    run = run_cli("--version")
    assert run.returncode == 0
    assert re.fullmatch(r"vod-parts-cleanup \S+ \(tools \S+\)\n", run.stdout)
