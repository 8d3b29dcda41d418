"""VOD's callback signature, and the keys it is made with: what the receiver checks an
incoming callback against, and what the relay signs each delivery with, as VOD would.

With authentication on, VOD sends ``X-VOD-TIMESTAMP`` (Unix seconds) and ``X-VOD-SIGNATURE``,
the lowercase hex MD5 of ``<callback URL>|<timestamp>|<auth key>``. A key comes from the
environment (local runs) or from a Secrets Manager secret, cached, read again after a
rotation, and kept while the secret cannot be read.
"""

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from vod_parts_cleanup.shared.aws_json import AwsJsonClient
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
