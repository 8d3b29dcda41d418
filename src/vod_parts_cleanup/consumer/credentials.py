"""Where the Alibaba Cloud access key comes from: the environment or AWS Secrets Manager.

The credential client is always built explicitly, so the SDK's default chain (and its slow
ECS metadata probe, pointless on AWS) never runs.
"""

import json
from typing import Any

from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_credentials.models import Config as CredentialConfig
from alibabacloud_credentials.provider.refreshable import Credentials
from alibabacloud_credentials_api import ICredentialsProvider
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from vod_parts_cleanup.shared.errors import CredentialsUnavailableError, SettingsError
from vod_parts_cleanup.shared.settings import Settings

SECRET_PROVIDER_NAME = "aws_secrets_manager"  # noqa: S105 - a name, not a password


def build_credential_client(
    settings: Settings, secrets: SecretsProvider | None = None
) -> CredentialClient:
    """A credential client for VOD: the secret if one is named, else the static keys."""
    if settings.credentials_secret_id:
        if secrets is None:
            msg = "VOD_CREDENTIALS_SECRET_ID is set but no Secrets Manager client was given"
            raise SettingsError(msg)
        provider = SecretsManagerCredentialsProvider(
            settings.credentials_secret_id,
            secrets=secrets,
            max_age_seconds=settings.credentials_cache_seconds,
        )
        return CredentialClient(provider=provider)
    if settings.has_static_credentials and settings.access_key_secret is not None:
        token = settings.security_token.get_secret_value() if settings.security_token else None
        return CredentialClient(
            CredentialConfig(
                type="sts" if token else "access_key",
                access_key_id=settings.access_key_id,
                access_key_secret=settings.access_key_secret.get_secret_value(),
                security_token=token,
            )
        )
    msg = (
        "no VOD credentials: set VOD_CREDENTIALS_SECRET_ID, or ALIBABA_CLOUD_ACCESS_KEY_ID "
        "and ALIBABA_CLOUD_ACCESS_KEY_SECRET"
    )
    raise SettingsError(msg)


class SecretsManagerCredentialsProvider(ICredentialsProvider):  # type: ignore[misc]
    """Reads the access key from a Secrets Manager secret, cached, so rotation is picked up.

    The secret holds ``{"AccessKeyId", "AccessKeySecret"[, "SecurityToken"]}``.
    """

    def __init__(self, secret_id: str, *, secrets: SecretsProvider, max_age_seconds: int) -> None:
        self._secret_id = secret_id
        self._secrets = secrets
        self._max_age_seconds = max_age_seconds

    def get_credentials(self) -> Credentials:
        try:
            raw = self._secrets.get(self._secret_id, max_age=self._max_age_seconds)
        except GetParameterError as error:
            msg = f"cannot read secret {self._secret_id!r}: {str(error)[:300]}"
            raise CredentialsUnavailableError(msg) from None
        return _credentials_from_secret(self._secret_id, raw)

    async def get_credentials_async(self) -> Credentials:
        return self.get_credentials()

    def get_provider_name(self) -> str:
        return SECRET_PROVIDER_NAME


def _credentials_from_secret(secret_id: str, raw: Any) -> Credentials:
    """Check the secret's shape, naming what is wrong but never showing a value."""
    try:
        document = json.loads(raw) if isinstance(raw, str | bytes) else None
    except ValueError:
        document = None
    if not isinstance(document, dict):
        msg = f"secret {secret_id!r} is not a JSON object"
        raise CredentialsUnavailableError(msg)
    key_id, key_secret = document.get("AccessKeyId"), document.get("AccessKeySecret")
    token = document.get("SecurityToken") or None
    if not (isinstance(key_id, str) and key_id and isinstance(key_secret, str) and key_secret):
        msg = f"secret {secret_id!r} lacks AccessKeyId or AccessKeySecret"
        raise CredentialsUnavailableError(msg)
    return Credentials(
        access_key_id=key_id,
        access_key_secret=key_secret,
        security_token=token if isinstance(token, str) else None,
        provider_name=SECRET_PROVIDER_NAME,
    )
