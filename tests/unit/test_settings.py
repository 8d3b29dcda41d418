"""Settings come from the environment once, with safe defaults and errors that show no secret."""

import pytest

from vod_parts_cleanup.settings import Settings, SettingsError


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
