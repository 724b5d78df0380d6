"""Boosting: parameters, per-round metric lines, early stopping, checkpoints and resume."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xgboost as xgb

from smxgb import checkpoint, hyperparams, metrics
from smxgb.failure import UserError


class MetricPrinter(xgb.callback.TrainingCallback):
    """Print each round's metrics in the one format :mod:`smxgb.metrics` parses.

    XGBoost numbers a resumed run's epochs from 0; ``first_round`` makes the
    printed round absolute, so a resumed job's log continues where it stopped.
    """

    def __init__(self, first_round: int = 0) -> None:
        super().__init__()
        self.first_round = first_round

    def after_iteration(self, model, epoch: int, evals_log) -> bool:
        for data_name, by_metric in evals_log.items():
            for metric, values in by_metric.items():
                value = values[-1][0] if isinstance(values[-1], tuple) else values[-1]
                print(metrics.format_line(self.first_round + epoch, data_name, metric, float(value)), flush=True)
        return False


def booster_params(hps: dict[str, Any], *, num_gpus: int, nthread: int) -> dict[str, Any]:
    params = hyperparams.xgboost_params(hps)
    params.setdefault("tree_method", "hist")
    params.setdefault("nthread", nthread)
    params.setdefault("verbosity", 1)
    if num_gpus > 0:
        # XGBoost 3 selects the GPU with `device`; `gpu_hist` is gone.
        params["device"] = "cuda"
    return params


@dataclass
class TrainingResult:
    booster: xgb.Booster
    history: dict[str, dict[str, list[float]]]
    resumed_from: str | None
    resumed_rounds: int
    train_seconds: float
    best_iteration: int | None = None
    best_score: float | None = None
    notes: list[str] = field(default_factory=list)
    #: CPU seconds of all the process's threads while training: unlike wall
    #: time it does not swing with what else the machine runs (benchmarks).
    train_cpu_seconds: float = 0.0


def train(
    params: dict[str, Any],
    dtrain: xgb.DMatrix,
    dvalid: xgb.DMatrix | None,
    *,
    num_round: int,
    early_stopping_rounds: int | None = None,
    checkpoint_dir: Path | None = None,
    checkpoint_frequency: int = 10,
    checkpoints_to_keep: int = 3,
    write_checkpoints: bool = True,
) -> TrainingResult:
    if early_stopping_rounds and dvalid is None:
        raise UserError(
            "hyperparameter early_stopping_rounds needs a validation channel to watch; add a 'validation' "
            "channel or remove early_stopping_rounds"
        )
    # Only the validation set is evaluated: scoring the training set every
    # round costs about a third of the training time and tells nothing the
    # validation score does not. Without validation, train is the only signal.
    evals = [(dvalid, "validation")] if dvalid is not None else [(dtrain, "train")]

    start_model = None
    resumed_from, done = None, 0
    latest = checkpoint.load_latest(checkpoint_dir)
    if latest is not None:
        start_model, path = latest
        done = start_model.num_boosted_rounds()
        resumed_from = path.name
        print(f"resume: continuing from checkpoint {path.name} at round {done} of {num_round}", flush=True)

    callbacks: list[xgb.callback.TrainingCallback] = [MetricPrinter(done)]
    if early_stopping_rounds:
        # save_best would slice by the epoch of this run, which after a resume
        # is not the round number; the best round is sliced below instead.
        callbacks.append(xgb.callback.EarlyStopping(rounds=early_stopping_rounds, save_best=False))
    if checkpoint_dir is not None and write_checkpoints:
        callbacks.append(checkpoint.CheckpointCallback(checkpoint_dir, checkpoint_frequency, checkpoints_to_keep))

    history: dict = {}
    started, cpu_started = time.perf_counter(), time.process_time()
    remaining = max(num_round - done, 0)
    if remaining == 0 and start_model is not None:
        booster = start_model
    else:
        booster = xgb.train(
            params,
            dtrain,
            num_boost_round=remaining,
            evals=evals,
            evals_result=history,
            verbose_eval=False,
            xgb_model=start_model,
            callbacks=callbacks,
        )
    elapsed, cpu_elapsed = time.perf_counter() - started, time.process_time() - cpu_started
    best_iteration = best_score = None
    if early_stopping_rounds and remaining and booster.attr("best_iteration") is not None:
        # XGBoost's EarlyStopping counts from round 0 of the booster, resumed
        # rounds included (it adds the starting round itself).
        best_iteration = int(booster.attr("best_iteration"))
        best_score = float(booster.attr("best_score"))
        # Serve the best model, not the one early_stopping_rounds past it.
        booster = booster[: best_iteration + 1]
        booster.set_attr(best_iteration=str(best_iteration), best_score=str(best_score))
        print(f"early stopping: best round {best_iteration} score {best_score:.8g}", flush=True)
    # Requests to the endpoint carry no column names; the Arrow ones (f0, f1, ...) must not be required.
    booster.feature_names = None
    booster.feature_types = None
    return TrainingResult(booster, history, resumed_from, done, elapsed, best_iteration, best_score,
                          train_cpu_seconds=cpu_elapsed)
