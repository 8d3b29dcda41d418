"""Is this HTTP callback really from VOD? VOD's callback authentication, checked before the body.

With authentication on, VOD sends ``X-VOD-TIMESTAMP`` (Unix seconds) and ``X-VOD-SIGNATURE``,
the lowercase hex MD5 of ``<callback URL>|<timestamp>|<auth key>``. What a valid pair proves:
the sender knew the key within the freshness window. It covers neither the body nor anything
unique to one notification (all callbacks of one second share the pair), so a fresh
timestamp is required here and the body's claim is confirmed with VOD later. Nothing in this
module knows about API Gateway or Lambda.
"""

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from vod_parts_cleanup.shared.aws_json import AwsJsonClient
from vod_parts_cleanup.shared.clock import Clock
from vod_parts_cleanup.shared.errors import (
    AwsCallError,
    CallbackAuthUnavailableError,
    CallbackRejectedError,
    OutOfTimeError,
    SettingsError,
)
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup.shared.vocabulary import RejectionReason

TIMESTAMP_HEADER = "x-vod-timestamp"
SIGNATURE_HEADER = "x-vod-signature"
# The secret holds {"AuthKey": ..., "NextAuthKey": ...} (the names VOD's console uses), or
# just the key as a plain string.
SECRET_CURRENT_KEY = "AuthKey"  # noqa: S105 - a field name, not a password
SECRET_NEXT_KEY = "NextAuthKey"  # noqa: S105 - a field name, not a password
# After a signature mismatch the keys are read again (a rotation may have just happened) if
# the keys in hand are at least this old: a flood of bad signatures costs at most one read a
# second, and VOD's retries a second apart still meet a fresh read after a rotation.
KEY_REREAD_INTERVAL_SECONDS = 1.0

# Header values are compared byte-exactly: ASCII digits and hex only, nothing stripped
# (Unicode digits and stray separators would pass some checks and fail others).
_TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)
_SIGNATURE = re.compile(r"[0-9a-fA-F]{32}", re.ASCII)


@dataclass(frozen=True)
class SignedCallback:
    """The header pair of an authenticated callback; the signature is never shown in a repr."""

    timestamp: int
    signature: str = field(repr=False)


def callback_signature(callback_url: str, timestamp: int | str, auth_key: str) -> str:
    """VOD's signature: lowercase hex MD5 of ``<URL>|<timestamp>|<key>`` (MD5 is VOD's choice)."""
    message = f"{callback_url}|{timestamp}|{auth_key}".encode()
    return hashlib.md5(message, usedforsecurity=False).hexdigest()


class CallbackKeys(Protocol):
    """Where the auth keys come from: the current key, then the next one during a rotation."""

    def keys(self) -> tuple[str, ...]: ...

    def reread(self) -> tuple[str, ...] | None:
        """The keys read again if that is allowed now, else None."""
        ...


@dataclass(frozen=True)
class StaticCallbackKeys:
    """Keys given in the environment (local runs)."""

    configured: tuple[str, ...]

    def keys(self) -> tuple[str, ...]:
        return self.configured

    def reread(self) -> tuple[str, ...] | None:
        return None


class SecretsManagerCallbackKeys:
    """Keys read from a Secrets Manager secret and kept ``max_age_seconds``; while the secret
    cannot be read, the last keys read."""

    def __init__(
        self,
        secret_id: str,
        *,
        secrets_manager: AwsJsonClient,
        max_age_seconds: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret_id = secret_id
        self._secrets_manager = secrets_manager
        self._max_age_seconds = max_age_seconds
        self._clock = clock
        self._last_forced_read: float | None = None
        self._last_good: tuple[str, ...] | None = None
        self._read_at: float | None = None

    def keys(self) -> tuple[str, ...]:
        """The keys, cached; while the secret cannot be read, the last keys read."""
        try:
            return self._read(force=False)
        except CallbackAuthUnavailableError:
            if self._last_good is None:
                raise
            return self._last_good

    def reread(self) -> tuple[str, ...] | None:
        """The keys read anew if the ones in hand are old enough (else, or on error, None)."""
        now = self._clock()
        if (
            self._last_forced_read is not None
            and now - self._last_forced_read < KEY_REREAD_INTERVAL_SECONDS
        ):
            return None
        self._last_forced_read = now
        try:
            return self._read(force=True)
        except CallbackAuthUnavailableError:
            return None

    def _read(self, *, force: bool) -> tuple[str, ...]:
        now = self._clock()
        fresh = self._read_at is not None and now - self._read_at < self._max_age_seconds
        if self._last_good is not None and fresh and not force:
            return self._last_good
        try:
            answer = self._secrets_manager.call("GetSecretValue", {"SecretId": self._secret_id})
        except (AwsCallError, OutOfTimeError) as error:
            msg = f"cannot read the callback key secret {self._secret_id!r}: {str(error)[:300]}"
            raise CallbackAuthUnavailableError(RejectionReason.AUTH_UNAVAILABLE, msg) from None
        self._last_good = _keys_from_secret(self._secret_id, answer.get("SecretString"))
        self._read_at = now
        return self._last_good


def _keys_from_secret(secret_id: str, raw: Any) -> tuple[str, ...]:
    """The secret's keys, checked for shape; what is wrong is named, never shown."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    if isinstance(text, str) and text.strip() and not text.lstrip().startswith("{"):
        return (text.strip(),)
    try:
        document = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        document = None
    if isinstance(document, dict):
        keys = tuple(
            value.strip()
            for name in (SECRET_CURRENT_KEY, SECRET_NEXT_KEY)
            if isinstance(value := document.get(name), str) and value.strip()
        )
        if isinstance(document.get(SECRET_CURRENT_KEY), str) and keys:
            return keys
    msg = (
        f"secret {secret_id!r} must be the auth key itself or a JSON object with "
        f'"{SECRET_CURRENT_KEY}" (and optionally "{SECRET_NEXT_KEY}")'
    )
    raise CallbackAuthUnavailableError(RejectionReason.AUTH_UNAVAILABLE, msg)


def callback_keys_from(
    settings: Settings,
    secrets_manager: AwsJsonClient,
    clock: Callable[[], float] = time.monotonic,
) -> CallbackKeys:
    """The configured key source; the secret wins over keys in the environment."""
    if settings.callback_auth_key_secret_id:
        return SecretsManagerCallbackKeys(
            settings.callback_auth_key_secret_id,
            secrets_manager=secrets_manager,
            max_age_seconds=settings.callback_auth_key_cache_seconds,
            clock=clock,
        )
    configured = tuple(
        key.get_secret_value().strip()
        for key in (settings.callback_auth_key, settings.callback_next_auth_key)
        if key is not None and key.get_secret_value().strip()
    )
    if settings.callback_auth_key is None or not configured:
        msg = (
            "no callback auth key: set VOD_CALLBACK_AUTH_KEY_SECRET_ID (or VOD_CALLBACK_AUTH_KEY "
            "for local runs)"
        )
        raise SettingsError(msg)
    return StaticCallbackKeys(configured)


class Authenticator(Protocol):
    """What the receiver asks before it reads a body."""

    def authenticate(self, headers: Mapping[str, object]) -> "SignedCallback":
        """The verified header pair; CallbackRejectedError (401) or
        CallbackAuthUnavailableError (5xx) saying why not."""
        ...


@dataclass(frozen=True)
class NotConfigured:
    """Callback authentication the settings do not describe (no URL, no key): every callback
    is refused as not checked, so VOD tries again, and the log names what is missing."""

    problem: str

    def authenticate(self, headers: Mapping[str, object]) -> "SignedCallback":
        raise CallbackAuthUnavailableError(RejectionReason.NOT_CONFIGURED, self.problem)


def authenticator_for(
    settings: Settings, secrets_manager: AwsJsonClient, *, clock: Clock
) -> Authenticator:
    """The receiver's one place for its configuration errors: settings that do not describe
    callback authentication give an authenticator that refuses every callback, not a
    function that cannot start."""
    try:
        return CallbackAuthenticator.from_settings(settings, secrets_manager, clock=clock)
    except SettingsError as error:
        return NotConfigured(str(error))


class CallbackAuthenticator:
    """Checks a callback's headers: present, well formed, signed with a known key, and fresh."""

    def __init__(
        self,
        *,
        callback_urls: Iterable[str],
        keys: CallbackKeys,
        max_skew_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._callback_urls = tuple(callback_urls)
        if not self._callback_urls:
            msg = "no callback URL: set VOD_CALLBACK_URL to the URL VOD calls (comma-separated)"
            raise SettingsError(msg)
        self._keys = keys
        self._max_skew_seconds = max_skew_seconds
        self._clock = clock

    @classmethod
    def from_settings(
        cls, settings: Settings, secrets_manager: AwsJsonClient, *, clock: Clock
    ) -> "CallbackAuthenticator":
        """SettingsError if the settings do not describe callback authentication."""
        return cls(
            callback_urls=settings.callback_urls,
            keys=callback_keys_from(settings, secrets_manager, clock.monotonic),
            max_skew_seconds=settings.callback_max_skew_seconds,
            clock=clock.time,
        )

    def authenticate(self, headers: Mapping[str, object]) -> SignedCallback:
        """The verified header pair, or CallbackRejectedError saying why not. Freshness comes
        first: a stale request never makes the keys be read again."""
        callback = SignedCallback(
            timestamp=self._timestamp(_header(headers, TIMESTAMP_HEADER)),
            signature=self._signature(_header(headers, SIGNATURE_HEADER)),
        )
        self._check_freshness(callback.timestamp)
        self._check_signature(callback)
        return callback

    @staticmethod
    def _timestamp(value: str) -> int:
        if not _TIMESTAMP.fullmatch(value):
            raise CallbackRejectedError(
                RejectionReason.MALFORMED_TIMESTAMP, "X-VOD-TIMESTAMP is not Unix seconds"
            )
        return int(value)

    @staticmethod
    def _signature(value: str) -> str:
        if not _SIGNATURE.fullmatch(value):
            raise CallbackRejectedError(
                RejectionReason.MALFORMED_SIGNATURE, "X-VOD-SIGNATURE is not 32 hex characters"
            )
        return value.lower()

    def _check_signature(self, callback: SignedCallback) -> None:
        if self._signed_with_any(callback, self._keys.keys()):
            return
        reread = self._keys.reread()
        if reread is not None and self._signed_with_any(callback, reread):
            return
        raise CallbackRejectedError(
            RejectionReason.BAD_SIGNATURE,
            "X-VOD-SIGNATURE does not match the callback URL, timestamp and auth key",
        )

    def _check_freshness(self, timestamp: int) -> None:
        age = self._clock() - timestamp
        if age > self._max_skew_seconds:
            raise CallbackRejectedError(
                RejectionReason.STALE_TIMESTAMP,
                f"X-VOD-TIMESTAMP is {int(age)} s old (at most {self._max_skew_seconds} s)",
            )
        if -age > self._max_skew_seconds:
            raise CallbackRejectedError(
                RejectionReason.FUTURE_TIMESTAMP,
                f"X-VOD-TIMESTAMP is {int(-age)} s ahead (at most {self._max_skew_seconds} s)",
            )

    def _signed_with_any(self, callback: SignedCallback, keys: tuple[str, ...]) -> bool:
        """Compare with every URL and key, each in constant time, without stopping early."""
        matched = False
        for url in self._callback_urls:
            for key in keys:
                expected = callback_signature(url, callback.timestamp, key)
                matched |= hmac.compare_digest(expected, callback.signature)
        return matched


def _header(headers: Mapping[str, object], name: str) -> str:
    """A header's value, whatever the case of its name; a missing or doubled header is refused."""
    values = {
        value
        for key, value in headers.items()
        if isinstance(key, str) and key.lower() == name and isinstance(value, str)
    }
    if not values:
        raise CallbackRejectedError(RejectionReason.MISSING_HEADER, f"{name} header missing")
    if len(values) > 1:
        reason = (
            RejectionReason.MALFORMED_TIMESTAMP
            if name == TIMESTAMP_HEADER
            else RejectionReason.MALFORMED_SIGNATURE
        )
        raise CallbackRejectedError(reason, f"{name} header given twice with different values")
    [value] = values
    return value
