"""One delivery to the customer's own receiver, exactly as VOD would have made it.

The same body, byte for byte, with the same content type, and VOD's two headers computed for
the downstream's URL and key: ``X-VOD-TIMESTAMP`` (this attempt's time, Unix seconds) and
``X-VOD-SIGNATURE`` = md5(``<URL>|<timestamp>|<key>``), so the downstream's own check passes
unchanged. VOD's rules for success: an HTTP 200 within 5 seconds. The 5 seconds bound the
whole attempt (connecting, sending, and a downstream that trickles its answer a byte at a
time: a watchdog closes the connection when they are up). TLS is verified; redirects are
not followed (a 3xx is a failure, as for VOD); plain ``http://`` is allowed because VOD
allows it. Nothing here knows Lambda or SQS.
"""

import functools
import http.client
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from vod_parts_cleanup.shared.bounds import Watchdog
from vod_parts_cleanup.shared.clock import Clock
from vod_parts_cleanup.shared.errors import CallbackAuthUnavailableError, shortened
from vod_parts_cleanup.shared.vod_callback import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    CallbackKeys,
    callback_signature,
)

# VOD waits this long for a callback's answer; so does the relay, in total.
DELIVERY_SECONDS = 5.0
# Of a downstream's answer, only this much is read, and at most this much is logged.
MAX_READ_BYTES = 4096
MAX_SHOWN_CHARACTERS = 200
USER_AGENT = "vod-parts-cleanup-relay"


@dataclass(frozen=True)
class Attempt:
    """How one delivery went: ``reason`` is ``delivered`` or why not (``http_5xx``,
    ``timeout``, ``connection``, ``tls``, ``key_unavailable``, ...), for the metric's
    dimension; ``detail`` is a log line's worth (the downstream's answer, at most 200
    characters, or the error), never a key or a signature."""

    delivered: bool
    reason: str
    status: int | None
    detail: str
    seconds: float


class DownstreamReceiver:
    """The customer's receiver, at the URL VOD used to call (``RELAY_CALLBACK_URL``)."""

    def __init__(
        self,
        url: str,
        keys: CallbackKeys,
        *,
        clock: Clock,
        timeout_seconds: float = DELIVERY_SECONDS,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(url)
        self.url = url
        self.host = parts.hostname or ""
        self._https = parts.scheme == "https"
        self._port = parts.port
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._keys = keys
        self._clock = clock
        self._timeout_seconds = timeout_seconds
        self._tls_context = tls_context

    def deliver(self, body: bytes, content_type: str | None) -> Attempt:
        """POST the body, signed now; never raises."""
        started = self._clock.monotonic()
        try:
            key = self._keys.keys()[0]  # VOD signs with the one key it is configured with
        except CallbackAuthUnavailableError as error:
            return Attempt(False, "key_unavailable", None, str(error), 0.0)
        headers = self._headers(body, content_type, key)
        hidden = (key, headers[SIGNATURE_HEADER.upper()])
        status, answer, reason = self._post(body, headers, hidden)
        seconds = self._clock.monotonic() - started
        if status is None:
            return Attempt(False, reason, None, answer, seconds)
        delivered = status == http.HTTPStatus.OK
        reason = "delivered" if delivered else f"http_{status // 100}xx"
        return Attempt(delivered, reason, status, answer, seconds)

    def _headers(self, body: bytes, content_type: str | None, key: str) -> dict[str, str]:
        timestamp = int(self._clock.time())
        headers = {
            "Host": self._host_header(),
            TIMESTAMP_HEADER.upper(): str(timestamp),
            SIGNATURE_HEADER.upper(): callback_signature(self.url, timestamp, key),
            "Content-Length": str(len(body)),
            "User-Agent": USER_AGENT,
            "Connection": "close",
        }
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def _host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default_port = 443 if self._https else 80
        return host if self._port in {None, default_port} else f"{host}:{self._port}"

    def _post(
        self, body: bytes, headers: Mapping[str, str], hidden: tuple[str, ...]
    ) -> tuple[int | None, str, str]:
        """(status, the answer's first characters, "") or (None, what went wrong, reason).
        A receiver may echo what it was sent: the ``hidden`` values (the key, the signature)
        are taken out of its answer before it is cut short, so no part of them shows."""
        connection = self._connection()
        watchdog = Watchdog(connection, self._timeout_seconds)
        try:
            connection.connect()
            watchdog.hold(connection.sock)  # the response keeps it once the connection lets go
            connection.request("POST", self._target, body=body, headers=dict(headers))
            response = connection.getresponse()
            data = response.read(MAX_READ_BYTES)
        except ssl.SSLError as error:
            return None, f"TLS: {shortened(str(error), MAX_SHOWN_CHARACTERS)}", "tls"
        except (OSError, http.client.HTTPException) as error:
            if watchdog.fired or isinstance(error, TimeoutError):
                return None, f"no answer within {self._timeout_seconds:g} s", "timeout"
            detail = f"{type(error).__name__}: {error}"
            return None, shortened(detail, MAX_SHOWN_CHARACTERS), "connection"
        finally:
            watchdog.cancel()
            connection.close()
        if watchdog.fired:  # the answer ended because the watchdog closed it: not in time
            return None, f"no answer within {self._timeout_seconds:g} s", "timeout"
        text = " ".join(data.decode("utf-8", "replace").split())
        for value in hidden:
            text = text.replace(value, "[hidden]") if value else text
        return response.status, shortened(text, MAX_SHOWN_CHARACTERS), ""

    def _connection(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(
                self.host,
                self._port,
                timeout=self._timeout_seconds,
                context=self._tls_context or _verifying_tls(),
            )
        return http.client.HTTPConnection(self.host, self._port, timeout=self._timeout_seconds)


@functools.cache
def _verifying_tls() -> ssl.SSLContext:
    """One verifying TLS context (the system's CAs), built on the first https delivery."""
    return ssl.create_default_context()
