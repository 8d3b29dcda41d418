"""VOD's callback signature check on its own (no sockets): the documented example, each way
a callback is refused, key rotation, header values read byte-exactly."""

from typing import Any

import pytest

from tests.support import vod_signature
from vod_parts_cleanup.receiver.callback_auth import CallbackAuthenticator, callback_keys_from
from vod_parts_cleanup.shared.aws_json import SECRETS_MANAGER, AwsAccess, AwsJsonClient
from vod_parts_cleanup.shared.errors import CallbackRejectedError, SettingsError
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup.shared.vocabulary import RejectionReason
from vod_parts_cleanup.shared.vod_callback import StaticCallbackKeys, callback_signature

DOCUMENTED_URL = "https://www.example.com/your/callback"
DOCUMENTED_TIMESTAMP = 1519375990
DOCUMENTED_KEY = "test123"
DOCUMENTED_SIGNATURE_PREFIX = "c72b60894140fa98920f1279219b"


def authenticator(
    *keys: str, now: float = DOCUMENTED_TIMESTAMP, urls: tuple[str, ...] = (DOCUMENTED_URL,)
) -> CallbackAuthenticator:
    return CallbackAuthenticator(
        callback_urls=urls,
        keys=StaticCallbackKeys(keys or (DOCUMENTED_KEY,)),
        max_skew_seconds=300,
        clock=lambda: now,
    )


def headers(timestamp: Any = DOCUMENTED_TIMESTAMP, signature: str | None = None) -> dict[str, str]:
    if signature is None:
        signature = vod_signature(DOCUMENTED_URL, timestamp, DOCUMENTED_KEY)
    return {"x-vod-timestamp": str(timestamp), "x-vod-signature": signature}


SIGNED_AT = DOCUMENTED_TIMESTAMP
Reason = RejectionReason


def reason_for(check: CallbackAuthenticator, given: dict[str, str]) -> RejectionReason:
    with pytest.raises(CallbackRejectedError) as rejected:
        check.authenticate(given)
    return rejected.value.reason


def test_the_documented_example_verifies() -> None:
    signature = callback_signature(DOCUMENTED_URL, DOCUMENTED_TIMESTAMP, DOCUMENTED_KEY)
    assert signature.startswith(DOCUMENTED_SIGNATURE_PREFIX)
    assert len(signature) == 32
    accepted = authenticator().authenticate(
        {"X-VOD-TIMESTAMP": str(DOCUMENTED_TIMESTAMP), "X-VOD-SIGNATURE": signature}
    )
    assert accepted.timestamp == DOCUMENTED_TIMESTAMP
    assert signature not in repr(accepted)


def test_an_upper_case_signature_is_the_same_signature() -> None:
    given = headers()
    given["x-vod-signature"] = given["x-vod-signature"].upper()
    assert authenticator().authenticate(given).timestamp == DOCUMENTED_TIMESTAMP


@pytest.mark.parametrize(
    ("given", "now", "reason"),
    [
        (headers(signature=vod_signature(DOCUMENTED_URL, SIGNED_AT, "test124")),
         SIGNED_AT, Reason.BAD_SIGNATURE),
        (headers(signature=vod_signature(DOCUMENTED_URL + "/", SIGNED_AT, "test123")),
         SIGNED_AT, Reason.BAD_SIGNATURE),
        (headers(), SIGNED_AT + 301, Reason.STALE_TIMESTAMP),
        (headers(), SIGNED_AT - 301, Reason.FUTURE_TIMESTAMP),
        ({"x-vod-signature": "0" * 32}, SIGNED_AT, Reason.MISSING_HEADER),
        ({"x-vod-timestamp": "1519375990"}, SIGNED_AT, Reason.MISSING_HEADER),
        ({}, SIGNED_AT, Reason.MISSING_HEADER),
        (headers(timestamp="1519375990.5"), SIGNED_AT, Reason.MALFORMED_TIMESTAMP),
        (headers(timestamp="-1519375990"), SIGNED_AT, Reason.MALFORMED_TIMESTAMP),
        (headers(timestamp="soon"), SIGNED_AT, Reason.MALFORMED_TIMESTAMP),
        (headers(signature="c72b6089"), SIGNED_AT, Reason.MALFORMED_SIGNATURE),
    ],
    ids=[
        "wrong key",
        "wrong url",
        "stale",
        "future",
        "no timestamp",
        "no signature",
        "no headers",
        "fractional timestamp",
        "negative timestamp",
        "word timestamp",
        "short signature",
    ],
)  # fmt: skip
def test_each_way_a_callback_is_refused(
    given: dict[str, str], now: float, reason: RejectionReason
) -> None:
    assert reason_for(authenticator(now=now), given) is reason


def test_a_header_given_twice_with_different_values_is_refused() -> None:
    given = headers() | {"X-VOD-TIMESTAMP": "1519375991"}
    assert reason_for(authenticator(), given) is RejectionReason.MALFORMED_TIMESTAMP


def test_the_window_is_inclusive_at_its_edges() -> None:
    for now in (DOCUMENTED_TIMESTAMP - 300, DOCUMENTED_TIMESTAMP + 300):
        assert authenticator(now=now).authenticate(headers()).timestamp == DOCUMENTED_TIMESTAMP


def test_both_keys_are_accepted_during_a_rotation() -> None:
    check = authenticator("new-key", DOCUMENTED_KEY)
    assert check.authenticate(headers()).timestamp == DOCUMENTED_TIMESTAMP
    new = headers(signature=vod_signature(DOCUMENTED_URL, DOCUMENTED_TIMESTAMP, "new-key"))
    assert check.authenticate(new).timestamp == DOCUMENTED_TIMESTAMP


def test_no_callback_url_is_a_configuration_error() -> None:
    with pytest.raises(SettingsError, match="VOD_CALLBACK_URL"):
        authenticator(urls=())


# No secret is named, so Secrets Manager must not be asked (nor could it be: no credentials).
NO_SECRETS = AwsJsonClient(SECRETS_MANAGER, AwsAccess("us-east-1", None))


def test_keys_come_from_the_environment_when_no_secret_is_named() -> None:
    keys = callback_keys_from(
        Settings(callback_auth_key=" current ", callback_next_auth_key="next"), NO_SECRETS
    )
    assert isinstance(keys, StaticCallbackKeys)
    assert keys.keys() == ("current", "next")
    assert keys.reread() is None
    with pytest.raises(SettingsError, match="VOD_CALLBACK_AUTH_KEY_SECRET_ID"):
        callback_keys_from(Settings(callback_next_auth_key="only-the-next-one"), NO_SECRETS)


@pytest.mark.parametrize(
    "timestamp",
    ["1\x1f", "\x1c1519375990", " 1519375990", "1519375990 ", "١٥١٩٣٧٥٩٩٠", "+1519375990", "1_519"],
    ids=["unit separator", "file separator", "leading space", "trailing space", "arabic digits",
         "plus sign", "underscore"],
)  # fmt: skip
def test_a_timestamp_is_ascii_digits_exactly(timestamp: str) -> None:
    given = {"x-vod-timestamp": timestamp, "x-vod-signature": "0" * 32}
    assert reason_for(authenticator(), given) is RejectionReason.MALFORMED_TIMESTAMP


@pytest.mark.parametrize(
    "headers_given",
    [
        {"x-vod-timestamp": 1519375990, "x-vod-signature": "0" * 32},
        {"x-vod-timestamp": None, "x-vod-signature": None},
        {7: "1519375990", "x-vod-signature": "0" * 32},
    ],
)
def test_header_values_that_are_not_text_count_as_missing(headers_given: dict[Any, Any]) -> None:
    assert reason_for(authenticator(), headers_given) is RejectionReason.MISSING_HEADER


def test_a_stale_callback_is_refused_before_its_signature_is_checked() -> None:
    """So that stale requests (a replay, a flood) never make the keys be read again."""

    class CountingKeys(StaticCallbackKeys):
        rereads = 0

        def reread(self) -> tuple[str, ...] | None:
            CountingKeys.rereads += 1
            return None

    check = CallbackAuthenticator(
        callback_urls=(DOCUMENTED_URL,),
        keys=CountingKeys((DOCUMENTED_KEY,)),
        max_skew_seconds=300,
        clock=lambda: DOCUMENTED_TIMESTAMP + 301,
    )
    stale_and_wrong = headers(signature="0" * 32)
    assert reason_for(check, stale_and_wrong) is RejectionReason.STALE_TIMESTAMP
    assert CountingKeys.rereads == 0
