"""The unit tests are pure: no moto, no stand-in, and no socket (this guard refuses every
connection, so a test that would reach the network fails at once instead of waiting)."""

import socket
from typing import Any

import pytest


class NoNetworkError(AssertionError):
    """A unit test tried to open a connection."""


@pytest.fixture(autouse=True)
def _no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> Any:
        msg = "unit tests open no sockets: move this test to tests/integration"
        raise NoNetworkError(msg)

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
