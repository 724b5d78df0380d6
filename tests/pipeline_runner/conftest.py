"""Fixtures: the pipeline definition the stack builds, real data, and the code tarball, in a directory "S3".

The definition comes from ``build_definition`` (the stack's own code) with
literal resources, so the fast tests need no synth; the slow test reads the
synthesized template from a real deploy instead.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer

from stacks.access_stack import CHANNELS_PREFIX, CHECKPOINTS_PREFIX, EVALUATION_PREFIX, TRAINING_PREFIX
from stacks.config import ENVIRONMENTS
from stacks.pipeline_definition import PipelineResources, build_definition
from tests.conftest import REPO_ROOT
from tools.pipeline_runner import LocalStorage, RunOptions

CONFIG = ENVIRONMENTS["dev"]
ASSETS_BUCKET = f"cdk-hnb659fds-assets-{CONFIG.account}-{CONFIG.region}"
CODE_KEY = "code.tar.gz"
RAW_URI = f"s3://{CONFIG.bucket_name('raw')}/{CONFIG.pipeline.raw_data_prefix}breast_cancer.csv"
#: A role ARN that stands in for a CloudFormation token in the template fixtures.
ROLE_MARKER = "arn:aws:iam::111122223333:role/processing-role-marker"
#: Small enough for seconds per trial; the search space and the regexes are the definition's own.
FAST = RunOptions(parameters={"MaxTrainingJobs": 1, "MaxParallelTrainingJobs": 1},
                  static_hyperparameters={"num_round": "10"}, execution_id="testexec0001")


def resources() -> PipelineResources:
    return PipelineResources(
        config=CONFIG.pipeline,
        region=CONFIG.region,
        image_uri="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.2-0",
        processing_role_arn=ROLE_MARKER,
        training_role_arn="arn:aws:iam::111122223333:role/training",
        subnet_ids=["subnet-1", "subnet-2"],
        security_group_ids=["sg-1"],
        model_key_arn="arn:aws:kms:us-east-1:111122223333:key/1",
        data_key_arn="arn:aws:kms:us-east-1:111122223333:key/2",
        raw_bucket=CONFIG.bucket_name("raw"),
        processed_bucket=CONFIG.bucket_name("processed"),
        model_bucket=CONFIG.bucket_name("models"),
        model_package_group_name=CONFIG.model_package_group_name,
        code_s3_uri=f"s3://{ASSETS_BUCKET}/{CODE_KEY}",
        code_file_name=CODE_KEY,
        channels_prefix=CHANNELS_PREFIX,
        training_prefix=TRAINING_PREFIX,
        checkpoints_prefix=CHECKPOINTS_PREFIX,
        evaluation_prefix=EVALUATION_PREFIX,
    )


@pytest.fixture
def definition() -> dict:
    """A fresh copy per test: tests break it on purpose."""
    return json.loads(json.dumps(build_definition(resources())))


def write_breast_cancer(path: Path) -> Path:
    """scikit-learn's breast cancer set (569 rows, 30 features) as CSV with a header and a ``label`` column."""
    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "label"})
    frame = frame[["label", *[c for c in frame.columns if c != "label"]]]
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def code_tarball(path: Path) -> Path:
    """What the TrainingCodeAsset ships: training/ at the archive's top level."""
    source = REPO_ROOT / "training"
    with tarfile.open(path, "w:gz") as archive:
        for item in sorted(source.rglob("*")):
            if item.is_file() and "__pycache__" not in item.parts:
                archive.add(item, arcname=item.relative_to(source).as_posix())
    return path


@pytest.fixture(scope="session")
def inputs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("inputs")
    return {"data": write_breast_cancer(base / "breast_cancer.csv"), "code": code_tarball(base / CODE_KEY)}


@pytest.fixture
def store(tmp_path, inputs) -> LocalStorage:
    storage = LocalStorage(tmp_path / "s3")
    storage.upload_file(inputs["data"], RAW_URI)
    storage.upload_file(inputs["code"], f"s3://{ASSETS_BUCKET}/{CODE_KEY}")
    return storage
