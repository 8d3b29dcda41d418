"""events/README.md says what each sample is answered; this runs every sample as the README
says to (``vod-parts-cleanup invoke FILE``, against the local stand-ins) and checks the
answer against its row, so the table cannot drift from what the function does.

A row's answer is read as the README describes it: the steps joined by ``; then`` (the
receiver's answer, then the consumer's), the results of a batch separated by commas, each an
optional HTTP status, the status, and in brackets the reason or error code, ``forced``, or a
sweep's number of candidates. The report (``--report``) gives the same for the run.
"""

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import EVENTS
from vod_parts_cleanup_dev import cli

README = EVENTS / "README.md"
SAMPLES_MARKER = "## Expected results"
STATES_MARKER = "### The same samples, VOD in another state"
ITEM = re.compile(r"(?:(?P<http>\d{3}) )?(?P<status>[a-z_]+)(?: \((?P<detail>[^)]*)\))?")
CANDIDATES = re.compile(r"(\d+) candidates")


@dataclass(frozen=True)
class Row:
    arguments: tuple[str, ...]  # the invoke command's, the file's path first
    answer: str
    function: str | None = None
    outcome: str | None = None


def table_after(marker: str) -> list[list[str]]:
    """The cells of the first table after the line ``marker``, its header left out."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(marker)
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    return rows[2:]


def sample_rows() -> list[Row]:
    return [
        Row((str(EVENTS / file),), answer, function, outcome)
        for file, function, _, _, outcome, answer in table_after(SAMPLES_MARKER)
    ]


def state_rows() -> list[Row]:
    rows = []
    for command, answer, _ in table_after(STATES_MARKER):
        words = command.strip("`").split()
        assert words[0] == "invoke", command
        rows.append(Row((str(EVENTS / words[1]), *words[2:]), answer))
    return rows


ALL_ROWS = sample_rows() + state_rows()


def test_every_sample_has_one_row_and_every_row_a_sample() -> None:
    documented = [Path(row.arguments[0]).name for row in sample_rows()]
    assert sorted(documented) == sorted(path.name for path in EVENTS.glob("*.json"))
    assert all(Path(row.arguments[0]).is_file() for row in state_rows())


@pytest.fixture
def invoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[[Row], list[Any]]:
    """``vod-parts-cleanup invoke ...`` as the README runs it; the report, step by step."""

    def run(row: Row) -> list[Any]:
        report = tmp_path / "report.jsonl"
        out = io.StringIO()
        returncode = cli.main(["invoke", *row.arguments, "--report", str(report)], out=out)
        assert returncode == 0, out.getvalue() + capsys.readouterr().err
        steps: list[list[dict[str, Any]]] = []
        last = None
        for line in report.read_text(encoding="utf-8").splitlines():
            outcome = json.loads(line)
            if outcome["step"] != last:
                steps.append([])
                last = outcome["step"]
            steps[-1].append(outcome)
        return steps

    return run


@pytest.mark.parametrize(
    "row",
    ALL_ROWS,
    ids=[" ".join([Path(row.arguments[0]).name, *row.arguments[1:]]) for row in ALL_ROWS],
)
def test_the_documented_answer_is_the_answer(invoke: Callable[[Row], list[Any]], row: Row) -> None:
    steps = invoke(row)
    expected = [step.split(", ") for step in row.answer.split("; then ")]
    assert [len(step) for step in steps] == [len(step) for step in expected], steps
    for actual_step, expected_step in zip(steps, expected, strict=True):
        for actual, item in zip(actual_step, expected_step, strict=True):
            assert_item(actual, item)
    if row.function is not None:
        answered_by_http = "httpStatus" in steps[0][0]
        assert answered_by_http is (row.function == "CallbackFunction"), row
    if row.outcome is not None:
        outcomes = [result.get("outcome", "-") for result in steps[-1]]
        assert outcomes == row.outcome.split(", "), steps


def assert_item(actual: dict[str, Any], item: str) -> None:
    match = ITEM.fullmatch(item)
    assert match is not None, f"the README's answer {item!r} is not in the documented form"
    assert actual["status"] == match["status"], actual
    assert actual.get("httpStatus") == (int(match["http"]) if match["http"] else None), actual
    detail = match["detail"] or ""
    codes = re.findall(r"`([^`]+)`", detail)
    assert codes == [
        code for code in codes if code in (actual.get("reason"), actual.get("errorCode"))
    ], actual
    if not codes:
        assert "reason" not in actual, actual
    assert ("forced" in detail) is bool(actual.get("forced")), actual
    candidates = CANDIDATES.search(detail)
    if candidates is not None:
        assert actual["summary"]["candidates"] == int(candidates.group(1)), actual
