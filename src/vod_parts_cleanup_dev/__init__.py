"""Developer tools, a distribution of their own (tools/pyproject.toml), never in the Lambda
package: the local runner and its stand-ins, the CLI, the benchmark.

- ``cli`` (the ``vod-parts-cleanup`` command), ``runner`` (the stack among stand-ins),
  ``stack`` (the stack's functions in this process, wired as template.yaml wires them),
  ``report`` (what a run prints), ``backfill`` (sweep and clean by hand), ``sqs`` (playing
  Lambda's SQS trigger);
- the VOD stand-in: ``acs3`` (request signatures), ``vod_catalog`` (videos and operations),
  ``vod_server`` (HTTP and the ``LocalVod`` facade), ``vod_errors``;
- ``dynamodb`` (the idempotency table from template.yaml), ``callbacks`` (signing sample
  callbacks), ``lambda_context`` (a Lambda-like context), ``moto_server`` (moto over HTTP),
  ``package`` (the Lambda package as ``sam build`` makes it);
- ``bench`` (``make bench``) with ``naive_handler``, the baseline it is measured against.

Why: tests and manual runs exercise the real SDK over real HTTP without a cloud account.
"""
