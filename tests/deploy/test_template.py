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

from scripts import smoke
from vod_parts_cleanup.consumer.retry import SAFETY_NET_RECEIVES
from vod_parts_cleanup.consumer.retry import receives_for as receives_for_cleanup
from vod_parts_cleanup.consumer.vod_client import OPERATIONS as VOD_OPERATIONS
from vod_parts_cleanup.consumer.vod_client import VIDEO_INFOS_BATCH
from vod_parts_cleanup.relay.batch import SECONDS_TO_START_A_DELIVERY
from vod_parts_cleanup.relay.retry import receives_for
from vod_parts_cleanup.shared.observability import MetricName
from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup.shared.vocabulary import ErrorKind
from vod_parts_cleanup_dev.dynamodb import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
EVENTS = ROOT / "events"
RECEIVER = "CallbackFunction"
CONSUMER = "CleanupFunction"
RELAY = "RelayFunction"  # relay mode only (condition HasRelay)
FUNCTIONS = (RECEIVER, CONSUMER, RELAY)
# Each function's own entry module (src/vod_parts_cleanup/<room>/handler.py).
HANDLERS = {
    RECEIVER: "vod_parts_cleanup.receiver.handler.lambda_handler",
    CONSUMER: "vod_parts_cleanup.consumer.handler.lambda_handler",
    RELAY: "vod_parts_cleanup.relay.handler.lambda_handler",
}
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


def function(template: dict[str, Any], name: str) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][name]["Properties"]
    return properties


def variables_of(template: dict[str, Any], name: str) -> dict[str, Any]:
    variables: dict[str, Any] = function(template, name)["Environment"]["Variables"]
    return variables


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


def role_policies(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        policy
        for listed in role["Properties"].get("Policies", [])
        for policy in both_branches(listed)
    ]


def policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, document) for every policy the stack creates: roles' and queues' policies."""
    for name, role in resources_of_type(template, "AWS::IAM::Role").items():
        for policy in role_policies(role):
            yield f"{name}/{policy['PolicyName']}", policy["PolicyDocument"]
    for name, policy in resources_of_type(template, "AWS::SQS::QueuePolicy").items():
        yield name, policy["Properties"]["PolicyDocument"]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for listed in as_list(document["Statement"])
        for statement in both_branches(listed)
    ]


def function_role(template: dict[str, Any], name: str) -> dict[str, Any]:
    role_name = function(template, name)["Role"]["Fn::GetAtt"][0]
    role: dict[str, Any] = template["Resources"][role_name]
    return role


def role_statements(template: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in role_policies(function_role(template, name))
        for statement in statements(policy["PolicyDocument"])
    ]


def actions_of(template: dict[str, Any], name: str) -> set[str]:
    """Every action function ``name``'s role is allowed, in any statement."""
    return {
        action
        for statement in role_statements(template, name)
        for action in as_list(statement["Action"])
    }


def allowed(template: dict[str, Any], name: str, action: str) -> list[Any]:
    """The resources function ``name``'s role may use ``action`` on."""
    return [
        resource
        for statement in role_statements(template, name)
        if statement["Effect"] == "Allow" and action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    ]


def setting_default(field: str) -> Any:
    return Settings.default_of(field)


# --- the functions -----------------------------------------------------------------------


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_function_runs_the_handler_on_python_3_13_arm64(
    template: dict[str, Any], name: str
) -> None:
    properties = function(template, name)
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == HANDLERS[name]
    module = properties["Handler"].rsplit(".", 1)[0]
    assert (ROOT / "src" / (module.replace(".", "/") + ".py")).is_file()
    assert properties["Tracing"] == ref("Tracing")
    assert 128 <= properties["MemorySize"] <= 10_240
    assert 1 <= properties["Timeout"] <= 900
    # Tracing is a choice, off by default: the X-Ray SDK costs every cold start.
    assert template["Parameters"]["Tracing"]["Default"] == "PassThrough"
    disabled = variables_of(template, name)["POWERTOOLS_TRACE_DISABLED"]
    assert disabled == {"Fn::If": ["TracingIsActive", "false", "true"]}
    assert "Globals" not in template, "each function's settings are all in one place"


def test_the_receiver_answers_well_inside_vods_five_seconds(template: dict[str, Any]) -> None:
    assert function(template, RECEIVER)["Timeout"] <= 10
    assert function(template, CONSUMER)["Timeout"] >= 30


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_function_is_built_by_the_makefile_beside_the_template(
    template: dict[str, Any], name: str
) -> None:
    # sam build runs `make build-<logical id>` with the Makefile found in CodeUri.
    assert template["Resources"][name]["Metadata"] == {"BuildMethod": "makefile"}
    makefile = ROOT / function(template, name)["CodeUri"] / "Makefile"
    assert re.search(rf"^(\S+ )*build-{name}\b.*:", makefile.read_text(encoding="utf-8"), re.M)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_function_logs_to_its_own_group_with_a_retention(
    template: dict[str, Any], name: str
) -> None:
    group = function(template, name)["LoggingConfig"]["LogGroup"]["Ref"]
    assert template["Resources"][group]["Type"] == "AWS::Logs::LogGroup"
    assert template["Resources"][group]["Properties"]["RetentionInDays"] == ref("LogRetentionDays")
    assert allowed(template, name, "logs:PutLogEvents") == [arn_of(group)]
    assert allowed(template, name, "logs:CreateLogGroup") == []


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_variable_the_template_sets_is_one_the_function_reads(
    template: dict[str, Any], name: str
) -> None:
    variables = variables_of(template, name)
    unknown = set(variables) - Settings.variables() - NON_SETTINGS_VARIABLES
    assert not unknown, f"not read by Settings: {sorted(unknown)}"
    assert variables["POWERTOOLS_SERVICE_NAME"] == ref("ServiceName")
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == ref("MetricsNamespace")
    assert variables["POWERTOOLS_LOG_LEVEL"] == ref("LogLevel")
    # No static key may be configured by the template: credentials come from the secrets.
    assert not {"ALIBABA_CLOUD_ACCESS_KEY_SECRET", "VOD_CALLBACK_AUTH_KEY"} & set(variables)


def test_the_receiver_knows_the_callback_and_the_queue_and_nothing_of_vod(
    template: dict[str, Any],
) -> None:
    variables = variables_of(template, RECEIVER)
    assert variables["VOD_CALLBACK_AUTH_KEY_SECRET_ID"] == ref("CallbackAuthKeySecretArn")
    assert variables["VOD_CALLBACK_MAX_SKEW_SECONDS"] == ref("CallbackMaxSkewSeconds")
    assert variables["WORK_QUEUE_URL"] == ref("WorkQueue")
    assert not {"VOD_CREDENTIALS_SECRET_ID", "IDEMPOTENCY_TABLE_NAME", "VOD_REGION"} & set(
        variables
    )


def test_the_consumer_knows_vod_the_table_and_its_share_of_the_budget(
    template: dict[str, Any],
) -> None:
    variables = variables_of(template, CONSUMER)
    assert variables["VOD_REGION"] == ref("VodRegion")
    assert variables["VOD_CREDENTIALS_SECRET_ID"] == ref("VodCredentialsSecretArn")
    assert variables["IDEMPOTENCY_TABLE_NAME"] == ref("IdempotencyTable")
    assert variables["IDEMPOTENCY_TTL_SECONDS"] == ref("IdempotencyTtlSeconds")
    assert variables["VOD_CALLS_PER_SECOND"] == ref("VodCallsPerSecond")
    # One fact, one place: the callers that share the budget are the queue's concurrency.
    assert variables["VOD_CONCURRENT_CALLERS"] == ref("QueueMaximumConcurrency")
    assert variables["VOD_CALLBACK_CONFIRM_UPLOAD"] == "true"
    assert "VOD_CALLBACK_AUTH_KEY_SECRET_ID" not in variables


def test_the_signed_callback_url_is_the_api_route_plus_the_optional_extra_ones(
    template: dict[str, Any],
) -> None:
    own_url = template["Outputs"]["CallbackUrl"]["Value"]["Fn::Sub"]
    assert own_url.endswith("/vod/callback")
    assert "${CallbackApi}" in own_url
    branches = [
        value["Fn::Sub"]
        for value in both_branches(variables_of(template, RECEIVER)["VOD_CALLBACK_URL"])
    ]
    assert branches == [f"{own_url},${{ExtraCallbackUrls}}", own_url]


def test_parameter_defaults_are_the_settings_defaults(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    assert parameters["ServiceName"]["Default"] == setting_default("service_name")
    assert parameters["MetricsNamespace"]["Default"] == setting_default("metrics_namespace")
    assert parameters["VodRegion"]["Default"] == setting_default("vod_region")
    assert parameters["IdempotencyTtlSeconds"]["Default"] == setting_default(
        "idempotency_ttl_seconds"
    )
    assert parameters["CallbackMaxSkewSeconds"]["Default"] == setting_default(
        "callback_max_skew_seconds"
    )
    assert parameters["VodCallsPerSecond"]["Default"] == setting_default("vod_calls_per_second")
    assert parameters["QueueMaximumConcurrency"]["Default"] == setting_default(
        "vod_concurrent_callers"
    )
    # The whole account may make about 10 DeleteMultipartUpload calls per second.
    assert parameters["VodCallsPerSecond"]["MaxValue"] <= 10


# --- least privilege ---------------------------------------------------------------------


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_function_has_its_own_role_with_inline_policies_only(
    template: dict[str, Any], name: str
) -> None:
    # With `Policies` (or no `Role`) SAM would generate a role and attach AWS managed
    # policies (SQS polling, X-Ray) whose Resource is "*".
    assert "Policies" not in function(template, name)
    role = function_role(template, name)
    assert role["Type"] == "AWS::IAM::Role"
    assert "ManagedPolicyArns" not in role["Properties"]
    assert resources_of_type(template, "AWS::IAM::ManagedPolicy") == {}
    assert resources_of_type(template, "AWS::IAM::Policy") == {}
    assume = statements(role["Properties"]["AssumeRolePolicyDocument"])
    assert [statement["Principal"] for statement in assume] == [{"Service": "lambda.amazonaws.com"}]
    other = function_role(template, CONSUMER if name == RECEIVER else RECEIVER)
    assert role is not other


def test_no_statement_allows_a_wildcard_action(template: dict[str, Any]) -> None:
    checked = 0
    for where, document in policy_documents(template):
        for statement in statements(document):
            # A Deny only narrows who may write a believed channel (UploaderPrincipalArns).
            narrowing = statement["Effect"] == "Deny" and statement["Sid"].startswith("Only")
            assert statement["Effect"] == "Allow" or narrowing, where
            assert "NotAction" not in statement, where
            assert "NotResource" not in statement, where
            for action in as_list(statement["Action"]):
                assert "*" not in action, f"{where}: {action}"
                assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z]+", action), f"{where}: {action}"
            checked += 1
    assert checked >= 10


def test_every_statement_names_its_resource_except_xray_alone(template: dict[str, Any]) -> None:
    unscoped = []
    for where, document in policy_documents(template):
        for statement in statements(document):
            resources = as_list(statement["Resource"])
            if "*" in resources:
                unscoped.append((where, statement, len(statements(document))))
            assert not any("*" in r for r in resources if isinstance(r, str) and r != "*")
    assert len(unscoped) == len(FUNCTIONS), unscoped  # one per role, only with tracing on
    for _, statement, statements_in_its_policy in unscoped:
        assert statement["Resource"] == "*"
        assert set(as_list(statement["Action"])) == XRAY_ACTIONS
        assert statements_in_its_policy == 1, "the X-Ray exception stays alone in its policy"
    for name in FUNCTIONS:
        [xray] = [
            listed
            for listed in function_role(template, name)["Properties"]["Policies"]
            if "Fn::If" in listed
        ]
        assert xray["Fn::If"][0] == "TracingIsActive"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_role_reaches_only_what_this_stack_owns_or_is_given(
    template: dict[str, Any], name: str
) -> None:
    given = {
        "VodCredentialsSecretArn",
        "CallbackAuthKeySecretArn",
        "RelayCallbackAuthKeySecretArn",
        "SecretsKmsKeyArn",
    }
    for statement in role_statements(template, name):
        for listed in as_list(statement["Resource"]):
            for resource in both_branches(listed):
                check_reach(template, statement, resource, given)


def check_reach(
    template: dict[str, Any], statement: dict[str, Any], resource: Any, given: set[str]
) -> None:
    """A resource the stack owns (Fn::GetAtt), or one given to it as a parameter (Ref)."""
    if resource != "*":
        assert isinstance(resource, dict), f"{statement['Sid']}: a literal ARN {resource}"
        if "Ref" in resource:
            assert resource["Ref"] in given, statement["Sid"]
        else:
            owned = resource["Fn::GetAtt"][0]
            assert owned in template["Resources"], statement["Sid"]


def test_each_function_may_read_only_its_own_secret(template: dict[str, Any]) -> None:
    assert allowed(template, RECEIVER, "secretsmanager:GetSecretValue") == [
        ref("CallbackAuthKeySecretArn")
    ]
    assert allowed(template, CONSUMER, "secretsmanager:GetSecretValue") == [
        ref("VodCredentialsSecretArn")
    ]
    for name in FUNCTIONS:
        kms = [s for s in role_statements(template, name) if "kms:Decrypt" in as_list(s["Action"])]
        assert [s["Resource"] for s in kms] == [ref("SecretsKmsKeyArn")]
        assert "kms:ViaService" in kms[0]["Condition"]["StringEquals"]


def test_the_receiver_may_only_send_to_its_two_queues(template: dict[str, Any]) -> None:
    actions = actions_of(template, RECEIVER)
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "secretsmanager:GetSecretValue",
        "kms:Decrypt",
        "sqs:SendMessage",
        *XRAY_ACTIONS,
    }
    assert allowed(template, RECEIVER, "sqs:SendMessage") == [
        arn_of("WorkQueue"),
        arn_of("RelayQueue"),  # relay mode only
    ]
    [relay_statement] = [
        listed
        for policy in role_policies(function_role(template, RECEIVER))
        for listed in as_list(policy["PolicyDocument"]["Statement"])
        if "Fn::If" in listed and listed["Fn::If"][0] == "HasRelay"
    ]
    assert relay_statement["Fn::If"][1]["Resource"] == arn_of("RelayQueue")


def test_the_relay_may_only_read_its_queue_read_its_key_and_write_its_logs(
    template: dict[str, Any],
) -> None:
    actions = actions_of(template, RELAY)
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "secretsmanager:GetSecretValue",
        "kms:Decrypt",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",  # a failed delivery's next try, on its own queue
        *XRAY_ACTIONS,
    }
    for action in ("sqs:ReceiveMessage", "sqs:ChangeMessageVisibility"):
        assert allowed(template, RELAY, action) == [arn_of("RelayQueue")]
    [key] = allowed(template, RELAY, "secretsmanager:GetSecretValue")
    assert key == {
        "Fn::If": [
            "HasRelayKeySecret",
            ref("RelayCallbackAuthKeySecretArn"),
            ref("CallbackAuthKeySecretArn"),
        ]
    }
    assert variables_of(template, RELAY)["RELAY_CALLBACK_AUTH_KEY_SECRET_ID"] == key
    for resource in ("RelayFunction", "RelayFunctionRole", "RelayQueue", "RelayDeadLetterQueue"):
        assert template["Resources"][resource]["Condition"] == "HasRelay"


def test_the_relay_queue_gives_up_when_the_retry_schedule_reaches_its_horizon(
    template: dict[str, Any],
) -> None:
    """One fact: the mapping's maxReceiveCount is what the relay's schedule computes."""
    hours = template["Parameters"]["RelayRetryHours"]
    assert hours["Default"] == setting_default("relay_retry_hours")
    mapping = template["Mappings"]["RelayRetries"]
    assert {int(key) for key in mapping} == set(hours["AllowedValues"])
    for key, row in mapping.items():
        assert row["MaxReceiveCount"] == receives_for(int(key)) <= 1000
    queue = template["Resources"]["RelayQueue"]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": arn_of("RelayDeadLetterQueue"),
        "maxReceiveCount": {
            "Fn::FindInMap": ["RelayRetries", ref("RelayRetryHours"), "MaxReceiveCount"]
        },
    }
    relay = function(template, RELAY)
    [event] = relay["Events"].values()
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # Every record of a batch gets its whole bounded attempt before the timeout.
    batch = event["Properties"]["BatchSize"]
    assert batch * SECONDS_TO_START_A_DELIVERY < relay["Timeout"]
    assert queue["VisibilityTimeout"] >= 6 * relay["Timeout"]
    assert event["Properties"]["ScalingConfig"]["MaximumConcurrency"] == ref(
        "RelayMaximumConcurrency"
    )
    assert variables_of(template, RECEIVER)["RELAY_QUEUE_URL"] == {
        "Fn::If": ["HasRelay", ref("RelayQueue"), ""]
    }


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


def test_only_the_consumer_uses_the_table_with_exactly_the_idempotency_actions(
    template: dict[str, Any],
) -> None:
    def table_actions(name: str) -> set[str]:
        return {action for action in actions_of(template, name) if action.startswith("dynamodb:")}

    assert table_actions(RECEIVER) == set()
    assert table_actions(CONSUMER) == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }
    for action in table_actions(CONSUMER):
        assert allowed(template, CONSUMER, action) == [arn_of("IdempotencyTable")]


# --- triggers ----------------------------------------------------------------------------


def test_the_work_queue_feeds_the_consumer_and_reports_batch_item_failures(
    template: dict[str, Any],
) -> None:
    assert "Events" not in function(template, RECEIVER)
    events = function(template, CONSUMER)["Events"]
    sqs = [event["Properties"] for event in events.values() if event["Type"] == "SQS"]
    assert len(sqs) == 1
    trigger = sqs[0]
    assert trigger["Queue"] == arn_of("WorkQueue")
    assert trigger["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # A batch's claims are confirmed with one GetVideoInfos call.
    assert 1 <= trigger["BatchSize"] <= min(10, VIDEO_INFOS_BATCH)
    # The event source mapping polls with the function's role.
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        assert allowed(template, CONSUMER, action) == [arn_of("WorkQueue")]
        assert allowed(template, RECEIVER, action) == []


def test_the_consumers_concurrency_is_the_number_of_callers_sharing_the_budget(
    template: dict[str, Any],
) -> None:
    (trigger,) = [e["Properties"] for e in function(template, CONSUMER)["Events"].values()]
    assert trigger["ScalingConfig"]["MaximumConcurrency"] == ref("QueueMaximumConcurrency")
    assert variables_of(template, CONSUMER)["VOD_CONCURRENT_CALLERS"] == ref(
        "QueueMaximumConcurrency"
    )
    parameter = template["Parameters"]["QueueMaximumConcurrency"]
    # 2 is the lowest value SQS event sources accept.
    assert parameter["Default"] == parameter["MinValue"] == 2


def test_failed_work_queue_messages_end_in_the_dead_letter_queue(
    template: dict[str, Any],
) -> None:
    queue = template["Resources"]["WorkQueue"]["Properties"]
    dead_letters = template["Resources"]["DeadLetterQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == arn_of("DeadLetterQueue")
    # The consumer gives a record up itself (final at once, else after CleanupRetryHours):
    # the redrive policy is the safety net for crashed invocations, above every schedule.
    hours = template["Parameters"]["CleanupRetryHours"]
    assert hours["Default"] == setting_default("cleanup_retry_hours")
    safety_net = queue["RedrivePolicy"]["maxReceiveCount"]
    assert safety_net == SAFETY_NET_RECEIVES
    for kind in (None, ErrorKind.THROTTLED):
        assert receives_for_cleanup(hours["MaxValue"], kind) < safety_net
    assert variables_of(template, CONSUMER)["DEAD_LETTER_QUEUE_URL"] == ref("DeadLetterQueue")
    assert allowed(template, CONSUMER, "sqs:ChangeMessageVisibility") == [arn_of("WorkQueue")]
    # A dead letter keeps its first enqueue time: the DLQ must keep messages longer.
    assert dead_letters["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    assert queue["VisibilityTimeout"] >= 6 * function(template, CONSUMER)["Timeout"]


def test_vods_http_callback_reaches_the_receiver_on_post_vod_callback(
    template: dict[str, Any],
) -> None:
    (route,) = resources_of_type(template, "AWS::ApiGatewayV2::Route").values()
    assert route["Properties"]["RouteKey"] == "POST /vod/callback"
    integration_name = route["Properties"]["Target"]["Fn::Sub"].removeprefix("integrations/${")
    integration = template["Resources"][integration_name.removesuffix("}")]["Properties"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    assert integration["IntegrationUri"] == arn_of(RECEIVER)
    (api,) = resources_of_type(template, "AWS::ApiGatewayV2::Api").values()
    assert api["Properties"]["ProtocolType"] == "HTTP"
    permissions = invoke_permissions(template, "apigateway.amazonaws.com")
    assert [(p["FunctionName"], p["SourceArn"]["Fn::Sub"]) for p in permissions] == [
        (
            arn_of(RECEIVER),
            "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
            "${CallbackApi}/*/POST/vod/callback",
        )
    ]


def test_the_eventbridge_rule_sends_the_sample_events_only_to_the_work_queue(
    template: dict[str, Any],
) -> None:
    (rule,) = resources_of_type(template, "AWS::Events::Rule").values()
    properties = rule["Properties"]
    assert properties["EventBusName"] == ref("UploadEventBus")  # the stack's own bus
    for sample in EVENTS.glob("eventbridge-*.json"):
        event = json.loads(sample.read_text(encoding="utf-8"))
        assert event["source"] in properties["EventPattern"]["source"], sample.name
        assert event["detail-type"] in properties["EventPattern"]["detail-type"], sample.name
    # The smoke test's uploader event is one the rule would take.
    assert smoke.UPLOAD_EVENT_SOURCE in properties["EventPattern"]["source"]
    assert smoke.UPLOAD_EVENT_DETAIL_TYPE in properties["EventPattern"]["detail-type"]
    (target,) = properties["Targets"]
    assert target["Arn"] == arn_of("WorkQueue")
    assert target["DeadLetterConfig"]["Arn"] == arn_of("FailedEventsQueue")
    assert invoke_permissions(template, "events.amazonaws.com") == []
    for queue in ("WorkQueue", "FailedEventsQueue"):
        [policy] = [
            p["Properties"]
            for p in resources_of_type(template, "AWS::SQS::QueuePolicy").values()
            if p["Properties"]["Queues"] == [ref(queue)]
        ]
        statement, *deny = statements(policy["PolicyDocument"])
        assert [d["Effect"] for d in deny] == (["Deny"] if queue == "WorkQueue" else [])
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Resource"] == arn_of(queue)
        assert statement["Condition"] == {
            "ArnEquals": {"aws:SourceArn": arn_of("UploadEventsRule")}
        }


def test_with_uploader_principals_only_they_the_stack_and_the_rule_may_write(
    template: dict[str, Any],
) -> None:
    """The uploader channels are believed, so who may write them is narrowed: the bus's and
    the work queue's policies deny everyone else once UploaderPrincipalArns is given."""
    parameter = template["Parameters"]["UploaderPrincipalArns"]
    assert (parameter["Type"], parameter["Default"]) == ("CommaDelimitedList", "")
    assert template["Conditions"]["HasUploaderPrincipals"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", ref("UploaderPrincipalArns")]}, ""]}]
    }
    bus = template["Resources"]["UploadEventBus"]["Properties"]
    condition, policy, otherwise = bus["Policy"]["Fn::If"]
    assert (condition, otherwise) == ("HasUploaderPrincipals", ref("AWS::NoValue"))
    [deny] = policy["Statement"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "events:PutEvents")
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": ref("UploaderPrincipalArns")}}
    [queue_policy] = [
        p["Properties"]
        for p in resources_of_type(template, "AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [ref("WorkQueue")]
    ]
    [listed] = [s for s in as_list(queue_policy["PolicyDocument"]["Statement"]) if "Fn::If" in s]
    condition, deny, otherwise = listed["Fn::If"]
    assert (condition, otherwise) == ("HasUploaderPrincipals", ref("AWS::NoValue"))
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "sqs:SendMessage")
    not_equals = deny["Condition"]["ArnNotEquals"]
    assert not_equals["aws:SourceArn"] == arn_of("UploadEventsRule")
    allowed_writers = not_equals["aws:PrincipalArn"]["Fn::Split"][1]["Fn::Join"][1]
    assert allowed_writers == [
        {"Fn::Join": [",", ref("UploaderPrincipalArns")]},
        arn_of("CallbackFunctionRole"),
        arn_of("CleanupFunctionRole"),
    ]


def test_failed_asynchronous_invocations_go_to_a_destination(template: dict[str, Any]) -> None:
    config = function(template, CONSUMER)["EventInvokeConfig"]
    assert config["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": arn_of("FailedEventsQueue"),
    }
    assert allowed(template, CONSUMER, "sqs:SendMessage").count(arn_of("FailedEventsQueue")) == 1


def test_the_consumer_may_send_only_to_its_own_queues(template: dict[str, Any]) -> None:
    """The failed-events destination, the work queue the sweep hands its findings to, and the
    dead-letter queue a record given up goes to."""
    assert sorted(
        resource["Fn::GetAtt"][0] for resource in allowed(template, CONSUMER, "sqs:SendMessage")
    ) == ["DeadLetterQueue", "FailedEventsQueue", "WorkQueue"]
    assert variables_of(template, CONSUMER)["WORK_QUEUE_URL"] == ref("WorkQueue")


def test_a_schedule_invokes_the_sweep_and_may_do_nothing_else(template: dict[str, Any]) -> None:
    (schedule,) = resources_of_type(template, "AWS::Scheduler::Schedule").values()
    properties = schedule["Properties"]
    assert properties["ScheduleExpression"] == ref("SweepRate")
    assert template["Parameters"]["SweepRate"]["Default"] == "rate(1 hour)"
    target = properties["Target"]
    assert target["Arn"] == arn_of(CONSUMER)
    assert json.loads(target["Input"]) == {"Sweep": {}}
    role = template["Resources"][target["RoleArn"]["Fn::GetAtt"][0]]
    [assume] = statements(role["Properties"]["AssumeRolePolicyDocument"])
    assert assume["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert assume["Condition"] == {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}}
    [statement] = [
        statement
        for policy in role_policies(role)
        for statement in statements(policy["PolicyDocument"])
    ]
    assert (statement["Action"], statement["Resource"]) == (
        "lambda:InvokeFunction",
        arn_of(CONSUMER),
    )
    assert variables_of(template, CONSUMER)["SWEEP_MIN_AGE_MINUTES"] == ref("SweepMinAgeMinutes")
    assert template["Parameters"]["SweepMinAgeMinutes"]["Default"] == setting_default(
        "sweep_min_age_minutes"
    )
    assert template["Parameters"]["SweepMinAgeMinutes"]["MinValue"] == 60


def invoke_permissions(template: dict[str, Any], principal: str) -> list[dict[str, Any]]:
    permissions = [
        p["Properties"]
        for p in resources_of_type(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == principal
    ]
    for permission in permissions:
        assert permission["Action"] == "lambda:InvokeFunction"
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


def alarm_metric(alarm: dict[str, Any]) -> tuple[str, str]:
    """(namespace, metric) an alarm watches; a metric-math alarm by its first metric."""
    if "Metrics" in alarm:
        metric = alarm["Metrics"][0]["MetricStat"]["Metric"]
        return metric["Namespace"], metric["MetricName"]
    namespace = alarm["Namespace"] if isinstance(alarm["Namespace"], str) else "custom"
    return namespace, alarm["MetricName"]


def test_alarms_watch_what_needs_a_person_not_each_failed_try(template: dict[str, Any]) -> None:
    """Dead letters, stuck queues, errors and throttles of every function, and the callback
    route's refusals, failures and 429s; not each cleanup that failed for now (it is tried
    again for CleanupRetryHours)."""
    watched = {alarm_metric(alarm) for alarm in alarms(template)}
    assert {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/ApiGateway", "4xx"),
        ("AWS/ApiGateway", "5xx"),
        ("custom", "CallbackThrottled"),
    } <= watched
    assert ("custom", "CleanupFailed") not in watched
    by_function = {
        alarm_metric(alarm)[1]: set()
        for alarm in alarms(template)
        if alarm_metric(alarm)[0] == "AWS/Lambda"
    }
    for alarm in alarms(template):
        if alarm_metric(alarm)[0] == "AWS/Lambda":
            by_function[alarm["MetricName"]].add(alarm["Dimensions"][0]["Value"]["Ref"])
    assert by_function["Errors"] == set(FUNCTIONS)
    assert by_function["Throttles"] == {RECEIVER, CONSUMER}
    dead_letter_queues = {
        alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for alarm in alarms(template)
        if alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible"
    }
    assert dead_letter_queues == {"DeadLetterQueue", "FailedEventsQueue", "RelayDeadLetterQueue"}
    stuck = {
        alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0]: alarm["Threshold"]
        for alarm in alarms(template)
        if alarm.get("MetricName") == "ApproximateAgeOfOldestMessage"
    }
    assert stuck == {"WorkQueue": 3600, "RelayQueue": 15 * 60}
    notify = [{"Fn::If": ["HasAlarmTopic", ref("AlarmTopicArn"), ref("AlarmTopic")]}]
    for alarm in alarms(template):
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["AlarmActions"] == alarm["OKActions"] == notify


def test_someone_is_told_by_default(template: dict[str, Any]) -> None:
    """The stack makes its own alarm topic unless given one, and subscribes AlarmEmail."""
    resources = template["Resources"]
    assert resources["AlarmTopic"]["Condition"] == "CreatesAlarmTopic"
    subscription = resources["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"] == {
        "TopicArn": ref("AlarmTopic"),
        "Protocol": "email",
        "Endpoint": ref("AlarmEmail"),
    }
    assert template["Conditions"]["CreatesAlarmTopic"] == {"Fn::Equals": [ref("AlarmTopicArn"), ""]}
    assert template["Outputs"]["AlarmTopicArn"]["Value"] == {
        "Fn::If": ["HasAlarmTopic", ref("AlarmTopicArn"), ref("AlarmTopic")]
    }


def test_the_callback_route_is_protected(template: dict[str, Any]) -> None:
    """Its own reserved concurrency; its throttle a parameter; its 429s counted from the
    access log (API Gateway answers them without invoking the function)."""
    receiver = function(template, RECEIVER)
    assert receiver["ReservedConcurrentExecutions"] == {
        "Fn::If": [
            "ReservesCallbackConcurrency",
            ref("CallbackReservedConcurrency"),
            ref("AWS::NoValue"),
        ]
    }
    assert template["Parameters"]["CallbackReservedConcurrency"]["Default"] > 0
    assert template["Conditions"]["ReservesCallbackConcurrency"] == {
        "Fn::Not": [{"Fn::Equals": [ref("CallbackReservedConcurrency"), "0"]}]
    }
    (stage,) = resources_of_type(template, "AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]["DefaultRouteSettings"]
    assert settings["ThrottlingRateLimit"] == ref("CallbackRateLimit")
    assert settings["ThrottlingBurstLimit"] == ref("CallbackBurstLimit")
    (metric_filter,) = resources_of_type(template, "AWS::Logs::MetricFilter").values()
    properties = metric_filter["Properties"]
    assert properties["LogGroupName"] == ref("CallbackAccessLogGroup")
    assert properties["FilterPattern"] == '{ $.status = "429" }'
    [transformation] = properties["MetricTransformations"]
    assert transformation["MetricName"] == MetricName.CALLBACK_THROTTLED
    access_log = stage["Properties"]["AccessLogSettings"]["Format"]
    assert '"status":"$context.status"' in access_log.replace(" ", "")


def test_alarms_on_the_functions_metrics_use_names_it_emits(template: dict[str, Any]) -> None:
    own = [alarm for alarm in alarms(template) if alarm.get("Namespace") == ref("MetricsNamespace")]
    assert own
    for alarm in own:
        assert alarm["MetricName"] in {name.value for name in MetricName}
        assert alarm["Statistic"] == "Sum"
        if alarm["MetricName"] == MetricName.CALLBACK_THROTTLED:
            assert "Dimensions" not in alarm  # from the access log's metric filter
        else:
            # The dimension set with only `service` sums every Outcome and ErrorKind.
            assert alarm["Dimensions"] == [{"Name": "service", "Value": ref("ServiceName")}]


def dashboard_body(template: dict[str, Any], *, relay: bool = True) -> str:
    """The dashboard's text, with or without the relay's row (its ${...} left as they are)."""
    separator, parts = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Join"]
    texts = []
    for part in parts:
        chosen = part
        if isinstance(part, dict) and "Fn::If" in part:
            condition, when, otherwise = part["Fn::If"]
            assert condition == "HasRelay"
            chosen = when if relay else otherwise
        texts.append(chosen["Fn::Sub"] if isinstance(chosen, dict) else chosen)
    return str(separator).join(texts)


def dashboard_metrics(template: dict[str, Any], *, relay: bool = True) -> list[list[Any]]:
    """The metric rows of the dashboard, its ${...} substitutions left as they are."""
    body = dashboard_body(template, relay=relay)
    filled = re.sub(r"\$\{VodCallsPerSecond\}", "8", body)
    document = json.loads(filled)
    return [
        row
        for widget in document["widgets"]
        for row in widget["properties"]["metrics"]
        if isinstance(row[0], str)
    ]


def test_the_dashboard_shows_the_flow_with_the_functions_own_metric_names(
    template: dict[str, Any],
) -> None:
    rows = dashboard_metrics(template)
    own = [row for row in rows if row[0] == "${MetricsNamespace}"]
    names = {row[1] for row in own}
    assert names <= {name.value for name in MetricName}
    assert {"VodLatency", "VodThrottled", "CleanupDeferred", "CallbackQueued"} <= names
    assert {"SweepCandidates", "SweepQueued", "SweepTooYoung", "SweepListCalls"} <= names
    # The call rate per operation: VodLatency has a dimension set of service and Operation.
    latency = own[[row[1] for row in own].index("VodLatency")]
    assert latency[2:6] == ["service", "${ServiceName}", "Operation", "DeleteMultipartUpload"]
    queues = {row[3] for row in rows if row[0] == "AWS/SQS"}
    assert queues == {
        "${WorkQueue.QueueName}",
        "${DeadLetterQueue.QueueName}",
        "${FailedEventsQueue.QueueName}",
        "${RelayQueue.QueueName}",
        "${RelayDeadLetterQueue.QueueName}",
    }
    assert {"RelayDelivered", "RelayRetried", "RelayDeadLettered", "RelayLatency"} <= names
    # With the relay off, the page holds nothing of it (and still parses).
    without_relay = dashboard_metrics(template, relay=False)
    assert not any("Relay" in str(row) for row in without_relay)
    assert {row[1] for row in rows if row[0] == "AWS/SQS"} >= {
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
    }
    assert '"value": ${VodCallsPerSecond}' in dashboard_body(
        template
    )  # the budget line is the parameter


def test_outputs_tell_where_to_send_events_and_what_to_watch(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert outputs["WorkQueueUrl"]["Value"] == ref("WorkQueue")
    assert outputs["WorkQueueArn"]["Value"] == arn_of("WorkQueue")
    assert outputs["DeadLetterQueueUrl"]["Value"] == ref("DeadLetterQueue")
    assert outputs["DeadLetterQueueArn"]["Value"] == arn_of("DeadLetterQueue")
    assert outputs["IdempotencyTableName"]["Value"] == ref("IdempotencyTable")
    assert outputs["CallbackUrl"]["Value"]["Fn::Sub"].startswith("https://${CallbackApi}.")
    assert outputs["FunctionName"]["Value"] == ref(CONSUMER)
    assert outputs["CallbackFunctionName"]["Value"] == ref(RECEIVER)
    assert "#dashboards:name=${Dashboard}" in outputs["DashboardUrl"]["Value"]["Fn::Sub"]


def test_the_alibaba_ram_policy_allows_exactly_the_operations_the_function_calls() -> None:
    policy = json.loads((ROOT / "deploy" / "alibaba-ram-policy.json").read_text(encoding="utf-8"))
    assert policy["Version"] == "1"
    # VOD has no resource-level permissions: "*" is the only Resource it accepts.
    [statement] = policy["Statement"]
    assert (statement["Effect"], statement["Resource"]) == ("Allow", ["*"])
    called = {f"vod:{operation.action}" for operation in VOD_OPERATIONS}
    assert sorted(statement["Action"]) == sorted(called)
    assert called == {
        "vod:DeleteMultipartUpload",
        "vod:GetVideoInfo",
        "vod:GetVideoInfos",
        "vod:GetVideoList",
        "vod:GetUploadDetails",
    }
