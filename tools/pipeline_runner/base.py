"""What every step executor shares: options, the workspace, and what a step leaves behind."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.pipeline_runner.storage import Storage

CONTAINER_ROOT = "/opt/ml"


@dataclass(frozen=True)
class RunOptions:
    """How a local run departs from the definition, always explicitly.

    :param parameters: pipeline parameter overrides (as for StartPipelineExecution).
    :param static_hyperparameters: overrides of the tuning step's static hyperparameters,
        e.g. ``{"num_round": "30"}`` to keep a demo short.
    :param seed: the tuning RNG seed when the definition sets no ``RandomSeed``.
    :param cpus: CPUs shared by parallel trials (each trial gets its share as ``SM_NUM_CPUS``).
    """

    parameters: Mapping[str, Any] = field(default_factory=dict)
    static_hyperparameters: Mapping[str, str] = field(default_factory=dict)
    execution_id: str | None = None
    seed: int = 0
    cpus: int = field(default_factory=lambda: os.cpu_count() or 1)


@dataclass
class Workspace:
    storage: Storage
    work_dir: Path
    options: RunOptions
    execution_id: str
    #: A boto3 SageMaker client for RegisterModel (the emulator's registry); None in directory-only runs.
    sagemaker: Any = None
    log: Callable[[str], None] = print
    account: str = "111122223333"
    region: str = "us-east-1"
    #: Models created by Model steps of this run: name -> container (Image, ModelDataUrl, Environment).
    models: dict = field(default_factory=dict)
    #: A boto3 Glue client (the emulator's catalog) for Athena dataset definitions; None in directory-only runs.
    glue: Any = None

    def arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:{kind}/{name.lower()}"


@dataclass
class StepOutcome:
    #: What ``Steps.<name>.<path>`` reads: the Describe* shape of the step's job.
    properties: dict
    property_files: dict[str, Any] = field(default_factory=dict)
    #: Human-facing facts for the summary (artifact URIs, trials, metrics).
    detail: dict = field(default_factory=dict)


def container_path(value: str, root: Path) -> str:
    """``/opt/ml/...`` -> ``<root>/...`` (also in ``--flag=/opt/ml/...``); anything else unchanged."""
    if not isinstance(value, str):
        return value
    if value == CONTAINER_ROOT or value.startswith(CONTAINER_ROOT + "/"):
        return str(root) + value[len(CONTAINER_ROOT):]
    if value.startswith("-") and "=" in value:
        flag, _, rest = value.partition("=")
        return f"{flag}={container_path(rest, root)}"
    return value


def job_name(execution_id: str, step: str, limit: int = 63) -> str:
    """Pipelines names each job after the execution and the step; names allow [a-zA-Z0-9-]."""
    return re.sub(r"[^a-zA-Z0-9-]", "-", f"pipelines-{execution_id}-{step}")[:limit].rstrip("-")
