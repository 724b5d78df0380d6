"""The SageMaker container contract: environment variable names and defaults.

Every path an entry script touches comes from here, so a script behaves the
same in the container and under ``training/local_runner.py``, which sets the
same variables under a temporary root.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

OPT_ML = "/opt/ml"
#: The local runner sets this to its temporary root so that every default path
#: below (and a processing script's default arguments) stays inside that root.
#: Unset in a real container. The constants keep the container's literal paths,
#: which the pipeline definition uses.
OPT_ML_ENV = "SMXGB_OPT_ML"

# Training (script mode, sagemaker-training-toolkit).
SM_MODEL_DIR = "SM_MODEL_DIR"
SM_OUTPUT_DIR = "SM_OUTPUT_DIR"
SM_OUTPUT_DATA_DIR = "SM_OUTPUT_DATA_DIR"
SM_INPUT_DIR = "SM_INPUT_DIR"
SM_INPUT_CONFIG_DIR = "SM_INPUT_CONFIG_DIR"
SM_CHANNEL_PREFIX = "SM_CHANNEL_"
SM_CHANNELS = "SM_CHANNELS"
SM_HOSTS = "SM_HOSTS"
SM_CURRENT_HOST = "SM_CURRENT_HOST"
SM_NUM_CPUS = "SM_NUM_CPUS"
SM_NUM_GPUS = "SM_NUM_GPUS"
SM_HPS = "SM_HPS"
SM_CHECKPOINT_CONFIG_FILE = "SM_CHECKPOINT_CONFIG_FILE"
SM_INPUT_DATA_CONFIG = "SM_INPUT_DATA_CONFIG"

DEFAULTS = {
    SM_MODEL_DIR: f"{OPT_ML}/model",
    SM_OUTPUT_DIR: f"{OPT_ML}/output",
    SM_OUTPUT_DATA_DIR: f"{OPT_ML}/output/data",
    SM_INPUT_DIR: f"{OPT_ML}/input",
    SM_INPUT_CONFIG_DIR: f"{OPT_ML}/input/config",
    SM_CHECKPOINT_CONFIG_FILE: f"{OPT_ML}/input/config/checkpointconfig.json",
}
DEFAULT_CHECKPOINT_DIR = f"{OPT_ML}/checkpoints"

# Processing jobs have no SM_* variables: paths are whatever the job's
# ProcessingInputs/Outputs name, conventionally under /opt/ml/processing.
PROCESSING_ROOT = f"{OPT_ML}/processing"

# The serving container's model file name; it loads every top-level file in
# the model directory as a model, so nothing else may sit beside it.
MODEL_FILE_NAME = "xgboost-model"
#: Serving code travels inside the model artifact (an isolated endpoint can
#: fetch nothing else): the container imports SAGEMAKER_PROGRAM from
#: SAGEMAKER_SUBMIT_DIRECTORY, which the model package points at this folder.
SERVING_CODE_DIR = "code"
SERVING_PROGRAM = "inference.py"
#: The image's toolkit (sagemaker-containers) runs ``pip install .`` on the code before
#: training and when an endpoint starts. pip builds in an isolated environment that it
#: fills with setuptools from the package index, and a network-isolated container has
#: none: every trial and endpoint start would fail with InstallModuleError. The image
#: ships setuptools, so build against it and never look for an index. pip reads
#: ``--no-build-isolation`` from the environment inverted: "false" is what turns isolation off.
OFFLINE_INSTALL_ENVIRONMENT = {
    "PIP_NO_BUILD_ISOLATION": "false",
    "PIP_NO_INDEX": "true",
}
#: Environment of every training job (the tuning step's trials).
TRAINING_ENVIRONMENT = dict(OFFLINE_INSTALL_ENVIRONMENT)
#: What a request without Accept (or with ``*/*``) gets. The image's server puts
#: SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT (its default: application/json) in their
#: place before the handlers see them, and the model package declares text/csv.
SERVING_DEFAULT_ACCEPT = "text/csv"
#: Request bodies the serving handlers read and responses they write (smxgb.serving), as the
#: model package declares them (SupportedContentTypes, SupportedResponseMIMETypes).
SERVING_REQUEST_CONTENT_TYPES = ("text/csv", "application/json", "application/x-parquet", "application/x-npy",
                                 "application/x-recordio-protobuf")
SERVING_RESPONSE_CONTENT_TYPES = ("text/csv", "application/json")
SERVING_ENVIRONMENT = {
    "SAGEMAKER_PROGRAM": SERVING_PROGRAM,
    "SAGEMAKER_SUBMIT_DIRECTORY": f"{OPT_ML}/model/{SERVING_CODE_DIR}",
    "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": SERVING_DEFAULT_ACCEPT,
    **OFFLINE_INSTALL_ENVIRONMENT,
}


def root() -> Path:
    """``/opt/ml``, or the local runner's stand-in for it."""
    return Path(os.environ.get(OPT_ML_ENV) or OPT_ML)


def _under_root(container_path: str) -> Path:
    return root() / Path(container_path).relative_to(OPT_ML)


def processing_root() -> Path:
    """Where processing scripts' default arguments point (``/opt/ml/processing`` in the container)."""
    return _under_root(PROCESSING_ROOT)


def path(name: str) -> Path:
    """The directory an ``SM_*`` variable names, or the container default."""
    value = os.environ.get(name)
    return Path(value) if value else _under_root(DEFAULTS[name])


def channel_dir(channel: str) -> Path | None:
    """``SM_CHANNEL_<NAME>`` if the job has that channel, else ``None``."""
    value = os.environ.get(SM_CHANNEL_PREFIX + channel.upper())
    if value:
        return Path(value)
    default = path(SM_INPUT_DIR) / "data" / channel
    return default if default.is_dir() else None


def hosts() -> list[str]:
    return json.loads(os.environ.get(SM_HOSTS) or '["algo-1"]')


def current_host() -> str:
    return os.environ.get(SM_CURRENT_HOST) or hosts()[0]


def num_gpus() -> int:
    return int(os.environ.get(SM_NUM_GPUS) or 0)


def num_cpus() -> int:
    return int(os.environ.get(SM_NUM_CPUS) or os.cpu_count() or 1)


def checkpoint_dir() -> Path | None:
    """The checkpoint ``LocalPath`` when the job has a checkpoint config.

    SageMaker writes ``checkpointconfig.json`` only for jobs created with a
    ``CheckpointConfig``; without it there is nothing to sync to S3, so a job
    with no config does not checkpoint.
    """
    config = path(SM_CHECKPOINT_CONFIG_FILE)
    if not config.is_file():
        return None
    local = json.loads(config.read_text()).get("LocalPath") or _under_root(DEFAULT_CHECKPOINT_DIR)
    return Path(local)
