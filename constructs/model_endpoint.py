"""A SageMaker endpoint serving one approved version of a model package group.

Two modes, because they differ in what SageMaker supports, not just in price:

* ``real-time``: instances in the platform's VPC with network isolation, data
  capture, target-tracking autoscaling, and blue/green canary updates that
  roll back when an alarm fires.
* ``serverless``: nothing billed while idle. SageMaker Serverless Inference
  does not support VPC configuration, network isolation, data capture or
  deployment guardrails (blue/green with traffic shifting and auto-rollback),
  so none of these is configured; the alarms still notify.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

SERVERLESS = "serverless"
REAL_TIME = "real-time"
SERVERLESS_MEMORY_MB = (1024, 2048, 3072, 4096, 5120, 6144)
MAX_SERVERLESS_CONCURRENCY = 200
#: Blue/green needs the new endpoint config to keep the variant's name.
VARIANT_NAME = "AllTraffic"
#: SageMaker's longest wait between traffic shifts and before terminating the blue fleet.
MAX_BAKE_MINUTES = 60


def model_package_arn(*, region: str, account: str, group: str, version: int) -> str:
    """The ARN of version ``version`` of a model package group."""
    if version < 1:
        raise ValueError(f"model package version {version}: versions are numbered from 1")
    return f"arn:aws:sagemaker:{region}:{account}:model-package/{group.lower()}/{version}"


def check_model_package(arn: str, *, group: str) -> int:
    """The version number of ``arn``, refusing anything but a version of ``group``.

    Synth cannot ask SageMaker for a version's approval status (it is
    hermetic); SageMaker refuses to create a model from a versioned package
    that is not Approved, so restricting the reference to versions of the
    platform's group leaves approval as the one gate to deployment.
    """
    match = re.fullmatch(rf"arn:aws:sagemaker:[a-z0-9-]+:\d{{12}}:model-package/{re.escape(group.lower())}/(\d+)", arn)
    if not match or int(match.group(1)) < 1:
        raise ValueError(
            f"{arn!r} is not a version of model package group {group!r}; deploy an approved version of the"
            f" group (arn:aws:sagemaker:<region>:<account>:model-package/{group.lower()}/<version>)"
        )
    return int(match.group(1))


@dataclass(frozen=True, kw_only=True)
class Capacity:
    """How the variant is sized: ``serverless`` memory/concurrency or ``real-time`` instances."""

    mode: str = SERVERLESS
    #: Serverless: 1024-6144 MB in 1024 MB steps; default 2048.
    memory_mb: int = 2048
    #: Serverless: concurrent invocations, 1-200; default 5.
    max_concurrency: int = 5
    #: Real-time: instance type; default ml.m5.large.
    instance_type: str = "ml.m5.large"
    #: Real-time: autoscaling bounds; ``min_instances`` is also the initial count.
    min_instances: int = 1
    max_instances: int = 2
    #: Real-time: invocations per instance per minute that target tracking holds.
    target_invocations_per_instance: int = 100

    def __post_init__(self) -> None:
        if self.mode not in (SERVERLESS, REAL_TIME):
            raise ValueError(f"endpoint mode {self.mode!r} must be {SERVERLESS!r} or {REAL_TIME!r}")
        if self.mode == SERVERLESS:
            if self.memory_mb not in SERVERLESS_MEMORY_MB:
                raise ValueError(f"serverless memory {self.memory_mb} MB is not one of {list(SERVERLESS_MEMORY_MB)}")
            if not 1 <= self.max_concurrency <= MAX_SERVERLESS_CONCURRENCY:
                raise ValueError(
                    f"serverless max concurrency {self.max_concurrency} must be 1-{MAX_SERVERLESS_CONCURRENCY}"
                )
            return
        if self.min_instances < 1:
            raise ValueError(f"min_instances {self.min_instances} must be at least 1 (use serverless to scale to 0)")
        if self.max_instances < self.min_instances:
            raise ValueError(f"max_instances {self.max_instances} is below min_instances {self.min_instances}")
        if self.target_invocations_per_instance < 1:
            raise ValueError("target_invocations_per_instance must be at least 1")


@dataclass(frozen=True, kw_only=True)
class Guardrails:
    """Alarm thresholds, and how a real-time update shifts traffic."""

    #: ModelLatency p90 above this many milliseconds for 2 of 3 minutes alarms.
    latency_ms: int = 1000
    #: This many Invocation5XXErrors within one minute alarms.
    errors_per_minute: int = 5
    #: Real-time canary size as percent of the new fleet (1-50).
    canary_percent: int = 25
    #: Minutes the alarms watch the canary, and the full fleet before the old one is terminated.
    bake_minutes: int = 10

    def __post_init__(self) -> None:
        if not 1 <= self.canary_percent <= 50:
            raise ValueError(f"canary_percent {self.canary_percent} must be 1-50 (SageMaker's canary limit)")
        if not 1 <= self.bake_minutes <= MAX_BAKE_MINUTES:
            raise ValueError(f"bake_minutes {self.bake_minutes} must be 1-{MAX_BAKE_MINUTES}")
        if self.latency_ms < 1 or self.errors_per_minute < 1:
            raise ValueError("alarm thresholds must be positive")


@dataclass(frozen=True, kw_only=True)
class DataCapture:
    """Where a real-time endpoint writes sampled requests and responses."""

    s3_uri: str
    kms_key_arn: str
    #: Percent of invocations captured, 1-100.
    percent: int = 10

    def __post_init__(self) -> None:
        if not 1 <= self.percent <= 100:
            raise ValueError(f"data capture percent {self.percent} must be 1-100")


class ModelEndpoint(Construct):
    """Model, endpoint config, endpoint, alarms, and (real-time only) autoscaling.

    The model and endpoint config have generated names so that a new model
    version replaces them and updates the endpoint in place (blue/green); the
    endpoint keeps ``endpoint_name`` so callers never change.

    :param endpoint_name: stable name callers invoke; alarms are named after it.
    :param model_package_arn: a version of ``model_package_group``; see ``check_model_package``.
    :param model_package_group: the group versions must belong to.
    :param role_arn: the model's execution role (pulls the image, reads artifacts, writes data capture).
    :param volume_key_arn: KMS key for the instances' storage volumes.
    :param alarm_topic: where alarms notify.
    :param capacity: serverless or real-time sizing; default serverless 2048 MB x 5.
    :param guardrails: alarm thresholds and canary; defaults above.
    :param subnet_ids: real-time only: isolated subnets for the model's ENIs.
    :param security_group_ids: real-time only: the workload security group.
    :param data_capture: real-time only; default none.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        endpoint_name: str,
        model_package_arn: str,
        model_package_group: str,
        role_arn: str,
        volume_key_arn: str,
        alarm_topic: sns.ITopic,
        capacity: Capacity | None = None,
        guardrails: Guardrails | None = None,
        subnet_ids: Sequence[str] = (),
        security_group_ids: Sequence[str] = (),
        data_capture: DataCapture | None = None,
    ) -> None:
        super().__init__(scope, id)
        capacity = capacity or Capacity()
        guardrails = guardrails or Guardrails()
        self.version = check_model_package(model_package_arn, group=model_package_group)
        real_time = capacity.mode == REAL_TIME
        if real_time and not (subnet_ids and security_group_ids):
            raise ValueError("a real-time endpoint runs in the VPC: pass subnet_ids and security_group_ids")
        if not real_time and (subnet_ids or security_group_ids or data_capture):
            raise ValueError(
                "serverless endpoints support neither VPC configuration nor data capture; use the real-time"
                " mode for a VPC-attached endpoint with data capture"
            )
        self.endpoint_name = endpoint_name
        self.mode = capacity.mode

        self.model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(model_package_name=model_package_arn),
            enable_network_isolation=True if real_time else None,
            vpc_config=sagemaker.CfnModel.VpcConfigProperty(
                subnets=list(subnet_ids), security_group_ids=list(security_group_ids)
            )
            if real_time
            else None,
        )

        variant = sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=VARIANT_NAME,
            model_name=self.model.attr_model_name,
            initial_variant_weight=1.0,
            **(
                {"instance_type": capacity.instance_type, "initial_instance_count": capacity.min_instances}
                if real_time
                else {
                    "serverless_config": sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                        memory_size_in_mb=capacity.memory_mb, max_concurrency=capacity.max_concurrency
                    )
                }
            ),
        )
        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            production_variants=[variant],
            kms_key_id=volume_key_arn,
            data_capture_config=_data_capture(data_capture) if data_capture else None,
        )

        self.alarms = self._alarms(guardrails, alarm_topic)
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
            # Deployment guardrails apply to real-time (and asynchronous)
            # endpoints only; a serverless update is SageMaker's default swap.
            deployment_config=_blue_green(guardrails, self.alarms) if real_time else None,
        )
        if real_time:
            self._autoscaling(capacity)

    def _alarms(self, guardrails: Guardrails, topic: sns.ITopic) -> list[cloudwatch.Alarm]:
        dimensions = {"EndpointName": self.endpoint_name, "VariantName": VARIANT_NAME}

        def metric(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name=name,
                dimensions_map=dimensions,
                statistic=statistic,
                period=cdk.Duration.minutes(1),
            )

        errors = cloudwatch.Alarm(
            self,
            "Errors5xx",
            alarm_name=f"{self.endpoint_name}-5xx-errors",
            alarm_description=f"{self.endpoint_name}: the model container returned 5XX errors",
            metric=metric("Invocation5XXErrors", "Sum"),
            threshold=guardrails.errors_per_minute,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            # No traffic is not an error, and a serverless endpoint is often idle.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        latency = cloudwatch.Alarm(
            self,
            "ModelLatency",
            alarm_name=f"{self.endpoint_name}-model-latency",
            alarm_description=f"{self.endpoint_name}: p90 model latency above {guardrails.latency_ms} ms",
            metric=metric("ModelLatency", "p90"),
            # ModelLatency is reported in microseconds.
            threshold=guardrails.latency_ms * 1000,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        for alarm in (errors, latency):
            alarm.add_alarm_action(cw_actions.SnsAction(topic))
            alarm.add_ok_action(cw_actions.SnsAction(topic))
        return [errors, latency]

    def _autoscaling(self, capacity: Capacity) -> None:
        # The service-linked role Application Auto Scaling creates for
        # SageMaker on first use; without it CDK would add a role of its own.
        account = cdk.Stack.of(self).account
        service_linked_role = iam.Role.from_role_arn(
            self,
            "AutoScalingRole",
            f"arn:aws:iam::{account}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
            "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
            mutable=False,
        )
        target = autoscaling.ScalableTarget(
            self,
            "ScalableTarget",
            service_namespace=autoscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/{self.endpoint_name}/variant/{VARIANT_NAME}",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=capacity.min_instances,
            max_capacity=capacity.max_instances,
            role=service_linked_role,
        )
        target.node.add_dependency(self.endpoint)
        target.scale_to_track_metric(
            "InvocationsPerInstance",
            target_value=capacity.target_invocations_per_instance,
            predefined_metric=autoscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
            # Scale in slowly: a new instance takes minutes to load the model.
            scale_in_cooldown=cdk.Duration.minutes(10),
            scale_out_cooldown=cdk.Duration.minutes(2),
        )
        self.scalable_target = target


def _data_capture(capture: DataCapture) -> sagemaker.CfnEndpointConfig.DataCaptureConfigProperty:
    return sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
        enable_capture=True,
        initial_sampling_percentage=capture.percent,
        destination_s3_uri=capture.s3_uri,
        kms_key_id=capture.kms_key_arn,
        capture_options=[
            sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input"),
            sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Output"),
        ],
    )


def _blue_green(
    guardrails: Guardrails, alarms: Sequence[cloudwatch.Alarm]
) -> sagemaker.CfnEndpoint.DeploymentConfigProperty:
    bake = guardrails.bake_minutes * 60
    return sagemaker.CfnEndpoint.DeploymentConfigProperty(
        blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
            traffic_routing_configuration=sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
                type="CANARY",
                canary_size=sagemaker.CfnEndpoint.CapacitySizeProperty(
                    type="CAPACITY_PERCENT", value=guardrails.canary_percent
                ),
                wait_interval_in_seconds=bake,
            ),
            termination_wait_in_seconds=bake,
        ),
        auto_rollback_configuration=sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
            alarms=[sagemaker.CfnEndpoint.AlarmProperty(alarm_name=a.alarm_name) for a in alarms]
        ),
    )
