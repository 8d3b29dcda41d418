"""The stack's functions in this process, wired as template.yaml wires them: API Gateway's
events go to the receiver, the relay queue's batches to the relay (in relay mode), and
everything else (the work queue's batches, direct and EventBridge invocations, sweeps) to
the cleanup function.

Why: the local runner and the tests play AWS's part (which function an event reaches) with
the real applications, built from one ``Settings`` with a clock of the caller's, instead of
patching anything; each function still handles only its own triggers.
"""

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from vod_parts_cleanup.consumer.app import ConsumerApp
from vod_parts_cleanup.receiver.app import ReceiverApp
from vod_parts_cleanup.relay.app import RelayApp
from vod_parts_cleanup.shared.clock import SYSTEM_CLOCK, Clock
from vod_parts_cleanup.shared.envelopes import recognise_trigger
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup.shared.vocabulary import Trigger


class Stack:
    """The receiver, the cleanup function and (in relay mode) the relay, each as one
    execution environment."""

    def __init__(self, settings: Settings, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.settings = settings
        self.receiver = ReceiverApp(settings, clock=clock)
        self.consumer = ConsumerApp(settings, clock=clock)
        self.relay = RelayApp(settings, clock=clock) if settings.relay_queue_url else None

    def lambda_handler(self, event: Any, context: LambdaContext) -> Mapping[str, Any]:
        """The event, handed to the function the template wires its trigger to."""
        trigger = recognise_trigger(event)
        if trigger is Trigger.HTTP:
            return self.receiver.lambda_handler(event, context)
        if trigger is Trigger.SQS and self.relay is not None and self._from_relay_queue(event):
            return self.relay.lambda_handler(event, context)
        return self.consumer.lambda_handler(event, context)

    def _from_relay_queue(self, event: Mapping[str, Any]) -> bool:
        """Its records come from the relay queue (an event source mapping is per queue)."""
        relay_queue = str(self.settings.relay_queue_url).rstrip("/").rsplit("/", 1)[-1]
        return any(
            str(record.get("eventSourceARN", "")).rsplit(":", 1)[-1] == relay_queue
            for record in event["Records"]
        )
