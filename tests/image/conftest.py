"""Fixtures of the container-fidelity harness: the synthesized definition, the code asset, one trial.

Everything the container gets comes from what synth produces: the Tune step's job
definition (hyperparameters, channels, Environment), the code tarball the
``TrainingCodeAsset`` construct builds, and the registered model's container
Environment. Data is scikit-learn's breast-cancer set written the way preprocess.py writes it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from aws_cdk.assertions import Template
from constructs.training_code_asset import build_tarball

from stacks.config import ENVIRONMENTS
from stacks.pipeline_definition import checks
from tests.image import harness
from tests.infra.conftest import synth_platform

TRAINING_DIR = harness.REPO_ROOT / "training"
if str(TRAINING_DIR) not in sys.path:
    sys.path.insert(0, str(TRAINING_DIR))

from preprocess import write_split  # noqa: E402 - training/ must be on sys.path first


def pytest_collection_modifyitems(items) -> None:
    reason = harness.image_env_missing()
    if reason is None:
        return
    for item in items:
        if Path(str(item.fspath)).parent == harness.HERE:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def definition() -> dict:
    _, platform = synth_platform(ENVIRONMENTS["dev"])
    stack = next(s for s in platform.stacks if s.stack_name.endswith("-pipeline"))
    return checks.definition_from_template(Template.from_stack(stack).to_json()).definition


@pytest.fixture(scope="session")
def tune_arguments(definition: dict) -> dict:
    return checks.step_named(definition, "Tune")["Arguments"]


@pytest.fixture(scope="session")
def registered_container(definition: dict) -> dict:
    register = next(step for step in checks.iter_steps(definition) if step["Type"] == "RegisterModel")
    (container,) = register["Arguments"]["InferenceSpecification"]["Containers"]
    return container


@pytest.fixture(scope="session")
def code_file(tune_arguments: dict) -> tuple[str, bytes]:
    """The code channel's one object: named as the definition names it, built by the construct."""
    job = tune_arguments["TrainingJobDefinitions"][0]
    submit_directory = job["StaticHyperParameters"]["sagemaker_submit_directory"]
    return Path(submit_directory).name, build_tarball(TRAINING_DIR)


@pytest.fixture(scope="session")
def breast_cancer_channels(tmp_path_factory) -> dict[str, Path]:
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    order = np.random.default_rng(0).permutation(len(y))
    cut = int(len(order) * 0.75)
    out = tmp_path_factory.mktemp("channels")
    return {
        split: write_split(out / split, split, y.iloc[rows].to_numpy(), X.iloc[rows], "label", "csv")[0]
        for split, rows in (("train", order[:cut]), ("validation", order[cut:]))
    }


@pytest.fixture(scope="session")
def validation_features(breast_cancer_channels: dict[str, Path]) -> np.ndarray:
    frame = pd.read_csv(breast_cancer_channels["validation"], header=None)
    return frame.iloc[:, 1:].to_numpy(dtype=np.float32)


@pytest.fixture(scope="session")
def trial(tmp_path_factory, tune_arguments, breast_cancer_channels, code_file) -> harness.TrainingRun:
    """One tuning trial of the synthesized definition, run by the image's toolkit with no index."""
    job = tune_arguments["TrainingJobDefinitions"][0]
    hyperparameters = harness.trial_hyperparameters(job, tune_arguments["HyperParameterTuningJobConfig"])
    base = tmp_path_factory.mktemp("trial")
    root = base / "opt_ml"
    harness.lay_out_training(root, job, hyperparameters, breast_cancer_channels, code_file)
    return harness.run_training(root, job, base / "overlay")
