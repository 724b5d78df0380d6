"""IsolatedVpc: no route to the internet, endpoints switchable, flow logs on."""

from __future__ import annotations

import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from constructs.isolated_vpc import SAGEMAKER_INTERFACE_ENDPOINTS, IsolatedVpc

from tests.infra.conftest import new_stack


def _vpc(*, interface_endpoints=tuple(SAGEMAKER_INTERFACE_ENDPOINTS), zones=("us-east-1a", "us-east-1b")) -> Template:
    stack = new_stack()
    logs = s3.Bucket(stack, "Logs")
    IsolatedVpc(stack, "Vpc", cidr="10.0.0.0/16", availability_zones=zones, flow_log_bucket=logs,
                interface_endpoints=interface_endpoints)
    return Template.from_stack(stack)


def test_no_internet_gateway_no_nat_isolated_subnets_only() -> None:
    template = _vpc()
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::EIP", 0)
    template.resource_count_is("AWS::EC2::Subnet", 2)
    for subnet in template.find_resources("AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
    for route in template.find_resources("AWS::EC2::Route").values():
        assert "GatewayId" not in route["Properties"] and "NatGatewayId" not in route["Properties"]


def test_interface_endpoints_are_the_ones_named() -> None:
    # GIVEN all endpoints THEN one per SageMaker dependency plus the S3 gateway
    on = _vpc().find_resources("AWS::EC2::VPCEndpoint")
    some = _vpc(interface_endpoints=("Logs", "Monitoring")).find_resources("AWS::EC2::VPCEndpoint")
    off = _vpc(interface_endpoints=()).find_resources("AWS::EC2::VPCEndpoint")
    interface = [e for e in on.values() if e["Properties"]["VpcEndpointType"] == "Interface"]
    assert len(interface) == len(SAGEMAKER_INTERFACE_ENDPOINTS)
    assert all(e["Properties"]["PrivateDnsEnabled"] is True for e in interface)
    # WHEN two are named THEN two interface endpoints exist, each in every AZ
    named = [e for e in some.values() if e["Properties"]["VpcEndpointType"] == "Interface"]
    assert len(named) == 2 and all(len(e["Properties"]["SubnetIds"]) == 2 for e in named)
    # WHEN none THEN only the free S3 gateway endpoint remains
    assert [e["Properties"]["VpcEndpointType"] for e in off.values()] == ["Gateway"]


def test_an_unknown_endpoint_name_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown interface endpoints \['Ecr'\]; choose from"):
        _vpc(interface_endpoints=("Ecr",))


def test_flow_logs_capture_all_traffic_to_s3() -> None:
    _vpc().has_resource_properties("AWS::EC2::FlowLog", {
        "LogDestinationType": "s3", "TrafficType": "ALL", "ResourceType": "VPC",
        "LogDestination": Match.any_value(),
    })


def test_security_groups_allow_no_ingress_from_outside_the_vpc() -> None:
    template = _vpc()
    groups = template.find_resources("AWS::EC2::SecurityGroup")
    ingress = [r["Properties"] for r in template.find_resources("AWS::EC2::SecurityGroupIngress").values()]
    ingress += [rule for g in groups.values() for rule in g["Properties"].get("SecurityGroupIngress", [])]
    assert ingress, "expected self-referencing and endpoint ingress rules"
    assert all("CidrIp" not in rule and "CidrIpv6" not in rule for rule in ingress)
    for group in groups.values():
        egress = group["Properties"].get("SecurityGroupEgress", [])
        assert all(rule.get("IpProtocol") != "-1" for rule in egress), "no all-protocol egress"


def test_refuses_a_single_availability_zone() -> None:
    with pytest.raises(ValueError, match=r"at least two availability zones; got \['us-east-1a'\]"):
        _vpc(zones=("us-east-1a",))
