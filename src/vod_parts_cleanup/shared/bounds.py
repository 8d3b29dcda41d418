"""Bounds on one network attempt as a whole, not per socket read.

A socket timeout bounds each read: a server that sends one byte just inside it keeps an
attempt going as long as it likes. Every client of the functions (the receiver's AWS client,
the relay, the VOD client) bounds the whole attempt with one of these, so a trickling server
cannot hold it past its share of the invocation's time.
"""

import contextlib
import http.client
import socket
import threading
from collections.abc import Callable


class Watchdog:
    """Shuts an http.client connection's socket when the attempt's time is up, whatever it
    is doing then; the blocked read fails at once and ``fired`` says why."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float) -> None:
        self._connection = connection
        self._socket: socket.socket | None = None
        self.fired = False
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def hold(self, sock: socket.socket | None) -> None:
        """The connected socket: http.client drops it from the connection once a response
        that closes the connection has begun, and the response goes on reading from it."""
        self._socket = sock

    def _fire(self) -> None:
        self.fired = True
        sock = self._socket or self._connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


class AttemptTimedOut(Exception):  # noqa: N818 - a signal between two functions, not an error
    """The attempt did not end within its bound; it goes on, abandoned, in its thread."""


def call_within[T](seconds: float, attempt: Callable[[], T], *, name: str) -> T:
    """``attempt()``'s result, or AttemptTimedOut after ``seconds``, for a client whose sockets
    are out of reach (the OpenAPI core's requests session). The attempt runs in a daemon
    thread of its own: one left behind by a trickling server holds nothing of the caller's,
    and ends with its socket's next read timeout or the server's answer."""
    done = threading.Event()
    outcome: list[tuple[bool, object]] = []

    def run() -> None:
        try:
            outcome.append((True, attempt()))
        except BaseException as error:
            outcome.append((False, error))
        finally:
            done.set()

    threading.Thread(target=run, name=name, daemon=True).start()
    if not done.wait(max(seconds, 0.0)):
        raise AttemptTimedOut(f"no answer within {seconds:.1f} s")
    [(succeeded, value)] = outcome
    if succeeded:
        return value  # type: ignore[return-value]
    raise value  # type: ignore[misc]
