"""The stand-in's ACS3-HMAC-SHA256 verification, against requests signed by tea-openapi's own
signing function (the oracle), without any socket.

Why: the stand-in refuses what Alibaba Cloud's gateway refuses only if it recomputes the
signature exactly as the SDK computes it, encoding quirks and all.
"""

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alibabacloud_tea_openapi.utils import Utils
from darabonba.request import DaraRequest

from vod_parts_cleanup_dev.acs3 import (
    NONCE_MEMORY_SECONDS,
    REDACTED,
    NonceMemory,
    ReceivedRequest,
    Verification,
    parse_authorization,
    redact_authorization,
    verify,
)
from vod_parts_cleanup_dev.vod_errors import VodError

KEY_ID = "LTAI5tUnitTest0000"
SECRET = "unit-test-secret"
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
QUERY = {"MediaId": "vid-1", "MediaType": "video"}


def signed(
    query: dict[str, str] | None = None,
    *,
    body: bytes = b"",
    date: datetime = NOW,
    secret: str = SECRET,
    extra_headers: dict[str, str] | None = None,
) -> ReceivedRequest:
    """A request as tea-openapi signs it, as the stand-in's server would receive it."""
    request = DaraRequest()
    request.method = "POST"
    request.pathname = "/"
    request.query = dict(QUERY if query is None else query)
    request.headers = {
        "host": "vod.example.test",
        "x-acs-version": "2017-03-21",
        "x-acs-action": "DeleteMultipartUpload",
        "x-acs-date": date.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": Utils.get_nonce(),
        "accept": "application/json",
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
        **(extra_headers or {}),
    }
    request.headers["Authorization"] = Utils.get_authorization(
        request, "ACS3-HMAC-SHA256", hashlib.sha256(body).hexdigest(), KEY_ID, secret
    )
    return received(request.query, dict(request.headers), body)


def received(query: dict[str, str], headers: dict[str, str], body: bytes = b"") -> ReceivedRequest:
    return ReceivedRequest(
        method="POST",
        target="/",
        path="/",
        query=dict(query),
        headers={name.lower(): [value] for name, value in headers.items()},
        body=body,
    )


def check(
    request: ReceivedRequest,
    *,
    token: str | None = None,
    now: datetime = NOW,
    key_id: str = KEY_ID,
) -> Verification:
    return verify(
        request, access_key_id=key_id, access_key_secret=SECRET, security_token=token, now=now
    )


def error_of(request: ReceivedRequest, **options: Any) -> VodError:
    error = check(request, **options).error
    assert error is not None
    return error


def error_code(request: ReceivedRequest, **options: Any) -> str | None:
    error = check(request, **options).error
    return None if error is None else error.code


def tampered(request: ReceivedRequest, **changes: Any) -> ReceivedRequest:
    return dataclasses.replace(request, **changes)


def test_a_request_signed_by_the_sdk_verifies() -> None:
    verification = verify(
        signed(), access_key_id=KEY_ID, access_key_secret=SECRET, security_token=None, now=NOW
    )

    assert verification == Verification(signature_valid=True, error=None)


@pytest.mark.parametrize(
    "value",
    ["a b", "a+b", "a*b", "a~b", "a/b", "vidé-ø", "x=1&y=2", "", "%41"],
)
def test_query_values_are_canonicalised_as_the_sdk_does(value: str) -> None:
    request = signed({"MediaIds": value, "MediaType": "video", "PageNo": "1"})

    assert check(request) == Verification(signature_valid=True, error=None)


def test_a_changed_query_breaks_the_signature() -> None:
    request = signed()
    forged = tampered(request, query={**request.query, "MediaId": "vid-2"})

    verification = check(forged)

    assert not verification.signature_valid
    assert verification.error is not None
    assert verification.error.code == "SignatureDoesNotMatch"


def test_a_changed_method_or_path_breaks_the_signature() -> None:
    request = signed()

    assert error_code(tampered(request, method="GET")) == "SignatureDoesNotMatch"
    assert error_code(tampered(request, path="/other")) == "SignatureDoesNotMatch"


def test_wrong_secret_and_unknown_key_id() -> None:
    wrong_secret = check(signed(secret="another-secret"))
    unknown_key = error_of(signed(), key_id="LTAI5tSomeoneElse")

    assert not wrong_secret.signature_valid
    assert wrong_secret.error == VodError(
        400, "SignatureDoesNotMatch", "Specified signature does not match our calculation."
    )
    assert (unknown_key.status, unknown_key.code) == (404, "InvalidAccessKeyId.NotFound")


def test_a_body_other_than_the_signed_hash_is_refused() -> None:
    request = tampered(signed(), body=b"MediaId=other")

    error = error_of(request)

    assert error.code == "SignatureDoesNotMatch"
    assert "x-acs-content-sha256" in error.message


def test_a_signed_body_verifies() -> None:
    assert error_code(signed(body=b"MediaId=vid-1")) is None


def test_signing_shape_is_required() -> None:
    request = signed()
    without = {k: v for k, v in request.headers.items() if k != "authorization"}
    malformed = {**request.headers, "authorization": ["ACS3-HMAC-SHA256 nonsense"]}
    other_algorithm = {
        **request.headers,
        "authorization": [request.headers["authorization"][0].replace("ACS3", "ACS4", 1)],
    }
    unsigned_extra = {**request.headers, "x-acs-extra": ["not signed"]}
    signed_but_absent = {k: v for k, v in request.headers.items() if k != "x-acs-date"}

    for headers in (without, malformed, other_algorithm, unsigned_extra, signed_but_absent):
        assert error_code(tampered(request, headers=headers)) == "IncompleteSignature"


def test_timestamp_must_be_within_fifteen_minutes() -> None:
    assert error_code(signed(date=NOW - timedelta(minutes=14))) is None
    assert error_code(signed(date=NOW + timedelta(minutes=14))) is None
    assert error_code(signed(date=NOW - timedelta(minutes=16))) == "InvalidTimeStamp.Expired"
    assert error_code(signed(date=NOW + timedelta(minutes=16))) == "InvalidTimeStamp.Expired"
    assert error_code(signed(), now=NOW + timedelta(minutes=16)) == "InvalidTimeStamp.Expired"


def test_malformed_timestamp() -> None:
    request = signed()
    headers = {**request.headers, "x-acs-date": ["2026-03-01 12:00:00"]}

    assert error_code(tampered(request, headers=headers)) == "InvalidTimeStamp.Format"


def test_security_token_required_checked_and_signed() -> None:
    with_token = signed(extra_headers={"x-acs-security-token": "sts-123"})
    wrong_token = signed(extra_headers={"x-acs-security-token": "sts-999"})

    assert error_code(signed(), token="sts-123") == "MissingSecurityToken"
    assert error_code(wrong_token, token="sts-123") == "InvalidSecurityToken.Mismatch"
    assert error_code(with_token) == "InvalidSecurityToken.Mismatch"
    assert error_code(with_token, token="sts-123") is None
    parsed = parse_authorization(with_token.headers["authorization"][0])
    assert parsed is not None
    assert "x-acs-security-token" in parsed.signed_headers


def test_redaction_keeps_who_and_what_never_the_signature() -> None:
    header = signed().headers["authorization"][0]
    signature = header.rsplit("Signature=", 1)[1]

    redacted = redact_authorization(header)

    assert signature not in redacted
    assert redacted.startswith(f"ACS3-HMAC-SHA256 Credential={KEY_ID},SignedHeaders=accept;host;")
    assert redacted.endswith(f",Signature={REDACTED}")
    assert redact_authorization("garbage") == REDACTED


def test_parse_authorization_refuses_incomplete_headers() -> None:
    assert parse_authorization("ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host") is None
    assert parse_authorization("ACS3-HMAC-SHA256 Credential=a,SignedHeaders") is None
    parsed = parse_authorization("ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host;x,Signature=f")
    assert parsed is not None
    assert (parsed.credential, parsed.signed_headers, parsed.signature) == ("a", ["host", "x"], "f")


def test_a_nonce_is_accepted_once_while_it_is_remembered() -> None:
    nonces = NonceMemory()

    first = nonces.use("n-1", now=100.0)
    replay = nonces.use("n-1", now=100.0 + NONCE_MEMORY_SECONDS)
    other = nonces.use("n-2", now=101.0)
    forgotten = nonces.use("n-1", now=100.0 + NONCE_MEMORY_SECONDS + 1)

    assert first is None
    assert replay is not None
    assert (replay.status, replay.code) == (400, "SignatureNonceUsed")
    assert other is None
    assert forgotten is None
    nonces.clear()
    assert nonces.use("n-2", now=102.0) is None
