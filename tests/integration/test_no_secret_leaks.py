"""No access key secret or security token in logs, metrics, results or exceptions, whatever
happens: success, VOD errors, bad signatures, network failures, bad input."""

import json
from pathlib import Path

import pytest

from tests.support import EVENTS, FunctionUnderTest, ReadOutputFixture, configure, load_event
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.vod_server import LocalVod

SECRET = "Zq8-distinctive-secret-value-7Hk"
TOKEN = "CAIS-distinctive-sts-token-9Pw"


@pytest.fixture
def secret_vod() -> LocalVod:
    with LocalVod(access_key_secret=SECRET, security_token=TOKEN) as vod:
        yield vod


def run_everything(
    handler: FunctionUnderTest, vod: LocalVod, context: LocalLambdaContext
) -> list[str]:
    """Every sample event, then VOD failures of each kind; returns what the callers saw."""
    seen: list[str] = []
    scripts = [
        lambda: None,
        lambda: vod.fail_next("SignatureDoesNotMatch"),
        lambda: vod.fail_next("InternalError", status=500, times=10),
        lambda: vod.drop_next(times=10),
        lambda: vod.fail_next("AccessDenied"),
    ]
    for script in scripts:
        for path in sorted(EVENTS.glob("*.json")):
            event = load_event(path.name)
            for video_id in _video_ids(event):
                vod.add_video(video_id)
            script()
            try:
                seen.append(json.dumps(handler.lambda_handler(event, context)))
            except Exception as error:
                seen.extend([str(error), repr(error), repr(getattr(error, "__dict__", {}))])
    return seen


def _video_ids(event: object) -> list[str]:
    text = json.dumps(event)
    return [
        word for word in text.replace('\\"', '"').split('"') if len(word) == 32 and word.isalnum()
    ]


def test_nothing_written_or_returned_holds_a_secret(
    handler: FunctionUnderTest,
    secret_vod: LocalVod,
    settings: Settings,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure(
        handler,
        vod_endpoint=secret_vod.endpoint,
        access_key_secret=SECRET,
        security_token=TOKEN,
        max_attempts=2,
    )
    caplog.set_level("DEBUG")

    seen = run_everything(handler, secret_vod, context)

    emitted = output()
    assert emitted.logs and emitted.metrics and len(seen) > 50
    assert any(request.signature_valid for request in secret_vod.requests)
    everything = "\n".join([emitted.text, caplog.text, *seen])
    for secret in (SECRET, TOKEN):
        assert secret not in everything
    assert SECRET not in repr(handler.settings) and TOKEN not in repr(handler.settings)
    for request in secret_vod.requests:
        assert SECRET not in json.dumps(request.headers)


def test_the_event_files_hold_no_real_credentials() -> None:
    for path in Path(EVENTS).glob("*.json"):
        text = path.read_text(encoding="utf-8")
        assert "LTAI" not in text and "AccessKeySecret" not in text, path.name
