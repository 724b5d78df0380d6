"""The cost of one pipeline run, from the synthesized pipeline definition's defaults.

The definition says which instances run and how many trials; how long each
job runs is an assumption the caller states (minutes per processing job, per
trial), since it depends on the data.
"""

from __future__ import annotations

from dataclasses import dataclass

from tools.cost.prices import SPOT_DISCOUNT, RegionPrices


@dataclass(frozen=True)
class RunLine:
    step: str
    instance_type: str
    instances: int
    jobs: int
    minutes_per_job: float
    spot: bool
    usd: float


def _default(definition: dict, value):
    """A literal, or the default of the pipeline parameter it refers to."""
    if isinstance(value, dict) and "Get" in value and value["Get"].startswith("Parameters."):
        name = value["Get"].removeprefix("Parameters.")
        return next(p["DefaultValue"] for p in definition["Parameters"] if p["Name"] == name)
    return value


def run_lines(definition: dict, prices: RegionPrices, *, processing_minutes: float,
              trial_minutes: float) -> list[RunLine]:
    lines = []
    for step in definition["Steps"]:
        args = step.get("Arguments", {})
        if step["Type"] == "Processing":
            cluster = args["ProcessingResources"]["ClusterConfig"]
            instance_type = _default(definition, cluster["InstanceType"])
            count = int(_default(definition, cluster["InstanceCount"]))
            usd = count * prices.instance(instance_type) * processing_minutes / 60
            lines.append(RunLine(step["Name"], instance_type, count, 1, processing_minutes, False, usd))
        elif step["Type"] == "Tuning":
            # Several definitions share the trial budget; the first one prices them all.
            job = args.get("TrainingJobDefinition") or args["TrainingJobDefinitions"][0]
            resources = job["ResourceConfig"]
            instance_type = _default(definition, resources["InstanceType"])
            count = int(_default(definition, resources["InstanceCount"]))
            trials = int(_default(definition, args["HyperParameterTuningJobConfig"]["ResourceLimits"][
                "MaxNumberOfTrainingJobs"]))
            spot = bool(job.get("EnableManagedSpotTraining", False))
            rate = prices.instance(instance_type) * ((1 - SPOT_DISCOUNT) if spot else 1.0)
            usd = trials * count * rate * trial_minutes / 60
            lines.append(RunLine(step["Name"], instance_type, count, trials, trial_minutes, spot, usd))
    return lines
