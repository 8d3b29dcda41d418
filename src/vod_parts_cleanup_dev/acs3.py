"""ACS3-HMAC-SHA256 request-signature verification, as Alibaba Cloud's gateway does it.

Why: the stand-in must refuse exactly what VOD refuses, so it recomputes the signature from
what arrived on the wire rather than trusting any header. Pure functions (the clock is
passed in) plus a small memory of used nonces; no sockets, so all of it is unit-testable.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import quote

from vod_parts_cleanup_dev.vod_errors import VodError

__all__ = [
    "ALGORITHM",
    "MAX_CLOCK_SKEW",
    "NONCE_MEMORY_SECONDS",
    "REDACTED",
    "Authorization",
    "NonceMemory",
    "ReceivedRequest",
    "Verification",
    "canonical_query",
    "check_signing_shape",
    "check_timestamp",
    "parse_authorization",
    "redact_authorization",
    "string_to_sign",
    "verify",
]

ALGORITHM: Final = "ACS3-HMAC-SHA256"
MAX_CLOCK_SKEW: Final = timedelta(minutes=15)
# A nonce must stay remembered for as long as a request carrying it can still pass the
# timestamp check: its x-acs-date may lie up to 15 min ahead and it stays fresh 15 min.
NONCE_MEMORY_SECONDS: Final = 2 * MAX_CLOCK_SKEW.total_seconds()
REDACTED: Final = "<redacted>"
_REQUIRED_SIGNED_HEADERS: Final = (
    "host",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
)
_ACS_DATE_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class ReceivedRequest:
    """What arrived on the wire, before any judgement."""

    method: str
    target: str
    path: str
    query: dict[str, str]
    headers: dict[str, list[str]]  # lower-case name -> values in arrival order
    body: bytes

    def header(self, name: str) -> str | None:
        """The header's values joined by commas, or None when it is absent."""
        values = self.headers.get(name)
        return ",".join(values) if values else None


@dataclass(frozen=True)
class Authorization:
    """The parts of an ACS3 Authorization header."""

    algorithm: str
    credential: str
    signed_headers: list[str]
    signature: str


@dataclass(frozen=True)
class Verification:
    """Whether the recomputed signature matched, and the first error found (if any)."""

    signature_valid: bool
    error: VodError | None


def parse_authorization(value: str) -> Authorization | None:
    """Split an ACS3 Authorization header into its parts; None when malformed."""
    algorithm, _, rest = value.strip().partition(" ")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, val = part.strip().partition("=")
        if not sep:
            return None
        fields[key] = val
    credential = fields.get("Credential", "")
    signed = fields.get("SignedHeaders", "")
    signature = fields.get("Signature", "")
    if not (algorithm and credential and signed and signature):
        return None
    return Authorization(algorithm, credential, signed.split(";"), signature)


def redact_authorization(value: str) -> str:
    """Keep who signed and what was signed, never the signature itself."""
    auth = parse_authorization(value)
    if auth is None:
        return REDACTED
    return (
        f"{auth.algorithm} Credential={auth.credential},"
        f"SignedHeaders={';'.join(auth.signed_headers)},Signature={REDACTED}"
    )


def canonical_query(query: dict[str, str]) -> str:
    """Canonicalise the query exactly like tea-openapi's get_canonical_query_string."""
    return "&".join(f"{key}={quote(query[key], safe='~')}" for key in sorted(query))


def string_to_sign(request: ReceivedRequest, signed_headers: list[str], payload_hash: str) -> str:
    """Rebuild the ACS3 string-to-sign from the received request."""
    names = sorted(set(signed_headers))
    canonical_headers = "".join(
        f"{name}:{','.join(sorted(v.strip() for v in request.headers.get(name, [])))}\n"
        for name in names
    )
    canonical_request = "\n".join(
        [
            request.method,
            request.path or "/",
            canonical_query(request.query),
            canonical_headers,
            ";".join(names),
            payload_hash,
        ]
    )
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{digest}"


def check_signing_shape(request: ReceivedRequest) -> Authorization | VodError:
    """Parse Authorization and insist that host and every x-acs-* header are signed."""
    raw = request.header("authorization")
    if raw is None:
        return _incomplete("The Authorization header is missing.")
    auth = parse_authorization(raw)
    if auth is None:
        return _incomplete("The Authorization header is malformed.")
    if auth.algorithm != ALGORITHM:
        return _incomplete(
            f"Signature algorithm {auth.algorithm} is not supported by the stand-in."
        )
    signed = set(auth.signed_headers)
    required = set(_REQUIRED_SIGNED_HEADERS) | {
        h for h in request.headers if h.startswith("x-acs-")
    }
    unsigned = sorted(required - signed)
    if unsigned:
        return _incomplete(f"These headers must be present and signed: {', '.join(unsigned)}.")
    missing = sorted(name for name in signed if name not in request.headers)
    if missing:
        return _incomplete(f"Signed headers are missing from the request: {', '.join(missing)}.")
    return auth


def check_timestamp(request: ReceivedRequest, now: datetime) -> VodError | None:
    """Reject an x-acs-date (UTC) that is malformed or more than 15 minutes off ``now``."""
    try:
        acs_date = datetime.strptime(request.header("x-acs-date") or "", _ACS_DATE_FORMAT)
    except ValueError:
        return VodError(
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        )
    if abs(now - acs_date.replace(tzinfo=UTC)) > MAX_CLOCK_SKEW:
        return VodError(
            400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
        )
    return None


def verify(
    request: ReceivedRequest,
    *,
    access_key_id: str,
    access_key_secret: str,
    security_token: str | None,
    now: datetime,
) -> Verification:
    """Check the request's ACS3-HMAC-SHA256 signature as Alibaba Cloud does.

    Order: signing shape, timestamp, AccessKey ID, then security token, body hash and
    signature. ``now`` must be an aware UTC datetime.
    """
    auth = check_signing_shape(request)
    if isinstance(auth, VodError):
        return Verification(False, auth)
    error = check_timestamp(request, now)
    if error is not None:
        return Verification(False, error)
    if not hmac.compare_digest(auth.credential.encode(), access_key_id.encode()):
        return Verification(
            False,
            VodError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."),
        )
    payload_hash = hashlib.sha256(request.body).hexdigest()
    expected = hmac.new(
        access_key_secret.encode("utf-8"),
        string_to_sign(request, auth.signed_headers, payload_hash).encode("utf-8"),
        hashlib.sha256,
    ).hexdigest()
    signature_valid = hmac.compare_digest(expected, auth.signature.lower())
    return Verification(
        signature_valid,
        _credential_error(request, security_token, payload_hash, signature_valid),
    )


def _credential_error(
    request: ReceivedRequest,
    security_token: str | None,
    payload_hash: str,
    signature_valid: bool,
) -> VodError | None:
    """Judge the security token, the body hash and the signature, in that order."""
    token = request.header("x-acs-security-token")
    if security_token is not None and token is None:
        return VodError(400, "MissingSecurityToken", "SecurityToken is mandatory for this request.")
    if token is not None and (
        security_token is None or not hmac.compare_digest(token.encode(), security_token.encode())
    ):
        return VodError(
            400, "InvalidSecurityToken.Mismatch", "Specified SecurityToken is mismatched."
        )
    if not hmac.compare_digest(request.header("x-acs-content-sha256") or "", payload_hash):
        return VodError(
            400,
            "SignatureDoesNotMatch",
            "The x-acs-content-sha256 header does not match the request body.",
        )
    if not signature_valid:
        return VodError(
            400, "SignatureDoesNotMatch", "Specified signature does not match our calculation."
        )
    return None


def _incomplete(message: str) -> VodError:
    return VodError(400, "IncompleteSignature", message)


class NonceMemory:
    """Accepts each signature nonce once, for as long as its request could still be fresh.

    Only correctly signed requests should spend a nonce, or a forger could burn the nonce
    of a genuine request in flight. ``now`` is a monotonic clock reading in seconds.
    """

    def __init__(self, memory_seconds: float = NONCE_MEMORY_SECONDS) -> None:
        self._memory_seconds = memory_seconds
        self._seen: dict[str, float] = {}

    def use(self, nonce: str, now: float) -> VodError | None:
        """Spend the nonce; SignatureNonceUsed when it was spent within the memory."""
        for old, seen in list(self._seen.items()):
            if now - seen > self._memory_seconds:
                del self._seen[old]
        if nonce in self._seen:
            return VodError(
                400, "SignatureNonceUsed", "Specified signature nonce was used already."
            )
        self._seen[nonce] = now
        return None

    def clear(self) -> None:
        self._seen.clear()
