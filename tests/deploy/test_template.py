"""template.yaml deploys a least-privilege, production-shaped application.

The template is read the way the tests' DynamoDB table is built from it (``load_template``:
YAML, short intrinsic functions in their long form). The SAM transform is not needed for
these facts: the function has its own role, so SAM attaches no policy of its own (`make
validate` runs the transform itself, with the SAM CLI).
"""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vod_parts_cleanup import settings as settings_module
from vod_parts_cleanup.local.dynamodb import load_template
from vod_parts_cleanup.observability import MetricName
from vod_parts_cleanup.settings import ENVIRONMENT_VARIABLES
from vod_parts_cleanup.vod_client import OPERATIONS as VOD_OPERATIONS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
EVENTS = ROOT / "events"
FUNCTION = "CleanupFunction"
# X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions:
# the only statement allowed to say Resource "*", and it may say nothing else.
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# Set by the template for the runtime itself rather than for Settings.
NON_SETTINGS_VARIABLES = {"POWERTOOLS_LOG_LEVEL", "ALIBABA_CLOUD_ECS_METADATA_DISABLED"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def resources_of_type(template: dict[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == type_name
    }


def function(template: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][FUNCTION]["Properties"]
    return properties


def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def arn_of(name: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [name, "Arn"]}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def both_branches(value: Any) -> Iterator[Any]:
    """A value, or each branch of an Fn::If (AWS::NoValue left out)."""
    if isinstance(value, dict) and "Fn::If" in value:
        for branch in value["Fn::If"][1:]:
            if branch != ref("AWS::NoValue"):
                yield from both_branches(branch)
    else:
        yield value


def policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, document) for every policy the stack creates: roles' and queues' policies."""
    for name, role in resources_of_type(template, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            yield f"{name}/{policy['PolicyName']}", policy["PolicyDocument"]
    for name, policy in resources_of_type(template, "AWS::SQS::QueuePolicy").items():
        yield name, policy["Properties"]["PolicyDocument"]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for listed in as_list(document["Statement"])
        for statement in both_branches(listed)
    ]


def role_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    role = function_role(template)
    return [
        statement
        for policy in role["Properties"]["Policies"]
        for statement in statements(policy["PolicyDocument"])
    ]


def function_role(template: dict[str, Any]) -> dict[str, Any]:
    role_name = function(template)["Role"]["Fn::GetAtt"][0]
    role: dict[str, Any] = template["Resources"][role_name]
    return role


def allowed(template: dict[str, Any], action: str) -> list[Any]:
    """The resources the function's role may use `action` on."""
    return [
        resource
        for statement in role_statements(template)
        if statement["Effect"] == "Allow" and action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    ]


# --- the function ------------------------------------------------------------------------


def test_the_function_runs_the_handler_on_python_3_13_arm64_with_tracing(
    template: dict[str, Any],
) -> None:
    properties = function(template)
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == "vod_parts_cleanup.handler.lambda_handler"
    assert properties["Tracing"] == "Active"
    assert 128 <= properties["MemorySize"] <= 10_240
    assert 1 <= properties["Timeout"] <= 900
    assert "Globals" not in template, "one function: its settings are all in one place"


def test_the_function_is_built_by_the_makefile_beside_the_template(
    template: dict[str, Any],
) -> None:
    # sam build runs `make build-<logical id>` with the Makefile found in CodeUri.
    assert template["Resources"][FUNCTION]["Metadata"] == {"BuildMethod": "makefile"}
    makefile = ROOT / function(template)["CodeUri"] / "Makefile"
    assert re.search(rf"^build-{FUNCTION}:", makefile.read_text(encoding="utf-8"), re.MULTILINE)


def test_the_function_logs_to_its_own_group_with_a_retention(template: dict[str, Any]) -> None:
    group = function(template)["LoggingConfig"]["LogGroup"]["Ref"]
    assert template["Resources"][group]["Type"] == "AWS::Logs::LogGroup"
    assert template["Resources"][group]["Properties"]["RetentionInDays"] == ref("LogRetentionDays")
    assert allowed(template, "logs:PutLogEvents") == [arn_of(group)]
    assert allowed(template, "logs:CreateLogGroup") == []


def test_every_variable_the_template_sets_is_one_the_function_reads(
    template: dict[str, Any],
) -> None:
    variables = function(template)["Environment"]["Variables"]
    unknown = set(variables) - set(ENVIRONMENT_VARIABLES) - NON_SETTINGS_VARIABLES
    assert not unknown, f"not in settings.ENVIRONMENT_VARIABLES: {sorted(unknown)}"
    assert variables["VOD_REGION"] == ref("VodRegion")
    assert variables["VOD_CREDENTIALS_SECRET_ID"] == ref("VodCredentialsSecretArn")
    assert variables["VOD_CALLBACK_AUTH_KEY_SECRET_ID"] == ref("CallbackAuthKeySecretArn")
    assert variables["VOD_CALLBACK_MAX_SKEW_SECONDS"] == ref("CallbackMaxSkewSeconds")
    assert variables["WORK_QUEUE_URL"] == ref("WorkQueue")
    assert variables["IDEMPOTENCY_TABLE_NAME"] == ref("IdempotencyTable")
    assert variables["IDEMPOTENCY_TTL_SECONDS"] == ref("IdempotencyTtlSeconds")
    assert variables["POWERTOOLS_SERVICE_NAME"] == ref("ServiceName")
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == ref("MetricsNamespace")
    assert variables["POWERTOOLS_LOG_LEVEL"] == ref("LogLevel")
    # No static key may be configured by the template: credentials come from the secret.
    assert not {"ALIBABA_CLOUD_ACCESS_KEY_SECRET", "VOD_CALLBACK_AUTH_KEY"} & set(variables)


def test_the_signed_callback_url_is_the_api_route_plus_the_optional_extra_ones(
    template: dict[str, Any],
) -> None:
    own_url = template["Outputs"]["CallbackUrl"]["Value"]["Fn::Sub"]
    assert own_url.endswith("/vod/callback")
    assert "${CallbackApi}" in own_url
    branches = [
        value["Fn::Sub"]
        for value in both_branches(
            function(template)["Environment"]["Variables"]["VOD_CALLBACK_URL"]
        )
    ]
    assert branches == [f"{own_url},${{ExtraCallbackUrls}}", own_url]


def test_parameter_defaults_are_the_settings_defaults(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    assert parameters["ServiceName"]["Default"] == settings_module.DEFAULT_SERVICE_NAME
    assert parameters["MetricsNamespace"]["Default"] == settings_module.DEFAULT_METRICS_NAMESPACE
    assert parameters["VodRegion"]["Default"] == settings_module.DEFAULT_REGION
    assert (
        parameters["IdempotencyTtlSeconds"]["Default"]
        == settings_module.DEFAULT_IDEMPOTENCY_TTL_SECONDS
    )
    assert (
        parameters["CallbackMaxSkewSeconds"]["Default"]
        == settings_module.DEFAULT_CALLBACK_MAX_SKEW_SECONDS
    )


# --- least privilege ---------------------------------------------------------------------


def test_the_function_has_its_own_role_with_inline_policies_only(
    template: dict[str, Any],
) -> None:
    # With `Policies` (or no `Role`) SAM would generate a role and attach AWS managed
    # policies (SQS polling, X-Ray) whose Resource is "*".
    assert "Policies" not in function(template)
    role = function_role(template)
    assert role["Type"] == "AWS::IAM::Role"
    assert "ManagedPolicyArns" not in role["Properties"]
    assert resources_of_type(template, "AWS::IAM::ManagedPolicy") == {}
    assert resources_of_type(template, "AWS::IAM::Policy") == {}
    assume = statements(role["Properties"]["AssumeRolePolicyDocument"])
    assert [statement["Principal"] for statement in assume] == [{"Service": "lambda.amazonaws.com"}]


def test_no_statement_allows_a_wildcard_action(template: dict[str, Any]) -> None:
    checked = 0
    for where, document in policy_documents(template):
        for statement in statements(document):
            assert statement["Effect"] == "Allow", where
            assert "NotAction" not in statement, where
            assert "NotResource" not in statement, where
            for action in as_list(statement["Action"]):
                assert "*" not in action, f"{where}: {action}"
                assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z]+", action), f"{where}: {action}"
            checked += 1
    assert checked >= 8


def test_every_statement_names_its_resource_except_xray_alone(template: dict[str, Any]) -> None:
    unscoped = []
    for where, document in policy_documents(template):
        for statement in statements(document):
            resources = as_list(statement["Resource"])
            if "*" in resources:
                unscoped.append((where, statement, len(statements(document))))
            assert not any("*" in r for r in resources if isinstance(r, str) and r != "*")
    assert len(unscoped) == 1, unscoped
    _, statement, statements_in_its_policy = unscoped[0]
    assert statement["Resource"] == "*"
    assert set(as_list(statement["Action"])) == XRAY_ACTIONS
    assert statements_in_its_policy == 1, "the X-Ray exception stays alone in its policy"


def test_the_role_reaches_only_what_this_stack_owns_or_is_given(
    template: dict[str, Any],
) -> None:
    given = {"VodCredentialsSecretArn", "CallbackAuthKeySecretArn", "SecretsKmsKeyArn"}
    for statement in role_statements(template):
        for resource in as_list(statement["Resource"]):
            if resource == "*":
                continue
            assert isinstance(resource, dict), f"{statement['Sid']}: a literal ARN {resource}"
            if "Ref" in resource:
                assert resource["Ref"] in given, statement["Sid"]
            else:
                owned = resource["Fn::GetAtt"][0]
                assert owned in template["Resources"], statement["Sid"]


def test_the_function_may_read_exactly_the_two_secrets(template: dict[str, Any]) -> None:
    assert allowed(template, "secretsmanager:GetSecretValue") == [
        ref("VodCredentialsSecretArn"),
        ref("CallbackAuthKeySecretArn"),
    ]
    kms = [s for s in role_statements(template) if "kms:Decrypt" in as_list(s["Action"])]
    assert [s["Resource"] for s in kms] == [ref("SecretsKmsKeyArn")]
    assert "kms:ViaService" in kms[0]["Condition"]["StringEquals"]


def test_secrets_are_given_as_arns_never_as_values(template: dict[str, Any]) -> None:
    for name, parameter in template["Parameters"].items():
        if re.search(r"secret|password|token|key", name, re.IGNORECASE):
            assert name.endswith("Arn"), f"{name} looks like a plain-text secret"
            assert parameter["AllowedPattern"].startswith(("^arn:", "^$|^arn:")), name
    for name in ("VodCredentialsSecretArn", "CallbackAuthKeySecretArn"):
        pattern = template["Parameters"][name]["AllowedPattern"]
        assert "Default" not in template["Parameters"][name]
        example = "arn:aws:secretsmanager:us-east-1:123456789012:secret:vod/keys-AbC123"
        assert re.fullmatch(pattern, example)
        assert not re.fullmatch(pattern, "vod/keys"), "a name alone is not scoped enough"
        assert not re.fullmatch(pattern, example.removesuffix("-AbC123")), "partial ARN"


def test_the_table_allows_exactly_the_idempotency_actions(template: dict[str, Any]) -> None:
    dynamodb = {
        action
        for statement in role_statements(template)
        for action in as_list(statement["Action"])
        if action.startswith("dynamodb:")
    }
    assert dynamodb == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }
    for action in dynamodb:
        assert allowed(template, action) == [arn_of("IdempotencyTable")]


# --- triggers ----------------------------------------------------------------------------


def test_the_work_queue_feeds_the_function_and_reports_batch_item_failures(
    template: dict[str, Any],
) -> None:
    events = function(template)["Events"]
    sqs = [event["Properties"] for event in events.values() if event["Type"] == "SQS"]
    assert len(sqs) == 1
    trigger = sqs[0]
    assert trigger["Queue"] == arn_of("WorkQueue")
    assert trigger["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 1 <= trigger["BatchSize"] <= 10
    # The event source mapping polls with the function's role.
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        assert allowed(template, action) == [arn_of("WorkQueue")]


def test_the_work_queue_concurrency_is_capped_for_vods_rate_limit(
    template: dict[str, Any],
) -> None:
    (trigger,) = [e["Properties"] for e in function(template)["Events"].values()]
    maximum = trigger["ScalingConfig"]["MaximumConcurrency"]
    assert maximum == ref("QueueMaximumConcurrency")
    parameter = template["Parameters"]["QueueMaximumConcurrency"]
    # 2 is the lowest value SQS event sources accept; each invocation calls VOD one record
    # at a time, so 2 stays under VOD's ~10 calls per second at >= 200 ms per call.
    assert parameter["Default"] == parameter["MinValue"] == 2


def test_failed_work_queue_messages_end_in_the_dead_letter_queue(
    template: dict[str, Any],
) -> None:
    queue = template["Resources"]["WorkQueue"]["Properties"]
    dead_letters = template["Resources"]["DeadLetterQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == arn_of("DeadLetterQueue")
    assert 3 <= queue["RedrivePolicy"]["maxReceiveCount"] <= 10
    # A dead letter keeps its first enqueue time: the DLQ must keep messages longer.
    assert dead_letters["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    assert queue["VisibilityTimeout"] >= 6 * function(template)["Timeout"]
    # The HTTP route hands callbacks it cannot finish now to the same queue.
    assert allowed(template, "sqs:SendMessage").count(arn_of("WorkQueue")) == 1


def test_vods_http_callback_reaches_the_function_on_post_vod_callback(
    template: dict[str, Any],
) -> None:
    (route,) = resources_of_type(template, "AWS::ApiGatewayV2::Route").values()
    assert route["Properties"]["RouteKey"] == "POST /vod/callback"
    integration_name = route["Properties"]["Target"]["Fn::Sub"].removeprefix("integrations/${")
    integration = template["Resources"][integration_name.removesuffix("}")]["Properties"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    assert integration["IntegrationUri"] == arn_of(FUNCTION)
    (api,) = resources_of_type(template, "AWS::ApiGatewayV2::Api").values()
    assert api["Properties"]["ProtocolType"] == "HTTP"
    permissions = invoke_permissions(template, "apigateway.amazonaws.com")
    assert [p["SourceArn"]["Fn::Sub"] for p in permissions] == [
        "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
        "${CallbackApi}/*/POST/vod/callback"
    ]


def test_the_eventbridge_rule_matches_the_sample_events_on_a_configurable_bus(
    template: dict[str, Any],
) -> None:
    (rule,) = resources_of_type(template, "AWS::Events::Rule").values()
    properties = rule["Properties"]
    assert properties["EventBusName"] == ref("EventBusName")
    for sample in EVENTS.glob("eventbridge-*.json"):
        event = json.loads(sample.read_text(encoding="utf-8"))
        assert event["source"] in properties["EventPattern"]["source"], sample.name
        assert event["detail-type"] in properties["EventPattern"]["detail-type"], sample.name
    (target,) = properties["Targets"]
    assert target["Arn"] == arn_of(FUNCTION)
    assert target["DeadLetterConfig"]["Arn"] == arn_of("FailedEventsQueue")
    (permission,) = invoke_permissions(template, "events.amazonaws.com")
    assert permission["SourceArn"] == arn_of("UploadEventsRule")
    (queue_policy,) = resources_of_type(template, "AWS::SQS::QueuePolicy").values()
    (statement,) = statements(queue_policy["Properties"]["PolicyDocument"])
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": arn_of("UploadEventsRule")}}


def test_failed_asynchronous_invocations_go_to_a_destination(template: dict[str, Any]) -> None:
    config = function(template)["EventInvokeConfig"]
    assert config["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": arn_of("FailedEventsQueue"),
    }
    assert allowed(template, "sqs:SendMessage").count(arn_of("FailedEventsQueue")) == 1


def invoke_permissions(template: dict[str, Any], principal: str) -> list[dict[str, Any]]:
    permissions = [
        p["Properties"]
        for p in resources_of_type(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == principal
    ]
    for permission in permissions:
        assert permission["Action"] == "lambda:InvokeFunction"
        assert permission["FunctionName"] == arn_of(FUNCTION)
    return permissions


# --- state -------------------------------------------------------------------------------


def test_the_idempotency_table_is_on_demand_expires_items_and_can_be_restored(
    template: dict[str, Any],
) -> None:
    table = template["Resources"]["IdempotencyTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


# --- alarms and outputs ------------------------------------------------------------------


def alarms(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [a["Properties"] for a in resources_of_type(template, "AWS::CloudWatch::Alarm").values()]


def test_alarms_watch_dead_letters_errors_throttles_and_failed_cleanups(
    template: dict[str, Any],
) -> None:
    watched = {
        (
            alarm["Namespace"] if isinstance(alarm["Namespace"], str) else "custom",
            alarm["MetricName"],
        )
        for alarm in alarms(template)
    }
    assert {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("custom", "CleanupFailed"),
    } <= watched
    dead_letter_queues = {
        alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for alarm in alarms(template)
        if alarm["Namespace"] == "AWS/SQS"
    }
    assert dead_letter_queues == {"DeadLetterQueue", "FailedEventsQueue"}
    for alarm in alarms(template):
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["Threshold"] == 0
        assert alarm["TreatMissingData"] == "notBreaching"
        notify = {"Fn::If": ["HasAlarmTopic", [ref("AlarmTopicArn")], ref("AWS::NoValue")]}
        assert alarm["AlarmActions"] == alarm["OKActions"] == notify
    assert template["Conditions"]["HasAlarmTopic"] == {
        "Fn::Not": [{"Fn::Equals": [ref("AlarmTopicArn"), ""]}]
    }
    assert template["Parameters"]["AlarmTopicArn"]["Default"] == ""


def test_alarms_on_the_functions_metrics_use_names_it_emits(template: dict[str, Any]) -> None:
    own = [alarm for alarm in alarms(template) if alarm["Namespace"] == ref("MetricsNamespace")]
    assert own
    for alarm in own:
        assert alarm["MetricName"] in {name.value for name in MetricName}
        # The dimension set with only `service` sums every Outcome and ErrorKind.
        assert alarm["Dimensions"] == [{"Name": "service", "Value": ref("ServiceName")}]
        assert alarm["Statistic"] == "Sum"


def test_outputs_tell_where_to_send_events_and_what_to_watch(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert outputs["WorkQueueUrl"]["Value"] == ref("WorkQueue")
    assert outputs["WorkQueueArn"]["Value"] == arn_of("WorkQueue")
    assert outputs["DeadLetterQueueUrl"]["Value"] == ref("DeadLetterQueue")
    assert outputs["DeadLetterQueueArn"]["Value"] == arn_of("DeadLetterQueue")
    assert outputs["IdempotencyTableName"]["Value"] == ref("IdempotencyTable")
    assert outputs["CallbackUrl"]["Value"]["Fn::Sub"].startswith("https://${CallbackApi}.")


def test_the_alibaba_ram_policy_allows_exactly_the_operations_the_function_calls() -> None:
    policy = json.loads((ROOT / "deploy" / "alibaba-ram-policy.json").read_text(encoding="utf-8"))
    assert policy["Version"] == "1"
    # VOD has no resource-level permissions: "*" is the only Resource it accepts.
    [statement] = policy["Statement"]
    assert (statement["Effect"], statement["Resource"]) == ("Allow", ["*"])
    called = {f"vod:{operation.action}" for operation in VOD_OPERATIONS}
    assert sorted(statement["Action"]) == sorted(called)
    assert {"vod:DeleteMultipartUpload", "vod:GetVideoInfo"} <= called
