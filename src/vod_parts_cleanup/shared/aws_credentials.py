"""The credentials the functions' own AWS client signs with, from every source Lambda uses:
its environment (``AWS_ACCESS_KEY_ID``...), else the container credentials endpoint
(``AWS_CONTAINER_CREDENTIALS_FULL_URI`` with ``AWS_CONTAINER_AUTHORIZATION_TOKEN`` or
``..._TOKEN_FILE``, as SnapStart gives them; or ECS's ``..._RELATIVE_URI``), read when first
needed and again before they expire, as botocore's ContainerProvider does (the tests hold
the two side by side).
"""

import http.client
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from vod_parts_cleanup.shared.bounds import Watchdog

# Read again this long before they expire (botocore's advisory refresh); while a refresh
# fails, the ones in hand serve until this long before (its mandatory refresh).
REFRESH_BEFORE_EXPIRY_SECONDS = 15 * 60
STILL_USABLE_SECONDS = 10 * 60
FETCH_SECONDS = 1.0  # one attempt, as a whole: the endpoint is local
ECS_HOST = "http://169.254.170.2"
# Where a plain-http endpoint may be (botocore's list): anything else needs https.
_ALLOWED_HOSTS = frozenset({"169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost"})


class CredentialsError(Exception):
    """The credentials could not be had; the message names the source and why, never a key."""


@dataclass(frozen=True)
class AwsCredentials:
    """Who signs; the secret parts never show in a repr (and so in no log line)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None  # Unix seconds; None: static


class ContainerCredentials:
    """Credentials from the container endpoint, cached until shortly before they expire.
    Shared by every client of the environment (one lock)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        token_file: str | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self._token = token
        self._token_file = token_file
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._held: AwsCredentials | None = None

    def __repr__(self) -> str:
        return f"ContainerCredentials(url={self.url!r})"

    def current(self, seconds_left: float | None) -> AwsCredentials:
        """The credentials in hand, or read anew if they expire within the refresh window;
        CredentialsError if none can be had in ``seconds_left``."""
        with self._lock:
            held, now = self._held, self._wall_clock()
            if held is not None and not _expires_within(held, now, REFRESH_BEFORE_EXPIRY_SECONDS):
                return held
            try:
                self._held = self._fetch(seconds_left)
            except CredentialsError:
                if held is not None and not _expires_within(held, now, STILL_USABLE_SECONDS):
                    return held  # not fresh, still good: the next call tries again
                raise
            return self._held

    def _fetch(self, seconds_left: float | None) -> AwsCredentials:
        bound = FETCH_SECONDS if seconds_left is None else min(FETCH_SECONDS, seconds_left)
        if bound <= 0:
            raise CredentialsError(f"no time left to read credentials from {self.url}")
        parts = urlsplit(self.url)
        connection_type = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_type(parts.hostname or "", parts.port, timeout=bound)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        watchdog = Watchdog(connection, bound)
        try:
            connection.request("GET", target or "/", headers=self._headers())
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as error:
            why = "no answer in time" if watchdog.fired else type(error).__name__
            raise CredentialsError(f"credentials endpoint {self.url}: {why}") from None
        finally:
            watchdog.cancel()
            connection.close()
        if watchdog.fired:
            raise CredentialsError(f"credentials endpoint {self.url}: no answer in time")
        if response.status != 200:
            raise CredentialsError(f"credentials endpoint {self.url} answered {response.status}")
        return _credentials_from(body, self.url)

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        token = self._token
        if self._token_file:  # read each time: the file may be rotated
            try:
                token = Path(self._token_file).read_text(encoding="utf-8")
            except OSError as error:
                msg = f"cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: {error.strerror}"
                raise CredentialsError(msg) from None
        if token is not None:
            if "\r" in token or "\n" in token:
                raise CredentialsError("the container authorization token is no header value")
            headers["Authorization"] = token
        return headers


def container_credentials_from(
    environment: Mapping[str, str | None],
) -> ContainerCredentials | None:
    """The container endpoint the environment names (botocore's variables), or None."""
    relative, full = environment.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"), None
    if relative:
        url = ECS_HOST + relative
    elif full := environment.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        url = full
    else:
        return None
    if full and not _allowed(url):
        return None  # botocore refuses it too; the caller reports "no credentials"
    return ContainerCredentials(
        url,
        token=environment.get("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
        token_file=environment.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
    )


def _allowed(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    host = parts.hostname or ""
    # A loopback address (botocore asks ipaddress; this is the same set, without the import).
    loopback = host == "::1" or (host.startswith("127.") and host.replace(".", "").isdigit())
    return loopback or host in _ALLOWED_HOSTS


def _expires_within(credentials: AwsCredentials, now: float, seconds: float) -> bool:
    return credentials.expires_at is not None and credentials.expires_at - now < seconds


def _credentials_from(body: bytes, url: str) -> AwsCredentials:
    try:
        document = json.loads(body)
        expiration = datetime.fromisoformat(document["Expiration"]).timestamp()
        return AwsCredentials(
            document["AccessKeyId"],
            document["SecretAccessKey"],
            document.get("Token") or None,
            expires_at=expiration,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        raise CredentialsError(f"credentials endpoint {url}: an answer of another shape") from None
