"""Wires the deployment units of one environment together."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk

from stacks.access_stack import AccessStack
from stacks.config import PlatformConfig
from stacks.data_stack import DataStack
from stacks.network_stack import NetworkStack


@dataclass(frozen=True)
class Platform:
    data: DataStack
    network: NetworkStack
    access: AccessStack

    @property
    def stacks(self) -> list[cdk.Stack]:
        return [self.data, self.network, self.access]


def build_platform(app: cdk.App, config: PlatformConfig) -> Platform:
    env = cdk.Environment(account=config.account, region=config.region)
    data = DataStack(
        app,
        config.stack_name("data"),
        config=config,
        env=env,
        description="ML platform: KMS keys and S3 buckets (retained on delete)",
    )
    network = NetworkStack(
        app,
        config.stack_name("network"),
        config=config,
        env=env,
        flow_log_bucket=data.access_logs,
        description="ML platform: isolated VPC, endpoints, flow logs",
    )
    access = AccessStack(
        app,
        config.stack_name("access"),
        config=config,
        env=env,
        data=data,
        network=network,
        description="ML platform: least-privilege IAM roles for every principal",
    )
    for stack in (data, network, access):
        for key, value in (("Project", config.project), *config.tags):
            cdk.Tags.of(stack).add(key, value)
    return Platform(data=data, network=network, access=access)
