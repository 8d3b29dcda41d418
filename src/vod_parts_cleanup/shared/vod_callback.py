"""VOD's callback signature, and the keys it is made with: what the receiver checks an
incoming callback against, and what the relay signs each delivery with, as VOD would.

With authentication on, VOD sends ``X-VOD-TIMESTAMP`` (Unix seconds) and ``X-VOD-SIGNATURE``,
the lowercase hex MD5 of ``<callback URL>|<timestamp>|<auth key>``. A key comes from the
environment (local runs) or from a Secrets Manager secret, cached, refreshed behind the
callbacks, read again after a rotation, and kept while the secret cannot be read.
"""

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from vod_parts_cleanup.shared.aws_json import MAX_ATTEMPTS, AwsJsonClient
from vod_parts_cleanup.shared.errors import (
    AwsCallError,
    CallbackAuthUnavailableError,
    OutOfTimeError,
)
from vod_parts_cleanup.shared.settings import Secret
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
# After a failed read of the secret, none for this long: an outage costs Secrets Manager one
# request per environment per pause, and callbacks go on with the keys in hand.
KEY_FAILURE_PAUSE_SECONDS = 30.0
# How long the callback that starts a refresh of aged keys waits for it: a healthy answer
# (a kept-alive connection) takes a few milliseconds; a brownout costs no more than this.
KEY_REFRESH_WAIT_SECONDS = 0.05


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
    """Keys read from a Secrets Manager secret and kept ``max_age_seconds``.

    Secrets Manager's brownouts must not slow the callbacks nor grow its own load: keys that
    have aged are refreshed in a thread of its own, one attempt at a time, while callbacks
    go on with the keys in hand (the one that starts it waits KEY_REFRESH_WAIT_SECONDS,
    enough for a healthy answer); after a failed read nothing is read again for
    KEY_FAILURE_PAUSE_SECONDS. So an outage costs one request per environment per pause.
    """

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
        self._refresher = secrets_manager.sibling()
        self._max_age_seconds = max_age_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._last_forced_read: float | None = None
        self._last_good: tuple[str, ...] | None = None
        self._read_at: float | None = None
        self._failed_at: float | None = None
        self._refresh: threading.Thread | None = None

    def keys(self) -> tuple[str, ...]:
        """The keys in hand (refreshed behind the callbacks once aged); the first read is
        made at once, unless one failed within the pause."""
        now = self._clock()
        with self._lock:
            good, read_at = self._last_good, self._read_at
        if good is None:
            self._refuse_while_paused(now)
            return self._read(self._secrets_manager, attempts=MAX_ATTEMPTS)
        if read_at is not None and now - read_at < self._max_age_seconds:
            return good
        if not self._paused(now):
            self._refresh_behind(wait_seconds=KEY_REFRESH_WAIT_SECONDS)
        with self._lock:
            return self._last_good or good

    def reread(self) -> tuple[str, ...] | None:
        """The keys read anew if the ones in hand are old enough (else, or on error, None)."""
        now = self._clock()
        with self._lock:
            last = self._last_forced_read
            if last is not None and now - last < KEY_REREAD_INTERVAL_SECONDS:
                return None
            if self._paused(now):
                return None
            self._last_forced_read = now
        try:
            return self._read(self._secrets_manager, attempts=MAX_ATTEMPTS)
        except CallbackAuthUnavailableError:
            return None

    def _paused(self, now: float) -> bool:
        failed_at = self._failed_at
        return failed_at is not None and now - failed_at < KEY_FAILURE_PAUSE_SECONDS

    def _refuse_while_paused(self, now: float) -> None:
        if self._paused(now):
            msg = (
                f"the callback key secret {self._secret_id!r} could not be read "
                f"{now - (self._failed_at or now):.0f} s ago; the next read is in at most "
                f"{KEY_FAILURE_PAUSE_SECONDS:.0f} s"
            )
            raise CallbackAuthUnavailableError(RejectionReason.AUTH_UNAVAILABLE, msg)

    def _refresh_behind(self, *, wait_seconds: float) -> None:
        """Start the refresh unless one runs; only its starter waits, and briefly."""
        with self._lock:
            if self._refresh is not None and self._refresh.is_alive():
                return
            started = threading.Thread(
                target=self._refresh_once, name="callback-keys-refresh", daemon=True
            )
            self._refresh = started
            started.start()
        started.join(wait_seconds)

    def _refresh_once(self) -> None:
        with contextlib.suppress(CallbackAuthUnavailableError):  # kept: the keys in hand
            self._read(self._refresher, attempts=1)

    def _read(self, client: AwsJsonClient, *, attempts: int) -> tuple[str, ...]:
        """Read the secret with ``client``; a failure starts the pause."""
        try:
            answer = client.call("GetSecretValue", {"SecretId": self._secret_id}, attempts=attempts)
            keys = _keys_from_secret(self._secret_id, answer.get("SecretString"))
        except (AwsCallError, OutOfTimeError) as error:
            self._failed()
            msg = f"cannot read the callback key secret {self._secret_id!r}: {str(error)[:300]}"
            raise CallbackAuthUnavailableError(RejectionReason.AUTH_UNAVAILABLE, msg) from None
        except CallbackAuthUnavailableError:
            self._failed()
            raise
        with self._lock:
            self._last_good, self._read_at, self._failed_at = keys, self._clock(), None
        return keys

    def _failed(self) -> None:
        with self._lock:
            self._failed_at = self._clock()


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


def callback_keys(
    *,
    secret_id: str | None,
    keys: Sequence[Secret | None],
    cache_seconds: int,
    secrets_manager: AwsJsonClient,
    clock: Callable[[], float] = time.monotonic,
) -> CallbackKeys | None:
    """The key source: the secret if one is named, else the keys given (the first is the
    current one); None if neither is."""
    if secret_id:
        return SecretsManagerCallbackKeys(
            secret_id, secrets_manager=secrets_manager, max_age_seconds=cache_seconds, clock=clock
        )
    given = tuple(
        key.get_secret_value().strip()
        for key in keys
        if key is not None and key.get_secret_value().strip()
    )
    if not keys or keys[0] is None or not given:
        return None
    return StaticCallbackKeys(given)
