"""The receiver's composition root: its objects, built once per execution environment from
``Settings``; tests and the local tools build their own, with a clock of their own.

Everything is built when the function starts (nothing here connects anywhere), from
modules imported at the top: the receiver's whole module graph stays clear of pydantic,
botocore and the OpenAPI core, so building it all is cheap (``tests/integration/
test_cold_path.py`` checks the graph; ``make bench`` times it).
"""

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from vod_parts_cleanup.receiver.callback import CallbackReceiver, callback_request
from vod_parts_cleanup.receiver.callback_auth import authenticator_for
from vod_parts_cleanup.shared.aws_json import SECRETS_MANAGER, AwsJsonClient
from vod_parts_cleanup.shared.clock import SYSTEM_CLOCK, Clock
from vod_parts_cleanup.shared.function import LambdaFunction
from vod_parts_cleanup.shared.queues import SqsQueue, relay_queue_for, work_queue_for
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup.shared.vocabulary import Trigger


class ReceiverApp(LambdaFunction):
    """The receiver function (CallbackFunction) in one execution environment."""

    NAME = "receiver"
    TRIGGERS = frozenset({Trigger.HTTP})
    HANDLES = "API Gateway (VOD's HTTP callback)"

    def __init__(self, settings: Settings, *, clock: Clock = SYSTEM_CLOCK) -> None:
        super().__init__(settings, clock=clock)
        secrets_manager = AwsJsonClient(
            SECRETS_MANAGER, settings.aws, seconds_left=self.deadline.seconds_left
        )
        self.receiver = CallbackReceiver(
            authenticator=authenticator_for(settings, secrets_manager, clock=clock),
            work_queue=self._work_queue(),
            relay_queue=relay_queue_for(settings, self.deadline),
            clock=clock,
            telemetry=self.telemetry,
        )

    def handle(self, event: Any, trigger: Trigger, context: LambdaContext) -> Mapping[str, Any]:
        """One callback through API Gateway, answered within what is left of VOD's wait."""
        request = callback_request(event)
        self.deadline.start_invocation(context, at_most=self.receiver.seconds_to_answer(request))
        return self.receiver.answer(request)

    def _work_queue(self) -> SqsQueue | None:
        """Where callbacks are handed to the consumer (None without WORK_QUEUE_URL: each
        callback is then answered 503, so VOD keeps it)."""
        work_queue = work_queue_for(self.settings, self.deadline)
        if work_queue is None:
            self.telemetry.logger.warning("WORK_QUEUE_URL is not set: nothing can be handed off")
        return work_queue
