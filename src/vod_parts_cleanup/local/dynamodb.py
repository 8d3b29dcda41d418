"""The idempotency table as ``template.yaml`` defines it, created in any DynamoDB (moto here).

Why: the table's schema lives once, in the template; the tests and the local runner build
their table from that definition instead of repeating it.
"""

from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
TABLE_RESOURCE = "IdempotencyTable"
LOCAL_TABLE_NAME = "vod-parts-cleanup-idempotency"


def idempotency_table_properties(template: Path = TEMPLATE) -> dict[str, Any]:
    """The ``Properties`` of the idempotency table resource in the SAM template."""
    from cfnlint.decode import cfn_yaml  # noqa: PLC0415 - a development tool, loaded on use

    if not template.is_file():
        msg = f"{template} not found: run from a checkout of vod-parts-cleanup"
        raise FileNotFoundError(msg)
    document = cfn_yaml.loads(template.read_text(encoding="utf-8"))
    properties: dict[str, Any] = document["Resources"][TABLE_RESOURCE]["Properties"]
    return properties


def create_idempotency_table(
    dynamodb_client: Any, table_name: str = LOCAL_TABLE_NAME, template: Path = TEMPLATE
) -> str:
    """Create the table (key schema, billing, TTL) exactly as the template declares it."""
    properties = idempotency_table_properties(template)
    dynamodb_client.create_table(
        TableName=table_name,
        AttributeDefinitions=properties["AttributeDefinitions"],
        KeySchema=properties["KeySchema"],
        BillingMode=properties["BillingMode"],
    )
    ttl = properties["TimeToLiveSpecification"]
    dynamodb_client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": ttl["Enabled"]},
    )
    return table_name
