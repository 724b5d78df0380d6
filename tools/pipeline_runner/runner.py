"""One local execution of a pipeline definition: parameters, preflight, steps in dependency order."""

from __future__ import annotations

import copy
import secrets
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stacks.pipeline_definition.checks import references
from tools.pipeline_runner.base import RunOptions, StepOutcome, Workspace
from tools.pipeline_runner.errors import PipelineError, PipelineFailed
from tools.pipeline_runner.expressions import Context, evaluate_condition, resolve, step_reference
from tools.pipeline_runner.processing import run_processing_step
from tools.pipeline_runner.register import run_register_step
from tools.pipeline_runner.storage import Storage
from tools.pipeline_runner.transform import run_model_step, run_transform_step
from tools.pipeline_runner.tuning import run_tuning_step

EXECUTORS: dict[str, Callable[[dict, dict, Workspace], StepOutcome]] = {
    "Processing": run_processing_step,
    "Tuning": run_tuning_step,
    "RegisterModel": run_register_step,
    "Model": run_model_step,
    "Transform": run_transform_step,
}
EXECUTION_VARIABLES = ("PipelineExecutionId", "PipelineExecutionArn", "PipelineName", "PipelineArn",
                       "StartDateTime", "CurrentDateTime")


@dataclass
class StepRecord:
    name: str
    type: str
    status: str  # Succeeded | Failed | NotExecuted
    seconds: float = 0.0
    detail: dict = field(default_factory=dict)
    failure: str | None = None


@dataclass
class Execution:
    pipeline_name: str
    execution_id: str
    parameters: dict[str, Any]
    work_dir: Path
    steps: list[StepRecord] = field(default_factory=list)
    status: str = "Executing"
    failure: str | None = None
    seconds: float = 0.0

    def step(self, name: str) -> StepRecord:
        return next(s for s in self.steps if s.name == name)


def iter_steps(steps: list[dict]):
    for step in steps:
        yield step
        if step.get("Type") == "Condition":
            yield from iter_steps(step.get("Arguments", {}).get("IfSteps", []))
            yield from iter_steps(step.get("Arguments", {}).get("ElseSteps", []))


def _readable(step: dict) -> dict:
    """The parts of a step its expressions live in (a condition's branches are steps of their own)."""
    if step.get("Type") == "Condition":
        return {"Conditions": step.get("Arguments", {}).get("Conditions", [])}
    return step.get("Arguments", {})


def dependencies(definition: Mapping) -> dict[str, set[str]]:
    deps = {}
    for step in iter_steps(definition.get("Steps", [])):
        found = set(step.get("DependsOn", []))
        found |= {t for _, ref in references(_readable(step)) if (t := step_reference(ref))}
        deps[step["Name"]] = found
    return deps


def preflight(definition: Mapping) -> None:
    """What CreatePipeline rejects: unknown steps, parameters or variables in any reference."""
    steps = list(iter_steps(definition.get("Steps", [])))
    names = [s.get("Name") for s in steps]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise PipelineError(f"step names {duplicated} are used more than once")
    declared = {p["Name"] for p in definition.get("Parameters", [])}
    for step in steps:
        name = step["Name"]
        for field_path, ref in references(_readable(step), "Arguments"):
            head, _, rest = ref.partition(".")
            target = step_reference(ref)
            if head == "Parameters" and rest not in declared:
                raise PipelineError(f"{ref!r} names an undeclared parameter (declared: {sorted(declared)})",
                                    step=name, field=field_path)
            if head == "Steps" and (target not in names or target == name):
                raise PipelineError(f"{ref!r} reads step {target!r}, which is not another step of the"
                                    f" pipeline (steps: {names})", step=name, field=field_path)
            if head == "Execution" and rest not in EXECUTION_VARIABLES:
                raise PipelineError(f"{ref!r} is not an execution variable {list(EXECUTION_VARIABLES)}",
                                    step=name, field=field_path)
            if head not in ("Parameters", "Steps", "Execution"):
                raise PipelineError(f"unknown reference {ref!r}", step=name, field=field_path)
        for index, dependency in enumerate(step.get("DependsOn", [])):
            if dependency not in names:
                raise PipelineError(f"{dependency!r} is not a step", step=name, field=f"DependsOn[{index}]")


def resolve_parameters(definition: Mapping, overrides: Mapping[str, Any]) -> dict[str, Any]:
    declared = {p["Name"]: p for p in definition.get("Parameters", [])}
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise PipelineError(f"parameter(s) {unknown} are not declared (declared: {sorted(declared)})")
    values = {}
    for name, spec in declared.items():
        if name not in overrides and "DefaultValue" not in spec:
            raise PipelineError(f"parameter {name} has no default and no value was given")
        raw = overrides.get(name, spec.get("DefaultValue"))
        values[name] = _typed(name, spec, raw)
    return values


def _typed(name: str, spec: Mapping, raw: Any) -> Any:
    kind = spec.get("Type", "String")
    try:
        if kind == "Integer":
            value = int(raw)
        elif kind == "Float":
            value = float(raw)
        elif kind == "Boolean":
            value = raw if isinstance(raw, bool) else {"true": True, "false": False}[str(raw).lower()]
        else:
            value = str(raw)
    except (KeyError, TypeError, ValueError):
        raise PipelineError(f"parameter {name}: {raw!r} is not a valid {kind}") from None
    if spec.get("EnumValues") and value not in spec["EnumValues"]:
        raise PipelineError(f"parameter {name}: {value!r} is not one of {spec['EnumValues']}")
    return value


def run_definition(
    definition: Mapping,
    *,
    storage: Storage,
    options: RunOptions = RunOptions(),  # noqa: B008 - frozen, so sharing the default is safe
    sagemaker: Any = None,
    work_dir: str | Path | None = None,
    pipeline_name: str = "local-pipeline",
    account: str = "111122223333",
    region: str = "us-east-1",
    log: Callable[[str], None] = print,
    glue: Any = None,
) -> Execution:
    """Run every step; raises PipelineError (``.execution`` holds what ran) on any failure.

    ``glue``: a Glue client (the emulator's) for steps whose input is an Athena query."""
    definition = copy.deepcopy(dict(definition))
    execution_id = options.execution_id or secrets.token_hex(6)
    work = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="pipeline-run-"))
    execution = Execution(pipeline_name, execution_id, {}, work)
    started = time.perf_counter()
    try:
        if definition.get("Version") != "2020-12-01":
            raise PipelineError(f"definition Version {definition.get('Version')!r} is not 2020-12-01")
        preflight(definition)
        execution.parameters = resolve_parameters(definition, options.parameters)
        ws = Workspace(storage, work, options, execution_id, sagemaker, log, account, region, glue=glue)
        ctx = Context(execution.parameters, _execution_variables(pipeline_name, execution_id, account, region))
        _run_steps(definition, ctx, ws, execution)
        execution.status = "Succeeded"
        return execution
    except PipelineError as exc:
        execution.status, execution.failure = "Failed", str(exc)
        exc.execution = execution
        raise
    finally:
        execution.seconds = time.perf_counter() - started


def _execution_variables(pipeline: str, execution_id: str, account: str, region: str) -> dict[str, str]:
    arn = f"arn:aws:sagemaker:{region}:{account}:pipeline/{pipeline.lower()}"
    now = datetime.now(UTC).isoformat()
    return {"PipelineExecutionId": execution_id, "PipelineExecutionArn": f"{arn}/execution/{execution_id}",
            "PipelineName": pipeline, "PipelineArn": arn, "StartDateTime": now, "CurrentDateTime": now}


def _run_steps(definition: Mapping, ctx: Context, ws: Workspace, execution: Execution) -> None:
    deps = dependencies(definition)
    pending = list(definition.get("Steps", []))
    succeeded: set[str] = set()
    total = sum(1 for _ in iter_steps(definition.get("Steps", [])))
    while pending:
        ready = next((s for s in pending if deps[s["Name"]] <= succeeded), None)
        if ready is None:
            blocked = pending[0]
            raise PipelineError(f"depends on {sorted(deps[blocked['Name']] - succeeded)}, which did not run",
                                step=blocked["Name"])
        pending.remove(ready)
        name, kind = ready["Name"], ready.get("Type")
        ran = sum(1 for s in execution.steps if s.status != "NotExecuted")
        ws.log(f"[{ran + 1}/{total}] {name} ({kind}) ...")
        record = StepRecord(name, kind, "Executing")
        execution.steps.append(record)
        started = time.perf_counter()
        try:
            chosen = _run_one(ready, ctx, ws, record)
        except PipelineError as exc:
            record.status, record.failure = "Failed", str(exc)
            raise
        finally:
            record.seconds = time.perf_counter() - started
        record.status = "Succeeded"
        succeeded.add(name)
        ws.log(f"      {name}: Succeeded in {record.seconds:.1f}s")
        if chosen is not None:
            taken, skipped = chosen
            pending += taken
            for step in iter_steps(skipped):
                execution.steps.append(StepRecord(step["Name"], step.get("Type"), "NotExecuted"))


def _run_one(step: dict, ctx: Context, ws: Workspace, record: StepRecord) -> tuple[list, list] | None:
    name, kind = step["Name"], step.get("Type")
    arguments = step.get("Arguments", {})
    if kind == "Condition":
        outcome = all(
            evaluate_condition(c, ctx, step=name, field_path=f"Arguments.Conditions[{i}]")
            for i, c in enumerate(arguments.get("Conditions", []))
        )
        ctx.steps[name] = {"Outcome": outcome}
        record.detail = {"outcome": outcome, "conditions": [
            {**c, "LeftValue": _maybe(c.get("LeftValue"), ctx, name), "RightValue": _maybe(c.get("RightValue"), ctx,
                                                                                          name)}
            for c in arguments.get("Conditions", [])]}
        branches = (arguments.get("IfSteps", []), arguments.get("ElseSteps", []))
        return branches if outcome else branches[::-1]
    if kind == "Fail":
        message = resolve(arguments.get("ErrorMessage", ""), ctx, step=name, field_path="Arguments.ErrorMessage")
        record.detail = {"message": message}
        raise PipelineFailed(str(message), step=name)
    if kind not in EXECUTORS:
        raise PipelineError(f"step type {kind!r} is not supported locally (supported: Condition, Fail,"
                            f" {', '.join(EXECUTORS)})", step=name, field="Type")
    resolved = resolve(arguments, ctx, step=name, field_path="Arguments")
    outcome = EXECUTORS[kind](step, resolved, ws)
    ctx.steps[name] = outcome.properties
    for file_name, content in outcome.property_files.items():
        ctx.property_files[(name, file_name)] = content
    record.detail = outcome.detail
    return None


def _maybe(value: Any, ctx: Context, step: str) -> Any:
    if value is None:
        return None
    return resolve(value, ctx, step=step, field_path="Arguments.Conditions")
