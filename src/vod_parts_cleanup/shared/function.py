"""What every function of the stack is: built once per execution environment from
``Settings`` (with a clock of the caller's, in tests and the local tools), instrumented with
Powertools, and answering only the triggers it handles; an event of any other trigger is a
wiring mistake, refused visibly and kept (``envelopes.misrouted``).

Each function is a room of its own (``receiver/``, ``consumer/``): its ``app.py`` subclasses
``LambdaFunction``, builds its parts in ``__init__`` and handles its triggers in ``handle``;
its ``handler.py`` builds it from the environment for Lambda.
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from aws_lambda_powertools.utilities.typing import LambdaContext

from vod_parts_cleanup.shared.clock import SYSTEM_CLOCK, Clock, Deadline
from vod_parts_cleanup.shared.envelopes import misrouted, recognise_trigger
from vod_parts_cleanup.shared.observability import LambdaHandler, Telemetry
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup.shared.vocabulary import Trigger


class LambdaFunction(ABC):
    """One function of the stack in one execution environment."""

    # Its name in answers and logs, the triggers it handles, and those in words.
    NAME: ClassVar[str]
    TRIGGERS: ClassVar[frozenset[Trigger]]
    HANDLES: ClassVar[str]

    def __init__(self, settings: Settings, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.settings = settings
        self.clock = clock
        self.deadline = Deadline(clock)
        self.telemetry = Telemetry.for_settings(settings)
        if settings.aws.not_honoured:
            self.telemetry.logger.error(
                "AWS settings not honoured by the functions' own AWS client (SQS, Secrets "
                "Manager): it calls the standard regional endpoints with the system's CAs; set "
                "AWS_ENDPOINT_URL_SQS and AWS_ENDPOINT_URL_SECRETS_MANAGER to the endpoints you "
                "need instead",
                extra={"notHonoured": list(settings.aws.not_honoured)},
            )
        self.lambda_handler: LambdaHandler = self.telemetry.instrumented(
            self._invoke, tracing=not settings.trace_disabled
        )

    @classmethod
    def from_environment(cls) -> Self:
        return cls(Settings.from_environment())

    def _invoke(self, event: Any, context: LambdaContext) -> Mapping[str, Any]:
        trigger = recognise_trigger(event)
        self.telemetry.logger.append_keys(trigger=trigger.value)
        if trigger not in self.TRIGGERS:
            return misrouted(
                event,
                trigger,
                function=self.NAME,
                handles=self.HANDLES,
                logger=self.telemetry.logger,
            )
        return self.handle(event, trigger, context)

    @abstractmethod
    def handle(self, event: Any, trigger: Trigger, context: LambdaContext) -> Mapping[str, Any]:
        """One invocation of a trigger this function handles."""
