"""Checks on a synthesized pipeline definition that no cdk-nag rule makes.

* :func:`definition_from_template` renders the ``Fn::Join`` body of the
  ``AWS::SageMaker::Pipeline`` back into the definition, with each
  CloudFormation intrinsic replaced by a placeholder string.
* :func:`validate_definition` checks every step's ``Arguments`` against
  botocore's SageMaker service model (the request shape the step's job is
  created with) and every ``Get`` reference against what is defined.
* :func:`check_metric_regexes`, :func:`check_hyperparameters` and
  :func:`check_channels` hold the definition to what ``training/train.py``
  prints, accepts and reads.

Every failure is a :class:`DefinitionError` naming the step and the field path.
Tests and tools import this module; the stack never does (botocore is only
needed to check, not to synthesize).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stacks.pipeline_definition.expressions import is_expression

PLACEHOLDER = "CFNTOKEN"
_PLACEHOLDER_RE = re.compile(rf"{PLACEHOLDER}(\d+)X")
#: Step type -> the SageMaker operation whose request its Arguments are.
OPERATIONS = {
    "Processing": "CreateProcessingJob",
    "Tuning": "CreateHyperParameterTuningJob",
    "RegisterModel": "CreateModelPackage",
    "Training": "CreateTrainingJob",
    "Model": "CreateModel",
    "Transform": "CreateTransformJob",
}
#: Members Pipelines fills in itself: each run's jobs get generated names.
PIPELINE_SUPPLIED = {
    "ProcessingJobName", "HyperParameterTuningJobName", "TrainingJobName", "ModelName", "TransformJobName",
}
CONDITION_TYPES = {
    "Equals", "GreaterThan", "GreaterThanOrEqualTo", "LessThan", "LessThanOrEqualTo", "In", "Not", "Or",
}  # fmt: skip
_STEP_REF = re.compile(r"^Steps\.([A-Za-z0-9_-]+)\.(.+)$")


class DefinitionError(AssertionError):
    """A definition problem; the message starts with ``step <name>: <field path>``."""


# ----------------------------------------------------------------- template -> definition


@dataclass(frozen=True)
class RenderedDefinition:
    definition: dict
    #: placeholder string -> the CloudFormation intrinsic it stands for.
    tokens: dict[str, Any]

    def intrinsic(self, value: str) -> Any:
        """The intrinsic behind a placeholder string (``None`` for a literal)."""
        return self.tokens.get(value)


def pipeline_resource(template: Mapping) -> dict:
    found = [r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::Pipeline"]
    if len(found) != 1:
        raise DefinitionError(f"expected one AWS::SageMaker::Pipeline, found {len(found)}")
    return found[0]


def definition_from_template(template: Mapping) -> RenderedDefinition:
    body = pipeline_resource(template)["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
    tokens: dict[str, Any] = {}
    if isinstance(body, str):
        return RenderedDefinition(json.loads(body), tokens)
    separator, parts = body["Fn::Join"]
    text = []
    for part in parts:
        if isinstance(part, str):
            text.append(part)
        else:
            placeholder = f"{PLACEHOLDER}{len(tokens)}X"
            tokens[placeholder] = part
            text.append(placeholder)
    return RenderedDefinition(json.loads(separator.join(text)), tokens)


def _has_placeholder(value: Any) -> bool:
    return isinstance(value, str) and _PLACEHOLDER_RE.search(value) is not None


# ----------------------------------------------------------------- steps and references


def iter_steps(definition: Mapping) -> Iterator[dict]:
    """Every step, including those nested in a condition's branches, in definition order."""

    def walk(steps):
        for step in steps:
            yield step
            if step.get("Type") == "Condition":
                yield from walk(step["Arguments"].get("IfSteps", []))
                yield from walk(step["Arguments"].get("ElseSteps", []))

    yield from walk(definition.get("Steps", []))


def step_named(definition: Mapping, name: str) -> dict:
    for step in iter_steps(definition):
        if step["Name"] == name:
            return step
    raise DefinitionError(f"no step named {name!r}")


def references(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """``(field path, "Steps.X..." | "Parameters.X" | ...)`` for every ``Get`` inside ``value``."""
    if isinstance(value, dict):
        if set(value) == {"Get"} and isinstance(value["Get"], str):
            yield path, value["Get"]
            return
        for key, item in value.items():
            yield from references(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from references(item, f"{path}[{index}]")


def dependencies(definition: Mapping) -> dict[str, set[str]]:
    """Step name -> the steps whose properties it reads (plus explicit ``DependsOn``)."""
    deps: dict[str, set[str]] = {}
    for step in iter_steps(definition):
        found = set(step.get("DependsOn", []))
        arguments = step.get("Arguments", {})
        if step["Type"] == "Condition":  # branch steps are steps of their own
            arguments = {"Conditions": arguments.get("Conditions", [])}
        for _, ref in references(arguments):
            match = _STEP_REF.match(ref)
            if match:
                found.add(match.group(1))
        deps[step["Name"]] = found
    return deps


def check_references(definition: Mapping) -> None:
    """Every ``Get`` names a declared parameter, an earlier step, a declared output or property file."""
    params = {p["Name"] for p in definition.get("Parameters", [])}
    seen: dict[str, dict] = {}
    for step in iter_steps(definition):
        name = step["Name"]
        for field_path, ref in references(step.get("Arguments", {}), "Arguments"):
            if ref.startswith("Parameters."):
                if ref.split(".", 1)[1] not in params:
                    raise DefinitionError(f"step {name}: {field_path}: undeclared parameter {ref!r}")
            elif ref.startswith("Steps."):
                match = _STEP_REF.match(ref)
                target = match.group(1) if match else ""
                if target not in seen:
                    raise DefinitionError(f"step {name}: {field_path}: {ref!r} reads a step not defined before it")
                _check_step_property(name, field_path, ref, seen[target])
            elif not ref.startswith("Execution."):
                raise DefinitionError(f"step {name}: {field_path}: unknown reference {ref!r}")
        seen[name] = step


def _check_step_property(name: str, field_path: str, ref: str, target: dict) -> None:
    output = re.search(r"ProcessingOutputConfig\.Outputs\['([^']+)'\]", ref)
    if output:
        names = [o["OutputName"] for o in target["Arguments"]["ProcessingOutputConfig"]["Outputs"]]
        if output.group(1) not in names:
            raise DefinitionError(
                f"step {name}: {field_path}: {ref!r} names output {output.group(1)!r}; step"
                f" {target['Name']} declares {names}"
            )
    prop = re.search(r"\.PropertyFiles\.([A-Za-z0-9_]+)$", ref)
    if prop:
        files = [f["PropertyFileName"] for f in target.get("PropertyFiles", [])]
        if prop.group(1) not in files:
            raise DefinitionError(f"step {name}: {field_path}: property file {prop.group(1)!r} not in {files}")


# ----------------------------------------------------------------- request shapes


def sagemaker_model():
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def validate_definition(definition: Mapping, service_model=None) -> None:
    """Schema version, references, and every step's Arguments against the service model."""
    if definition.get("Version") != "2020-12-01":
        raise DefinitionError(f"definition Version {definition.get('Version')!r} is not 2020-12-01")
    names = [s["Name"] for s in iter_steps(definition)]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DefinitionError(f"step names {duplicates} are used twice")
    check_references(definition)
    service_model = service_model or sagemaker_model()
    for step in iter_steps(definition):
        kind = step.get("Type")
        if kind in OPERATIONS:
            shape = service_model.operation_model(OPERATIONS[kind]).input_shape
            validate_value(shape, step["Arguments"], f"step {step['Name']}: Arguments", skip=PIPELINE_SUPPLIED)
            if kind == "Tuning":
                _validate_tuning_definitions(step)
        elif kind == "Condition":
            _validate_condition(step)
        elif kind == "Fail":
            if "ErrorMessage" not in step.get("Arguments", {}):
                raise DefinitionError(f"step {step['Name']}: Arguments.ErrorMessage is missing")
        else:
            raise DefinitionError(f"step {step['Name']}: unknown step Type {kind!r}")


def training_job_definitions(step: Mapping) -> list[tuple[str, dict]]:
    """``(field path, definition)`` of a tuning step's one ``TrainingJobDefinition`` or its several
    ``TrainingJobDefinitions``."""
    arguments = step["Arguments"]
    if "TrainingJobDefinitions" in arguments:
        definitions = arguments["TrainingJobDefinitions"]
        return [(f"Arguments.TrainingJobDefinitions[{i}]", d) for i, d in enumerate(definitions)]
    return [("Arguments.TrainingJobDefinition", arguments["TrainingJobDefinition"])]


def tuning_objective(step: Mapping, definition: Mapping) -> dict:
    """The definition's own ``TuningObjective``, or the tuning job's."""
    config = step["Arguments"]["HyperParameterTuningJobConfig"]
    return definition.get("TuningObjective") or config["HyperParameterTuningJobObjective"]


def parameter_ranges(step: Mapping, definition: Mapping) -> dict:
    """The definition's own ``HyperParameterRanges``, or the tuning job's ``ParameterRanges``."""
    config = step["Arguments"]["HyperParameterTuningJobConfig"]
    return definition.get("HyperParameterRanges") or config.get("ParameterRanges", {})


def _validate_tuning_definitions(step: dict) -> None:
    """What CreateHyperParameterTuningJob adds to the shapes: one definition or several, each named with
    its own objective and ranges, all on the same metric (the best trial is chosen across them)."""
    arguments, name = step["Arguments"], step["Name"]
    if ("TrainingJobDefinition" in arguments) == ("TrainingJobDefinitions" in arguments):
        raise DefinitionError(f"step {name}: Arguments: give exactly one of TrainingJobDefinition and"
                              " TrainingJobDefinitions")
    config = arguments["HyperParameterTuningJobConfig"]
    if "TrainingJobDefinition" in arguments:
        if "HyperParameterTuningJobObjective" not in config:
            raise DefinitionError(f"step {name}: Arguments.HyperParameterTuningJobConfig: no"
                                  " HyperParameterTuningJobObjective")
        return
    for member in ("HyperParameterTuningJobObjective", "ParameterRanges"):
        if member in config:
            raise DefinitionError(f"step {name}: Arguments.HyperParameterTuningJobConfig.{member}: with"
                                  " TrainingJobDefinitions it belongs to each definition; move it there")
    seen, metrics = set(), set()
    for path, definition in training_job_definitions(step):
        for member in ("DefinitionName", "TuningObjective", "HyperParameterRanges"):
            if member not in definition:
                raise DefinitionError(f"step {name}: {path}: {member} is required with several definitions")
        if definition["DefinitionName"] in seen:
            raise DefinitionError(f"step {name}: {path}.DefinitionName {definition['DefinitionName']!r} is used"
                                  " twice")
        seen.add(definition["DefinitionName"])
        metrics.add((definition["TuningObjective"]["Type"], definition["TuningObjective"]["MetricName"]))
    if len(metrics) > 1:
        raise DefinitionError(f"step {name}: Arguments.TrainingJobDefinitions: every TuningObjective must be the"
                              f" same for the best trial to be comparable, found {sorted(metrics)}")


def _validate_condition(step: dict) -> None:
    arguments = step["Arguments"]
    if not arguments.get("Conditions"):
        raise DefinitionError(f"step {step['Name']}: Arguments.Conditions is empty")
    for index, condition in enumerate(arguments["Conditions"]):
        if condition.get("Type") not in CONDITION_TYPES:
            raise DefinitionError(
                f"step {step['Name']}: Arguments.Conditions[{index}].Type {condition.get('Type')!r} is not one of"
                f" {sorted(CONDITION_TYPES)}"
            )


def validate_value(shape, value: Any, path: str, *, skip: set[str] = frozenset()) -> None:
    """Recursively check ``value`` against a botocore shape; expressions and placeholders are opaque."""
    if is_expression(value):
        return
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise DefinitionError(f"{path}: expected an object ({shape.name}), got {type(value).__name__}")
        unknown = sorted(set(value) - set(shape.members))
        if unknown:
            raise DefinitionError(f"{path}: unknown member(s) {unknown} for {shape.name}")
        missing = [m for m in shape.required_members if m not in value and m not in skip]
        if missing:
            raise DefinitionError(f"{path}: missing required member(s) {missing} of {shape.name}")
        for key, item in value.items():
            validate_value(shape.members[key], item, f"{path}.{key}")
    elif kind == "list":
        if not isinstance(value, list):
            raise DefinitionError(f"{path}: expected a list ({shape.name}), got {type(value).__name__}")
        _check_length(shape, len(value), path)
        for index, item in enumerate(value):
            validate_value(shape.member, item, f"{path}[{index}]")
    elif kind == "map":
        if not isinstance(value, dict):
            raise DefinitionError(f"{path}: expected a map ({shape.name}), got {type(value).__name__}")
        _check_length(shape, len(value), path)
        for key, item in value.items():
            validate_value(shape.key, key, f"{path}.<key {key}>")
            validate_value(shape.value, item, f"{path}.{key}")
    elif kind == "string":
        if not isinstance(value, str):
            raise DefinitionError(f"{path}: expected a string ({shape.name}), got {value!r}")
        if _has_placeholder(value):
            return
        if shape.enum and value not in shape.enum:
            raise DefinitionError(f"{path}: {value!r} is not one of {shape.name} {shape.enum}")
        _check_length(shape, len(value), path)
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise DefinitionError(f"{path}: expected an integer ({shape.name}), got {value!r}")
        _check_range(shape, value, path)
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise DefinitionError(f"{path}: expected a number ({shape.name}), got {value!r}")
        _check_range(shape, value, path)
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise DefinitionError(f"{path}: expected a boolean ({shape.name}), got {value!r}")


def _check_length(shape, length: int, path: str) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and length < low or high is not None and length > high:
        raise DefinitionError(f"{path}: length {length} outside [{low}, {high}] of {shape.name}")


def _check_range(shape, number: float, path: str) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and number < low or high is not None and number > high:
        raise DefinitionError(f"{path}: {number} outside [{low}, {high}] of {shape.name}")


# ----------------------------------------------------------------- wiring to training/


def _tuning_steps(definition: Mapping) -> list[dict]:
    steps = [s for s in iter_steps(definition) if s["Type"] == "Tuning"]
    if not steps:
        raise DefinitionError("the definition has no Tuning step")
    return steps


def check_metric_regexes(definition: Mapping, training_log: str) -> dict[str, float]:
    """Each tuning step's MetricDefinitions find a number in ``training_log``; returns the last values.

    The objective metric must be among the definitions, since the tuner can only optimise what it parses.
    """
    values = {}
    for step in _tuning_steps(definition):
        for path, job in training_job_definitions(step):
            field = f"{path}.AlgorithmSpecification.MetricDefinitions"
            definitions = job["AlgorithmSpecification"].get("MetricDefinitions", [])
            objective = tuning_objective(step, job)["MetricName"]
            if objective not in [d["Name"] for d in definitions]:
                raise DefinitionError(f"step {step['Name']}: {field}: no definition for the objective {objective!r}")
            for index, metric in enumerate(definitions):
                matches = re.findall(metric["Regex"], training_log)
                if not matches:
                    raise DefinitionError(
                        f"step {step['Name']}: {field}[{index}].Regex {metric['Regex']!r} matches nothing train.py"
                        f" printed for {metric['Name']!r}"
                    )
                last = matches[-1][0] if isinstance(matches[-1], tuple) else matches[-1]
                try:
                    values[metric["Name"]] = float(last)
                except ValueError:
                    raise DefinitionError(
                        f"step {step['Name']}: {field}[{index}].Regex captures {last!r}, not a number"
                    ) from None
    return values


def check_hyperparameters(definition: Mapping, spec: Mapping[str, Any]) -> None:
    """Range and static hyperparameter names are ones train.py accepts; ranges lie inside its bounds.

    ``spec`` is ``smxgb.hyperparams.SPEC`` (objects with ``kind``, ``contains``, ``choices``).
    """
    for step in _tuning_steps(definition):
        for path, job in training_job_definitions(step):
            _check_definition_hyperparameters(step, path, job, spec)


def _check_definition_hyperparameters(step: Mapping, path: str, job: Mapping, spec: Mapping[str, Any]) -> None:
    ranges_path = (f"{path}.HyperParameterRanges" if "HyperParameterRanges" in job
                   else "Arguments.HyperParameterTuningJobConfig.ParameterRanges")
    for kind, entries in parameter_ranges(step, job).items():
        for index, entry in enumerate(entries):
            field = f"{ranges_path}.{kind}[{index}]"
            name = entry["Name"]
            if name not in spec:
                raise DefinitionError(f"step {step['Name']}: {field}.Name {name!r} is not a hyperparameter"
                                      " train.py accepts")
            item = spec[name]
            if kind == "CategoricalParameterRanges":
                bad = [v for v in entry["Values"] if v not in item.choices]
                if bad:
                    raise DefinitionError(f"step {step['Name']}: {field}.Values {bad} not accepted for {name}")
                continue
            expected = "int" if kind == "IntegerParameterRanges" else "float"
            if item.kind not in (expected, "float" if expected == "int" else expected):
                raise DefinitionError(f"step {step['Name']}: {field}: {name} is {item.kind}, not {expected}")
            for bound in ("MinValue", "MaxValue"):
                if not item.contains(float(entry[bound])):
                    raise DefinitionError(
                        f"step {step['Name']}: {field}.{bound} {entry[bound]} is outside {name}'s accepted"
                        f" range ({item.describe()})"
                    )
    static = job.get("StaticHyperParameters", {})
    for name in static:
        if name.startswith("sagemaker_"):
            continue
        if name not in spec:
            raise DefinitionError(
                f"step {step['Name']}: {path}.StaticHyperParameters.{name} is not a hyperparameter train.py accepts"
            )


def check_channels(definition: Mapping, *, data_channels: set[str], code_channel: str = "code") -> None:
    """Tuning channels are ones train.py reads (plus the code channel the toolkit unpacks)."""
    for step in _tuning_steps(definition):
        for path, job in training_job_definitions(step):
            _check_definition_channels(step["Name"], path, job, data_channels, code_channel)


def _check_definition_channels(step: str, path: str, job: Mapping, data_channels: set[str], code_channel: str) -> None:
    field = f"{path}.InputDataConfig"
    names = [c["ChannelName"] for c in job["InputDataConfig"]]
    for index, name in enumerate(names):
        if name != code_channel and name not in data_channels:
            raise DefinitionError(
                f"step {step}: {field}[{index}].ChannelName {name!r} is not a channel train.py reads"
                f" ({sorted(data_channels)})"
            )
    if "train" not in names:
        raise DefinitionError(f"step {step}: {field}: no 'train' channel; train.py requires one")
    if code_channel not in names:
        raise DefinitionError(f"step {step}: {field}: no {code_channel!r} channel for the code")
    submit = job["StaticHyperParameters"].get("sagemaker_submit_directory", "")
    if not submit.startswith(f"/opt/ml/input/data/{code_channel}/"):
        raise DefinitionError(
            f"step {step}: {path}.StaticHyperParameters.sagemaker_submit_directory {submit!r} is not inside the"
            f" {code_channel!r} channel"
        )
