"""Hosting: the configured approved model version behind one endpoint."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_sns as sns
from constructs import Construct
from constructs.model_endpoint import (
    REAL_TIME,
    Capacity,
    DataCapture,
    Guardrails,
    ModelEndpoint,
    model_package_arn,
)

from stacks.access_stack import AccessStack
from stacks.config import PlatformConfig
from stacks.data_stack import DataStack
from stacks.network_stack import NetworkStack


class EndpointStack(cdk.Stack):
    """Serves ``config.workloads.model_package_version`` of the platform's model package group."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: PlatformConfig,
        data: DataStack,
        network: NetworkStack,
        access: AccessStack,
        alarm_topic: sns.ITopic,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        knobs = config.workloads
        real_time = knobs.endpoint_mode == REAL_TIME
        group = config.model_package_group_name
        models_bucket = config.bucket_name("models")
        self.endpoint = ModelEndpoint(
            self,
            "Endpoint",
            endpoint_name=config.endpoint_name,
            model_package_arn=model_package_arn(
                region=config.region, account=config.account, group=group, version=knobs.model_package_version
            ),
            model_package_group=group,
            role_arn=access.hosting_role.role_arn,
            volume_key_arn=access.guardrails.volume_key_arn,
            alarm_topic=alarm_topic,
            capacity=Capacity(
                mode=knobs.endpoint_mode,
                memory_mb=knobs.serverless_memory_mb,
                max_concurrency=knobs.serverless_max_concurrency,
                instance_type=knobs.instance_type,
                min_instances=knobs.min_instances,
                max_instances=knobs.max_instances,
                target_invocations_per_instance=knobs.target_invocations_per_instance,
            ),
            guardrails=Guardrails(
                latency_ms=knobs.latency_alarm_ms,
                errors_per_minute=knobs.error_alarm_count,
                canary_percent=knobs.canary_percent,
                bake_minutes=knobs.bake_minutes,
            ),
            subnet_ids=[s.subnet_id for s in network.vpc.isolated_subnets] if real_time else (),
            security_group_ids=[network.workload_security_group.security_group_id] if real_time else (),
            # The hosting role may write here (AccessStack) with the model key.
            data_capture=DataCapture(
                s3_uri=f"s3://{models_bucket}/{config.data_capture_prefix}",
                kms_key_arn=data.model_key.key_arn,
                percent=knobs.data_capture_percent,
            )
            if real_time
            else None,
        )
        cdk.CfnOutput(self, "EndpointName", value=self.endpoint.endpoint_name)
        cdk.CfnOutput(self, "ModelPackageVersion", value=str(self.endpoint.version))
