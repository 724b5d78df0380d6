"""The Pipelines expression language, evaluated locally: Get, Std:Join, Std:JsonGet and conditions.

Property paths (``ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri``,
``TrainingJobSummaries[0].TrainingJobName``) are walked over a step's
Describe-like properties, so any path the real service exposes and the runner
records resolves, and any other path fails naming the field that holds it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tools.pipeline_runner.errors import PipelineError

_SEGMENT = re.compile(r"\.?([A-Za-z0-9_:-]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_STEP_REF = re.compile(r"^Steps\.([A-Za-z0-9_-]+)\.(.+)$")
# A list member addressed by a string is found by whichever of these names it carries.
_NAME_KEYS = ("OutputName", "InputName", "ChannelName", "PropertyFileName", "Name", "MetricName")
COMPARISONS = {
    "Equals": lambda a, b: a == b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanOrEqualTo": lambda a, b: a >= b,
    "LessThan": lambda a, b: a < b,
    "LessThanOrEqualTo": lambda a, b: a <= b,
}


@dataclass
class Context:
    """What expressions of one execution can read."""

    parameters: dict[str, Any]
    execution: dict[str, Any]
    #: step name -> its properties (as Describe* returns them), once the step has run.
    steps: dict[str, dict] = field(default_factory=dict)
    #: (step, property file name) -> the parsed JSON file.
    property_files: dict[tuple[str, str], Any] = field(default_factory=dict)


def parse_path(path: str) -> list[str | int]:
    """``A.B['x'][0].C`` -> ``['A', 'B', 'x', 0, 'C']``; a malformed path raises ValueError."""
    parts: list[str | int] = []
    position = 0
    while position < len(path):
        match = _SEGMENT.match(path, position)
        if not match or match.end() == position:
            raise ValueError(f"cannot parse {path[position:]!r}")
        name, index, quoted, double_quoted = match.groups()
        parts.append(int(index) if index is not None else next(p for p in (name, quoted, double_quoted)
                                                                if p is not None))
        position = match.end()
    return parts


def walk(node: Any, parts: list[str | int]) -> Any:
    """Follow ``parts`` into ``node``; KeyError names the first part that is not there."""
    for done, part in enumerate(parts):
        where = _render(parts[:done]) or "the step"
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                size = len(node) if isinstance(node, list) else "no list"
                raise KeyError(f"{where} has no item [{part}] ({size} items)")
            node = node[part]
        elif isinstance(node, Mapping):
            if part not in node:
                raise KeyError(f"{where} has no {part!r} (it has {sorted(node)})")
            node = node[part]
        elif isinstance(node, list):
            found = [item for item in node if isinstance(item, Mapping)
                     and any(item.get(key) == part for key in _NAME_KEYS)]
            if not found:
                names = [next((item[k] for k in _NAME_KEYS if k in item), "?") for item in node
                         if isinstance(item, Mapping)]
                raise KeyError(f"{where} has no {part!r} (it has {names})")
            node = found[0]
        else:
            raise KeyError(f"{where} is a {type(node).__name__}, not an object")
    return node


def _render(parts: list[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def get(ref: str, ctx: Context, *, step: str, field_path: str) -> Any:
    """Resolve one ``{"Get": ref}``."""
    head, _, rest = ref.partition(".")
    if head == "Parameters":
        if rest not in ctx.parameters:
            raise PipelineError(f"{ref!r} names an undeclared parameter", step=step, field=field_path)
        return ctx.parameters[rest]
    if head == "Execution":
        if rest not in ctx.execution:
            raise PipelineError(f"{ref!r}: no such execution variable (known: {sorted(ctx.execution)})",
                                step=step, field=field_path)
        return ctx.execution[rest]
    match = _STEP_REF.match(ref)
    if head != "Steps" or not match:
        raise PipelineError(f"unknown reference {ref!r}", step=step, field=field_path)
    target, path = match.groups()
    if target not in ctx.steps:
        raise PipelineError(f"{ref!r} reads step {target!r}, which has not run before this step",
                            step=step, field=field_path)
    try:
        return walk(ctx.steps[target], parse_path(path))
    except (KeyError, ValueError) as exc:
        reason = exc.args[0] if exc.args else str(exc)
        raise PipelineError(f"{ref!r}: step {target} {reason}", step=step, field=field_path) from None


def resolve(value: Any, ctx: Context, *, step: str, field_path: str) -> Any:
    """``value`` with every expression inside it replaced by its run-time value."""
    if isinstance(value, dict):
        if len(value) == 1:
            (key, inner), = value.items()
            if key == "Get" and isinstance(inner, str):
                return get(inner, ctx, step=step, field_path=field_path)
            if key == "Std:Join":
                values = resolve(inner.get("Values", []), ctx, step=step, field_path=f"{field_path}.Std:Join.Values")
                return str(inner.get("On", "")).join(_as_text(v) for v in values)
            if key == "Std:JsonGet":
                return _json_get(inner, ctx, step=step, field_path=f"{field_path}.Std:JsonGet")
        return {k: resolve(v, ctx, step=step, field_path=f"{field_path}.{k}" if field_path else k)
                for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, ctx, step=step, field_path=f"{field_path}[{i}]") for i, v in enumerate(value)]
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _json_get(spec: Mapping, ctx: Context, *, step: str, field_path: str) -> Any:
    ref = spec.get("PropertyFile", {})
    ref = ref.get("Get", "") if isinstance(ref, Mapping) else ""
    match = re.match(r"^Steps\.([A-Za-z0-9_-]+)\.PropertyFiles\.([A-Za-z0-9_-]+)$", ref)
    if not match:
        raise PipelineError(f"PropertyFile {spec.get('PropertyFile')!r} is not Steps.<step>.PropertyFiles.<name>",
                            step=step, field=field_path)
    key = match.groups()
    if key[0] not in ctx.steps:
        raise PipelineError(f"{ref!r} reads step {key[0]!r}, which has not run before this step",
                            step=step, field=f"{field_path}.PropertyFile")
    if key not in ctx.property_files:
        known = sorted(name for s, name in ctx.property_files if s == key[0])
        raise PipelineError(f"step {key[0]} has no property file {key[1]!r} (it has {known})",
                            step=step, field=f"{field_path}.PropertyFile")
    try:
        return walk(ctx.property_files[key], parse_path(spec.get("Path", "")))
    except (KeyError, ValueError) as exc:
        reason = exc.args[0] if exc.args else str(exc)
        raise PipelineError(f"Path {spec.get('Path')!r} in property file {key[1]}: {reason}",
                            step=step, field=f"{field_path}.Path") from None


def evaluate_condition(condition: Mapping, ctx: Context, *, step: str, field_path: str) -> bool:
    kind = condition.get("Type")
    if kind in COMPARISONS:
        left = resolve(condition.get("LeftValue"), ctx, step=step, field_path=f"{field_path}.LeftValue")
        right = resolve(condition.get("RightValue"), ctx, step=step, field_path=f"{field_path}.RightValue")
        left, right = _comparable(left, right, step=step, field_path=field_path)
        return COMPARISONS[kind](left, right)
    if kind == "In":
        query = resolve(condition.get("QueryValue"), ctx, step=step, field_path=f"{field_path}.QueryValue")
        values = resolve(condition.get("Values", []), ctx, step=step, field_path=f"{field_path}.Values")
        return query in values
    if kind == "Not":
        return not evaluate_condition(condition.get("Expression", {}), ctx, step=step,
                                      field_path=f"{field_path}.Expression")
    if kind == "Or":
        return any(evaluate_condition(c, ctx, step=step, field_path=f"{field_path}.Conditions[{i}]")
                   for i, c in enumerate(condition.get("Conditions", [])))
    raise PipelineError(f"condition Type {kind!r} is not one of {sorted([*COMPARISONS, 'In', 'Not', 'Or'])}",
                        step=step, field=f"{field_path}.Type")


def _comparable(left: Any, right: Any, *, step: str, field_path: str) -> tuple[Any, Any]:
    if left is None or right is None:
        raise PipelineError(f"cannot compare {left!r} with {right!r} (a null JSON value?)", step=step,
                            field=field_path)
    if isinstance(left, str) and isinstance(right, str):
        return left, right
    try:
        return float(left), float(right)
    except (TypeError, ValueError):
        raise PipelineError(f"cannot compare {left!r} with {right!r}", step=step, field=field_path) from None


def step_reference(ref: str) -> str | None:
    match = _STEP_REF.match(ref)
    return match.group(1) if match else None
