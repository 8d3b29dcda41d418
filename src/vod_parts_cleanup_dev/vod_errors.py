"""The error answers the local VOD gives, shared by its signature checks and its operations.

Why: one shape for every failure, so the server writes VOD's JSON error body the same way
whether the gateway (signature, throttling) or the operation refused the request.
"""

from dataclasses import dataclass

__all__ = ["VodError", "invalid_parameter", "missing_parameter"]


@dataclass(frozen=True)
class VodError:
    """One of VOD's error answers: HTTP status, error code and message."""

    status: int
    code: str
    message: str


def missing_parameter(name: str) -> VodError:
    """VOD's answer to a required parameter left out (or empty)."""
    return VodError(
        400,
        "MissingParameter",
        f'The input parameter "{name}" that is mandatory for processing this request '
        "is not supplied.",
    )


def invalid_parameter(name: str, why: str = "") -> VodError:
    """VOD's answer to a parameter with a value it does not accept."""
    detail = f" {why}" if why else ""
    return VodError(
        400, "InvalidParameter", f"The specified parameter {name} is not valid.{detail}"
    )
