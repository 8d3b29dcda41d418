"""Settings come from the environment once, with safe defaults and errors that show no secret."""

import pytest

from vod_parts_cleanup.shared.errors import SettingsError
from vod_parts_cleanup.shared.settings import Secret, Settings


def test_defaults_reach_vod_in_shanghai_over_https() -> None:
    settings = Settings.from_environment({})
    assert settings.vod_host == "vod.cn-shanghai.aliyuncs.com"
    assert settings.vod_protocol == "https"
    assert settings.metrics_namespace == "VodPartsCleanup"
    assert settings.connect_timeout_ms < settings.read_timeout_ms <= 10_000
    assert not settings.has_static_credentials


def test_the_region_picks_the_endpoint() -> None:
    assert Settings.from_environment({"VOD_REGION": "ap-southeast-1"}).vod_host == (
        "vod.ap-southeast-1.aliyuncs.com"
    )


def test_an_endpoint_overrides_the_host() -> None:
    settings = Settings.from_environment(
        {"VOD_REGION": "eu-central-1", "VOD_ENDPOINT": "vod-vpc.eu-central-1.aliyuncs.com"}
    )
    assert settings.vod_host == "vod-vpc.eu-central-1.aliyuncs.com"


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost:9000", "127.0.0.2", "localhost"])
def test_plain_http_is_allowed_for_loopback_hosts(host: str) -> None:
    settings = Settings.from_environment({"VOD_ENDPOINT": host, "VOD_PROTOCOL": "HTTP"})
    assert settings.vod_protocol == "http"


@pytest.mark.parametrize("host", [None, "vod.cn-shanghai.aliyuncs.com", "10.0.0.5:80", "example"])
def test_plain_http_is_refused_anywhere_else(host: str | None) -> None:
    environment = {"VOD_PROTOCOL": "http"} | ({"VOD_ENDPOINT": host} if host else {})
    with pytest.raises(SettingsError, match="loopback"):
        Settings.from_environment(environment)


def test_static_credentials_and_token_are_read() -> None:
    settings = Settings.from_environment(
        {
            "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI5tExample",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "very-secret",
            "ALIBABA_CLOUD_SECURITY_TOKEN": "token",
        }
    )
    assert settings.has_static_credentials
    assert "very-secret" not in repr(settings) and "token'" not in repr(settings)


def test_empty_values_count_as_unset() -> None:
    settings = Settings.from_environment({"VOD_ENDPOINT": "  ", "VOD_REGION": ""})
    assert settings.vod_host == "vod.cn-shanghai.aliyuncs.com"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("VOD_PROTOCOL", "ftp"),
        ("VOD_MAX_ATTEMPTS", "0"),
        ("VOD_READ_TIMEOUT_MS", "soon"),
        ("VOD_ENDPOINT", "https://vod.cn-shanghai.aliyuncs.com/"),
        ("VOD_REGION", "CN Shanghai"),
        ("VOD_CALLBACK_URL", "www.example.com/your/callback"),
        ("VOD_CALLBACK_MAX_SKEW_SECONDS", "0"),
        ("WORK_QUEUE_URL", "vod-parts-cleanup-work"),
    ],
)
def test_a_bad_value_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_environment({variable: value})


def test_errors_never_show_a_value() -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_environment(
            {"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "s3cr3t-value", "VOD_MAX_ATTEMPTS": "s3cr3t-value"}
        )
    assert "s3cr3t-value" not in str(error.value)


def test_the_callback_settings_are_read() -> None:
    settings = Settings.from_environment(
        {
            "VOD_CALLBACK_URL": " https://a.example.com/vod/callback ,https://b.example.com/cb?x=1,",
            "VOD_CALLBACK_AUTH_KEY": "callback-key-value",
            "VOD_CALLBACK_NEXT_AUTH_KEY": "next-key-value",
            "VOD_CALLBACK_MAX_SKEW_SECONDS": "120",
            "WORK_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/work",
        }
    )
    assert settings.callback_urls == (
        "https://a.example.com/vod/callback",
        "https://b.example.com/cb?x=1",
    )
    assert settings.callback_max_skew_seconds == 120
    assert settings.work_queue_url == "https://sqs.us-east-1.amazonaws.com/123456789012/work"
    assert "callback-key-value" not in repr(settings)
    assert "next-key-value" not in repr(settings)


def test_callbacks_default_to_a_five_minute_window_and_no_url() -> None:
    settings = Settings.from_environment({})
    assert (settings.callback_urls, settings.callback_max_skew_seconds) == ((), 300)


def test_values_given_in_code_follow_the_same_rules() -> None:
    """Tests and the local tools build settings in code: the rules still hold."""
    with pytest.raises(SettingsError, match="VOD_MAX_ATTEMPTS"):
        Settings(max_attempts=0)
    with pytest.raises(SettingsError, match="loopback"):
        Settings.from_environment({}).with_changes(vod_protocol="http")
    assert Settings(connect_timeout_ms="300").connect_timeout_ms == 300  # type: ignore[arg-type]


def test_a_secret_given_in_code_is_hidden_too() -> None:
    settings = Settings(callback_auth_key="in-code-key")  # type: ignore[arg-type]
    assert isinstance(settings.callback_auth_key, Secret)
    assert settings.callback_auth_key.get_secret_value() == "in-code-key"
    assert "in-code-key" not in repr(settings) and "in-code-key" not in str(settings)


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        ("VOD_CALLBACK_CONFIRM_UPLOAD", "false", "callback_confirm_upload", False),
        ("POWERTOOLS_TRACE_DISABLED", "0", "trace_disabled", False),
        ("VOD_CALLS_PER_SECOND", "2.5", "vod_calls_per_second", 2.5),
        ("SWEEP_STATUSES", "UploadFail", "sweep_statuses", ("UploadFail",)),
    ],
)
def test_each_kind_of_value_is_read(
    variable: str, value: str, field: str, expected: object
) -> None:
    assert getattr(Settings.from_environment({variable: value}), field) == expected


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("VOD_CALLBACK_CONFIRM_UPLOAD", "maybe"),
        ("VOD_CALLS_PER_SECOND", "0"),
        ("SWEEP_STATUSES", "Finished"),
        ("SWEEP_STATUSES", ","),
        ("IDEMPOTENCY_TABLE_NAME", "no spaces allowed"),
    ],
)
def test_each_kind_of_bad_value_is_refused(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_environment({variable: value})


def test_aws_access_comes_from_the_same_environment() -> None:
    settings = Settings.from_environment(
        {
            "AWS_REGION": "eu-central-1",
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "aws-secret-value",
            "AWS_SESSION_TOKEN": "aws-session-token",
            "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:4566",
        }
    )
    assert settings.aws.region == "eu-central-1"
    assert settings.aws.service_endpoint_urls == {"SQS": "http://127.0.0.1:4566"}
    assert "aws-secret-value" not in repr(settings) and "aws-session-token" not in repr(settings)
