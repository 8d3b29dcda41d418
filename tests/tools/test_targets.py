"""Which VOD and which AWS a run of the CLI talks to: decided from the settings alone, never
guessed, and said in one line that names no secret."""

import pytest

from vod_parts_cleanup.shared.errors import SettingsError
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup_dev.targets import aws_line, choose_targets, vod_line

KEY_ID = "LTAI5tExample9Kq3"
KEY_SECRET = "a-secret-that-never-shows"


def test_nothing_configured_is_the_stand_ins() -> None:
    targets = choose_targets(Settings(), local=False)
    assert (targets.vod_local, targets.aws_local, targets.set_aside) == (True, True, ())


def test_a_region_alone_names_no_vod_to_talk_to() -> None:
    """The guide exports VOD_REGION in its first step, for commands that are not ours."""
    assert choose_targets(Settings(vod_region="ap-southeast-1"), local=False).vod_local


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        (
            Settings(access_key_id=KEY_ID),
            "_KEY_ID is set but ALIBABA_CLOUD_ACCESS_KEY_SECRET is not",
        ),
        (
            Settings(access_key_secret=KEY_SECRET),
            "_SECRET is set but ALIBABA_CLOUD_ACCESS_KEY_ID is not",
        ),
        (Settings(security_token="token"), "ALIBABA_CLOUD_SECURITY_TOKEN is set, but no VOD"),
        (Settings(vod_endpoint="vod.example.com"), "VOD_ENDPOINT is set, but no VOD credentials"),
        (
            Settings(credentials_secret_id="vod/key", access_key_id=KEY_ID),
            "VOD_CREDENTIALS_SECRET_ID and ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET are both set",
        ),
        (
            Settings(idempotency_table_name="table", work_queue_url="https://sqs.x/1/q"),
            "IDEMPOTENCY_TABLE_NAME, WORK_QUEUE_URL are set, but nothing of VOD is",
        ),
    ],
)
def test_half_a_configuration_is_refused_naming_what_is_missing(
    settings: Settings, said: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        choose_targets(settings, local=False)
    assert said in str(refused.value)
    assert str(refused.value).count("\n") == 0


def test_a_configured_vod_with_no_aws_resource_embeds_aws() -> None:
    targets = choose_targets(
        Settings(access_key_id=KEY_ID, access_key_secret=KEY_SECRET), local=False
    )
    assert (targets.vod_local, targets.aws_local) == (False, True)


def test_a_secret_or_a_resource_means_the_real_aws() -> None:
    by_secret = choose_targets(Settings(credentials_secret_id="vod/key"), local=False)
    assert (by_secret.vod_local, by_secret.aws_local) == (False, False)
    by_queue = Settings(
        access_key_id=KEY_ID, access_key_secret=KEY_SECRET, work_queue_url="https://sqs.x/1/q"
    )
    assert not choose_targets(by_queue, local=False).aws_local


def test_local_sets_everything_aside_and_says_what() -> None:
    settings = Settings(
        access_key_id=KEY_ID,
        work_queue_url="https://sqs.x/1/q",
        relay_callback_url="https://media.example.com/callback",
    )
    targets = choose_targets(settings, local=True)
    assert targets.set_aside == (
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "WORK_QUEUE_URL",
        "RELAY_CALLBACK_URL",
    )
    cleared = targets.settings_for_run(settings)
    assert (cleared.access_key_id, cleared.work_queue_url, cleared.relay_callback_url) == (
        None,
        None,
        None,
    )


def test_the_vod_line_names_host_region_and_the_key_ids_end_never_the_secret() -> None:
    settings = Settings(
        vod_region="ap-southeast-1", access_key_id=KEY_ID, access_key_secret=KEY_SECRET
    )
    line = vod_line(settings, stand_in=None, asked_by=None)
    assert line == (
        "VOD: https://vod.ap-southeast-1.aliyuncs.com (region ap-southeast-1), access key ...9Kq3"
    )
    assert KEY_SECRET not in line and KEY_ID not in line
    secret = vod_line(Settings(credentials_secret_id="vod/key"), stand_in=None, asked_by=None)
    assert secret.endswith("access key from secret vod/key")
    local = vod_line(Settings(), stand_in="127.0.0.1:4242", asked_by="--local")
    assert local == "VOD: the local stand-in at http://127.0.0.1:4242 (--local)"


def test_the_aws_line_names_the_resources_by_name() -> None:
    settings = Settings(
        idempotency_table_name="stack-IdempotencyTable-1",
        work_queue_url="https://sqs.ap-southeast-1.amazonaws.com/111122223333/stack-WorkQueue-2",
    )
    assert aws_line(settings, embedded=False, region="ap-southeast-1") == (
        "AWS region ap-southeast-1: table stack-IdempotencyTable-1, work queue stack-WorkQueue-2"
    )
    assert aws_line(Settings(), embedded=False, region="eu-west-1") == (
        "AWS region eu-west-1: no idempotency table (a repeat calls VOD again), no work queue"
    )
