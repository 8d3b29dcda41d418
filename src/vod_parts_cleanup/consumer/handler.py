"""Entry point of the cleanup function (``CleanupFunction`` in template.yaml): the work
queue's SQS batches, the sweep's schedule, and direct or EventBridge invocations; the one
paced caller of VOD.
"""

from vod_parts_cleanup.consumer.app import ConsumerApp

application = ConsumerApp.from_environment()
lambda_handler = application.lambda_handler
