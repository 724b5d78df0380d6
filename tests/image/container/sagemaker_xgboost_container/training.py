"""``SAGEMAKER_TRAINING_MODULE=sagemaker_xgboost_container.training:main`` in script mode.

Like the image's module: build the training environment from the config files and
hand the user entry point to sagemaker-containers' ``run_module``, which extracts the
code, writes a ``setup.py`` for it, runs ``pip install .`` and then ``python -m <program>``
with the hyperparameters as arguments.
"""

from __future__ import annotations

import sys

import sagemaker_containers.beta.framework as framework


def train(training_environment) -> None:
    if training_environment.user_entry_point is None:
        raise NotImplementedError(
            "algorithm mode (no sagemaker_program) is not part of the stand-in; pass a script"
        )
    framework.modules.run_module(
        training_environment.module_dir,
        training_environment.to_cmd_args(),
        training_environment.to_env_vars(),
        training_environment.module_name,
        capture_error=False,
    )


def main() -> None:
    train(framework.training_env())
    sys.exit(0)
