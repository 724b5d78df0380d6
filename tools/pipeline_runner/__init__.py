"""Run the synthesized SageMaker pipeline locally: every step, its data through (emulated) S3.

    from tools.pipeline_runner import RunOptions, S3Storage, run_pipeline
    execution = run_pipeline("cdk.out/MlPlatform-dev-pipeline.template.json",
                             storage=S3Storage(emu.client("s3")),
                             cloudformation=emu.client("cloudformation"), sagemaker=emu.client("sagemaker"),
                             options=RunOptions(parameters={"MaxTrainingJobs": 4}))
    execution.status, execution.step("Tune").detail["best"]

CLI: ``python -m tools.pipeline_runner --help``.

Runs locally: Processing (S3Input File mode in, or an AthenaDatasetDefinition run on DuckDB over
the emulator's Glue tables and S3 objects (athena.py: not Athena), S3Output out; ``python3 x.py`` or
the ``sh -c`` code-tarball launcher; one instance), Tuning (script mode from the
code channel; Random or Bayesian-like search over Integer/Continuous/Categorical
ranges with their scaling, seeded by RandomSeed or ``RunOptions.seed``;
MaxNumberOfTrainingJobs/MaxParallelTrainingJobs; several instances per trial with
ShardedByS3Key shards; objective from the MetricDefinitions regex; model.tar.gz
to ``<S3OutputPath>/<job>/output/``), Condition (comparisons, In, Not, Or),
RegisterModel (CreateModelPackage on the given SageMaker client), Model (CreateModel
from an Approved model package version) and Transform (batch transform through the
artifact's own handlers: line splitting, MultiRecord batching by MaxPayloadInMB,
CSV input/output filters, JoinSource; see transform.py), and Fail.
``Get`` on Parameters, Execution variables and any Describe-shaped step
property; Std:Join; Std:JsonGet on PropertyFiles read back from S3.

Not emulated, because nothing local can stand for it: IAM roles, KMS, VPC and
network isolation (the values are resolved, never enforced), managed spot
interruptions, checkpoints and RetryStrategy, tuning early stopping (Auto),
warm start (no parent job exists locally), Pipe mode, Hyperband and Grid,
Training/Lambda steps, and several processing or transform instances.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.pipeline_runner.base import RunOptions
from tools.pipeline_runner.errors import PipelineError, PipelineFailed
from tools.pipeline_runner.runner import Execution, StepRecord, run_definition
from tools.pipeline_runner.storage import LocalStorage, S3Storage, Storage
from tools.pipeline_runner.template import LoadedPipeline, load_pipeline


def run_pipeline(
    template_path: str | Path,
    *,
    storage: Storage,
    cloudformation: Any = None,
    sagemaker: Any = None,
    options: RunOptions = RunOptions(),  # noqa: B008 - frozen
    work_dir: str | Path | None = None,
    account: str = "111122223333",
    region: str = "us-east-1",
    log: Callable[[str], None] = print,
    glue: Any = None,
) -> Execution:
    """Load the pipeline from a synthesized template (tokens resolved against ``cloudformation``) and run it."""
    loaded = load_pipeline(template_path, cloudformation=cloudformation, account=account, region=region)
    return run_definition(loaded.definition, storage=storage, options=options, sagemaker=sagemaker,
                          work_dir=work_dir, pipeline_name=loaded.name, account=account, region=region, log=log,
                          glue=glue)


__all__ = [
    "Execution",
    "LoadedPipeline",
    "LocalStorage",
    "PipelineError",
    "PipelineFailed",
    "RunOptions",
    "S3Storage",
    "StepRecord",
    "Storage",
    "load_pipeline",
    "run_definition",
    "run_pipeline",
]
