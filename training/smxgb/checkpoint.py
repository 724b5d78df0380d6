"""Checkpoints for managed spot training.

SageMaker syncs the checkpoint ``LocalPath`` to S3 while the job runs and
restores it when a spot interruption restarts the job. A checkpoint is a
booster saved every N rounds; writing to a temporary name and renaming means
a kill mid-write never leaves a torn file that the restarted job would load.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import xgboost as xgb

PREFIX = "xgboost-checkpoint."
SUFFIX = ".ubj"
_PATTERN = re.compile(re.escape(PREFIX) + r"(\d+)" + re.escape(SUFFIX) + "$")


def checkpoint_path(directory: Path, rounds: int) -> Path:
    # Zero padding keeps a plain `ls` in round order.
    return directory / f"{PREFIX}{rounds:08d}{SUFFIX}"


def list_checkpoints(directory: Path | None) -> list[tuple[int, Path]]:
    if directory is None or not directory.is_dir():
        return []
    found = []
    for entry in directory.iterdir():
        match = _PATTERN.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry))
    return sorted(found)


def save(booster: xgb.Booster, directory: Path, keep: int = 3) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    # Same reason as the final model: served requests carry no feature names.
    booster.feature_names = None
    booster.feature_types = None
    rounds = booster.num_boosted_rounds()
    target = checkpoint_path(directory, rounds)
    temporary = directory / f".{target.name}.tmp-{os.getpid()}"
    with open(temporary, "wb") as handle:
        handle.write(booster.save_raw("ubj"))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    for _, old in list_checkpoints(directory)[:-keep]:
        old.unlink(missing_ok=True)
    return target


def load_latest(directory: Path | None) -> tuple[xgb.Booster, Path] | None:
    """The newest checkpoint that loads; a corrupt one (e.g. an S3 sync cut short) is skipped."""
    for _, candidate in reversed(list_checkpoints(directory)):
        booster = xgb.Booster()
        try:
            booster.load_model(bytearray(candidate.read_bytes()))
        except xgb.core.XGBoostError:
            continue
        return booster, candidate
    return None


class CheckpointCallback(xgb.callback.TrainingCallback):
    """Save every ``frequency`` rounds; only the writer rank in multi-instance jobs."""

    def __init__(self, directory: Path, frequency: int, keep: int = 3) -> None:
        super().__init__()
        self.directory = directory
        self.frequency = frequency
        self.keep = keep

    def after_iteration(self, model, epoch: int, evals_log) -> bool:
        # The booster's round count, not `epoch`: XGBoost restarts epochs at 0 on resume.
        rounds = model.num_boosted_rounds()
        if rounds % self.frequency == 0:
            path = save(model, self.directory, self.keep)
            print(f"checkpoint: saved {path.name} after {rounds} rounds", flush=True)
        return False
