"""The network: an isolated VPC that SageMaker workloads run in."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs import compliance as nag
from constructs.isolated_vpc import IsolatedVpc

from stacks.config import PlatformConfig


class NetworkStack(cdk.Stack):
    def __init__(
        self, scope: Construct, id: str, *, config: PlatformConfig, flow_log_bucket: s3.IBucket, **kwargs
    ) -> None:
        self._zones = list(config.network.availability_zones)
        super().__init__(scope, id, **kwargs)
        net = config.network
        self.network = IsolatedVpc(
            self,
            "Vpc",
            cidr=net.cidr,
            availability_zones=net.availability_zones,
            flow_log_bucket=flow_log_bucket,
            interface_endpoints=net.interface_endpoints,
        )
        self.vpc = self.network.vpc
        nag.acknowledge(
            self.vpc,
            "VPCDefaultSecurityGroupClosed",
            "No resource of the platform is placed in the default security group (asserted by the tests);"
            " removing its rules needs a Lambda custom resource with ec2:Revoke* permissions, a larger attack"
            " surface than an unused group in a VPC with no internet route",
            packs=nag.COMPLIANCE_PACKS,
        )
        self.workload_security_group = self.network.workload_security_group
        cdk.CfnOutput(self, "VpcId", value=self.vpc.vpc_id)

    @property
    def availability_zones(self) -> list[str]:
        # The configured AZs, never a lookup: synth stays hermetic.
        return self._zones
