"""What a reviewer checks in template.yaml, as tests: every function has its trigger, IAM is
scoped to each function's own parameters, prefixes and queues, the queue outlives retries, and
`make params` writes every parameter the stack reads.

cfn-lint and checkov run in `make lint`; these are the project's own rules on top.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
import unittest
from pathlib import Path

from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import params  # noqa: E402


def load_template() -> dict:
    template, matches = decode_str((ROOT / "template.yaml").read_text())
    assert not matches, matches
    return template


# Values for the parameters without a default, as a deployment would give them.
REQUIRED_PARAMETERS = {
    "OracleSubnetIds": ["subnet-0123456789abcdef0"],
    "OracleSecurityGroupIds": ["sg-0123456789abcdef0"],
    "RestateAssumeRolePrincipal": "arn:aws:iam::123456789012:role/restate",
    "PgHost": "reporting.example.internal",
    "OracleConnectString": "genius.example.internal:1521/GENIUS",
}
POOL_ARN = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_example"


def render(template: dict, parameters: dict) -> dict:
    """The CloudFormation that a deployment with `parameters` creates: SAM's own translator
    (the `AWS::Serverless` transform), then every condition and `Fn::If` resolved the way
    CloudFormation resolves them, resources whose condition is false removed."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:  # the template names no managed policies, so nothing is looked up
        def load(self):
            return {}

    packaged = copy.deepcopy(template)
    for resource in packaged["Resources"].values():
        for key in ("CodeUri", "ContentUri"):
            if key in resource.get("Properties", {}):  # as `sam package` leaves them
                resource["Properties"][key] = "s3://artifacts/code.zip"
    values = {name: p.get("Default") for name, p in template["Parameters"].items()}
    values.update(REQUIRED_PARAMETERS)
    values.update(parameters)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    translated = transform(packaged, {k: v for k, v in values.items() if v is not None},
                           NoManagedPolicies())
    return resolve_conditions(translated, values)


def resolve_conditions(template: dict, values: dict) -> dict:
    conditions: dict[str, bool] = {}

    def truth(expression) -> bool:
        if isinstance(expression, dict):
            (function, argument), = expression.items()
            if function == "Condition":
                return condition(argument)
            if function == "Fn::Equals":
                left, right = (value(a) for a in argument)
                return left == right
            if function == "Fn::Not":
                return not truth(argument[0])
            if function == "Fn::And":
                return all(truth(a) for a in argument)
            if function == "Fn::Or":
                return any(truth(a) for a in argument)
        raise AssertionError(f"unsupported condition {expression!r}")

    def value(expression):
        if isinstance(expression, dict) and set(expression) == {"Ref"}:
            return values.get(expression["Ref"], expression)
        return expression

    def condition(name: str) -> bool:
        if name not in conditions:
            conditions[name] = truth(template["Conditions"][name])
        return conditions[name]

    no_value = object()

    def walk(node):
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, when_true, when_false = node["Fn::If"]
                return walk(when_true if condition(name) else when_false)
            if node == {"Ref": "AWS::NoValue"}:
                return no_value
            if set(node) == {"Ref"} and node["Ref"] in template.get("Parameters", {}):
                return values[node["Ref"]]
            out = {k: walk(v) for k, v in node.items()}
            return {k: v for k, v in out.items() if v is not no_value}
        if isinstance(node, list):
            return [v for v in (walk(item) for item in node) if v is not no_value]
        return node

    resolved = walk({k: v for k, v in template.items() if k != "Conditions"})
    resolved["Resources"] = {name: r for name, r in resolved["Resources"].items()
                             if "Condition" not in r or condition(r["Condition"])}
    resolved["Outputs"] = {name: o for name, o in resolved.get("Outputs", {}).items()
                           if "Condition" not in o or condition(o["Condition"])}
    return resolved


# AWS's documented rules, each with the page it comes from.
AWS_RULES = json.loads((ROOT / "tools/tests/data/aws-operational-rules.json").read_text())


def rule_holds(rule: dict, values: dict) -> bool:
    """Whether a template rule lets a deployment with `values` through: CloudFormation checks
    the assertions when the rule's condition holds ("CloudFormation template Rules syntax",
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html).
    Only the rule functions this template uses are evaluated."""

    def evaluate(expression):
        if isinstance(expression, dict):
            (function, argument), = expression.items()
            if function == "Ref":
                return values[argument]
            if function == "Fn::Equals":
                left, right = (evaluate(a) for a in argument)
                return str(left) == str(right)
            if function == "Fn::Not":
                return not evaluate(argument[0])
            if function == "Fn::And":
                return all(evaluate(a) for a in argument)
            if function == "Fn::Or":
                return any(evaluate(a) for a in argument)
            raise AssertionError(f"unsupported rule function {function}")
        return expression

    if "RuleCondition" in rule and not evaluate(rule["RuleCondition"]):
        return True
    return all(evaluate(assertion["Assert"]) for assertion in rule["Assertions"])


def resources_of_type(template: dict, kind: str) -> dict:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def sub_text(value) -> str | None:
    """The text of a `!Sub` string (or a plain string); None for other intrinsics."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        return value["Fn::Sub"]
    return None


def statements(template: dict, function: dict) -> list[dict]:
    """Every IAM statement of a function's inline policies, conditional ones included."""
    found = []
    for policy in function["Properties"].get("Policies", []):
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            if "Fn::If" in statement:
                found.extend(s for s in statement["Fn::If"][1:] if isinstance(s, dict) and "Effect" in s)
            else:
                found.append(statement)
    return found


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


class TemplateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.template = load_template()
        cls.functions = resources_of_type(cls.template, "AWS::Serverless::Function")

    def function(self, name: str) -> dict:
        return self.functions[name]["Properties"]

    def test_every_function_is_a_cargo_lambda_build_of_a_workspace_binary(self):
        globals_ = self.template["Globals"]["Function"]
        self.assertEqual(globals_["Runtime"], "provided.al2023")
        self.assertEqual(globals_["Architectures"], [{"Ref": "Architecture"}])
        self.assertEqual(self.template["Parameters"]["Architecture"]["Default"], "arm64")
        self.assertEqual(len(self.functions), 5)
        for name, function in self.functions.items():
            metadata = function["Metadata"]
            self.assertEqual(metadata["BuildMethod"], "rust-cargolambda", name)
            binary = metadata["BuildProperties"]["Binary"]
            self.assertTrue((ROOT / "functions" / binary / "Cargo.toml").is_file(), f"{name}: {binary}")
            self.assertEqual(function["Properties"]["CodeUri"], ".", f"{name} builds from the workspace root")

    def test_every_function_has_its_trigger(self):
        proxy_events = self.function("ProxyFunction")["Events"]
        routes = {(e["Properties"]["Path"], e["Properties"]["Method"]) for e in proxy_events.values()}
        self.assertEqual(routes, {("/api/v1/{proxy+}", "ANY"), ("/health", "GET"),
                                  ("/ingest/sensor-data", "POST")})
        api = self.template["Resources"]["ProxyApi"]["Properties"]["DefinitionBody"]
        for path, _ in routes:
            operations = api["paths"][path]
            for operation in operations.values():
                uri = sub_text(operation["x-amazon-apigateway-integration"]["uri"])
                self.assertIn("${ProxyFunction.Arn}", uri, path)

        sqs = self.function("SensorConsumerFunction")["Events"]["Readings"]
        self.assertEqual(sqs["Type"], "SQS")
        self.assertEqual(sqs["Properties"]["Queue"], {"Fn::GetAtt": ["ReadingsQueue", "Arn"]})
        self.assertEqual(sqs["Properties"]["FunctionResponseTypes"], ["ReportBatchItemFailures"])

        for name in ("RunColorsFunction", "FinanceClosingTriggerFunction"):
            events = self.function(name)["Events"]
            self.assertTrue(any(e["Type"] in ("Schedule", "ScheduleV2") for e in events.values()), name)

        closing = self.function("FinanceClosingFunction")
        self.assertIn("AutoPublishAlias", closing, "Restate must register a fixed version")
        invoker = self.template["Resources"]["RestateInvokerRole"]["Properties"]
        statement = invoker["Policies"][0]["PolicyDocument"]["Statement"][0]
        self.assertEqual(statement["Action"], "lambda:InvokeFunction")
        self.assertEqual(sub_text(statement["Resource"]), "${FinanceClosingFunction.Arn}:*")

    def test_every_api_method_requires_the_chosen_auth_in_both_modes(self):
        # API Gateway applies security per method: "For each method, create a security
        # requirement object to require an API key to invoke that method" (API Gateway
        # Developer Guide, "Require an API key on a method"), and a document-level `security`
        # is not supported on import (aws-apigateway-importer#204). So the test renders the
        # template as CloudFormation would deploy it, once per AuthMode, and reads each method.
        for mode, scheme, other in (("API_KEY", "api_key", "jwt"), ("JWT", "jwt", "api_key")):
            with self.subTest(AuthMode=mode):
                rendered = render(self.template, {"AuthMode": mode, "JwtUserPoolArn": POOL_ARN})
                apis = resources_of_type(rendered, "AWS::ApiGateway::RestApi")
                self.assertEqual(len(apis), 1)
                body = next(iter(apis.values()))["Properties"]["Body"]
                self.assertNotIn("security", body, "a root `security` is ignored by API Gateway")
                self.assertEqual(set(body["securityDefinitions"]), {scheme})
                operations = [(path, method, op) for path, methods in body["paths"].items()
                              for method, op in methods.items()]
                self.assertEqual(len(operations), 3)
                for path, method, operation in operations:
                    self.assertEqual(operation.get("security"), [{scheme: []}], f"{method} {path}")
                    self.assertNotIn(other, json.dumps(operation), f"{method} {path}")
                key_resources = {"AWS::ApiGateway::ApiKey", "AWS::ApiGateway::UsagePlan",
                                 "AWS::ApiGateway::UsagePlanKey"}
                present = {r["Type"] for r in rendered["Resources"].values()} & key_resources
                self.assertEqual(present, key_resources if mode == "API_KEY" else set())

    def test_the_cognito_authorizer_exists_only_in_jwt_mode_and_names_the_user_pool(self):
        api_key = json.dumps(render(self.template, {"AuthMode": "API_KEY"}))
        self.assertNotIn("cognito_user_pools", api_key,
                         "an authorizer with an empty provider list must never reach API Gateway")
        jwt = render(self.template, {"AuthMode": "JWT", "JwtUserPoolArn": POOL_ARN})
        body = next(iter(resources_of_type(jwt, "AWS::ApiGateway::RestApi").values()))
        authorizer = body["Properties"]["Body"]["securityDefinitions"]["jwt"]
        self.assertEqual(authorizer["x-amazon-apigateway-authorizer"]["providerARNs"], [POOL_ARN])
        rule = self.template["Rules"]["JwtModeNeedsAUserPool"]
        self.assertEqual(rule["RuleCondition"], {"Fn::Equals": [{"Ref": "AuthMode"}, "JWT"]})
        self.assertEqual(rule["Assertions"][0]["Assert"],
                         {"Fn::Not": [{"Fn::Equals": [{"Ref": "JwtUserPoolArn"}, ""]}]})

    def test_binary_bodies_pass_through_the_rest_api(self):
        body = self.template["Resources"]["ProxyApi"]["Properties"]["DefinitionBody"]
        self.assertEqual(body["x-amazon-apigateway-binary-media-types"], ["*/*"],
                         "binary bodies pass through the REST API only with this")

    def test_local_testing_variables_are_absent_from_a_deployed_stack(self):
        deployed = render(self.template, {})
        local = render(self.template, {"LocalAwsEndpoint": "http://127.0.0.1:5000"})
        for name, function in resources_of_type(deployed, "AWS::Lambda::Function").items():
            variables = function["Properties"]["Environment"]["Variables"]
            self.assertNotIn("AWS_ENDPOINT_URL", variables, name)
            self.assertNotIn("COLORS_CSV", variables, name)
            local_variables = local["Resources"][name]["Properties"]["Environment"]["Variables"]
            self.assertEqual(local_variables["AWS_ENDPOINT_URL"], "http://127.0.0.1:5000", name)

    def test_no_iam_statement_grants_a_wildcard_resource_or_action(self):
        roles = resources_of_type(self.template, "AWS::IAM::Role")
        documents = [s for f in self.functions.values() for s in statements(self.template, f)]
        for role in roles.values():
            for policy in role["Properties"].get("Policies", []):
                documents.extend(policy["PolicyDocument"]["Statement"])
        self.assertGreater(len(documents), 8)
        for statement in documents:
            if statement["Effect"] != "Allow":
                continue
            for resource in as_list(statement["Resource"]):
                self.assertNotEqual(resource, "*", statement)
                text = sub_text(resource)
                if text is not None:
                    self.assertNotRegex(text, r"^arn:[^/]*:\*$|:parameter/\*$", statement)
            for action in as_list(statement["Action"]):
                self.assertNotIn("*", action, statement)

    def test_each_function_reads_only_its_own_parameters_and_can_read_all_of_them(self):
        own_dir = {"ProxyFunction": "proxy", "SensorConsumerFunction": "sensor-consumer",
                   "RunColorsFunction": "run-colors", "FinanceClosingFunction": "finance-closing",
                   "FinanceClosingTriggerFunction": "finance-closing"}
        for name, directory in own_dir.items():
            granted = []
            for statement in statements(self.template, self.functions[name]):
                if any(a.startswith("ssm:") for a in as_list(statement["Action"])):
                    granted.extend(sub_text(r) for r in as_list(statement["Resource"]))
            self.assertTrue(granted, name)
            for arn in granted:
                self.assertIn(f"parameter${{SsmRoot}}/${{Stage}}/{directory}", arn, name)
            for variable, value in self.function(name)["Environment"]["Variables"].items():
                if not (variable.endswith("_PARAM") or variable.endswith("_PARAM_PREFIX")):
                    continue
                path = sub_text(value)
                self.assertTrue(
                    any(fnmatch_arn(arn, path) for arn in granted),
                    f"{name} cannot read its {variable} ({path}) with {granted}",
                )

    def test_writes_are_limited_to_each_functions_prefix_and_queues(self):
        consumer = statements(self.template, self.functions["SensorConsumerFunction"])
        puts = [s for s in consumer if "s3:PutObject" in as_list(s["Action"])]
        self.assertEqual([sub_text(s["Resource"]) for s in puts], ["${DataBucket.Arn}/${LakePrefix}/*"])
        colors = statements(self.template, self.functions["RunColorsFunction"])
        puts = [s for s in colors if "s3:PutObject" in as_list(s["Action"])]
        self.assertEqual([sub_text(s["Resource"]) for s in puts], ["${DataBucket.Arn}/${RunColorsPrefix}/*"])
        sends = [s for s in consumer if "sqs:SendMessage" in as_list(s["Action"])]
        self.assertEqual([s["Resource"] for s in sends], [{"Fn::GetAtt": ["AlertsQueue", "Arn"]}])

    def test_the_idempotency_table_has_the_powertools_layout_and_the_proxy_only_item_access(self):
        # Powertools' defaults: partition key `id`, TTL attribute `expiration`
        # (docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/#required-resources).
        table = self.template["Resources"]["IdempotencyTable"]["Properties"]
        self.assertEqual(table["KeySchema"], [{"AttributeName": "id", "KeyType": "HASH"}])
        self.assertEqual(table["AttributeDefinitions"], [{"AttributeName": "id", "AttributeType": "S"}])
        self.assertEqual(table["TimeToLiveSpecification"], {"AttributeName": "expiration", "Enabled": True})
        proxy = self.function("ProxyFunction")
        self.assertEqual(proxy["Environment"]["Variables"]["IDEMPOTENCY_TABLE"], {"Ref": "IdempotencyTable"})
        granted = [s for s in statements(self.template, self.functions["ProxyFunction"])
                   if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))]
        self.assertEqual(len(granted), 1)
        self.assertEqual(sorted(as_list(granted[0]["Action"])),
                         ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"])
        self.assertEqual(granted[0]["Resource"], {"Fn::GetAtt": ["IdempotencyTable", "Arn"]})
        for name, function in self.functions.items():
            if name != "ProxyFunction":
                self.assertFalse(any("dynamodb" in str(s["Action"]) for s in statements(self.template, function)), name)

    def test_the_glue_table_projects_exactly_the_consumers_partition_layout(self):
        table = self.template["Resources"]["ReadingsTable"]["Properties"]["TableInput"]
        parameters = table["Parameters"]
        keys = [k["Name"] for k in table["PartitionKeys"]]
        self.assertEqual(keys, ["sensor_type", "date", "hour"])
        self.assertEqual(parameters["projection.enabled"], "true")
        # Every sensor type the schema accepts (shared/src/sensor.rs) is a projected partition.
        sensor_rs = (ROOT / "shared/src/sensor.rs").read_text()
        types_line = re.search(r"SENSOR_TYPES: \[&str; \d+\] =\s*\[([^\]]*)\]", sensor_rs)
        self.assertIsNotNone(types_line)
        types = re.findall(r'"([a-z_]+)"', types_line.group(1))
        self.assertEqual(parameters["projection.sensor_type.values"].split(","), types)
        self.assertEqual(parameters["projection.date.format"], "yyyy-MM-dd")
        self.assertEqual((parameters["projection.hour.range"], parameters["projection.hour.digits"]), ("0,23", "2"))
        # The key layout of the consumer (spec: sensor-consumer.md, "Processing").
        template = sub_text(parameters["storage.location.template"])
        self.assertTrue(template.endswith("/${LakePrefix}/readings/sensor_type=${!sensor_type}/date=${!date}/hour=${!hour}/"),
                        template)
        self.assertEqual(table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"],
                         "org.openx.data.jsonserde.JsonSerDe")
        columns = {c["Name"] for c in table["StorageDescriptor"]["Columns"]}
        self.assertLessEqual({"sensorid", "sensortype", "timestamp", "values", "readingid", "messageid",
                              "receivedat"}, columns)

    def test_the_queue_outlives_six_consumer_timeouts_and_dead_letters_after_five(self):
        rule = AWS_RULES["sqs_event_source_queue"]  # services-sqs-configure.html
        queue = self.template["Resources"]["ReadingsQueue"]["Properties"]
        timeout = self.function("SensorConsumerFunction").get(
            "Timeout", self.template["Globals"]["Function"]["Timeout"])
        window = self.function("SensorConsumerFunction")["Events"]["Readings"]["Properties"][
            "MaximumBatchingWindowInSeconds"]
        self.assertGreaterEqual(queue["VisibilityTimeout"],
                                rule["visibility_timeout_multiple_of_function_timeout"] * timeout + window,
                                rule["url"])
        self.assertGreaterEqual(queue["RedrivePolicy"]["maxReceiveCount"], rule["minimum_max_receive_count"])
        self.assertEqual(queue["RedrivePolicy"]["maxReceiveCount"], 5)
        self.assertEqual(queue["RedrivePolicy"]["deadLetterTargetArn"],
                         {"Fn::GetAtt": ["ReadingsDeadLetterQueue", "Arn"]})
        alarm = self.template["Resources"]["ReadingsDeadLetterAlarm"]["Properties"]
        self.assertEqual(alarm["Dimensions"][0]["Value"],
                         {"Fn::GetAtt": ["ReadingsDeadLetterQueue", "QueueName"]})
        self.assertEqual((alarm["ComparisonOperator"], alarm["Threshold"]), ("GreaterThanThreshold", 0))

    def test_the_consumer_pollers_never_outrun_its_reserved_concurrency(self):
        # Lambda's SQS pollers do not see reserved concurrency: throttled receives go back to
        # the queue and count toward maxReceiveCount, so valid readings reach the DLQ under a
        # backlog. The event source's maximum concurrency stays within the reserved one.
        # The reserved pool is shared with the Unified API's direct invocations (spec:
        # sensor-consumer.md), so the defaults leave room above the pollers' maximum.
        rule = AWS_RULES["sqs_maximum_concurrency"]
        low, high = rule["range"]
        parameters = self.template["Parameters"]
        maximum_parameter = parameters["SensorConsumerMaximumConcurrency"]
        self.assertGreaterEqual(maximum_parameter["MinValue"], low, rule["range_url"])
        self.assertLessEqual(maximum_parameter["MaxValue"], high, rule["range_url"])
        self.assertGreater(parameters["SensorConsumerReservedConcurrency"]["MinValue"],
                           maximum_parameter["MinValue"])
        rendered = render(self.template, {})
        mappings = [m["Properties"] for m in
                    resources_of_type(rendered, "AWS::Lambda::EventSourceMapping").values()
                    if m["Properties"]["FunctionName"] == {"Ref": "SensorConsumerFunction"}]
        self.assertEqual(len(mappings), 1, "the consumer's one SQS event source")
        maximum = mappings[0]["ScalingConfig"]["MaximumConcurrency"]
        reserved = rendered["Resources"]["SensorConsumerFunction"]["Properties"][
            "ReservedConcurrentExecutions"]
        self.assertEqual((maximum, reserved), (maximum_parameter["Default"],
                                               parameters["SensorConsumerReservedConcurrency"]["Default"]))
        self.assertTrue(low <= maximum <= high, rule["range_url"])
        self.assertLess(maximum, reserved, f"{rule['url']}: {rule['rule']}")

    def async_functions(self) -> list[str]:
        """The functions a schedule invokes, which EventBridge Scheduler does asynchronously."""
        kinds = AWS_RULES["scheduler_invokes_asynchronously"]["event_types"]
        return sorted(name for name, function in self.functions.items()
                      if any(e["Type"] in kinds for e in function["Properties"].get("Events", {}).values()))

    def test_every_scheduled_function_bounds_lambdas_retries_and_keeps_what_failed(self):
        rule = AWS_RULES["asynchronous_invocation"]
        destinations = AWS_RULES["asynchronous_destinations"]
        self.assertEqual(self.async_functions(), ["FinanceClosingTriggerFunction", "RunColorsFunction"])
        rendered = render(self.template, {"RestateExternalId": "env-1"})
        configs = {c["Properties"]["FunctionName"]["Ref"]: c["Properties"] for c in
                   resources_of_type(rendered, "AWS::Lambda::EventInvokeConfig").values()}
        alarms = resources_of_type(rendered, "AWS::CloudWatch::Alarm").values()
        for name in self.async_functions():
            with self.subTest(function=name):
                self.assertIn(name, configs, f"{rule['url']}: {rule['rule']}")
                config = configs[name]
                self.assertEqual(config["Qualifier"], "$LATEST", "what the schedule invokes")
                retries, age = config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"]
                self.assertTrue(rule["retry_attempts_range"][0] <= retries <= rule["retry_attempts_range"][1],
                                rule["range_url"])
                self.assertTrue(rule["event_age_seconds_range"][0] <= age <= rule["event_age_seconds_range"][1],
                                rule["range_url"])
                self.assertLess(age, rule["default_event_age_seconds"], "not Lambda's six hours")
                destination = config["DestinationConfig"]["OnFailure"]["Destination"]
                self.assertEqual(set(destination), {"Fn::GetAtt"})
                queue_name = destination["Fn::GetAtt"][0]
                queue = rendered["Resources"][queue_name]
                self.assertEqual(queue["Type"], "AWS::SQS::Queue")
                self.assertFalse(queue["Properties"].get("FifoQueue", False), destinations["url"])
                # The role may send there, and an alarm watches the queue.
                role = rendered["Resources"][f"{name}Role"]["Properties"]
                sends = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]
                         if "sqs:SendMessage" in as_list(s["Action"])]
                self.assertIn({"Fn::GetAtt": [queue_name, "Arn"]}, [s["Resource"] for s in sends])
                watching = [a for a in alarms
                            if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
                            and a["Properties"]["Dimensions"][0]["Value"] == {"Fn::GetAtt": [queue_name, "QueueName"]}]
                self.assertEqual(len(watching), 1, f"an alarm on {queue_name}")
                self.assertEqual(watching[0]["Properties"]["Threshold"], 0)
                # What the schedule itself could not deliver lands in the same queue.
                schedules = [s["Properties"] for s in resources_of_type(rendered, "AWS::Scheduler::Schedule").values()
                             if s["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": [name, "Arn"]}]
                self.assertEqual(len(schedules), 1)
                self.assertEqual(schedules[0]["Target"]["DeadLetterConfig"]["Arn"],
                                 {"Fn::GetAtt": [queue_name, "Arn"]})
        # run-colors: a late run is superseded by the next one within a schedule period.
        period = self.template["Parameters"]["RunColorsSchedulePeriodSeconds"]["Default"]
        self.assertLessEqual(configs["RunColorsFunction"]["MaximumEventAgeInSeconds"], period)

    def test_each_schedule_sends_the_scheduled_time_its_function_reads(self):
        # Scheduler hands a Lambda target its Input alone, with context attributes filled in
        # ("Adding context attributes in EventBridge Scheduler"); without an Input the function
        # gets no time at all. Filled in, each Input is the sample event the tests and the demo
        # send that function.
        rule = AWS_RULES["scheduler_context_attributes"]
        samples = {"RunColorsFunction": "scheduler-run-colors.json",
                   "FinanceClosingTriggerFunction": "scheduler-finance-closing-daily.json"}
        for name in self.async_functions():
            with self.subTest(function=name):
                (schedule,) = [e["Properties"] for e in self.function(name)["Events"].values()
                               if e["Type"] == "ScheduleV2"]
                self.assertIn(rule["scheduled_time"], schedule["Input"], rule["url"])
                sample = json.loads((ROOT / "events" / samples[name]).read_text())
                (time,) = [v for v in sample.values() if isinstance(v, str)]
                filled = json.loads(schedule["Input"].replace(rule["scheduled_time"], time))
                self.assertEqual(filled, sample)

    def test_run_colors_sets_its_ephemeral_storage(self):
        # Its size against the largest run is measured in tools/run-colors-cli/tests/integration/staging.rs.
        rule = AWS_RULES["ephemeral_storage"]
        size = self.function("RunColorsFunction")["EphemeralStorage"]["Size"]
        self.assertTrue(rule["range_mb"][0] <= size <= rule["range_mb"][1], rule["url"])
        self.assertGreater(size, rule["default_mb"])

    def test_run_colors_can_read_the_pointer_it_replaces_conditionally(self):
        conditional = AWS_RULES["s3_conditional_writes"]
        missing = AWS_RULES["s3_missing_key_without_list"]
        colors = statements(self.template, self.functions["RunColorsFunction"])
        reads = [sub_text(s["Resource"]) for s in colors if "s3:GetObject" in as_list(s["Action"])]
        self.assertEqual(reads, ["${DataBucket.Arn}/${RunColorsPrefix}/latest.json"], conditional["url"])
        # No listing: a missing pointer then reads as 403, and publish/pointer.rs writes the first one
        # with If-None-Match: * (tested there with a store whose reads are denied).
        lists = [s for s in colors if "s3:ListBucket" in as_list(s["Action"])]
        self.assertEqual(lists, [], missing["url"])

    def test_a_restate_principal_outside_the_account_must_present_an_external_id(self):
        rule = AWS_RULES["external_id"]
        template_rule = self.template["Rules"]["OutsideRestateNeedsAnExternalId"]
        defaults = {name: p.get("Default") for name, p in self.template["Parameters"].items()}
        cases = [
            ({}, False),  # Restate Cloud, no external id: refused before anything is created
            ({"RestateExternalId": "env_01h"}, True),
            ({"RestatePrincipalInThisAccount": "true"}, True),
            ({"RestatePrincipalInThisAccount": "true", "RestateExternalId": "env_01h"}, True),
        ]
        pattern = self.template["Parameters"]["RestateExternalId"]["AllowedPattern"]
        sts_pattern = AWS_RULES["external_id"]["sts_pattern"]
        for candidate in ("env_01h", "env-1", "a+b=c,d.e@f:g/h", "", "a b", "x"):
            # CloudFormation checks AllowedPattern before any rule: every id STS takes passes.
            self.assertEqual(bool(re.fullmatch(pattern, candidate)),
                             candidate == "" or bool(re.fullmatch(sts_pattern, candidate)), candidate)
        for overrides, allowed in cases:
            with self.subTest(**overrides):
                values = {**defaults, **REQUIRED_PARAMETERS, **overrides}
                for name, value in overrides.items():
                    self.assertTrue(re.fullmatch(self.template["Parameters"][name].get("AllowedPattern", ".*"),
                                                 value), f"{name}={value!r} fails its AllowedPattern")
                self.assertEqual(rule_holds(template_rule, values), allowed, f"{rule['url']}: {rule['rule']}")
                if not allowed:
                    continue
                role = render(self.template, overrides)["Resources"]["RestateInvokerRole"]["Properties"]
                (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
                condition = trust["Condition"]["StringEquals"]
                if overrides.get("RestateExternalId"):
                    self.assertEqual(condition, {"sts:ExternalId": overrides["RestateExternalId"]})
                else:
                    # No external id: only a principal of this account can assume the role.
                    self.assertEqual(condition, {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}})

    def test_oracle_functions_have_the_layer_and_the_vpc(self):
        for name in ("RunColorsFunction", "FinanceClosingFunction"):
            function = self.function(name)
            self.assertEqual(function["Layers"], [{"Ref": "OracleInstantClientLayer"}], name)
            self.assertEqual(function["VpcConfig"]["SubnetIds"], {"Ref": "OracleSubnetIds"}, name)
        layer = self.template["Resources"]["OracleInstantClientLayer"]
        self.assertEqual(layer["Properties"]["CompatibleArchitectures"], [{"Ref": "Architecture"}])
        self.assertTrue((ROOT / layer["Properties"]["ContentUri"] / "Makefile").is_file())

    def test_the_closing_reaches_postgresql_over_verified_tls_by_default(self):
        # RDS for PostgreSQL 15+ refuses unencrypted connections (rds.force_ssl,
        # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/PostgreSQL.Concepts.General.SSL.html),
        # and only libpq's verify-full stops a machine in the middle
        # (https://www.postgresql.org/docs/15/libpq-ssl.html#LIBPQ-SSL-PROTECTION).
        parameters = self.template["Parameters"]
        self.assertEqual(parameters["PgSslMode"]["Default"], "verify-full")
        self.assertNotIn("disable", parameters["PgSslMode"]["AllowedValues"])
        self.assertNotIn("prefer", parameters["PgSslMode"]["AllowedValues"])
        env = self.function("FinanceClosingFunction")["Environment"]["Variables"]
        self.assertEqual(env["PG_SSLMODE"], {"Ref": "PgSslMode"})
        self.assertEqual(env["PG_SSLROOTCERT"], {"Ref": "PgSslRootCert"})
        self.assertEqual(env["CLOSING_DATE_ARGUMENT"], {"Ref": "ClosingDateArgument"})
        for name in ("RETRY_INITIAL_DELAY", "RETRY_MAX_DELAY", "RETRY_MAX_DURATION"):
            self.assertIn(name, env)

    def test_make_params_writes_every_parameter_the_stack_reads_and_secrets_as_securestrings(self):
        written = {p.name: p for p in params.PARAMS}
        read = set()
        for function in self.functions.values():
            for variable, value in function["Properties"]["Environment"]["Variables"].items():
                path = sub_text(value)
                if path and path.startswith("${SsmRoot}/${Stage}/"):
                    name = path.removeprefix("${SsmRoot}/${Stage}/")
                    if variable.endswith("_PARAM_PREFIX"):
                        names = {n for n in written if n.startswith(name)}
                        self.assertTrue(names, f"{variable}: nothing written under {name}")
                        read |= names
                    else:
                        self.assertIn(name, written, f"{variable} reads {name}, which make params does not write")
                        read.add(name)
        self.assertEqual(read, set(written), "make params writes nothing the stack does not read")
        for name, param in written.items():
            secret = bool(re.search(r"password|key|token", name))
            self.assertEqual(param.secure, secret, name)

    def test_outputs_give_what_an_operator_needs(self):
        outputs = set(self.template["Outputs"])
        self.assertLessEqual({"ApiUrl", "ReadingsQueueUrl", "AlertsQueueUrl", "DataBucketName",
                              "FinanceClosingVersionArn", "RestateInvokerRoleArn"}, outputs)

    def alarms(self) -> dict:
        return resources_of_type(self.template, "AWS::CloudWatch::Alarm")

    def test_every_function_has_an_errors_and_a_throttles_alarm(self):
        watched = set()
        for alarm in self.alarms().values():
            props = alarm["Properties"]
            if props.get("Namespace") == "AWS/Lambda":
                function = props["Dimensions"][0]["Value"]["Ref"]
                watched.add((function, props["MetricName"]))
        expected = {(name, metric) for name in self.functions for metric in ("Errors", "Throttles")}
        self.assertEqual(watched, expected)

    def test_every_alarm_notifies_the_one_topic(self):
        self.assertGreater(len(self.alarms()), 15)
        for name, alarm in self.alarms().items():
            self.assertEqual(alarm["Properties"]["AlarmActions"], [{"Ref": "AlarmTopic"}], name)
        subscription = self.template["Resources"]["AlarmEmailSubscription"]
        self.assertEqual(subscription["Condition"], "HasAlarmEmail")
        self.assertEqual(subscription["Properties"]["TopicArn"], {"Ref": "AlarmTopic"})
        self.assertNotIn("AlarmEmailSubscription", render(self.template, {})["Resources"])
        with_email = render(self.template, {"AlarmEmail": "ops@example.com"})
        self.assertIn("AlarmEmailSubscription", with_email["Resources"])

    def test_the_first_week_alarms_watch_what_an_operator_needs(self):
        watched = set()
        for alarm in self.alarms().values():
            props = alarm["Properties"]
            stats = [props] + [m["MetricStat"]["Metric"] for m in props.get("Metrics", [])
                               if "MetricStat" in m]
            watched |= {(s.get("Namespace"), s.get("MetricName")) for s in stats}
        for needed in [("AWS/ApiGateway", "5XXError"), ("AWS/ApiGateway", "Latency"),
                       ("Orabridge", "Failover"), ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
                       ("AWS/SQS", "ApproximateAgeOfOldestMessage"), ("Orabridge", "RunPublished"),
                       ("Orabridge", "ClosingFailed"), ("Orabridge", "ClosingTimedOut")]:
            self.assertIn(needed, watched)
        latency = self.template["Resources"]["ProxyApiLatencyP99Alarm"]["Properties"]
        self.assertEqual(latency["ExtendedStatistic"], "p99")
        api_name = self.template["Resources"]["ProxyApi"]["Properties"]["Name"]
        self.assertEqual(latency["Dimensions"][0]["Value"], api_name)

    def test_alarms_and_the_dashboard_name_only_metrics_the_functions_emit(self):
        # An alarm on a metric nobody emits never fires: every custom metric must be recorded
        # somewhere in the functions' code with the metrics facade.
        source = "\n".join(p.read_text() for p in (ROOT / "functions").rglob("*.rs"))
        emitted = set(re.findall(r'(?:counter|histogram|gauge)!\(\s*"([A-Za-z]+)"', source))
        body = self.template["Resources"]["OperatorDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
        named = set(re.findall(r'"Orabridge", "([A-Za-z]+)"', body))
        for alarm in self.alarms().values():
            props = alarm["Properties"]
            stats = [props] + [m["MetricStat"]["Metric"] for m in props.get("Metrics", [])
                               if "MetricStat" in m]
            named |= {s["MetricName"] for s in stats if s.get("Namespace") == "Orabridge"}
        self.assertGreater(len(named), 8)
        self.assertLessEqual(named, emitted, f"never emitted: {named - emitted}")

    def test_the_dashboard_is_valid_json_and_shows_every_alarm(self):
        body = self.template["Resources"]["OperatorDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
        references = set(re.findall(r"\$\{([A-Za-z0-9:.]+)\}", body))
        for reference in references:
            name = reference.split(".")[0]
            self.assertTrue(name in self.template["Resources"] or name in self.template["Parameters"]
                            or name.startswith("AWS::"), reference)
        dashboard = json.loads(re.sub(r"\$\{[A-Za-z0-9:.]+\}", "x", body))
        alarm_widget = next(w for w in dashboard["widgets"] if w["type"] == "alarm")
        shown = set(re.findall(r'"\$\{([A-Za-z0-9]+)\.Arn\}"', body))
        self.assertEqual(len(alarm_widget["properties"]["alarms"]), len(self.alarms()))
        self.assertEqual(shown, set(self.alarms()))



def fnmatch_arn(granted: str, path: str) -> bool:
    """True when the ARN pattern `granted` covers the parameter `path` (or, for a prefix
    ending in '/', every parameter under it)."""
    arn = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter" + path
    if granted.endswith("/*"):
        return arn.startswith(granted[:-1])
    return granted == arn or (path.endswith("/") and granted + "/" == arn)


if __name__ == "__main__":
    unittest.main()
