"""The cleanup function: the one paced caller of VOD.

``handler`` (the entry point) -> ``app`` (composition root: routes each trigger) -> ``batch``
(the work queue's SQS batches) or ``sweep`` -> ``pipeline`` -> ``intake`` (the VOD
notification, read with pydantic into ``models``) -> ``idempotency`` (once per notification)
-> ``cleanup`` (the use case) -> ``vod_client`` (VOD through the OpenAPI core, paced by
``pacing``, with ``credentials``); ``aws_clients`` are its bounded boto3 clients.
"""
