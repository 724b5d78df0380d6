"""A VPC with no route to the internet, for VPC-only SageMaker."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3
from constructs import Construct

#: Interface endpoints a platform environment may choose (``interface_endpoints``):
#: control plane and runtime, credentials, logs and metrics. ECR and KMS are
#: not among them: SageMaker pulls framework images and uses KMS keys on its
#: own side, and S3 encrypts server-side, so nothing in the VPC calls them.
#: Values name ``ec2.InterfaceVpcEndpointAwsService`` constants (:func:`endpoint_service`):
#: reading one is a request to jsii's Node process, and importing the stacks
#: must send none (app.py imports them while a thread waits on Node, loading cdk-nag).
SAGEMAKER_INTERFACE_ENDPOINTS: dict[str, str] = {
    "SageMakerApi": "SAGEMAKER_API",
    "SageMakerRuntime": "SAGEMAKER_RUNTIME",
    "Sts": "STS",
    "Logs": "CLOUDWATCH_LOGS",
    "Monitoring": "CLOUDWATCH_MONITORING",
}


def endpoint_service(constant: str) -> ec2.InterfaceVpcEndpointAwsService:
    """The endpoint service an ``ec2.InterfaceVpcEndpointAwsService`` constant names, e.g. ``"STS"``."""
    return getattr(ec2.InterfaceVpcEndpointAwsService, constant)


#: Key prefix of the flow logs in their bucket (the bucket's owner expires it).
FLOW_LOG_PREFIX = "vpc-flow-logs/"


class IsolatedVpc(Construct):
    """Private isolated subnets only: no NAT gateway, no internet gateway.

    S3 is reached through a free gateway endpoint; everything else through
    interface endpoints, which are the network's only hourly cost.

    :param cidr: the VPC CIDR.
    :param availability_zones: named AZs (no lookup at synth).
    :param interface_endpoints: names of ``SAGEMAKER_INTERFACE_ENDPOINTS`` to create
        in every AZ; default all of them.
    :param flow_log_bucket: bucket receiving VPC flow logs (all traffic); required,
        because a VPC without flow logs fails every compliance pack.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cidr: str,
        availability_zones: Sequence[str],
        flow_log_bucket: s3.IBucket,
        interface_endpoints: Sequence[str] = tuple(SAGEMAKER_INTERFACE_ENDPOINTS),
    ) -> None:
        super().__init__(scope, id)
        unknown = sorted(set(interface_endpoints) - set(SAGEMAKER_INTERFACE_ENDPOINTS))
        if unknown:
            raise ValueError(
                f"{self.node.path}: unknown interface endpoints {unknown}; choose from"
                f" {sorted(SAGEMAKER_INTERFACE_ENDPOINTS)}"
            )
        if len(availability_zones) < 2:
            raise ValueError(
                f"{self.node.path}: SageMaker needs subnets in at least two availability zones;"
                f" got {list(availability_zones)}"
            )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            availability_zones=list(availability_zones),
            nat_gateways=0,
            create_internet_gateway=False,
            restrict_default_security_group=False,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=20)
            ],
            gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)},
            flow_logs={
                "AllTraffic": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_s3(flow_log_bucket, FLOW_LOG_PREFIX),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
        )

        # Workloads talk only to each other (distributed training, inter-container
        # encryption) and to the endpoints over HTTPS: no other egress.
        self.workload_security_group = ec2.SecurityGroup(
            self,
            "WorkloadSecurityGroup",
            vpc=self.vpc,
            description="SageMaker jobs, notebook and endpoints: HTTPS to VPC endpoints, traffic among themselves",
            allow_all_outbound=False,
        )
        self.workload_security_group.add_ingress_rule(
            self.workload_security_group, ec2.Port.all_tcp(), "Distributed training between job instances"
        )
        self.workload_security_group.add_egress_rule(
            self.workload_security_group, ec2.Port.all_tcp(), "Distributed training between job instances"
        )
        # With no internet or NAT gateway, HTTPS can only reach the interface
        # endpoints and the S3 gateway endpoint; naming S3's managed prefix list
        # instead would need a lookup at synth.
        self.workload_security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.HTTPS, "HTTPS to VPC endpoints and the S3 gateway endpoint"
        )

        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Interface endpoints: HTTPS from platform workloads only",
            allow_all_outbound=False,
        )
        self.endpoint_security_group.add_ingress_rule(
            self.workload_security_group, ec2.Port.HTTPS, "HTTPS from platform workloads"
        )

        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        for name in interface_endpoints:
            self.interface_endpoints[name] = self.vpc.add_interface_endpoint(
                name,
                service=endpoint_service(SAGEMAKER_INTERFACE_ENDPOINTS[name]),
                private_dns_enabled=True,
                security_groups=[self.endpoint_security_group],
                open=False,
            )

    @property
    def isolated_subnets(self) -> list[ec2.ISubnet]:
        return list(self.vpc.isolated_subnets)
