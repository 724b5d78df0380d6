"""Wires the deployment units of one environment together.

The order is the dependency order: data and network first, then the roles
that reference them, then the SageMaker workloads that use the roles.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from stacks.access_stack import AccessStack
from stacks.batch_scoring_stack import BatchScoringStack
from stacks.config import PlatformConfig
from stacks.data_stack import DataStack
from stacks.endpoint_stack import EndpointStack
from stacks.monitoring_stack import MonitoringStack
from stacks.network_stack import NetworkStack
from stacks.notebook_stack import NotebookStack
from stacks.people_stack import PeopleStack
from stacks.pipeline_stack import PipelineStack
from stacks.registry_stack import RegistryStack


@dataclass(frozen=True)
class Platform:
    data: DataStack
    network: NetworkStack
    access: AccessStack
    pipeline: PipelineStack | None = None
    batch_scoring: BatchScoringStack | None = None
    notebook: NotebookStack | None = None
    registry: RegistryStack | None = None
    endpoint: EndpointStack | None = None
    people: PeopleStack | None = None
    monitoring: MonitoringStack | None = None

    @property
    def stacks(self) -> list[cdk.Stack]:
        return [getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None]


def build_platform(app: cdk.App, config: PlatformConfig) -> Platform:
    env = cdk.Environment(account=config.account, region=config.region)

    def unit(cls, name: str, description: str, **kwargs):
        # stack_name explicit: inside the delivery pipeline's stages the names stay MlPlatform-<env>-<unit>.
        return cls(app, config.stack_name(name), stack_name=config.stack_name(name), config=config, env=env,
                   description=description, **kwargs)

    data = unit(DataStack, "data", "ML platform: KMS keys and S3 buckets (retained on delete)")
    network = unit(
        NetworkStack, "network", "ML platform: isolated VPC, endpoints, flow logs", flow_log_bucket=data.access_logs
    )
    access = unit(
        AccessStack, "access", "ML platform: least-privilege IAM roles for every principal", data=data, network=network
    )
    # -- SageMaker workload stacks are wired below this line --
    pipeline = unit(
        PipelineStack,
        "pipeline",
        "ML platform: training pipeline (preprocess, spot tuning, evaluation, registration)",
        access=access,
    )
    batch_scoring = unit(
        BatchScoringStack,
        "batch",
        "ML platform: batch-scoring pipeline (an approved model version over a data set in S3)",
        access=access,
    )
    notebook = unit(
        NotebookStack,
        "notebook",
        "ML platform: VPC-only notebook instance that stops itself when idle",
        network=network,
        access=access,
    )
    registry = unit(
        RegistryStack, "registry", "ML platform: model package group and approval notifications", data=data
    )
    endpoint = unit(
        EndpointStack,
        "endpoint",
        "ML platform: endpoint serving an approved model package version",
        data=data,
        network=network,
        access=access,
        alarm_topic=registry.topic,
    )
    monitoring = unit(
        MonitoringStack,
        "monitoring",
        "ML platform: scheduled production checks, alarms, guarded retraining, dashboard",
        data=data,
        access=access,
        pipeline=pipeline,
        # A literal ARN (the topic has a fixed name): no export from the registry stack.
        alarm_topic_arn=config.alert_topic_arn,
    )
    # The alarms notify the registry's topic; the monitoring job runs the code asset the pipeline stack publishes.
    monitoring.node.add_dependency(registry, pipeline)

    people = unit(
        PeopleStack,
        "people",
        "ML platform: persona roles, their groups or federated trust, separation of duties",
        data=data,
        access=access,
    )
    # Its privileged-use alerts publish to the registry's topic.
    people.node.add_dependency(registry)

    platform = Platform(
        data=data,
        network=network,
        access=access,
        pipeline=pipeline,
        batch_scoring=batch_scoring,
        notebook=notebook,
        registry=registry,
        endpoint=endpoint,
        people=people,
        monitoring=monitoring,
    )
    # Every role of every stack carries the boundary (the data stack creates it, and deploys first).
    boundary = iam.ManagedPolicy.from_managed_policy_arn(data, "BoundaryOfEveryRole", config.permissions_boundary_arn)
    for stack in platform.stacks:
        iam.PermissionsBoundary.of(stack).apply(boundary)
    # Cost-allocation tags: the budget selects this environment's costs by "Environment".
    for key, value in (("Project", config.project), ("Environment", config.name), *config.tags):
        cdk.Tags.of(app).add(key, value)
    return platform
