"""Is this HTTP callback really from VOD? VOD's callback authentication, checked before the body.

With authentication on, VOD sends ``X-VOD-TIMESTAMP`` (Unix seconds) and ``X-VOD-SIGNATURE``,
the lowercase hex MD5 of ``<callback URL>|<timestamp>|<auth key>`` (``shared.vod_callback``,
which the relay signs with too). What a valid pair proves:
the sender knew the key within the freshness window. It covers neither the body nor anything
unique to one notification (all callbacks of one second share the pair), so a fresh
timestamp is required here and the body's claim is confirmed with VOD later. Nothing in this
module knows about API Gateway or Lambda.
"""

import hmac
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from vod_parts_cleanup.shared.aws_json import AwsJsonClient
from vod_parts_cleanup.shared.clock import Clock
from vod_parts_cleanup.shared.errors import (
    CallbackAuthUnavailableError,
    CallbackRejectedError,
    SettingsError,
)
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup.shared.vocabulary import RejectionReason
from vod_parts_cleanup.shared.vod_callback import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    CallbackKeys,
    callback_keys,
    callback_signature,
)

# Header values are compared byte-exactly: ASCII digits and hex only, nothing stripped
# (Unicode digits and stray separators would pass some checks and fail others).
_TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)
_SIGNATURE = re.compile(r"[0-9a-fA-F]{32}", re.ASCII)


@dataclass(frozen=True)
class SignedCallback:
    """The header pair of an authenticated callback; the signature is never shown in a repr."""

    timestamp: int
    signature: str = field(repr=False)


def callback_keys_from(
    settings: Settings,
    secrets_manager: AwsJsonClient,
    clock: Callable[[], float] = time.monotonic,
) -> CallbackKeys:
    """The inbound key source; the secret wins over keys in the environment."""
    keys = callback_keys(
        secret_id=settings.callback_auth_key_secret_id,
        keys=(settings.callback_auth_key, settings.callback_next_auth_key),
        cache_seconds=settings.callback_auth_key_cache_seconds,
        secrets_manager=secrets_manager,
        clock=clock,
    )
    if keys is None:
        msg = (
            "no callback auth key: set VOD_CALLBACK_AUTH_KEY_SECRET_ID (or VOD_CALLBACK_AUTH_KEY "
            "for local runs)"
        )
        raise SettingsError(msg)
    return keys


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
