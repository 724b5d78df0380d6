"""The demo's batch-scoring phase: the deployed batch-scoring pipeline scores a data set with the approved version.

Input in the contract the monitoring job reads back: CSV without a header, the
row id first, then the features in training order, under the raw bucket's
``batch-scoring/`` prefix; output ``<row_id>,<features...>,<prediction>`` under
``s3://<model bucket>/batch-scoring/<execution id>/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stacks.config import BATCH_SCORING_PREFIX, PlatformConfig
from stacks.pipeline_definition.batch_scoring import MODEL_PACKAGE_VERSION, TRANSFORM_STEP
from tools.pipeline_runner import RunOptions, S3Storage, run_pipeline

INPUT_FILE = "breast-cancer-to-score.csv"
SAMPLE_LINES = 3


@dataclass(frozen=True)
class BatchScoring:
    execution_id: str
    input_uri: str
    outputs: list[str]
    rows: int
    requests: int
    seconds: float
    sample: list[str]


def write_input(features: np.ndarray, path: Path) -> Path:
    """Row ids that are not row numbers, so a reader can tell they travelled with their rows."""
    lines = (f"row-{index:05d}," + ",".join(f"{v:g}" for v in row) for index, row in enumerate(features, 1))
    path.write_text("\n".join(lines) + "\n")
    return path


def abbreviated(line: str, keep: int = 2) -> str:
    """``row-00001,17.99,10.38,...(26 more)...,0.1189,0.9873``: the id, a few features, the prediction."""
    fields = line.split(",")
    if len(fields) <= 2 * keep + 2:
        return line
    hidden = len(fields) - 2 * keep - 2
    return ",".join(fields[: keep + 1]) + f",...({hidden} more)...," + ",".join(fields[-keep - 1:])


def run(config: PlatformConfig, template: Path, *, storage: S3Storage, cloudformation, sagemaker, version: int,
        features: np.ndarray, scratch: Path, log: Callable[[str], None]) -> BatchScoring:
    """Upload the input, run the batch-scoring pipeline locally with version ``version``, read a sample back."""
    data = write_input(features, scratch / INPUT_FILE)
    input_uri = storage.upload_file(data, f"s3://{config.bucket_name('raw')}/{BATCH_SCORING_PREFIX}/{INPUT_FILE}")
    log(f"input: {input_uri} ({len(features)} rows: row id, then {features.shape[1]} features)")
    execution = run_pipeline(template, storage=storage, cloudformation=cloudformation, sagemaker=sagemaker,
                             options=RunOptions(parameters={MODEL_PACKAGE_VERSION: version}),
                             work_dir=scratch / "batch-scoring", account=config.account, region=config.region,
                             log=log)
    detail = execution.step(TRANSFORM_STEP).detail
    lines = storage.read(detail["outputs"][0]).decode().splitlines()
    return BatchScoring(execution.execution_id, input_uri, detail["outputs"], detail["records"], detail["requests"],
                        detail["job_seconds"], lines[:SAMPLE_LINES])
