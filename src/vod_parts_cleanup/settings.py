"""The function's settings: read from the environment once, validated, then passed around.

This is the only module that reads ``os.environ``; everything else receives a ``Settings``.
"""

import ipaddress
import os
import re
from collections.abc import Mapping
from typing import Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

DEFAULT_REGION = "cn-shanghai"
DEFAULT_METRICS_NAMESPACE = "VodPartsCleanup"
DEFAULT_SERVICE_NAME = "vod-parts-cleanup"
# VOD purges leftover parts after 7 days, so remembering a notification longer is useless.
DEFAULT_IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 60 * 60
# How far X-VOD-TIMESTAMP may be from our clock, either way, for a callback to be accepted.
DEFAULT_CALLBACK_MAX_SKEW_SECONDS = 300

# Environment variable -> Settings field. One table, so the template, the README and the
# CLI can name the same variables.
ENVIRONMENT_VARIABLES: dict[str, str] = {
    "VOD_REGION": "vod_region",
    "VOD_ENDPOINT": "vod_endpoint",
    "VOD_PROTOCOL": "vod_protocol",
    "VOD_CONNECT_TIMEOUT_MS": "connect_timeout_ms",
    "VOD_READ_TIMEOUT_MS": "read_timeout_ms",
    "VOD_MAX_ATTEMPTS": "max_attempts",
    "VOD_CREDENTIALS_SECRET_ID": "credentials_secret_id",
    "VOD_CREDENTIALS_CACHE_SECONDS": "credentials_cache_seconds",
    "IDEMPOTENCY_TABLE_NAME": "idempotency_table_name",
    "IDEMPOTENCY_TTL_SECONDS": "idempotency_ttl_seconds",
    "ALIBABA_CLOUD_ACCESS_KEY_ID": "access_key_id",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "access_key_secret",
    "ALIBABA_CLOUD_SECURITY_TOKEN": "security_token",
    "VOD_CALLBACK_URL": "callback_urls",
    "VOD_CALLBACK_AUTH_KEY_SECRET_ID": "callback_auth_key_secret_id",
    "VOD_CALLBACK_AUTH_KEY": "callback_auth_key",
    "VOD_CALLBACK_NEXT_AUTH_KEY": "callback_next_auth_key",
    "VOD_CALLBACK_MAX_SKEW_SECONDS": "callback_max_skew_seconds",
    "VOD_CALLBACK_AUTH_KEY_CACHE_SECONDS": "callback_auth_key_cache_seconds",
    "VOD_CALLBACK_CONFIRM_UPLOAD": "callback_confirm_upload",
    "WORK_QUEUE_URL": "work_queue_url",
    "POWERTOOLS_METRICS_NAMESPACE": "metrics_namespace",
    "POWERTOOLS_SERVICE_NAME": "service_name",
}


class SettingsError(ValueError):
    """The environment describes a configuration the function cannot run with."""


class Settings(BaseModel):
    """Everything the function may be told from outside, with safe defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    vod_region: str = Field(default=DEFAULT_REGION, pattern=r"^[a-z0-9-]+$")
    vod_endpoint: str | None = Field(default=None, pattern=r"^[A-Za-z0-9.-]+(:\d{1,5})?$")
    vod_protocol: Literal["https", "http"] = "https"
    connect_timeout_ms: int = Field(default=2_000, ge=100, le=10_000)
    read_timeout_ms: int = Field(default=5_000, ge=100, le=30_000)
    max_attempts: int = Field(default=4, ge=1, le=10)
    credentials_secret_id: str | None = None
    credentials_cache_seconds: int = Field(default=300, ge=0, le=86_400)
    idempotency_table_name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{3,255}$")
    idempotency_ttl_seconds: int = Field(
        default=DEFAULT_IDEMPOTENCY_TTL_SECONDS, ge=60, le=365 * 24 * 60 * 60
    )
    access_key_id: str | None = None
    access_key_secret: SecretStr | None = None
    security_token: SecretStr | None = None
    callback_urls: tuple[str, ...] = ()
    callback_auth_key_secret_id: str | None = None
    callback_auth_key: SecretStr | None = None
    callback_next_auth_key: SecretStr | None = None
    callback_max_skew_seconds: int = Field(
        default=DEFAULT_CALLBACK_MAX_SKEW_SECONDS, ge=1, le=3_600
    )
    callback_auth_key_cache_seconds: int = Field(default=300, ge=0, le=86_400)
    # A callback's body is not signed: ask VOD whether the upload really ended before deleting.
    callback_confirm_upload: bool = True
    work_queue_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    metrics_namespace: str = DEFAULT_METRICS_NAMESPACE
    service_name: str = DEFAULT_SERVICE_NAME

    @property
    def vod_host(self) -> str:
        """The host[:port] VOD is reached at: the region's public endpoint unless overridden."""
        return self.vod_endpoint or f"vod.{self.vod_region}.aliyuncs.com"

    @property
    def has_static_credentials(self) -> bool:
        return bool(self.access_key_id and self.access_key_secret)

    @field_validator("callback_urls", mode="before")
    @classmethod
    def _split_callback_urls(cls, value: Any) -> Any:
        """One variable may list several URLs, since each upload can carry its own."""
        if isinstance(value, str):
            return tuple(url.strip() for url in value.split(",") if url.strip())
        return value

    @field_validator("callback_urls")
    @classmethod
    def _callback_urls_are_absolute(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for url in value:
            if not re.fullmatch(r"https?://[^\s|,]+", url):
                msg = f"not an absolute http(s) URL: {url!r}"
                raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _plain_http_only_on_loopback(self) -> Self:
        """A request signed over plain HTTP can be read on the way; allow it only locally."""
        if self.vod_protocol == "http" and not _is_loopback(self.vod_host):
            msg = f"VOD_PROTOCOL=http is allowed only for loopback hosts, not {self.vod_host!r}"
            raise ValueError(msg)
        return self

    @classmethod
    def from_environment(cls, environment: Mapping[str, str] | None = None) -> "Settings":
        """Build settings from environment variables; empty values count as unset."""
        source = os.environ if environment is None else environment
        values = {
            field: value.strip()
            for variable, field in ENVIRONMENT_VARIABLES.items()
            if (value := source.get(variable, "")).strip()
        }
        if "vod_protocol" in values:
            values["vod_protocol"] = values["vod_protocol"].lower()
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            raise SettingsError(_describe(error)) from None


def _is_loopback(host_and_port: str) -> bool:
    host = host_and_port.rsplit(":", 1)[0] if host_and_port.count(":") == 1 else host_and_port
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _describe(error: ValidationError) -> str:
    """Name the variables that are wrong, never their values (one may be a secret)."""
    variable_of = {field: variable for variable, field in ENVIRONMENT_VARIABLES.items()}
    problems = []
    for detail in error.errors(include_input=False, include_url=False):
        field = str(detail["loc"][0]) if detail["loc"] else ""
        name = variable_of.get(field, field or "settings")
        problems.append(f"{name}: {detail['msg']}")
    return "invalid configuration: " + "; ".join(problems)
