"""Synthesize environments hermetically and put their idle and per-run costs in a table and in JSON."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from tools.cost.idle import CostLine, idle_lines
from tools.cost.prices import PRICES_AS_OF, prices_for
from tools.cost.run import RunLine, run_lines

REPO_ROOT = Path(__file__).resolve().parents[2]


#: The deployment unit switched on and off with `make workbench-up` / `make workbench-down`.
WORKBENCH_UNIT = "notebook"


@dataclass(frozen=True)
class EnvironmentCost:
    environment: str
    region: str
    idle: list[CostLine]
    run: list[RunLine]
    processing_minutes: float
    trial_minutes: float

    @property
    def platform_idle(self) -> list[CostLine]:
        return [line for line in self.idle if not line.stack.endswith(f"-{WORKBENCH_UNIT}")]

    @property
    def workbench_idle(self) -> list[CostLine]:
        return [line for line in self.idle if line.stack.endswith(f"-{WORKBENCH_UNIT}")]

    @property
    def idle_usd(self) -> float:
        """With the workbench switched off."""
        return round(sum(line.usd_per_month for line in self.platform_idle), 2)

    @property
    def workbench_usd(self) -> float:
        """What the workbench adds for every month it stays deployed (its notebook stopped when idle)."""
        return round(sum(line.usd_per_month for line in self.workbench_idle), 2)

    @property
    def run_usd(self) -> float:
        return round(sum(line.usd for line in self.run), 2)

    def to_json(self) -> dict:
        return {
            "environment": self.environment,
            "region": self.region,
            "prices_as_of": PRICES_AS_OF,
            "idle_usd_per_month": self.idle_usd,
            "workbench_usd_per_month": self.workbench_usd,
            "idle": [asdict(line) for line in self.idle],
            "run_usd": round(sum(line.usd for line in self.run), 4),
            "run_assumptions": {"processing_minutes": self.processing_minutes, "trial_minutes": self.trial_minutes},
            "run": [asdict(line) for line in self.run],
        }


def synthesize(env: str, outdir: Path) -> dict[str, dict]:
    """The environment's templates by stack, synthesized in-process with cdk.json's context (no nag packs:
    they decide nothing about cost)."""
    import aws_cdk as cdk

    from stacks.config import load
    from stacks.platform import build_platform

    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    # The default validation rules only warn (hard-coded AZs); `make synth` reports them.
    context |= {"aws:cdk:disable-creation-stack-traces": True, "@aws-cdk/core:validateAgainstDefaultRules": False}
    app = cdk.App(outdir=str(outdir), stack_traces=False, context=context)
    build_platform(app, load(env))
    with _quiet_stderr():  # jsii's Node process prints the validation report to our stderr
        assembly = app.synth()
    return {stack.stack_name: stack.template for stack in assembly.stacks}


@contextmanager
def _quiet_stderr():
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def environment_cost(env: str, *, processing_minutes: float = 5.0, trial_minutes: float = 5.0) -> EnvironmentCost:
    from stacks.config import load
    from tools.pipeline_runner.template import load_pipeline

    config = load(env)
    region = config.region
    prices = prices_for(region)
    with tempfile.TemporaryDirectory(prefix="mlp-cost-") as tmp:
        templates = synthesize(env, Path(tmp))
        # The training pipeline's run (the monitoring and batch-scoring stacks hold
        # pipelines too; batch scoring costs its transform instances' time).
        pipeline_stack = config.stack_name("pipeline")
        # Without a CloudFormation client ARNs become placeholders: prices need none.
        definition = load_pipeline(Path(tmp) / f"{pipeline_stack}.template.json").definition
    return EnvironmentCost(
        environment=env,
        region=region,
        idle=idle_lines(templates, prices),
        run=run_lines(definition, prices, processing_minutes=processing_minutes, trial_minutes=trial_minutes),
        processing_minutes=processing_minutes,
        trial_minutes=trial_minutes,
    )


def _money(usd: float) -> str:
    return f"${usd:,.2f}"


def _run_cell(line: RunLine) -> str:
    jobs = f"{line.jobs} trials x " if line.jobs > 1 else ""
    hosts = f"{line.instances} x " if line.instances > 1 else ""
    return f"{jobs}{hosts}{line.instance_type}{' (spot)' if line.spot else ''}: {_money(line.usd)}"


def markdown(costs: list[EnvironmentCost]) -> str:
    """The README's tables: idle cost by item (resources of one kind summed) and one run's cost."""
    items: dict[str, dict[str, float]] = defaultdict(dict)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for cost in costs:
        for line in cost.platform_idle:
            items[line.item][cost.environment] = items[line.item].get(cost.environment, 0.0) + line.usd_per_month
            counts[line.item, cost.environment] += 1
    envs = [c.environment for c in costs]
    header = f"| idle, per month ({costs[0].region} prices of {PRICES_AS_OF}) | " + " | ".join(envs) + " |"
    rows = [header, "| --- |" + " ---: |" * len(envs)]
    paid = sorted((i for i in items if any(v > 0 for v in items[i].values())),
                  key=lambda i: -max(items[i].values()))
    for item in paid:
        cells = [("-" if e not in items[item] else
                  _money(items[item][e]) + (f" ({counts[item, e]})" if counts[item, e] > 1 else "")) for e in envs]
        rows.append(f"| {item} | " + " | ".join(cells) + " |")
    free = sorted(i for i in items if i not in paid)
    rows.append(f"| free while idle: {'; '.join(free)} | " + " | ".join("$0.00" for _ in envs) + " |")
    rows.append("| **total idle, workbench switched off** | "
                + " | ".join(f"**{_money(c.idle_usd)}**" for c in costs) + " |")
    workbench_items = sorted({line.item for c in costs for line in c.workbench_idle if line.usd_per_month})
    rows.append(f"| the workbench, per month deployed ({'; '.join(workbench_items)}) | "
                + " | ".join(_money(c.workbench_usd) for c in costs) + " |")
    rows.append("| total idle with the workbench deployed | "
                + " | ".join(_money(c.idle_usd + c.workbench_usd) for c in costs) + " |")
    rows.append("")
    rows.append(f"| one pipeline run ({costs[0].processing_minutes:g} min per processing job, "
                f"{costs[0].trial_minutes:g} min per trial) | " + " | ".join(envs) + " |")
    rows.append("| --- |" + " ---: |" * len(envs))
    steps = list(dict.fromkeys(line.step for c in costs for line in c.run))
    for step in steps:
        cells = []
        for cost in costs:
            line = next((x for x in cost.run if x.step == step), None)
            cells.append("-" if line is None else _run_cell(line))
        rows.append(f"| {step} | " + " | ".join(cells) + " |")
    rows.append("| **total per run** | " + " | ".join(f"**{_money(c.run_usd)}**" for c in costs) + " |")
    return "\n".join(rows) + "\n"
