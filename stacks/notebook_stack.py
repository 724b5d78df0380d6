"""The workbench: the data scientist's notebook, in the isolated VPC, encrypted, stopping itself when idle.

It is a deployment unit of its own so that it can be switched off and on:
``make workbench-down`` deletes the notebook (and, in an environment whose
VPC has no always-on endpoints, the interface endpoints it brought), and
``make workbench-up`` brings both back. The user's files are copied to the raw
bucket every 5 minutes and before an idle stop, and restored when the notebook
starts, so nothing is lost between the two.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from constructs import Construct
from constructs.idle_notebook import IdleNotebook
from constructs.isolated_vpc import SAGEMAKER_INTERFACE_ENDPOINTS, endpoint_service
from constructs.package_mirror import PackageMirror
from constructs.studio_domain import StudioDomain

from stacks.access_stack import AccessStack
from stacks.config import WORKBENCH_OWNER_TAG, PlatformConfig
from stacks.network_stack import NetworkStack

#: What a notebook without internet needs to train, deploy and call models:
#: the SageMaker API, credentials, logs, and the runtime to invoke endpoints.
WORKBENCH_ENDPOINTS = ("SageMakerApi", "SageMakerRuntime", "Sts", "Logs")
#: What pip needs to reach the package mirror (WorkloadConfig.package_mirror): tokens and pip's index;
#: the package assets come from S3, through the gateway endpoint (values as in SAGEMAKER_INTERFACE_ENDPOINTS).
MIRROR_ENDPOINTS = {"CodeArtifactApi": "CODEARTIFACT_API", "CodeArtifactRepositories": "CODEARTIFACT_REPOSITORIES"}
#: Prefix of the raw bucket holding each notebook's files between deployments.
WORKSPACE_PREFIX = "workbench/"


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
        # One subnet: a notebook instance has one ENI.
        subnet = network.vpc.isolated_subnets[0]
        # Endpoints the network does not keep always on are brought (and billed) here,
        # in the notebook's AZ only, for as long as the workbench is deployed.
        services = {**SAGEMAKER_INTERFACE_ENDPOINTS, **MIRROR_ENDPOINTS}
        needed = [*WORKBENCH_ENDPOINTS, *(MIRROR_ENDPOINTS if knobs.package_mirror else ())]
        missing = [e for e in needed if e not in config.network.interface_endpoints]
        for endpoint in missing:
            ec2.InterfaceVpcEndpoint(
                self,
                f"{endpoint}Endpoint",
                vpc=network.vpc,
                service=endpoint_service(services[endpoint]),
                subnets=ec2.SubnetSelection(subnets=[subnet]),
                private_dns_enabled=True,
                security_groups=[network.network.endpoint_security_group],
                open=False,
            )
        package_index: tuple[str, ...] = ()
        if knobs.package_mirror:
            # A cache of public packages: deleted with the workbench, fetched again on first use.
            mirror = PackageMirror(self, "Packages", domain_name=f"{config.prefix}-packages",
                                   repository_name=f"{config.prefix}-pypi", key_arn=access.guardrails.volume_key_arn,
                                   account=config.account, region=config.region)
            mirror.grant_read(access.notebook_role)
            package_index = (mirror.domain_name, config.account, mirror.repository_name)
            cdk.CfnOutput(self, "PackageRepository", value=mirror.repository_arn)
        if knobs.workbench == "studio":
            self._studio(config, network, access, subnet)
            return
        workspace = f"s3://{config.bucket_name('raw')}/{WORKSPACE_PREFIX}{name}/"
        self.notebook = IdleNotebook(
            self,
            "Workbench",
            notebook_name=name,
            role_arn=access.notebook_role.role_arn,
            subnet_id=subnet.subnet_id,
            security_group_ids=[network.workload_security_group.security_group_id],
            # The same key the guardrails demand for every ML storage volume
            # (notebook_conditions), so a notebook created by hand matches.
            kms_key_id=access.guardrails.volume_key_arn,
            instance_type=knobs.notebook_instance_type,
            idle_minutes=knobs.notebook_idle_minutes,
            workspace_s3_uri=workspace,
            package_index=package_index,
        )
        # The auto-stop job runs with the instance's role; it may stop (and
        # look at) this one notebook and nothing else. ARNs of notebook
        # instances use the lower-cased name.
        access.notebook_role.allow(
            "StopOwnNotebookWhenIdle",
            ["sagemaker:StopNotebookInstance", "sagemaker:DescribeNotebookInstance"],
            [config.arn("sagemaker", f"notebook-instance/{name.lower()}")],
        )
        # Only the data scientist this tag names may open the notebook (stacks/people_stack.py).
        if config.people.workbench_owner:
            cdk.Tags.of(self.notebook.notebook).add(WORKBENCH_OWNER_TAG, config.people.workbench_owner)
        cdk.CfnOutput(self, "NotebookName", value=name)
        cdk.CfnOutput(self, "WorkspaceUri", value=workspace)

    def _studio(self, config: PlatformConfig, network: NetworkStack, access: AccessStack, subnet: ec2.ISubnet) -> None:
        """The workbench as a VPC-only Studio domain, in the notebook's subnet (where its endpoints are)."""
        self.studio = StudioDomain(
            self,
            "Studio",
            domain_name=f"{config.prefix}-studio",
            execution_role_arn=access.notebook_role.role_arn,
            vpc_id=network.vpc.vpc_id,
            subnet_ids=[subnet.subnet_id],
            security_group_ids=[network.workload_security_group.security_group_id],
            # The key the guardrails demand for ML storage volumes: the users' EFS volume too.
            kms_key_arn=access.guardrails.volume_key_arn,
            idle_minutes=config.workloads.notebook_idle_minutes,
            users=config.people.data_scientists,
            owner_tag=WORKBENCH_OWNER_TAG,
        )
        cdk.CfnOutput(self, "StudioDomainId", value=self.studio.domain.attr_domain_id)
