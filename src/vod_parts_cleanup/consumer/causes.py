"""Why a call got no usable answer, in one line an operator can act on: which host, and
whether DNS, the connection, TLS or the wait failed; or the first sentence of VOD's message.

Read from types and the host only, never from a request, so no signature or secret is quoted.
"""

import socket
import ssl
from collections.abc import Mapping

from alibabacloud_tea_openapi.exceptions import AlibabaCloudException

from vod_parts_cleanup.shared.errors import shortened

# What a link of a failed call's exception chain says went wrong, most telling first.
_NETWORK_CAUSES: tuple[tuple[type[BaseException], str], ...] = (
    (socket.gaierror, "DNS: {host} does not resolve"),
    (ConnectionRefusedError, "refused: nothing accepts connections at {host}"),
    (ssl.SSLCertVerificationError, "TLS: {host}'s certificate is not trusted"),
    (ssl.SSLError, "TLS: the handshake with {host} failed"),
    (TimeoutError, "timeout: {host} did not answer in time"),
    (ConnectionError, "connection: {host} broke it off"),
)


def network_cause(error: BaseException, host: str) -> str:
    """What failed on the way to VOD (DNS, refused, TLS, timeout), read from the HTTP
    library's chain of exceptions; only types, the host and the TLS library's reason, so no
    request (and no signature) is ever quoted."""
    for link in _exception_chain(error):
        for kind, text in _NETWORK_CAUSES:
            if isinstance(link, kind):
                return text.format(host=host) + _tls_reason(link)
    return f"network: {type(error).__name__} on the way to {host}"


def _tls_reason(error: BaseException) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return f" ({error.verify_message})"
    if isinstance(error, ssl.SSLError) and error.reason:
        return f" ({error.reason})"
    return ""


def _exception_chain(error: BaseException) -> list[BaseException]:
    """The exception and every one it wraps (darabonba's ``inner_exception``, urllib3's
    ``reason``, Python's cause and context), outermost first."""
    chain: list[BaseException] = []
    pending = [error]
    while pending and len(chain) < 20:
        link = pending.pop(0)
        if any(link is seen for seen in chain):
            continue
        chain.append(link)
        wrapped = [getattr(link, "inner_exception", None), getattr(link, "reason", None)]
        wrapped += [link.__cause__, link.__context__, *link.args[:1]]
        pending += [inner for inner in wrapped if isinstance(inner, BaseException)]
    return chain


def vod_message(error: AlibabaCloudException) -> str | None:
    """The first sentence of VOD's own message in an error answer (what follows may quote
    the request as VOD signed it), or None if it gave none."""
    data = error.data if isinstance(error.data, Mapping) else {}
    message = data.get("Message") or data.get("message")
    if not isinstance(message, str) or not message.strip():
        return None
    stop = message.find(". ")
    return shortened(message[: stop + 1] if stop >= 0 else message.strip(), 160)
