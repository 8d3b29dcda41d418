"""The callback auth keys read from Secrets Manager (a moto server, over real HTTP) with the
receiver's own client: the shapes the secret may take, re-reading after a mismatch without
letting a flood starve a rotation, and the last keys kept while the secret cannot be read."""

import json
import os
from collections.abc import Mapping
from typing import Any

import pytest

from tests.support import vod_signature
from vod_parts_cleanup.receiver.callback_auth import CallbackAuthenticator
from vod_parts_cleanup.shared.aws_json import (
    MAX_ATTEMPTS,
    SECRETS_MANAGER,
    AwsJsonClient,
    aws_access_from,
)
from vod_parts_cleanup.shared.errors import CallbackAuthUnavailableError, CallbackRejectedError
from vod_parts_cleanup.shared.vod_callback import (
    KEY_FAILURE_PAUSE_SECONDS,
    KEY_REREAD_INTERVAL_SECONDS,
    SecretsManagerCallbackKeys,
)

URL = "https://www.example.com/your/callback"
SIGNED_AT = 1519375990


class CountedSecretsManager(AwsJsonClient):
    """The real client, counting the calls it makes."""

    def __init__(self, calls: list[str] | None = None) -> None:
        super().__init__(SECRETS_MANAGER, aws_access_from(os.environ))
        self.calls: list[str] = [] if calls is None else calls

    def call(
        self, operation: str, request: Mapping[str, Any], *, attempts: int = MAX_ATTEMPTS
    ) -> dict[str, Any]:
        self.calls.append(operation)
        return super().call(operation, request, attempts=attempts)

    def sibling(self) -> "CountedSecretsManager":
        return CountedSecretsManager(self.calls)  # the refresh's calls count too


@pytest.fixture
def secrets_manager(aws_endpoints: str) -> CountedSecretsManager:
    return CountedSecretsManager()


@pytest.mark.parametrize(
    ("secret", "keys"),
    [
        ("plain-key", ("plain-key",)),
        (json.dumps({"AuthKey": "current"}), ("current",)),
        (json.dumps({"AuthKey": "current", "NextAuthKey": "next"}), ("current", "next")),
        (json.dumps({"AuthKey": "current", "NextAuthKey": ""}), ("current",)),
    ],
)
def test_the_secret_holds_the_key_or_both_keys(
    secrets: Any, secrets_manager: AwsJsonClient, secret: str, keys: tuple[str, ...]
) -> None:
    secrets.create_secret(Name="callback-key", SecretString=secret)
    assert (
        SecretsManagerCallbackKeys(
            "callback-key", secrets_manager=secrets_manager, max_age_seconds=300
        ).keys()
        == keys
    )


@pytest.mark.parametrize(
    "secret",
    [json.dumps({"NextAuthKey": "next"}), json.dumps({"AuthKey": 7}), "{not json", "   "],
)
def test_a_secret_of_another_shape_is_named_but_never_shown(
    secrets: Any, secrets_manager: AwsJsonClient, secret: str
) -> None:
    secrets.create_secret(Name="callback-key", SecretString=secret)
    with pytest.raises(CallbackAuthUnavailableError) as unavailable:
        SecretsManagerCallbackKeys(
            "callback-key", secrets_manager=secrets_manager, max_age_seconds=300
        ).keys()
    assert "callback-key" in str(unavailable.value)
    assert "next" not in str(unavailable.value).replace("NextAuthKey", "")


def test_a_changed_secret_is_read_again_at_most_once_a_second(
    secrets: Any, secrets_manager: AwsJsonClient
) -> None:
    secrets.create_secret(Name="callback-key", SecretString="first")
    now = [1000.0]
    keys = SecretsManagerCallbackKeys(
        "callback-key", secrets_manager=secrets_manager, max_age_seconds=300, clock=lambda: now[0]
    )
    assert keys.keys() == ("first",)
    secrets.put_secret_value(SecretId="callback-key", SecretString="second")
    assert keys.keys() == ("first",)  # cached
    assert keys.reread() == ("second",)
    secrets.put_secret_value(SecretId="callback-key", SecretString="third")
    now[0] += KEY_REREAD_INTERVAL_SECONDS / 2
    assert keys.reread() is None  # too soon: a stream of bad signatures cannot hammer the secret
    now[0] += KEY_REREAD_INTERVAL_SECONDS / 2
    assert keys.reread() == ("third",)


def test_a_flood_of_bad_signatures_does_not_starve_the_first_callback_of_a_new_key(
    secrets: Any, secrets_manager: CountedSecretsManager
) -> None:
    """VOD retries a callback about a second apart: after a rotation, its first callbacks
    signed with the new key meet a fresh read, however many bad requests came before."""
    secrets.create_secret(Name="callback-key", SecretString="old-key")
    now = [float(SIGNED_AT)]
    keys = SecretsManagerCallbackKeys(
        "callback-key", secrets_manager=secrets_manager, max_age_seconds=300, clock=lambda: now[0]
    )
    check = CallbackAuthenticator(
        callback_urls=(URL,), keys=keys, max_skew_seconds=300, clock=lambda: now[0]
    )
    secrets.put_secret_value(SecretId="callback-key", SecretString="new-key")
    bad = {"x-vod-timestamp": str(SIGNED_AT), "x-vod-signature": "0" * 32}
    for _ in range(100):  # a flood within one second
        with pytest.raises(CallbackRejectedError):
            check.authenticate(bad)
    # the first read, and at most one re-read in that second
    assert len(secrets_manager.calls) <= 2
    genuine = {
        "x-vod-timestamp": str(SIGNED_AT),
        "x-vod-signature": vod_signature(URL, SIGNED_AT, "new-key"),
    }
    now[0] += KEY_REREAD_INTERVAL_SECONDS  # VOD's retry, a second later
    assert check.authenticate(genuine).timestamp == SIGNED_AT


def test_the_last_keys_read_serve_while_the_secret_cannot_be_read(
    secrets: Any, secrets_manager: AwsJsonClient
) -> None:
    secrets.create_secret(Name="callback-key", SecretString="the-key")
    now = [1000.0]
    keys = SecretsManagerCallbackKeys(
        "callback-key", secrets_manager=secrets_manager, max_age_seconds=0, clock=lambda: now[0]
    )
    assert keys.keys() == ("the-key",)
    secrets.delete_secret(SecretId="callback-key", ForceDeleteWithoutRecovery=True)
    assert keys.keys() == ("the-key",)  # stale beats nothing: no callback lost
    now[0] += KEY_REREAD_INTERVAL_SECONDS
    assert keys.reread() is None
    fresh = SecretsManagerCallbackKeys(
        "callback-key", secrets_manager=secrets_manager, max_age_seconds=0, clock=lambda: now[0]
    )
    with pytest.raises(CallbackAuthUnavailableError):  # nothing read yet: nothing to serve
        fresh.keys()


def test_after_a_failed_read_none_is_tried_again_for_the_pause(
    secrets: Any, secrets_manager: CountedSecretsManager
) -> None:
    """A cold environment in an outage: the first callback meets the failure, the ones after
    it are refused at once (503: VOD delivers them again) without asking Secrets Manager."""
    now = [1000.0]
    keys = SecretsManagerCallbackKeys(
        "callback-key", secrets_manager=secrets_manager, max_age_seconds=300, clock=lambda: now[0]
    )
    with pytest.raises(CallbackAuthUnavailableError):
        keys.keys()
    asked = len(secrets_manager.calls)
    secrets.create_secret(Name="callback-key", SecretString="the-key")
    for _ in range(20):
        now[0] += (KEY_FAILURE_PAUSE_SECONDS - 1) / 20
        with pytest.raises(CallbackAuthUnavailableError, match="could not be read"):
            keys.keys()
        assert keys.reread() is None
    assert len(secrets_manager.calls) == asked
    now[0] += 1
    assert keys.keys() == ("the-key",)  # the pause is over: read again
