"""Wires the deployment units of one environment together."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk

from stacks.config import PlatformConfig
from stacks.data_stack import DataStack
from stacks.network_stack import NetworkStack


@dataclass(frozen=True)
class Platform:
    data: DataStack
    network: NetworkStack

    @property
    def stacks(self) -> list[cdk.Stack]:
        return [self.data, self.network]


def build_platform(app: cdk.App, config: PlatformConfig) -> Platform:
    env = cdk.Environment(account=config.account, region=config.region)
    data = DataStack(app, config.stack_name("data"), config=config, env=env,
                     description="ML platform: KMS keys and S3 buckets (retained on delete)")
    network = NetworkStack(app, config.stack_name("network"), config=config, env=env,
                           flow_log_bucket=data.access_logs,
                           description="ML platform: isolated VPC, endpoints, flow logs")
    for stack in (data, network):
        for key, value in (("Project", config.project), *config.tags):
            cdk.Tags.of(stack).add(key, value)
    return Platform(data=data, network=network)
