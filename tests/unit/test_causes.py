"""A failed call's cause read from its exception chain, however the HTTP library wraps it:
darabonba's ``inner_exception``, urllib3's ``reason``, Python's cause and context."""

import socket
import ssl

import pytest

from vod_parts_cleanup.consumer.causes import network_cause

HOST = "vod.cn-shanghai.aliyuncs.com"


class WrapperError(Exception):
    """An HTTP library's own exception around the one that tells what happened."""

    def __init__(self, message: str, *, inner: BaseException | None = None) -> None:
        super().__init__(message)
        self.inner_exception = inner


class WithReasonError(Exception):
    def __init__(self, reason: BaseException) -> None:
        super().__init__("max retries exceeded")
        self.reason = reason


def wrapped_by_cause(inner: BaseException) -> BaseException:
    """``inner`` as the cause of a pool's error, inside a client's own error."""
    outer = WithReasonError(Exception("pool"))
    outer.__cause__ = inner
    return WrapperError("unretryable", inner=outer)


@pytest.mark.parametrize(
    ("inner", "cause"),
    [
        (socket.gaierror(-2, "Name or service not known"), f"DNS: {HOST} does not resolve"),
        (ConnectionRefusedError(111, "refused"), f"refused: nothing accepts connections at {HOST}"),
        (TimeoutError("timed out"), f"timeout: {HOST} did not answer in time"),
        (ConnectionResetError(104, "reset"), f"connection: {HOST} broke it off"),
    ],
)
def test_the_telling_exception_is_found_however_deep(inner: BaseException, cause: str) -> None:
    assert network_cause(wrapped_by_cause(inner), HOST) == cause
    assert network_cause(WrapperError("x", inner=WithReasonError(inner)), HOST) == cause


def test_tls_says_its_reason() -> None:
    error = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    error.reason = "WRONG_VERSION_NUMBER"
    assert network_cause(WrapperError("x", inner=error), HOST) == (
        f"TLS: the handshake with {HOST} failed (WRONG_VERSION_NUMBER)"
    )


def test_an_unknown_failure_still_names_the_host() -> None:
    assert network_cause(WrapperError("x"), HOST) == f"network: WrapperError on the way to {HOST}"


def test_a_chain_that_loops_ends() -> None:
    first, second = WrapperError("a"), WrapperError("b")
    first.inner_exception, second.inner_exception = second, first
    assert network_cause(first, HOST).startswith("network: ")
