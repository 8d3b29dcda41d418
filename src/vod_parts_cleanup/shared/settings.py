"""The function's settings: read from the environment once, validated, then passed around.

This is the only module that reads ``os.environ``; everything else receives a ``Settings``.
Each field is declared once, with the environment variable that sets it and the rule its
value must follow; the same rule checks a value read from the environment and one given
in code (tests, the local tools).

One model for every function of the stack (each reads the fields it uses), so a variable
means the same everywhere. A plain dataclass, not a pydantic model: the receiver reads these
settings on every cold start, and importing pydantic alone takes ~60-90 ms of the ~130 ms its
cold start may cost (``make bench``). The event and result models, which only the consumer
needs, stay pydantic.
"""

import dataclasses
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from vod_parts_cleanup.shared.aws_json import AwsAccess, aws_access_from
from vod_parts_cleanup.shared.errors import SettingsError
from vod_parts_cleanup.shared.vocabulary import VIDEO_STATUS_UPLOADING, VIDEO_STATUSES

# VOD purges leftover parts after 7 days, so remembering a notification longer is useless.
SEVEN_DAYS_SECONDS = 7 * 24 * 60 * 60
_VARIABLE = "variable"
_RULE = "rule"

Rule = Callable[[Any], Any]
"""Turns a value (text from the environment, or a typed value from code) into the field's
value, or raises ValueError saying what is wrong without repeating the value."""


class Secret:
    """A value never shown: not in a repr, a log line, an error or a comparison's output."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


# -- rules -------------------------------------------------------------------------------------


def text(pattern: str | None = None) -> Rule:
    compiled = re.compile(pattern) if pattern else None

    def rule(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("must be text")  # noqa: TRY004 - one error type for every rule
        if compiled is not None and not compiled.fullmatch(value):
            msg = f"must match {pattern}"
            raise ValueError(msg)
        return value

    return rule


def one_of(*choices: str) -> Rule:
    def rule(value: Any) -> str:
        chosen = value.lower() if isinstance(value, str) else value
        if chosen not in choices:
            msg = f"must be one of {', '.join(choices)}"
            raise ValueError(msg)
        return str(chosen)

    return rule


def integer(minimum: int, maximum: int) -> Rule:
    def rule(value: Any) -> int:
        number = _number(value, int)
        if not minimum <= number <= maximum:
            msg = f"must be from {minimum} to {maximum}"
            raise ValueError(msg)
        return int(number)

    return rule


def positive_number(maximum: float) -> Rule:
    def rule(value: Any) -> float:
        number = float(_number(value, float))
        if not 0 < number <= maximum:
            msg = f"must be above 0 and at most {maximum:g}"
            raise ValueError(msg)
        return number

    return rule


def _number(value: Any, kind: type[int] | type[float]) -> int | float:
    if isinstance(value, bool):
        raise ValueError("must be a number")  # noqa: TRY004 - one error type for every rule
    if isinstance(value, int | float) and (kind is float or isinstance(value, int)):
        return value
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            pass
    msg = "must be an integer" if kind is int else "must be a number"
    raise ValueError(msg)


def flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    if isinstance(value, str) and value.lower() in words:
        return words[value.lower()]
    raise ValueError("must be true or false")


def secret(value: Any) -> Secret:
    if isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value)
    raise ValueError("must be text")


def listed(item: Rule, *, at_least_one: bool = False) -> Rule:
    """A list in one variable, comma-separated (several callback URLs, since each upload can
    carry its own; several statuses)."""

    def rule(value: Any) -> tuple[Any, ...]:
        parts = value.split(",") if isinstance(value, str) else value
        if not isinstance(parts, tuple | list):
            raise ValueError("must be a comma-separated list")  # noqa: TRY004
        stripped = [part.strip() if isinstance(part, str) else part for part in parts]
        items = tuple(item(part) for part in stripped if part != "")
        if at_least_one and not items:
            raise ValueError("must name at least one")
        return items

    return rule


def absolute_url(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"https?://[^\s|,]+", value):
        raise ValueError("must be an absolute http(s) URL")
    return value


def video_status(value: Any) -> str:
    if value not in VIDEO_STATUSES:
        msg = f"statuses must be some of {', '.join(VIDEO_STATUSES)}"
        raise ValueError(msg)
    return str(value)


def optional(rule: Rule) -> Rule:
    return lambda value: None if value is None else rule(value)


def _variable(name: str, default: Any, rule: Rule) -> Any:
    """A field set by the environment variable ``name``, its value checked by ``rule``."""
    return field(default=default, metadata={_VARIABLE: name, _RULE: rule})


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the function may be told from outside, with safe defaults."""

    # -- VOD ----------------------------------------------------------------------------------
    vod_region: str = _variable("VOD_REGION", "cn-shanghai", text(r"[a-z0-9-]+"))
    vod_endpoint: str | None = _variable(
        "VOD_ENDPOINT", None, optional(text(r"[A-Za-z0-9.-]+(:\d{1,5})?"))
    )
    vod_protocol: str = _variable("VOD_PROTOCOL", "https", one_of("https", "http"))
    connect_timeout_ms: int = _variable("VOD_CONNECT_TIMEOUT_MS", 2_000, integer(100, 10_000))
    read_timeout_ms: int = _variable("VOD_READ_TIMEOUT_MS", 5_000, integer(100, 30_000))
    max_attempts: int = _variable("VOD_MAX_ATTEMPTS", 4, integer(1, 10))
    # The account's budget of DeleteMultipartUpload calls (VOD allows about 10 per second),
    # of read calls (GetVideoInfo and the listings), and how many environments share them.
    vod_calls_per_second: float = _variable("VOD_CALLS_PER_SECOND", 8.0, positive_number(1_000))
    vod_read_calls_per_second: float = _variable(
        "VOD_READ_CALLS_PER_SECOND", 20.0, positive_number(1_000)
    )
    vod_concurrent_callers: int = _variable("VOD_CONCURRENT_CALLERS", 2, integer(1, 1_000))
    # -- Alibaba Cloud credentials ---------------------------------------------------------
    access_key_id: str | None = _variable("ALIBABA_CLOUD_ACCESS_KEY_ID", None, optional(text()))
    access_key_secret: Secret | None = _variable(
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET", None, optional(secret)
    )
    security_token: Secret | None = _variable(
        "ALIBABA_CLOUD_SECURITY_TOKEN", None, optional(secret)
    )
    credentials_secret_id: str | None = _variable(
        "VOD_CREDENTIALS_SECRET_ID", None, optional(text())
    )
    credentials_cache_seconds: int = _variable(
        "VOD_CREDENTIALS_CACHE_SECONDS", 300, integer(0, 86_400)
    )
    # -- Once per notification -------------------------------------------------------------
    idempotency_table_name: str | None = _variable(
        "IDEMPOTENCY_TABLE_NAME", None, optional(text(r"[A-Za-z0-9_.-]{3,255}"))
    )
    idempotency_ttl_seconds: int = _variable(
        "IDEMPOTENCY_TTL_SECONDS", SEVEN_DAYS_SECONDS, integer(60, 365 * 24 * 60 * 60)
    )
    # -- The HTTP callback -------------------------------------------------------------------
    callback_urls: tuple[str, ...] = _variable("VOD_CALLBACK_URL", (), listed(absolute_url))
    callback_auth_key_secret_id: str | None = _variable(
        "VOD_CALLBACK_AUTH_KEY_SECRET_ID", None, optional(text())
    )
    callback_auth_key: Secret | None = _variable("VOD_CALLBACK_AUTH_KEY", None, optional(secret))
    callback_next_auth_key: Secret | None = _variable(
        "VOD_CALLBACK_NEXT_AUTH_KEY", None, optional(secret)
    )
    callback_max_skew_seconds: int = _variable(
        "VOD_CALLBACK_MAX_SKEW_SECONDS", 300, integer(1, 3_600)
    )
    callback_auth_key_cache_seconds: int = _variable(
        "VOD_CALLBACK_AUTH_KEY_CACHE_SECONDS", 300, integer(0, 86_400)
    )
    # A callback's body is not signed: ask VOD whether the upload really ended before deleting.
    callback_confirm_upload: bool = _variable("VOD_CALLBACK_CONFIRM_UPLOAD", True, flag)
    # -- The sweep ------------------------------------------------------------------------------
    # Uploads in these statuses, created at least this long ago (and untouched since), are
    # cleaned by the sweep; VOD purges parts itself after 7 days, so older ones are left.
    sweep_min_age_minutes: int = _variable("SWEEP_MIN_AGE_MINUTES", 1440, integer(60, 7 * 24 * 60))
    # An Uploading upload VOD reports no detail for is cleaned only once this old (VOD's
    # GetUploadDetails is silent on client-SDK uploads, and silence is no evidence).
    sweep_unvouched_min_age_minutes: int = _variable(
        "SWEEP_UNVOUCHED_MIN_AGE_MINUTES", 4320, integer(60, 7 * 24 * 60)
    )
    sweep_statuses: tuple[str, ...] = _variable(
        "SWEEP_STATUSES",
        (VIDEO_STATUS_UPLOADING, "UploadFail"),
        listed(video_status, at_least_one=True),
    )
    # -- The work queue ------------------------------------------------------------------------
    work_queue_url: str | None = _variable("WORK_QUEUE_URL", None, optional(text(r"https?://\S+")))
    # Where the consumer moves a record it gives up on (at once when it can never be cleaned,
    # after CLEANUP_RETRY_HOURS of tries otherwise); a failed try comes back after 1 min,
    # doubling to 1 h.
    dead_letter_queue_url: str | None = _variable(
        "DEAD_LETTER_QUEUE_URL", None, optional(text(r"https?://\S+"))
    )
    cleanup_retry_hours: int = _variable("CLEANUP_RETRY_HOURS", 24, integer(1, 72))
    # -- Relay mode: every authenticated callback is also delivered to the customer's own
    # receiver, signed as VOD signs it for that URL and key (unset URL: off) --------------
    relay_callback_url: str | None = _variable("RELAY_CALLBACK_URL", None, optional(absolute_url))
    # The key the downstream checks; unset, the inbound one (what VOD was using for it).
    relay_callback_auth_key_secret_id: str | None = _variable(
        "RELAY_CALLBACK_AUTH_KEY_SECRET_ID", None, optional(text())
    )
    relay_callback_auth_key: Secret | None = _variable(
        "RELAY_CALLBACK_AUTH_KEY", None, optional(secret)
    )
    # Where the receiver keeps each callback for the relay, and how long the relay tries.
    relay_queue_url: str | None = _variable(
        "RELAY_QUEUE_URL", None, optional(text(r"https?://\S+"))
    )
    relay_retry_hours: int = _variable("RELAY_RETRY_HOURS", 24, integer(1, 240))
    # -- Observability -----------------------------------------------------------------------
    metrics_namespace: str = _variable("POWERTOOLS_METRICS_NAMESPACE", "VodPartsCleanup", text())
    service_name: str = _variable("POWERTOOLS_SERVICE_NAME", "vod-parts-cleanup", text())
    # X-Ray costs ~80 ms of every cold start to import: only when tracing is on.
    trace_disabled: bool = _variable("POWERTOOLS_TRACE_DISABLED", True, flag)
    # -- AWS (its SDKs' own variables: AWS_REGION, the credentials, AWS_ENDPOINT_URL...) ----
    aws: AwsAccess = field(default_factory=lambda: aws_access_from(os.environ))

    def __post_init__(self) -> None:
        """Every field through its rule, whether it came from the environment or from code."""
        problems = []
        for declared in dataclasses.fields(self):
            rule = declared.metadata.get(_RULE)
            if rule is None:
                continue
            try:
                object.__setattr__(self, declared.name, rule(getattr(self, declared.name)))
            except ValueError as error:
                problems.append(f"{declared.metadata[_VARIABLE]}: {error}")
        if not problems and self.vod_protocol == "http" and not _is_loopback(self.vod_host):
            problems.append(
                f"VOD_PROTOCOL=http is allowed only for loopback hosts, not {self.vod_host!r}"
            )
        if problems:
            raise SettingsError("invalid configuration: " + "; ".join(problems))

    @property
    def vod_host(self) -> str:
        """The host[:port] VOD is reached at: the region's public endpoint unless overridden."""
        return self.vod_endpoint or f"vod.{self.vod_region}.aliyuncs.com"

    @property
    def has_static_credentials(self) -> bool:
        return bool(self.access_key_id and self.access_key_secret)

    def with_changes(self, **changes: Any) -> Self:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def variables(cls) -> frozenset[str]:
        """Every environment variable the settings read (besides AWS's own)."""
        return frozenset(name for name, _ in _declared_variables(cls))

    @classmethod
    def variable_of(cls, field_name: str) -> str:
        """The environment variable that sets ``field_name`` (for messages naming it)."""
        return next(name for name, declared in _declared_variables(cls) if declared == field_name)

    @classmethod
    def default_of(cls, field_name: str) -> Any:
        return next(f.default for f in dataclasses.fields(cls) if f.name == field_name)

    @classmethod
    def from_environment(cls, environment: Mapping[str, str] | None = None) -> Self:
        """Build settings from environment variables; empty values count as unset."""
        source = os.environ if environment is None else environment
        values: dict[str, Any] = {
            field_name: value.strip()
            for variable, field_name in _declared_variables(cls)
            if (value := source.get(variable, "")).strip()
        }
        return cls(**values, aws=aws_access_from(source))


def _declared_variables(cls: type[Settings]) -> list[tuple[str, str]]:
    return [
        (declared.metadata[_VARIABLE], declared.name)
        for declared in dataclasses.fields(cls)
        if _VARIABLE in declared.metadata
    ]


def _is_loopback(host_and_port: str) -> bool:
    host = host_and_port.rsplit(":", 1)[0] if host_and_port.count(":") == 1 else host_and_port
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
