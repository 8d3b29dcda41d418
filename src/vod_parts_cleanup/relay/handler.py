"""Entry point of the relay function (``RelayFunction`` in template.yaml, in relay mode):
the relay queue's batches, each callback delivered to the customer's own receiver as VOD
would have delivered it."""

from vod_parts_cleanup.relay.app import RelayApp

application = RelayApp.from_environment()
lambda_handler = application.lambda_handler
