"""The pipeline expression language: references resolved by SageMaker Pipelines at run time."""

from __future__ import annotations

from typing import Any

EXECUTION_ID = {"Get": "Execution.PipelineExecutionId"}


def param(name: str) -> dict:
    return {"Get": f"Parameters.{name}"}


def step_property(step: str, path: str) -> dict:
    """A property of an earlier step, e.g. ``ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri``."""
    return {"Get": f"Steps.{step}.{path}"}


def processing_output_uri(step: str, output: str) -> dict:
    return step_property(step, f"ProcessingOutputConfig.Outputs['{output}'].S3Output.S3Uri")


def join(*values: Any, on: str = "/") -> dict:
    return {"Std:Join": {"On": on, "Values": list(values)}}


def json_get(step: str, property_file: str, path: str) -> dict:
    return {"Std:JsonGet": {"PropertyFile": {"Get": f"Steps.{step}.PropertyFiles.{property_file}"}, "Path": path}}


def is_expression(value: Any) -> bool:
    """A value SageMaker resolves at run time (opaque to request-shape validation)."""
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("Get", "Std:Join", "Std:JsonGet")
