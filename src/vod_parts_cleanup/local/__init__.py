"""Developer tools, left out of the Lambda package: the local runner and its stand-ins.

- ``cli`` (the ``vod-parts-cleanup`` command), ``runner`` (an in-process Application among
  stand-ins), ``report`` (what a run prints), ``backfill`` (sweep and clean by hand), ``sqs``
  (playing Lambda's SQS trigger);
- the VOD stand-in: ``acs3`` (request signatures), ``vod_catalog`` (videos and operations),
  ``vod_server`` (HTTP and the ``LocalVod`` facade), ``vod_errors``;
- ``dynamodb`` (the idempotency table from template.yaml), ``callbacks`` (signing sample
  callbacks), ``lambda_context`` (a Lambda-like context).

Why: tests and manual runs exercise the real SDK over real HTTP without a cloud account.
The names tests use most are available from here.
"""

from vod_parts_cleanup.local.vod_catalog import Video
from vod_parts_cleanup.local.vod_server import (
    LOCAL_ACCESS_KEY_ID,
    LOCAL_ACCESS_KEY_SECRET,
    LocalVod,
)

__all__ = ["LOCAL_ACCESS_KEY_ID", "LOCAL_ACCESS_KEY_SECRET", "LocalVod", "Video"]
