"""Idle cost per month of a synthesized environment, resource by resource.

"Idle" is the platform deployed with nobody using it: the notebook stopped by
its idle check, no job running, the endpoint at its floor, empty buckets.
What only costs with use (S3 storage and requests, KMS requests, flow-log
bytes, serverless inference) is listed at $0 with that reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tools.cost.prices import HOURS_PER_MONTH, RegionPrices

#: Types that cost nothing while idle, and why (the report lists them).
FREE_WHILE_IDLE = {
    "AWS::S3::Bucket": "storage and requests only: empty buckets cost nothing",
    "AWS::EC2::FlowLog": "billed per GB of log data delivered",
    "AWS::SageMaker::Endpoint": "billed through its endpoint configuration's instances",
    "AWS::SageMaker::Model": "no charge",
    "AWS::SageMaker::Pipeline": "no charge; its jobs are billed per run",
    "AWS::SageMaker::ModelPackageGroup": "no charge",
    "AWS::SNS::Topic": "billed per message",
    "AWS::Events::Rule": "AWS service events are free",
    "AWS::DynamoDB::Table": "on demand: billed per request and stored byte (one lock item)",
    "AWS::StepFunctions::StateMachine": "billed per state transition (a few per alarm)",
    "AWS::Scheduler::Schedule": "billed per invocation, the first 14 million a month free",
    "AWS::Logs::LogGroup": "billed per GB ingested and stored",
    "AWS::Logs::MetricFilter": "no charge; its metrics are billed for the hours runs publish them",
    "AWS::CloudWatch::Dashboard": "the first three of an account are free, $3 a month each after",
    # Studio (WorkloadConfig.workbench="studio"): SageMaker bills the apps while they run, and idle
    # JupyterLab apps shut themselves down; the domain's EFS volume bills its stored bytes.
    "AWS::SageMaker::Domain": "no charge while its apps are stopped (idle JupyterLab apps shut down by"
    " themselves); its EFS volume is billed per GB stored, about $0.30 a GB-month, nothing while empty",
    "AWS::SageMaker::UserProfile": "no charge; its apps are billed while they run",
    # The package mirror (WorkloadConfig.package_mirror); its endpoints are priced with the others.
    "AWS::CodeArtifact::Domain": "no charge of its own",
    "AWS::CodeArtifact::Repository": "billed per GB stored ($0.05 a GB-month) and per request ($0.05 per"
    " 10,000), the first 2 GB and 100,000 requests of an account a month free",
}


@dataclass(frozen=True)
class CostLine:
    stack: str
    logical_id: str
    resource_type: str
    item: str
    usd_per_month: float


def _money_month(per_hour: float) -> str:
    return f"${per_hour * HOURS_PER_MONTH:.2f}"


def _scalable_floor(template: dict) -> int | None:
    floors = [r["Properties"]["MinCapacity"] for r in template["Resources"].values()
              if r["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"]
    return min(floors) if floors else None


def _line(stack: str, logical_id: str, resource: dict, template: dict, prices: RegionPrices) -> CostLine | None:
    kind, props = resource["Type"], resource.get("Properties", {})

    def line(item: str, usd: float) -> CostLine:
        return CostLine(stack, logical_id, kind, item, round(usd, 2))

    if kind == "AWS::EC2::VPCEndpoint" and props.get("VpcEndpointType") == "Interface":
        zones = len(props.get("SubnetIds", []))
        # One row for all of them (the report counts them): their number and AZs are what cost.
        per_az = _money_month(prices.interface_endpoint_per_az_hour)
        return line(f"interface endpoints in {zones} AZs, {per_az} per AZ-month each",
                    zones * prices.interface_endpoint_per_az_hour * HOURS_PER_MONTH)
    if kind == "AWS::KMS::Key":
        return line("KMS key", prices.kms_key_per_month)
    if kind == "AWS::SageMaker::NotebookInstance":
        gigabytes = props.get("VolumeSizeInGB", 5)
        return line(f"notebook, stopped when idle ({gigabytes} GB ML storage)",
                    gigabytes * prices.ml_storage_per_gb_month)
    if kind == "AWS::SageMaker::EndpointConfig":
        usd, items = 0.0, []
        for variant in props["ProductionVariants"]:
            if "ServerlessConfig" in variant:
                items.append("serverless (billed per request)")
                continue
            count = _scalable_floor(template) or variant["InitialInstanceCount"]
            usd += count * prices.instance(variant["InstanceType"]) * HOURS_PER_MONTH
            items.append(f"{count} x {variant['InstanceType']} around the clock")
        return line("endpoint: " + ", ".join(items), usd)
    if kind == "AWS::CloudWatch::Alarm":
        return line("CloudWatch alarm", prices.alarm_per_month)
    if kind == "AWS::Budgets::Budget":
        return line("AWS Budgets budget (the first two of an account are free)", prices.budget_per_month)
    if kind in FREE_WHILE_IDLE:
        return line(f"{kind.split('::', 1)[1]}: {FREE_WHILE_IDLE[kind]}", 0.0)
    return None


def idle_lines(templates: Mapping[str, dict], prices: RegionPrices) -> list[CostLine]:
    """One line per resource that costs (or could be mistaken to cost) money while idle."""
    lines = []
    for stack, template in templates.items():
        for logical_id, resource in template["Resources"].items():
            found = _line(stack, logical_id, resource, template, prices)
            if found is not None:
                lines.append(found)
    return lines
