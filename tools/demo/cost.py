"""What the same run would cost on AWS, from the job seconds the local run measured.

Assumptions (stated, not fetched: the demo makes no network calls):
* SageMaker on-demand prices per instance-hour in us-east-1, from
  https://aws.amazon.com/sagemaker/pricing/ (training and processing rows),
  as of 2026-11. Processing and training are billed per second.
* Managed spot training saves about 70% against on-demand (AWS quotes "up to
  90%"; 60-70% is typical for ml.m5 in us-east-1). Processing has no spot.
* Each job is billed for its run time plus JOB_OVERHEAD_S for downloading
  inputs and uploading outputs, which the local run does not pay; instance
  provisioning and image pulls are not billed.
* A local core is taken to be as fast as a vCPU of the ml.m5 family.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICE_SOURCE = "aws.amazon.com/sagemaker/pricing, us-east-1 on-demand, 2026-11"
PRICES_USD_PER_HOUR = {
    "ml.t3.medium": 0.05,
    "ml.m5.large": 0.115,
    "ml.m5.xlarge": 0.23,
    "ml.m5.2xlarge": 0.461,
    "ml.m5.4xlarge": 0.922,
    "ml.c5.xlarge": 0.204,
    "ml.c5.2xlarge": 0.408,
}
SPOT_DISCOUNT = 0.70
JOB_OVERHEAD_S = 60.0


@dataclass(frozen=True)
class JobCost:
    step: str
    instance_type: str
    instances: int
    jobs: int
    billed_seconds: float
    spot: bool
    usd: float


class UnknownPrice(ValueError):
    pass


def price(instance_type: str) -> float:
    if instance_type not in PRICES_USD_PER_HOUR:
        raise UnknownPrice(f"no price assumed for {instance_type}; add it to tools/demo/cost.py")
    return PRICES_USD_PER_HOUR[instance_type]


def job_cost(step: str, instance_type: str, instances: int, run_seconds: float, jobs: int = 1,
             spot: bool = False) -> JobCost:
    billed = run_seconds + jobs * JOB_OVERHEAD_S
    usd = billed / 3600 * instances * price(instance_type) * ((1 - SPOT_DISCOUNT) if spot else 1.0)
    return JobCost(step, instance_type, instances, jobs, billed, spot, usd)


def execution_costs(execution) -> list[JobCost]:
    """One line per Processing/Tuning step that ran."""
    costs = []
    for record in execution.steps:
        detail = record.detail
        if record.status != "Succeeded":
            continue
        if record.type == "Processing":
            costs.append(job_cost(record.name, detail["instance_type"], detail["instance_count"],
                                  detail["job_seconds"]))
        elif record.type == "Tuning":
            costs.append(job_cost(record.name, detail["instance_type"], detail["instance_count"],
                                  detail["trial_seconds"], jobs=len(detail["trials"]), spot=detail["spot"]))
    return costs
