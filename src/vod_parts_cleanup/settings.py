"""The function's settings: read from the environment once, validated, then passed around.

This is the only module that reads ``os.environ``; everything else receives a ``Settings``.
Each field is declared once, with the environment variable that sets it as its alias.
"""

import ipaddress
import os
import re
from collections.abc import Mapping
from typing import Any, Literal, Self

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from vod_parts_cleanup.models import VIDEO_STATUS_UPLOADING, VIDEO_STATUSES

# VOD purges leftover parts after 7 days, so remembering a notification longer is useless.
SEVEN_DAYS_SECONDS = 7 * 24 * 60 * 60


def _variable(name: str, default: Any = None, **constraints: Any) -> Any:
    """A field set by the environment variable ``name`` (tests and code may use the field name)."""
    return Field(
        default,
        validation_alias=AliasChoices(name),
        serialization_alias=name,
        **constraints,
    )


class SettingsError(ValueError):
    """The environment describes a configuration the function cannot run with."""


class Settings(BaseModel):
    """Everything the function may be told from outside, with safe defaults."""

    model_config = ConfigDict(frozen=True, extra="ignore", validate_by_name=True)

    # -- VOD ----------------------------------------------------------------------------------
    vod_region: str = _variable("VOD_REGION", "cn-shanghai", pattern=r"^[a-z0-9-]+$")
    vod_endpoint: str | None = _variable("VOD_ENDPOINT", pattern=r"^[A-Za-z0-9.-]+(:\d{1,5})?$")
    vod_protocol: Literal["https", "http"] = _variable("VOD_PROTOCOL", "https")
    connect_timeout_ms: int = _variable("VOD_CONNECT_TIMEOUT_MS", 2_000, ge=100, le=10_000)
    read_timeout_ms: int = _variable("VOD_READ_TIMEOUT_MS", 5_000, ge=100, le=30_000)
    max_attempts: int = _variable("VOD_MAX_ATTEMPTS", 4, ge=1, le=10)
    # The account's budget of DeleteMultipartUpload calls (VOD allows about 10 per second),
    # of read calls (GetVideoInfo and the listings), and how many environments share them.
    vod_calls_per_second: float = _variable("VOD_CALLS_PER_SECOND", 8.0, gt=0, le=1_000)
    vod_read_calls_per_second: float = _variable("VOD_READ_CALLS_PER_SECOND", 20.0, gt=0, le=1_000)
    vod_concurrent_callers: int = _variable("VOD_CONCURRENT_CALLERS", 2, ge=1, le=1_000)
    # -- Alibaba Cloud credentials ---------------------------------------------------------
    access_key_id: str | None = _variable("ALIBABA_CLOUD_ACCESS_KEY_ID")
    access_key_secret: SecretStr | None = _variable("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
    security_token: SecretStr | None = _variable("ALIBABA_CLOUD_SECURITY_TOKEN")
    credentials_secret_id: str | None = _variable("VOD_CREDENTIALS_SECRET_ID")
    credentials_cache_seconds: int = _variable(
        "VOD_CREDENTIALS_CACHE_SECONDS", 300, ge=0, le=86_400
    )
    # -- Once per notification -------------------------------------------------------------
    idempotency_table_name: str | None = _variable(
        "IDEMPOTENCY_TABLE_NAME", pattern=r"^[A-Za-z0-9_.-]{3,255}$"
    )
    idempotency_ttl_seconds: int = _variable(
        "IDEMPOTENCY_TTL_SECONDS", SEVEN_DAYS_SECONDS, ge=60, le=365 * 24 * 60 * 60
    )
    # -- The HTTP callback -------------------------------------------------------------------
    callback_urls: tuple[str, ...] = _variable("VOD_CALLBACK_URL", ())
    callback_auth_key_secret_id: str | None = _variable("VOD_CALLBACK_AUTH_KEY_SECRET_ID")
    callback_auth_key: SecretStr | None = _variable("VOD_CALLBACK_AUTH_KEY")
    callback_next_auth_key: SecretStr | None = _variable("VOD_CALLBACK_NEXT_AUTH_KEY")
    callback_max_skew_seconds: int = _variable("VOD_CALLBACK_MAX_SKEW_SECONDS", 300, ge=1, le=3_600)
    callback_auth_key_cache_seconds: int = _variable(
        "VOD_CALLBACK_AUTH_KEY_CACHE_SECONDS", 300, ge=0, le=86_400
    )
    # A callback's body is not signed: ask VOD whether the upload really ended before deleting.
    callback_confirm_upload: bool = _variable("VOD_CALLBACK_CONFIRM_UPLOAD", True)
    # -- The sweep ------------------------------------------------------------------------------
    # Uploads in these statuses, created at least this long ago (and untouched since), are
    # cleaned by the sweep; VOD purges parts itself after 7 days, so older ones are left.
    sweep_min_age_minutes: int = _variable("SWEEP_MIN_AGE_MINUTES", 1440, ge=60, le=7 * 24 * 60)
    sweep_statuses: tuple[str, ...] = _variable(
        "SWEEP_STATUSES", (VIDEO_STATUS_UPLOADING, "UploadFail")
    )
    # -- The work queue ------------------------------------------------------------------------
    work_queue_url: str | None = _variable("WORK_QUEUE_URL", pattern=r"^https?://\S+$")
    # -- Observability -----------------------------------------------------------------------
    metrics_namespace: str = _variable("POWERTOOLS_METRICS_NAMESPACE", "VodPartsCleanup")
    service_name: str = _variable("POWERTOOLS_SERVICE_NAME", "vod-parts-cleanup")
    # X-Ray costs ~80 ms of every cold start to import: only when tracing is on.
    trace_disabled: bool = _variable("POWERTOOLS_TRACE_DISABLED", True)

    @property
    def vod_host(self) -> str:
        """The host[:port] VOD is reached at: the region's public endpoint unless overridden."""
        return self.vod_endpoint or f"vod.{self.vod_region}.aliyuncs.com"

    @property
    def has_static_credentials(self) -> bool:
        return bool(self.access_key_id and self.access_key_secret)

    def with_changes(self, **changes: Any) -> "Settings":
        """A validated copy with some fields changed (``model_copy`` would not validate)."""
        return Settings.model_validate(self.model_dump() | changes)

    @field_validator("vod_protocol", mode="before")
    @classmethod
    def _protocol_in_any_case(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("callback_urls", "sweep_statuses", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """A list in one variable (several callback URLs, since each upload can carry its
        own; several statuses)."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("sweep_statuses")
    @classmethod
    def _statuses_are_vods(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(VIDEO_STATUSES))
        if unknown or not value:
            msg = f"statuses must be some of {', '.join(VIDEO_STATUSES)}"
            raise ValueError(msg)
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
    def variables(cls) -> frozenset[str]:
        """Every environment variable the settings read."""
        return frozenset(
            str(field.serialization_alias)
            for field in cls.model_fields.values()
            if field.serialization_alias
        )

    @classmethod
    def from_environment(cls, environment: Mapping[str, str] | None = None) -> "Settings":
        """Build settings from environment variables; empty values count as unset."""
        source = os.environ if environment is None else environment
        values = {
            variable: value.strip()
            for variable in cls.variables()
            if (value := source.get(variable, "")).strip()
        }
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
    problems = []
    for detail in error.errors(include_input=False, include_url=False):
        name = str(detail["loc"][0]) if detail["loc"] else "settings"
        problems.append(f"{name}: {detail['msg']}")
    return "invalid configuration: " + "; ".join(problems)
