"""The monitoring stack: its pipeline against botocore, the schedule, metrics, alarms, the alarm-to-guard
wiring (against EventBridge's pattern matcher as moto implements it) and the guard's state machine."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from moto.events.models import EventPattern

from stacks import retrain_guard
from stacks.config import ENVIRONMENTS, ConfigError, MonitoringConfig
from stacks.monitoring_stack import DRIFT_FIGURES, metric_namespace
from stacks.pipeline_definition import checks
from stacks.pipeline_definition import monitoring as mon

CONFIG = ENVIRONMENTS["dev"]


@pytest.fixture(scope="module")
def monitoring(platform_templates: dict[str, dict]) -> dict:
    return platform_templates["monitoring"]


def _resources(template: dict, kind: str) -> dict[str, dict]:
    return {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == kind}


def _only(template: dict, kind: str) -> dict:
    (found,) = _resources(template, kind).values()
    return found


def _policy_of(template: dict, role_name: str) -> list[dict]:
    roles = {k for k, r in _resources(template, "AWS::IAM::Role").items() if r["RoleName"] == role_name}
    for policy in _resources(template, "AWS::IAM::ManagedPolicy").values():
        if {ref["Ref"] for ref in policy["Roles"]} & roles:
            return policy["PolicyDocument"]["Statement"]
    raise AssertionError(f"no policy for {role_name}")


def alarm_event(alarm_name: str, state: str = "ALARM") -> dict:
    """A CloudWatch alarm state change event as EventBridge delivers it (AWS's documented shape)."""
    return {
        "version": "0", "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92", "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": CONFIG.account, "time": "2026-12-02T06:05:00Z",
        "region": CONFIG.region, "resources": [CONFIG.arn("cloudwatch", f"alarm:{alarm_name}")],
        "detail": {
            "alarmName": alarm_name,
            "state": {"value": state, "reason": "Threshold Crossed", "timestamp": "2026-12-02T06:05:00.000+0000"},
            "previousState": {"value": "OK", "reason": "", "timestamp": "2026-12-01T06:05:00.000+0000"},
            "configuration": {"metrics": [], "description": ""},
        },
    }  # fmt: skip


def transform(transformer: dict, event: dict) -> dict:
    """EventBridge's input transformer: each ``<name>`` becomes the JSON value at its path."""
    text = transformer["InputTemplate"]
    for name, path in transformer["InputPathsMap"].items():
        value = event
        for part in path.removeprefix("$.").split("."):
            value = value[part]
        text = text.replace(f"<{name}>", json.dumps(value))
    return json.loads(text)


# ------------------------------------------------------------------ the monitoring pipeline


def test_the_monitoring_definition_matches_botocores_request_shapes(monitoring) -> None:
    # GIVEN the synthesized monitoring pipeline  WHEN it is checked  THEN every step is a valid request
    rendered = checks.definition_from_template(monitoring)
    checks.validate_definition(rendered.definition)
    names = [s["Name"] for s in checks.iter_steps(rendered.definition)]
    assert names == [mon.CHOOSE, mon.MONITOR, mon.PUBLISH]


def test_monitoring_jobs_run_inside_the_guardrails(monitoring) -> None:
    rendered = checks.definition_from_template(monitoring)
    for step in (checks.step_named(rendered.definition, n) for n in (mon.MONITOR, mon.PUBLISH)):
        job = step["Arguments"]
        assert job["NetworkConfig"]["EnableNetworkIsolation"] is True
        assert job["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
        assert "VpcConfig" not in job["NetworkConfig"]  # dev runs jobs outside the VPC
        for key in (job["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"],
                    job["ProcessingOutputConfig"]["KmsKeyId"]):
            assert "ModelKey" in json.dumps(rendered.intrinsic(key))


def test_prod_monitors_data_capture_inside_the_vpc() -> None:
    from tests.infra.conftest import synth_platform

    config = replace(ENVIRONMENTS["prod"], account="123456789012")
    _, platform = synth_platform(config)
    from aws_cdk.assertions import Template

    definition = checks.definition_from_template(Template.from_stack(platform.monitoring).to_json()).definition
    params = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    assert params[mon.SCORED_DATA] == f"s3://{config.bucket_name('models')}/data-capture/{config.endpoint_name}/"
    assert "VpcConfig" in checks.step_named(definition, mon.MONITOR)["Arguments"]["NetworkConfig"]


def test_dev_monitors_batch_scoring_and_the_fixed_baseline_place(monitoring) -> None:
    definition = checks.definition_from_template(monitoring).definition
    params = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    assert params[mon.SCORED_DATA] == f"s3://{CONFIG.bucket_name('models')}/batch-scoring/"
    assert params[mon.PUBLISH_BASELINE] == mon.NO_BASELINE
    publish = checks.step_named(definition, mon.PUBLISH)["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]
    monitor_inputs = checks.step_named(definition, mon.MONITOR)["Arguments"]["ProcessingInputs"]
    # The publish run writes where every scheduled run reads.
    assert publish["S3Output"]["S3Uri"]["Std:Join"]["Values"][:-1] == monitor_inputs[1]["S3Input"]["S3Uri"][
        "Std:Join"]["Values"]


# ------------------------------------------------------------------ schedule, metrics, alarms


def test_the_schedule_starts_only_the_monitoring_pipeline(monitoring) -> None:
    schedule = _only(monitoring, "AWS::Scheduler::Schedule")
    pipeline_arn = CONFIG.arn("sagemaker", f"pipeline/{CONFIG.monitoring_pipeline_name}")
    assert schedule["ScheduleExpression"] == CONFIG.monitoring.schedule
    assert schedule["Target"]["Arn"] == pipeline_arn
    statements = _policy_of(monitoring, CONFIG.role_name("monitoring-schedule"))
    assert [(s["Action"], s["Resource"]) for s in statements] == [("sagemaker:StartPipelineExecution", pipeline_arn)]
    trust = next(r for r in _resources(monitoring, "AWS::IAM::Role").values()
                 if r["RoleName"] == CONFIG.role_name("monitoring-schedule"))["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "scheduler.amazonaws.com"}


def test_metric_filters_read_the_monitor_log_lines(monitoring) -> None:
    filters = _resources(monitoring, "AWS::Logs::MetricFilter").values()
    by_figure = {re.search(r'"(\w+)"', f["FilterPattern"]).group(1): f for f in filters}
    assert set(by_figure) == {*DRIFT_FIGURES, f"quality_{CONFIG.monitoring.quality_metric}"}
    for metric_filter in by_figure.values():
        assert metric_filter["LogGroupName"] == "/aws/sagemaker/ProcessingJobs"
        (transformation,) = metric_filter["MetricTransformations"]
        assert transformation["MetricValue"] == "$.value"
        assert transformation["MetricNamespace"] == metric_namespace(CONFIG)
    group = _only(monitoring, "AWS::Logs::LogGroup")
    assert group["LogGroupName"] == "/aws/sagemaker/ProcessingJobs" and "KmsKeyId" in group


def test_alarms_use_the_configured_thresholds_and_tell_the_alert_topic(monitoring) -> None:
    alarms = {a["AlarmName"]: a for a in _resources(monitoring, "AWS::CloudWatch::Alarm").values()}
    drift, quality = alarms["mlp-dev-monitoring-drift"], alarms["mlp-dev-monitoring-quality"]
    assert (drift["Threshold"], drift["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert (quality["Threshold"], quality["ComparisonOperator"]) == (0.75, "LessThanThreshold")
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [CONFIG.arn("sns", "mlp-dev-alerts")]
        assert alarm["TreatMissingData"] == "notBreaching"


def test_an_error_metric_alarms_when_it_rises() -> None:
    from stacks.monitoring_stack import MonitoringStack  # noqa: F401 - the stack reads the same property

    assert MonitoringConfig(quality_metric="rmse").quality_higher_is_better is False
    with pytest.raises(ConfigError, match=r"quality_metric 'logloss' must be one of"):
        MonitoringConfig(quality_metric="logloss")
    with pytest.raises(ConfigError, match=r"must be cron\(\.\.\.\) or rate\(\.\.\.\)"):
        MonitoringConfig(schedule="every day")


# ------------------------------------------------------------------ alarm -> rule -> guard


@pytest.mark.parametrize("reason", ["drift", "quality"])
def test_the_rule_matches_its_alarm_entering_alarm_only(monitoring, reason: str) -> None:
    rules = {r["Name"]: r for r in _resources(monitoring, "AWS::Events::Rule").values()}
    rule = rules[f"mlp-dev-retrain-on-{reason}"]
    pattern = EventPattern.load(json.dumps(rule["EventPattern"]))
    alarm = f"mlp-dev-monitoring-{reason}"
    assert pattern.matches_event(alarm_event(alarm))
    assert not pattern.matches_event(alarm_event(alarm, state="OK"))
    assert not pattern.matches_event(alarm_event("mlp-dev-xgboost-5xx-errors"))
    other = "quality" if reason == "drift" else "drift"
    assert not pattern.matches_event(alarm_event(f"mlp-dev-monitoring-{other}"))


@pytest.mark.parametrize("reason", ["drift", "quality"])
def test_the_input_transformer_gives_the_guard_its_reason(monitoring, reason: str) -> None:
    rules = {r["Name"]: r for r in _resources(monitoring, "AWS::Events::Rule").values()}
    (target,) = rules[f"mlp-dev-retrain-on-{reason}"]["Targets"]
    assert target["Arn"] == CONFIG.arn("states", "stateMachine:mlp-dev-retrain-guard")
    guard_input = transform(target["InputTransformer"], alarm_event(f"mlp-dev-monitoring-{reason}"))
    assert guard_input == {"reason": reason, "alarm": f"mlp-dev-monitoring-{reason}", "time": "2026-12-02T06:05:00Z"}
    assert set(guard_input) == set(retrain_guard.INPUT_FIELDS)


def test_the_trigger_role_starts_only_the_guard(monitoring) -> None:
    statements = _policy_of(monitoring, CONFIG.role_name("retrain-trigger"))
    assert [(s["Action"], s["Resource"]) for s in statements] == [
        ("states:StartExecution", CONFIG.arn("states", "stateMachine:mlp-dev-retrain-guard"))]


def test_the_guard_role_locks_starts_training_and_notifies_only(monitoring) -> None:
    statements = {s["Sid"]: s for s in _policy_of(monitoring, CONFIG.role_name("retrain-guard"))}
    assert statements["StartRetraining"]["Resource"] == CONFIG.arn("sagemaker", f"pipeline/{CONFIG.pipeline_name}")
    assert statements["Lock"]["Resource"] == CONFIG.arn("dynamodb", "table/mlp-dev-retrain-lock")
    assert statements["Notify"]["Resource"] == CONFIG.arn("sns", "mlp-dev-alerts")


# ------------------------------------------------------------------ the state machine


@pytest.fixture(scope="module")
def machine(monitoring) -> dict:
    return json.loads(_only(monitoring, "AWS::StepFunctions::StateMachine")["DefinitionString"])


def test_the_guard_locks_before_it_starts_and_is_told_either_way(machine) -> None:
    states = machine["States"]
    assert machine["QueryLanguage"] == "JSONata"
    assert states["Lock"]["Arguments"]["ConditionExpression"] == retrain_guard.LOCK_CONDITION
    assert states["Lock"]["Catch"] == [{"ErrorEquals": [retrain_guard.CONDITION_FAILED], "Next": "NotifySuppressed"}]
    assert states["Lock"]["Next"] == "StartRetraining"
    assert states["StartRetraining"]["Next"] == "NotifyStarted"
    assert states["StartRetraining"]["Arguments"]["PipelineParameters"] == [
        {"Name": "RetrainReason", "Value": "{% $reason %}"}]
    assert "86400" in states["Lock"]["Arguments"]["Item"]["ExpiresAt"]["N"]  # 24 h from now
    for name in ("NotifyStarted", "NotifySuppressed", "NotifyFailed"):
        assert states[name]["Arguments"]["TopicArn"] == CONFIG.arn("sns", "mlp-dev-alerts")


def test_every_state_is_reachable_and_every_path_ends(machine) -> None:
    states = machine["States"]
    seen, todo = set(), [machine["StartAt"]]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        state = states[name]
        todo += [state["Next"]] if "Next" in state else []
        todo += [c["Next"] for c in state.get("Catch", [])]
        assert "Next" in state or state.get("End") or state["Type"] in ("Fail", "Succeed"), name
    assert seen == set(states)


def test_the_guards_sdk_calls_are_valid_requests(machine) -> None:
    import botocore.session

    session = botocore.session.get_session()
    calls = {"Lock": ("dynamodb", "PutItem"), "Unlock": ("dynamodb", "DeleteItem"),
             "StartRetraining": ("sagemaker", "StartPipelineExecution"), "NotifyStarted": ("sns", "Publish"),
             "NotifySuppressed": ("sns", "Publish"), "NotifyFailed": ("sns", "Publish")}
    for state, (service, operation) in calls.items():
        shape = session.get_service_model(service).operation_model(operation).input_shape
        checks.validate_value(shape, machine["States"][state]["Arguments"], f"state {state}")
