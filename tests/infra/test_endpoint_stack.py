"""The endpoint stack: serverless in dev, real-time with guardrails in prod, and what ModelEndpoint refuses."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template
from constructs.model_endpoint import Capacity, DataCapture, Guardrails, ModelEndpoint, check_model_package

import app
from stacks.config import ENVIRONMENTS
from stacks.platform import Platform
from tests.infra.conftest import new_app, new_stack, synth_platform, template

GROUP = "mlp-test-xgboost"
PACKAGE = f"arn:aws:sagemaker:us-east-1:111122223333:model-package/{GROUP}/3"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
SGS = ["sg-0123456789abcdef0"]
KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture(scope="module")
def dev(dev_platform: Platform) -> Template:
    return template(dev_platform, "endpoint")


@pytest.fixture(scope="module")
def prod() -> Template:
    _, platform = synth_platform(ENVIRONMENTS["prod"])
    return template(platform, "endpoint")


def _props(t: Template, kind: str) -> dict:
    (resource,) = t.find_resources(kind).values()
    return resource["Properties"]


# -- dev: serverless ---------------------------------------------------------------------


def test_dev_serves_version_1_serverless(dev: Template) -> None:
    # GIVEN the dev config (serverless, example version 1)
    # THEN the model is built from that version of the group, by the hosting role
    dev.has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "PrimaryContainer": {
                "ModelPackageName": "arn:aws:sagemaker:us-east-1:111122223333:model-package/mlp-dev-xgboost/1"
            },
            "ExecutionRoleArn": Match.any_value(),
            # Serverless Inference supports neither VPC configuration nor network isolation.
            "VpcConfig": Match.absent(),
            "EnableNetworkIsolation": Match.absent(),
        },
    )
    # AND the variant is serverless, encrypted, without data capture (unsupported)
    dev.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
                    "InstanceType": Match.absent(),
                    "InitialVariantWeight": 1,
                    "ModelName": Match.any_value(),
                }
            ],
            "KmsKeyId": Match.any_value(),
            "DataCaptureConfig": Match.absent(),
        },
    )


def test_dev_has_no_guardrail_deployment_and_no_autoscaling(dev: Template) -> None:
    # THEN the endpoint keeps a stable name and has no deployment config
    # (deployment guardrails apply to real-time and asynchronous endpoints only)
    dev.has_resource_properties(
        "AWS::SageMaker::Endpoint", {"EndpointName": "mlp-dev-xgboost", "DeploymentConfig": Match.absent()}
    )
    # AND nothing scales it but SageMaker itself
    dev.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 0)
    dev.resource_count_is("AWS::ApplicationAutoScaling::ScalingPolicy", 0)
    dev.resource_count_is("AWS::IAM::Role", 0)


def test_dev_alarms_notify_the_alert_topic(dev: Template) -> None:
    # THEN both alarms exist, watch the variant, and notify (and recover) via the registry's topic
    for name, metric in (
        ("mlp-dev-xgboost-5xx-errors", "Invocation5XXErrors"),
        ("mlp-dev-xgboost-model-latency", "ModelLatency"),
    ):
        dev.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "AlarmName": name,
                "MetricName": metric,
                "Namespace": "AWS/SageMaker",
                "Dimensions": Match.array_with([{"Name": "VariantName", "Value": "AllTraffic"}]),
                "AlarmActions": [Match.any_value()],
                "OKActions": [Match.any_value()],
                "TreatMissingData": "notBreaching",
            },
        )


# -- prod: real-time ---------------------------------------------------------------------


def test_prod_model_is_isolated_in_the_vpc(prod: Template) -> None:
    model = _props(prod, "AWS::SageMaker::Model")
    assert model["EnableNetworkIsolation"] is True
    assert len(model["VpcConfig"]["Subnets"]) == 3
    assert len(model["VpcConfig"]["SecurityGroupIds"]) == 1
    assert model["PrimaryContainer"]["ModelPackageName"].endswith(":model-package/mlp-prod-xgboost/1")


def test_prod_variant_captures_data_encrypted(prod: Template) -> None:
    prod.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [
                Match.object_like(
                    {"InstanceType": "ml.m5.large", "InitialInstanceCount": 2, "ServerlessConfig": Match.absent()}
                )
            ],
            "KmsKeyId": Match.any_value(),
            "DataCaptureConfig": {
                "EnableCapture": True,
                "InitialSamplingPercentage": 10,
                "DestinationS3Uri": "s3://mlp-prod-models-111122223333-us-east-1/data-capture/mlp-prod-xgboost",
                "KmsKeyId": Match.any_value(),
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            },
        },
    )


def test_prod_updates_blue_green_with_canary_and_alarm_rollback(prod: Template) -> None:
    endpoint = _props(prod, "AWS::SageMaker::Endpoint")
    policy = endpoint["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {
        "Type": "CANARY",
        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25},
        "WaitIntervalInSeconds": 600,
    }
    assert policy["TerminationWaitInSeconds"] == 600
    rollback = endpoint["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    alarm_ids = {a["AlarmName"]["Ref"] for a in rollback}
    assert alarm_ids == set(prod.find_resources("AWS::CloudWatch::Alarm"))


def test_prod_latency_alarm_is_in_microseconds(prod: Template) -> None:
    prod.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "ModelLatency", "ExtendedStatistic": "p90", "Threshold": 1_000_000, "DatapointsToAlarm": 2},
    )


def test_prod_scales_on_invocations_per_instance(prod: Template) -> None:
    prod.has_resource(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {
            "Properties": {
                "ServiceNamespace": "sagemaker",
                "ResourceId": "endpoint/mlp-prod-xgboost/variant/AllTraffic",
                "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                "MinCapacity": 2,
                "MaxCapacity": 4,
                "RoleARN": Match.string_like_regexp("AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint$"),
            },
            "DependsOn": [Match.string_like_regexp("^Endpoint")],
        },
    )
    prod.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {
                    "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
                    "TargetValue": 100,
                }
            ),
        },
    )
    prod.resource_count_is("AWS::IAM::Role", 0)


# -- choosing the version ------------------------------------------------------------------


def test_context_selects_the_model_package_version() -> None:
    # GIVEN `cdk deploy -c model_package_version=7`
    config = app.config_from_context(new_app(model_package_version="7"))
    # THEN that version is served
    assert config.workloads.model_package_version == 7


@pytest.mark.parametrize("version", ["0", "latest", "-1", "1.5"])
def test_context_refuses_a_non_version(version: str) -> None:
    with pytest.raises(app.ConfigError, match=r"model_package_version .* must be a version number"):
        app.config_from_context(new_app(model_package_version=version))


# -- what ModelEndpoint refuses -------------------------------------------------------------


def _endpoint(**overrides) -> ModelEndpoint:
    stack = new_stack()
    props = {
        "endpoint_name": "mlp-test-xgboost",
        "model_package_arn": PACKAGE,
        "model_package_group": GROUP,
        "role_arn": "arn:aws:iam::111122223333:role/hosting",
        "volume_key_arn": KEY,
        "alarm_topic": sns.Topic(stack, "Topic"),
    }
    return ModelEndpoint(stack, "Endpoint", **{**props, **overrides})


@pytest.mark.parametrize(
    "arn",
    [
        pytest.param("arn:aws:sagemaker:us-east-1:111122223333:model-package/other-group/3", id="other-group"),
        pytest.param(f"arn:aws:sagemaker:us-east-1:111122223333:model-package-group/{GROUP}", id="the-group-itself"),
        pytest.param(f"arn:aws:sagemaker:us-east-1:111122223333:model-package/{GROUP}", id="unversioned"),
        pytest.param(f"arn:aws:sagemaker:us-east-1:111122223333:model-package/{GROUP}/0", id="version-0"),
        pytest.param("arn:aws:sagemaker:us-east-1:111122223333:model-package/marketplace-model", id="marketplace"),
    ],
)
def test_refuses_anything_but_a_version_of_the_group(arn: str) -> None:
    # WHEN the endpoint is pointed at something that cannot be an approved version of the group
    # THEN synth fails naming the group and the expected ARN shape
    with pytest.raises(ValueError, match=rf"is not a version of model package group '{GROUP}'; deploy an approved"):
        _endpoint(model_package_arn=arn)


def test_accepts_a_version_of_the_group() -> None:
    assert check_model_package(PACKAGE, group=GROUP) == 3


@pytest.mark.parametrize("memory", [512, 1500, 8192])
def test_refuses_serverless_memory_sagemaker_does_not_offer(memory: int) -> None:
    with pytest.raises(ValueError, match=rf"serverless memory {memory} MB is not one of \[1024, 2048"):
        Capacity(mode="serverless", memory_mb=memory)


@pytest.mark.parametrize("concurrency", [0, 201])
def test_refuses_serverless_concurrency_out_of_range(concurrency: int) -> None:
    with pytest.raises(ValueError, match=rf"serverless max concurrency {concurrency} must be 1-200"):
        Capacity(mode="serverless", max_concurrency=concurrency)


def test_refuses_max_below_min_instances() -> None:
    with pytest.raises(ValueError, match=r"max_instances 1 is below min_instances 2"):
        Capacity(mode="real-time", min_instances=2, max_instances=1)


def test_refuses_zero_instances() -> None:
    with pytest.raises(ValueError, match=r"min_instances 0 must be at least 1 \(use serverless"):
        Capacity(mode="real-time", min_instances=0)


def test_refuses_unknown_mode() -> None:
    with pytest.raises(ValueError, match=r"endpoint mode 'batch' must be 'serverless' or 'real-time'"):
        Capacity(mode="batch")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("canary_percent", 60, r"canary_percent 60 must be 1-50"),
        ("bake_minutes", 0, r"bake_minutes 0 must be 1-60"),
        ("latency_ms", 0, r"alarm thresholds must be positive"),
    ],
)
def test_refuses_guardrails_sagemaker_cannot_run(field: str, value: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Guardrails(**{field: value})


def test_refuses_vpc_or_data_capture_on_serverless() -> None:
    with pytest.raises(ValueError, match=r"serverless endpoints support neither VPC configuration nor data capture"):
        _endpoint(subnet_ids=SUBNETS, security_group_ids=SGS)
    with pytest.raises(ValueError, match=r"serverless endpoints support neither"):
        _endpoint(data_capture=DataCapture(s3_uri="s3://b/data-capture/x", kms_key_arn=KEY))


def test_refuses_real_time_outside_the_vpc() -> None:
    with pytest.raises(ValueError, match=r"a real-time endpoint runs in the VPC: pass subnet_ids"):
        _endpoint(capacity=Capacity(mode="real-time"))


@pytest.mark.parametrize("percent", [0, 101])
def test_refuses_data_capture_percent_out_of_range(percent: int) -> None:
    with pytest.raises(ValueError, match=rf"data capture percent {percent} must be 1-100"):
        DataCapture(s3_uri="s3://b/data-capture/x", kms_key_arn=KEY, percent=percent)


def test_real_time_construct_synthesizes_standalone() -> None:
    # GIVEN a real-time endpoint outside the platform WHEN synthesized THEN it has its guardrails
    endpoint = _endpoint(capacity=Capacity(mode="real-time"), subnet_ids=SUBNETS, security_group_ids=SGS)
    t = Template.from_stack(cdk.Stack.of(endpoint))
    t.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 1)
    assert "BlueGreenUpdatePolicy" in str(t.find_resources("AWS::SageMaker::Endpoint"))
