"""The smoke test's steps against the local stand-ins: what they send, how they judge the
answers, and that a broken stack fails the step that shows it (and only that one)."""

import io
import json

import pytest

from scripts import smoke
from tests.support import CALLBACK_KEY, FunctionUnderTest, configure
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.vod_server import LocalVod


class FunctionTarget:
    """The smoke test's target, made of a function under test (its receiver and consumer)."""

    def __init__(self, function: FunctionUnderTest, key: str = CALLBACK_KEY) -> None:
        self._function = function
        self.callback_url = function.settings.callback_urls[0]
        self.callback_key = key

    def post_callback(self, headers: dict[str, str], body: str) -> tuple[int, object]:
        event = smoke.api_gateway_event(self.callback_url, headers, body)
        response = self._function.lambda_handler(event, LocalLambdaContext())
        return response["statusCode"], json.loads(response["body"])

    def invoke(self, payload: dict[str, object]) -> object:
        return self._function.lambda_handler(payload, LocalLambdaContext())

    relays = False  # the relay step has a test of its own, with the embedded world

    def relay_outcome(self, video_id: str) -> tuple[bool, str] | None:
        raise AssertionError("not in relay mode: the relay step must not run")


def run(target: object) -> tuple[int, list[str]]:
    out = io.StringIO()
    status = smoke.run_steps(target, out)  # type: ignore[arg-type]
    return status, out.getvalue().splitlines()


def test_the_smoke_test_passes_against_the_embedded_world() -> None:
    out = io.StringIO()
    assert smoke.run_locally(out) == smoke.EXIT_OK
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines[1:-1]] == ["PASS"] * 5
    assert lines[-1] == "5 of 5 passed"
    assert "reaches the existing receiver (relay)" in lines[-2]
    assert "HTTP 200 from 127.0.0.1" in lines[-2]


def test_a_healthy_function_passes_every_step(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod
) -> None:
    status, lines = run(FunctionTarget(deployed_handler))
    assert status == smoke.EXIT_OK
    assert lines[-1] == "4 of 4 passed"
    # Nothing it sent deleted anything, and the made-up video was asked about once.
    assert stand_in.calls("DeleteMultipartUpload") == 1
    assert stand_in.requests[0].query["MediaId"].startswith("0000")


def test_a_wrong_callback_key_fails_the_signed_step_only(
    deployed_handler: FunctionUnderTest,
) -> None:
    status, lines = run(FunctionTarget(deployed_handler, key="not-the-key"))
    assert status == smoke.EXIT_FAILED
    assert [line.split()[0] for line in lines[:-1]] == ["PASS", "FAIL", "PASS", "PASS"]
    assert "HTTP 401" in lines[1]


def test_a_vod_key_vod_refuses_fails_the_vod_step(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod
) -> None:
    configure(deployed_handler, access_key_id="LTAI5tNobodyAtAll")
    status, lines = run(FunctionTarget(deployed_handler))
    assert status == smoke.EXIT_FAILED
    assert [line.split()[0] for line in lines[:-1]] == ["PASS", "PASS", "FAIL", "FAIL"]
    assert "CleanupFailedError" in lines[2]


@pytest.mark.parametrize(
    ("secret", "key"),
    [("plain-key", "plain-key"), ('{"AuthKey": "current", "NextAuthKey": "next"}', "current")],
)
def test_the_callback_key_is_read_from_either_shape_of_the_secret(secret: str, key: str) -> None:
    assert smoke._current_key(secret) == key


def test_the_relay_step_reads_the_downstreams_answer_from_a_relay_log_line() -> None:
    refused = {
        "level": "WARNING",
        "message": "callback not relayed; tried again later",
        "videoId": "0000c0ffee",
        "downstreamHost": "media.example.com",
        "httpStatus": 401,
        "reason": "http_4xx",
        "detail": '{"error": "bad signature"}',
    }
    assert smoke.relay_outcome_of(json.dumps(refused)) == (
        False,
        'HTTP 401 from media.example.com (http_4xx: {"error": "bad signature"})',
    )
    delivered = refused | {"httpStatus": 200, "reason": "delivered", "detail": "ok"}
    assert smoke.relay_outcome_of(json.dumps(delivered)) == (
        True,
        "HTTP 200 from media.example.com",
    )
    assert smoke.relay_outcome_of('{"message": "callback handed to the work queue"}') is None
