"""Each function handles its own triggers only; a trigger wired to the wrong one is refused
visibly and its event kept (a batch's records reported failed, a request answered 500, any
other invocation raised, so Lambda retries and records it). Checked on the real
applications, which start without reaching anything."""

import json
from typing import Any

import pytest

from tests.support import CALLBACK_KEY, CALLBACK_URL, load_event, signed
from vod_parts_cleanup.consumer.app import ConsumerApp
from vod_parts_cleanup.receiver.app import ReceiverApp
from vod_parts_cleanup.shared.errors import WrongFunctionError
from vod_parts_cleanup.shared.settings import Secret, Settings
from vod_parts_cleanup.shared.vocabulary import ErrorCode
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext

SETTINGS = Settings(callback_urls=(CALLBACK_URL,), callback_auth_key=Secret(CALLBACK_KEY))


@pytest.fixture
def context() -> LocalLambdaContext:
    return LocalLambdaContext(timeout_seconds=30)


def test_the_consumer_refuses_a_callback_with_a_500_that_names_the_mistake(
    context: LocalLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    callback = signed(load_event("http-completed.json"))

    answer = ConsumerApp(SETTINGS).lambda_handler(callback, context)

    assert answer["statusCode"] == 500
    body = json.loads(answer["body"])
    assert body["errorCode"] == ErrorCode.WRONG_FUNCTION
    assert "cleanup function" in body["detail"]
    assert "event sent to the wrong function" in capsys.readouterr().out


def test_the_receiver_keeps_every_record_of_a_batch_sent_to_it(
    context: LocalLambdaContext,
) -> None:
    batch: dict[str, Any] = load_event("sqs-mixed-batch.json")

    answer = ReceiverApp(SETTINGS).lambda_handler(batch, context)

    assert answer == {
        "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in batch["Records"]]
    }


@pytest.mark.parametrize("name", ["direct-completed.json", "eventbridge-completed.json"])
def test_the_receiver_raises_for_an_invocation_it_does_not_handle(
    name: str, context: LocalLambdaContext
) -> None:
    with pytest.raises(WrongFunctionError, match="WrongFunction: the receiver function handles"):
        ReceiverApp(SETTINGS).lambda_handler(load_event(name), context)
