"""Credentials from AWS Secrets Manager (moto), through Powertools Parameters, used for real
signed calls to the stand-in; and what happens when they are missing or wrong."""

import json
from typing import Any

import pytest

from tests.support import (
    FunctionUnderTest,
    ReadOutputFixture,
    configure,
    load_event,
    vod_client_for,
)
from vod_parts_cleanup.consumer.credentials import build_credential_client
from vod_parts_cleanup.shared.errors import CleanupFailedError, SettingsError
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup.shared.vocabulary import CleanupStatus, ErrorKind
from vod_parts_cleanup_dev.lambda_context import LocalLambdaContext
from vod_parts_cleanup_dev.vod_server import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET, LocalVod

SECRET_ID = "vod-parts-cleanup/alibaba-access-key"
VIDEO_ID = "3c9d5e0f1a2b4c6d8e0f1a2b3c4d5e6f"


def secret_settings(settings: Settings) -> Settings:
    return settings.with_changes(
        access_key_id=None, access_key_secret=None, credentials_secret_id=SECRET_ID
    )


def store_usable_secret(secrets: Any) -> None:
    secrets.create_secret(
        Name=SECRET_ID,
        SecretString=json.dumps(
            {"AccessKeyId": LOCAL_ACCESS_KEY_ID, "AccessKeySecret": LOCAL_ACCESS_KEY_SECRET}
        ),
    )


def test_the_access_key_is_read_from_secrets_manager(
    secrets, stand_in: LocalVod, settings: Settings
) -> None:
    store_usable_secret(secrets)
    stand_in.add_video(VIDEO_ID)
    configured = secret_settings(settings)
    client = vod_client_for(configured)
    assert client.delete_multipart_upload(VIDEO_ID).status is CleanupStatus.DELETED
    assert stand_in.requests[0].signature_valid


def test_the_secret_is_cached_between_calls(
    secrets, stand_in: LocalVod, settings: Settings
) -> None:
    store_usable_secret(secrets)
    configured = secret_settings(settings)
    client = vod_client_for(configured)
    client.delete_multipart_upload(VIDEO_ID)
    secrets.delete_secret(SecretId=SECRET_ID, ForceDeleteWithoutRecovery=True)
    # Still signed with the cached key: the secret is not fetched for every call.
    assert client.delete_multipart_upload(VIDEO_ID).status is (CleanupStatus.MEDIA_NOT_FOUND)


@pytest.mark.parametrize(
    "secret_string",
    [
        None,
        "not json",
        json.dumps(["AccessKeyId"]),
        json.dumps({"AccessKeyId": LOCAL_ACCESS_KEY_ID}),
        json.dumps({"AccessKeyId": "", "AccessKeySecret": "x"}),
    ],
    ids=["missing", "not-json", "not-an-object", "no-secret", "empty-id"],
)
def test_an_unusable_secret_is_a_configuration_error_that_shows_no_value(
    secrets, stand_in: LocalVod, settings: Settings, secret_string: str | None
) -> None:
    if secret_string is not None:
        secrets.create_secret(Name=SECRET_ID, SecretString=secret_string)
    configured = secret_settings(settings)
    client = vod_client_for(configured)
    with pytest.raises(CleanupFailedError) as failure:
        client.delete_multipart_upload(VIDEO_ID)
    assert (failure.value.kind, failure.value.error_code) == (
        ErrorKind.CONFIGURATION,
        "CredentialsUnavailable",
    )
    assert failure.value.attempts == 1
    assert stand_in.requests == []
    assert LOCAL_ACCESS_KEY_ID not in str(failure.value)


def test_no_credentials_at_all_is_a_clear_configuration_error(settings: Settings) -> None:
    bare = settings.with_changes(access_key_id=None, access_key_secret=None)
    with pytest.raises(SettingsError, match="ALIBABA_CLOUD_ACCESS_KEY_ID"):
        build_credential_client(bare)


def test_the_handler_keeps_an_event_it_has_no_credentials_for(
    handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
    output: ReadOutputFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(handler, access_key_id=None, access_key_secret=None)
    with pytest.raises(CleanupFailedError) as failure:
        handler.lambda_handler(load_event("direct-completed.json"), context)
    assert (failure.value.kind, failure.value.error_code) == ("configuration", "NotConfigured")
    sqs_event = load_event("sqs-completed.json")
    assert handler.lambda_handler(sqs_event, context) == {
        "batchItemFailures": [{"itemIdentifier": sqs_event["Records"][0]["messageId"]}]
    }
    assert stand_in.requests == []
    failed = output().counted("CleanupFailed")
    assert [metric.dimensions["ErrorKind"] for metric in failed] == ["configuration"] * 2


def test_the_handler_reads_the_secret_once_per_execution_environment(
    secrets,
    handler: FunctionUnderTest,
    stand_in: LocalVod,
    context: LocalLambdaContext,
) -> None:
    store_usable_secret(secrets)
    handler.reconfigure(secret_settings(handler.settings))
    reads: list[str] = []
    handler.consumer.aws.client("secretsmanager").meta.events.register(
        "before-call.secrets-manager.GetSecretValue", lambda **_: reads.append("read")
    )
    event = load_event("direct-completed.json")
    stand_in.add_video(event["VideoId"])
    assert handler.lambda_handler(event, context)["status"] == "deleted"
    assert handler.lambda_handler(event, context)["status"] == "already_clean"
    assert handler.lambda_handler(load_event("direct-manual.json"), context)["status"] == (
        "media_not_found"
    )
    assert reads == ["read"]


def test_an_unknown_access_key_makes_a_direct_invocation_raise_a_typed_failure(
    handler: FunctionUnderTest, stand_in: LocalVod, context: LocalLambdaContext
) -> None:
    configure(handler, access_key_id="LTAI5tNobody")
    with pytest.raises(CleanupFailedError) as failure:
        handler.lambda_handler(load_event("direct-manual.json"), context)
    assert failure.value.error_code == "InvalidAccessKeyId.NotFound"
