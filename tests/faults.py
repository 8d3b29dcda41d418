"""Local sockets that fail the way a dependency can: refusing, hanging, answering garbage.

Why: the function must answer within its budget and keep the event whatever its dependencies
do; these stand in for VOD or an AWS endpoint that is down, stuck or broken.
"""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

GARBAGE_ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 24\r\n"
    b"Connection: close\r\n\r\n<html>not an API</html>\n"
)


class Fault(StrEnum):
    REFUSED = "refused"  # nothing listens: the connection is refused at once
    HANGING = "hanging"  # accepts, reads, never answers
    GARBAGE = "garbage"  # answers at once with a page that is no API's answer
    SLOW = "slow"  # answers that page only after SLOW_SECONDS, past every timeout we use


SLOW_SECONDS = 2.5


@contextmanager
def faulty_endpoint(fault: Fault) -> Iterator[str]:
    """``host:port`` of a local endpoint failing as ``fault`` says, while the block runs."""
    if fault is Fault.REFUSED:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        yield f"127.0.0.1:{port}"  # closed again: nothing listens there now
        return
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.1)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            held.append(connection)
            if fault in {Fault.GARBAGE, Fault.SLOW}:
                threading.Thread(target=answer_garbage, args=(connection,), daemon=True).start()

    def answer_garbage(connection: socket.socket) -> None:
        connection.settimeout(SLOW_SECONDS + 1)
        try:
            connection.recv(65536)
            if fault is Fault.SLOW and stop.wait(SLOW_SECONDS):
                return
            connection.sendall(GARBAGE_ANSWER)
        except OSError:
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        for connection in held:
            connection.close()
        server.close()
