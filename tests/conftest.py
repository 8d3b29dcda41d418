"""Fixtures every test gets: an environment from which no setting of the machine leaks."""

import pytest

from vod_parts_cleanup.shared.settings import Settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting of the machine running the tests may leak into them."""
    for variable in Settings.variables():
        monkeypatch.delenv(variable, raising=False)
    # darabonba sends through HTTP(S)_PROXY from the environment, even to 127.0.0.1.
    for variable in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
