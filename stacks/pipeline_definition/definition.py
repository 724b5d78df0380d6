"""The whole definition document."""

from __future__ import annotations

from stacks.pipeline_definition.parameters import pipeline_parameters
from stacks.pipeline_definition.resources import PipelineResources
from stacks.pipeline_definition.steps import check_step, evaluate_step, preprocess_step, tune_step

SCHEMA_VERSION = "2020-12-01"


def build_definition(r: PipelineResources) -> dict:
    """The definition as a dict whose leaves may be CDK tokens (render with ``Stack.to_json_string``).

    No ``PipelineExperimentConfig``: experiment tracking would need the
    pipeline role to create experiments and trials, which nothing here reads.
    """
    params = pipeline_parameters(r.config, raw_bucket=r.raw_bucket)
    return {
        "Version": SCHEMA_VERSION,
        "Metadata": {},
        "Parameters": [p.to_definition() for p in params.values()],
        "Steps": [preprocess_step(r), tune_step(r), evaluate_step(r), check_step(r)],
    }
