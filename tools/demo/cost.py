"""What the same run would cost on AWS, from the job seconds the local run measured.

Assumptions (stated, not fetched: the demo makes no network calls):
* SageMaker on-demand prices per instance-hour in us-east-1 from the
  project's one price table (tools/cost/prices.py, dated). Processing and
  training are billed per second.
* Managed spot training saves about 70% against on-demand (AWS quotes "up to
  90%"; 60-70% is typical for ml.m5 in us-east-1). Processing has no spot.
* Each job is billed for its run time plus JOB_OVERHEAD_S for downloading
  inputs and uploading outputs, which the local run does not pay; instance
  provisioning and image pulls are not billed.
* A local core is taken to be as fast as a vCPU of the ml.m5 family.
"""

from __future__ import annotations

from dataclasses import dataclass

from tools.cost.prices import PRICES, PRICES_AS_OF, SPOT_DISCOUNT, UnknownPrice

__all__ = ["SPOT_DISCOUNT", "UnknownPrice", "JOB_OVERHEAD_S", "execution_costs", "job_cost"]

PRICE_SOURCE = f"tools/cost/prices.py, us-east-1 on-demand, {PRICES_AS_OF}"
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


def price(instance_type: str) -> float:
    return PRICES["us-east-1"].instance(instance_type)


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
