"""What a local run talks to, decided once before any work and said in one line: the VOD
(the local stand-in, or the configured one) and AWS (embedded, or the configured resources).

Why: the CLI deletes things. Nobody may believe it reached their account when it reached the
stand-in, or the other way round, so nothing is guessed: the stand-in is used only when
nothing of VOD is configured, or when a person asks for it (``--local``); a configuration
that is only half there is an error naming what is missing; and the stand-in's videos never
reach a real AWS resource (a table or a queue).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vod_parts_cleanup.shared.errors import SettingsError
from vod_parts_cleanup.shared.settings import Settings

# Settings that say which VOD, and as whom (VOD_REGION alone does not: it has a default).
VOD_FIELDS = (
    "access_key_id",
    "access_key_secret",
    "security_token",
    "credentials_secret_id",
    "vod_endpoint",
)
# AWS resources a run would write to, and the secrets it would read.
AWS_RESOURCE_FIELDS = ("idempotency_table_name", "work_queue_url", "relay_queue_url")
AWS_SECRET_FIELDS = (
    "credentials_secret_id",
    "callback_auth_key_secret_id",
    "relay_callback_auth_key_secret_id",
)
# What ``--local`` puts aside, besides the above: the customer's receiver of relay mode.
ELSEWHERE_FIELDS = ("relay_callback_url",)
LOCAL_HINT = "or add --local to run everything on the local stand-ins"


@dataclass(frozen=True)
class Targets:
    """Where a run goes: the stand-in VOD or the configured one, embedded AWS or the real."""

    vod_local: bool
    aws_local: bool
    # The settings a person configured that this run leaves aside (--local).
    set_aside: tuple[str, ...] = ()

    def settings_for_run(self, settings: Settings) -> Settings:
        """The settings with what is set aside cleared (the stand-ins take their place)."""
        if not self.set_aside:
            return settings
        fields = (*VOD_FIELDS, *AWS_RESOURCE_FIELDS, *AWS_SECRET_FIELDS, *ELSEWHERE_FIELDS)
        return settings.with_changes(**dict.fromkeys(fields))


def choose_targets(settings: Settings, *, local: bool) -> Targets:
    """The targets the settings name; SettingsError for a half configuration."""
    if local:
        fields = (*VOD_FIELDS, *AWS_RESOURCE_FIELDS, *AWS_SECRET_FIELDS, *ELSEWHERE_FIELDS)
        return Targets(vod_local=True, aws_local=True, set_aside=_variables_set(settings, fields))
    vod_configured = _vod_configured(settings)
    resources = _variables_set(settings, AWS_RESOURCE_FIELDS)
    if resources and not vod_configured:
        msg = (
            f"{_listed(resources)} set, but nothing of VOD is: the local stand-in's videos "
            "would reach a real AWS resource; configure VOD (ALIBABA_CLOUD_ACCESS_KEY_ID and "
            f"ALIBABA_CLOUD_ACCESS_KEY_SECRET, or VOD_CREDENTIALS_SECRET_ID), {LOCAL_HINT}"
        )
        raise SettingsError(msg)
    aws_configured = bool(resources or _variables_set(settings, AWS_SECRET_FIELDS))
    return Targets(vod_local=not vod_configured, aws_local=not aws_configured)


def _vod_configured(settings: Settings) -> bool:
    """Whether the settings name a VOD to talk to (False: nothing of VOD is set)."""
    key_id, key_secret = settings.access_key_id, settings.access_key_secret
    if settings.credentials_secret_id:
        if key_id or key_secret:
            msg = (
                "VOD_CREDENTIALS_SECRET_ID and ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET are both "
                "set: the function would use the secret; unset one of them"
            )
            raise SettingsError(msg)
        return True
    if key_id and key_secret:
        return True
    given = _variables_set(settings, VOD_FIELDS)
    if not given:
        return False
    if key_id or key_secret:
        present, missing = (
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET")
            if key_id
            else ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_ACCESS_KEY_ID")
        )
        msg = f"{present} is set but {missing} is not: set both, {LOCAL_HINT}"
    else:
        msg = (
            f"{_listed(given)} set, but no VOD credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and "
            f"ALIBABA_CLOUD_ACCESS_KEY_SECRET, or VOD_CREDENTIALS_SECRET_ID, {LOCAL_HINT}"
        )
    raise SettingsError(msg)


def _variables_set(settings: Settings, fields: Sequence[str]) -> tuple[str, ...]:
    """The variables of ``fields`` that hold a value, each once, in order."""
    names = [Settings.variable_of(name) for name in fields if getattr(settings, name)]
    return tuple(dict.fromkeys(names))


def _listed(variables: Sequence[str]) -> str:
    return ", ".join(variables) + (" is" if len(variables) == 1 else " are")


def vod_line(settings: Settings, *, stand_in: str | None, asked_by: str | None) -> str:
    """Which VOD, and as whom (the access key id's last 4 characters, never the secret);
    ``asked_by``: the option that chose the stand-in, if one did."""
    if stand_in is not None:
        why = asked_by or "nothing of VOD configured"
        return f"VOD: the local stand-in at http://{stand_in} ({why})"
    where = f"VOD: {settings.vod_protocol}://{settings.vod_host} (region {settings.vod_region})"
    if settings.credentials_secret_id:
        return f"{where}, access key from secret {settings.credentials_secret_id}"
    key_id = settings.access_key_id or ""
    token = " with a security token" if settings.security_token else ""
    return f"{where}, access key ...{key_id[-4:]}{token}"


def aws_line(settings: Settings, *, embedded: bool, region: str | None) -> str:
    """Which AWS resources: embedded (moto) or the configured ones, by name."""
    parts = [
        f"table {settings.idempotency_table_name}"
        if settings.idempotency_table_name
        else "no idempotency table (a repeat calls VOD again)",
        f"work queue {queue_name(settings.work_queue_url)}"
        if settings.work_queue_url
        else "no work queue",
    ]
    if settings.relay_queue_url:
        parts.append(f"relay queue {queue_name(settings.relay_queue_url)}")
    if settings.callback_auth_key_secret_id:
        parts.append(f"callback key from secret {settings.callback_auth_key_secret_id}")
    where = "embedded (moto)" if embedded else f"region {region}"
    return f"AWS {where}: " + ", ".join(parts)


def queue_name(url: Any) -> str:
    """A queue's name, the last part of its URL."""
    return str(url).rstrip("/").rsplit("/", 1)[-1]
