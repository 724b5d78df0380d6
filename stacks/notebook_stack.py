"""The data scientist's notebook: in the isolated VPC, encrypted, stopping itself when idle."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct
from constructs.idle_notebook import IdleNotebook

from stacks.access_stack import AccessStack
from stacks.config import PlatformConfig
from stacks.network_stack import NetworkStack


class NotebookStack(cdk.Stack):
    """One notebook instance for the environment, running as the notebook role."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: PlatformConfig,
        network: NetworkStack,
        access: AccessStack,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        knobs = config.workloads
        name = f"{config.prefix}-workbench"
        self.notebook = IdleNotebook(
            self,
            "Workbench",
            notebook_name=name,
            role_arn=access.notebook_role.role_arn,
            # One subnet: a notebook instance has one ENI.
            subnet_id=network.vpc.isolated_subnets[0].subnet_id,
            security_group_ids=[network.workload_security_group.security_group_id],
            # The same key the guardrails demand for every ML storage volume
            # (notebook_conditions), so a notebook created by hand matches.
            kms_key_id=access.guardrails.volume_key_arn,
            instance_type=knobs.notebook_instance_type,
            idle_minutes=knobs.notebook_idle_minutes,
        )
        # The auto-stop job runs with the instance's role; it may stop (and
        # look at) this one notebook and nothing else. ARNs of notebook
        # instances use the lower-cased name.
        access.notebook_role.allow(
            "StopOwnNotebookWhenIdle",
            ["sagemaker:StopNotebookInstance", "sagemaker:DescribeNotebookInstance"],
            [config.arn("sagemaker", f"notebook-instance/{name.lower()}")],
        )
        cdk.CfnOutput(self, "NotebookName", value=name)
