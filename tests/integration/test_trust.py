"""Who is believed and who is confirmed with VOD before a delete (consumer.trust): a person's
request is confirmed and never deletes under a live upload unless it says Force; uploader
channels are believed; a redriven message keeps what its channel said of it; the README's
table is the code's."""

import json
import re
from pathlib import Path

import boto3
import pytest

from scripts.redrive import main as redrive
from tests.support import (
    FunctionUnderTest,
    MotoQueue,
    ReadOutputFixture,
    load_event,
    signed,
    uploader_event,
)
from vod_parts_cleanup.consumer.cleanup import FORCE_ADVICE
from vod_parts_cleanup.consumer.trust import TRUST_TABLE
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.sqs import delete_done, lambda_sqs_event, receive_all
from vod_parts_cleanup_dev.vod_server import LocalVod

VIDEO_ID = "7a1b2c3d4e5f60718293a4b5c6d7e8f9"
README = Path(__file__).resolve().parents[2] / "README.md"


def test_a_persons_clean_of_an_uploading_video_deletes_nothing_and_says_why(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
) -> None:
    stand_in.add_video(VIDEO_ID, status="Uploading", has_parts=True)

    result = deployed_handler.lambda_handler({"VideoId": VIDEO_ID}, context)

    assert (result["status"], result["reason"]) == ("skipped", "upload_in_progress")
    assert result["detail"] == FORCE_ADVICE
    assert stand_in.calls("DeleteMultipartUpload") == 0
    assert stand_in.has_parts(VIDEO_ID)
    assert output().counted("CleanupSkipped")


def test_with_force_it_deletes_once_and_is_counted_as_forced(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
) -> None:
    stand_in.add_video(VIDEO_ID, status="Uploading", has_parts=True)

    first = deployed_handler.lambda_handler({"VideoId": VIDEO_ID, "Force": True}, context)
    again = deployed_handler.lambda_handler({"VideoId": VIDEO_ID, "Force": True}, context)

    assert (first["status"], first["forced"]) == ("deleted", True)
    assert again == first  # replayed from the idempotency table
    assert stand_in.calls("DeleteMultipartUpload") == 1
    assert not stand_in.has_parts(VIDEO_ID)
    emitted = output()
    assert len(emitted.counted("CleanupForced")) == 1
    [warning] = [log for log in emitted.logs if "a person forced it" in log["message"]]
    assert warning["level"] == "WARNING"
    assert warning["videoId"] == VIDEO_ID


def test_a_persons_clean_of_a_failed_upload_deletes_once(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod, context: LocalLambdaContext
) -> None:
    stand_in.add_video(VIDEO_ID, status="UploadFail", has_parts=True)

    result = deployed_handler.lambda_handler({"VideoId": VIDEO_ID}, context)

    assert result["status"] == "deleted"
    assert "forced" not in result
    assert [r.action for r in stand_in.requests] == ["GetVideoInfo", "DeleteMultipartUpload"]


def test_force_counts_only_from_a_person(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    work_queue: MotoQueue,
    context: LocalLambdaContext,
) -> None:
    """A callback's body is a claim: its Force is read, and ignored."""
    stand_in.add_video(VIDEO_ID, status="Uploading", has_parts=True)
    body = json.dumps(
        {"EventType": "FileUploadComplete", "VideoId": VIDEO_ID, "Status": "success", "Force": True}
    )
    assert (
        deployed_handler.lambda_handler(
            signed(load_event("http-completed.json"), body=body), context
        )["statusCode"]
        == 200
    )

    [response] = work_queue.drain(deployed_handler, context)

    assert response == {"batchItemFailures": []}
    assert stand_in.calls("DeleteMultipartUpload") == 0
    assert stand_in.has_parts(VIDEO_ID)


def test_an_uploaders_event_is_believed(
    deployed_handler: FunctionUnderTest, stand_in: LocalVod, context: LocalLambdaContext
) -> None:
    """The uploader knows its resumable upload died while VOD still shows Uploading."""
    stand_in.add_video(VIDEO_ID, status="Uploading", has_parts=True)

    result = deployed_handler.lambda_handler(uploader_event(VIDEO_ID, "fail"), context)

    assert result["status"] == "deleted"
    assert [r.action for r in stand_in.requests] == ["DeleteMultipartUpload"]


def test_a_redriven_callback_is_still_confirmed(
    deployed_handler: FunctionUnderTest,
    stand_in: LocalVod,
    work_queue: MotoQueue,
    context: LocalLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A callback's message dead-lettered and redriven keeps trigger=http (so its claim is
    still checked with VOD), and a failed direct invocation comes back as a person's."""
    client = boto3.client("sqs", region_name="us-east-1")
    dead_letters = client.create_queue(QueueName="work-dlq")["QueueUrl"]
    callback = {"EventType": "FileUploadComplete", "VideoId": VIDEO_ID, "Status": "success"}
    client.send_message(
        QueueUrl=dead_letters,
        MessageBody=json.dumps(callback),
        MessageAttributes={
            "trigger": {"DataType": "String", "StringValue": "http"},
            "receivedAt": {"DataType": "String", "StringValue": "1796400000.000"},
        },
    )
    failed_direct = {
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": {"VideoId": VIDEO_ID},
        "responsePayload": {"errorType": "CleanupFailedError"},
    }
    client.send_message(QueueUrl=dead_letters, MessageBody=json.dumps(failed_direct))
    stand_in.add_video(VIDEO_ID, status="Uploading", has_parts=True)

    assert redrive(["--from", dead_letters, "--to", work_queue.url]) == 0
    capsys.readouterr()

    messages = receive_all(work_queue.client, work_queue.url)
    triggers = sorted(m["MessageAttributes"]["trigger"]["StringValue"] for m in messages)
    assert triggers == ["direct", "http"]
    [http] = [m for m in messages if m["MessageAttributes"]["trigger"]["StringValue"] == "http"]
    assert http["MessageAttributes"]["receivedAt"]["StringValue"] == "1796400000.000"
    response = deployed_handler.lambda_handler(lambda_sqs_event(messages, work_queue.arn), context)
    delete_done(work_queue.client, work_queue.url, messages, set())
    assert response == {"batchItemFailures": []}
    assert stand_in.calls("DeleteMultipartUpload") == 0  # both confirmed: still uploading
    assert stand_in.has_parts(VIDEO_ID)


def test_the_readme_shows_the_trust_table_of_the_code() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Who is believed") :]
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in section.splitlines()[1:]
        if line.startswith("| ") and not line.startswith("| channel")
    ]
    rows = rows[: len(TRUST_TABLE)]
    assert [(row[0], row[1]) for row in rows] == [
        (channel.name, channel.trust.value) for channel in TRUST_TABLE
    ]
    for row, channel in zip(rows, TRUST_TABLE, strict=True):
        assert re.sub(r"`", "", row[2]) == channel.why
