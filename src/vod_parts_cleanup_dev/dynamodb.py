"""The idempotency table as ``template.yaml`` defines it, created in any DynamoDB (moto here).

Why: the table's schema lives once, in the template; the tests and the local runner build
their table from that definition instead of repeating it. The template is read with PyYAML
(a development dependency) rather than cfn-lint, whose import alone takes seconds.
"""

from pathlib import Path
from typing import Any

# In a checkout, beside src/; installed elsewhere (pip install '.[cli]'), the current directory.
_CHECKOUT_TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
TEMPLATE = _CHECKOUT_TEMPLATE if _CHECKOUT_TEMPLATE.is_file() else Path.cwd() / "template.yaml"
TABLE_RESOURCE = "IdempotencyTable"
LOCAL_TABLE_NAME = "vod-parts-cleanup-idempotency"


def load_template(template: Path = TEMPLATE) -> dict[str, Any]:
    """The SAM template as data; a short-form intrinsic (``!Ref x``) becomes ``{"Ref": x}``."""
    import yaml

    class TemplateLoader(yaml.SafeLoader):  # type: ignore[misc]
        """YAML plus CloudFormation's tags, without cfn-lint's 2-second import."""

    def intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}

    TemplateLoader.add_multi_constructor("!", intrinsic)
    if not template.is_file():
        msg = f"{template} not found: run from a checkout of vod-parts-cleanup"
        raise FileNotFoundError(msg)
    text = template.read_text(encoding="utf-8")
    document: dict[str, Any] = yaml.load(text, Loader=TemplateLoader)  # noqa: S506 - safe + tags
    return document


def idempotency_table_properties(template: Path = TEMPLATE) -> dict[str, Any]:
    """The ``Properties`` of the idempotency table resource in the SAM template."""
    properties: dict[str, Any] = load_template(template)["Resources"][TABLE_RESOURCE]["Properties"]
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
