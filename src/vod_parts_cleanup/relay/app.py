"""The relay's composition root: its objects, built once per execution environment from
``Settings``; tests and the local tools build their own, with a clock of their own.

Its module graph, like the receiver's, needs no pydantic, botocore or OpenAPI core: it
reads its key secret and changes its messages' visibility through ``shared.aws_json``.
"""

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from vod_parts_cleanup.relay.batch import RelayBatch
from vod_parts_cleanup.relay.delivery import DownstreamReceiver
from vod_parts_cleanup.relay.retry import receives_for
from vod_parts_cleanup.shared.aws_json import SECRETS_MANAGER, AwsJsonClient
from vod_parts_cleanup.shared.clock import SYSTEM_CLOCK, Clock
from vod_parts_cleanup.shared.function import LambdaFunction
from vod_parts_cleanup.shared.queues import relay_queue_for
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup.shared.vocabulary import Trigger
from vod_parts_cleanup.shared.vod_callback import CallbackKeys, callback_keys


class RelayApp(LambdaFunction):
    """The relay function (RelayFunction) in one execution environment."""

    NAME = "relay"
    TRIGGERS = frozenset({Trigger.SQS})
    HANDLES = "the relay queue's SQS batches"

    def __init__(self, settings: Settings, *, clock: Clock = SYSTEM_CLOCK) -> None:
        super().__init__(settings, clock=clock)
        self.downstream: DownstreamReceiver | None = None
        problem = None
        keys = self._keys()
        if settings.relay_callback_url is None:
            problem = "RELAY_CALLBACK_URL is not set: nothing to relay to"
        elif keys is None:
            problem = (
                "no key to sign with: set RELAY_CALLBACK_AUTH_KEY_SECRET_ID (or "
                "VOD_CALLBACK_AUTH_KEY_SECRET_ID, the inbound key it defaults to)"
            )
        else:
            self.downstream = DownstreamReceiver(settings.relay_callback_url, keys, clock=clock)
        if problem is not None:  # the one place this function maps its settings' faults
            self.telemetry.logger.error(
                "the relay is not configured: every callback is kept for a retry",
                extra={"detail": problem},
            )
        self.batch = RelayBatch(
            self.downstream,
            relay_queue_for(settings, self.deadline),
            max_receives=receives_for(settings.relay_retry_hours),
            clock=clock,
            deadline=self.deadline,
            telemetry=self.telemetry,
            not_configured=problem,
        )

    def handle(self, event: Any, trigger: Trigger, context: LambdaContext) -> Mapping[str, Any]:
        self.deadline.start_invocation(context)
        return self.batch.relay(event)

    def _keys(self) -> CallbackKeys | None:
        """The key the downstream checks: the relay's own if one is given, else the inbound
        one, which VOD was signing its callbacks with."""
        settings = self.settings
        own = settings.relay_callback_auth_key_secret_id or settings.relay_callback_auth_key
        secrets_manager = AwsJsonClient(
            SECRETS_MANAGER, settings.aws, seconds_left=self.deadline.seconds_left
        )
        return callback_keys(
            secret_id=(
                settings.relay_callback_auth_key_secret_id
                if own
                else settings.callback_auth_key_secret_id
            ),
            keys=(settings.relay_callback_auth_key if own else settings.callback_auth_key,),
            cache_seconds=settings.callback_auth_key_cache_seconds,
            secrets_manager=secrets_manager,
            clock=self.clock.monotonic,
        )
