"""Approach comparison: the best model of each approach and a trivial baseline, side by side.

Evaluation scores each candidate on the same channels with the same code, so
the figures compare the approaches and not the ways they were measured:

* the objective on the test set (AUC, accuracy or RMSE) and its companion metrics;
* the objective on the training and on the validation set, and their gap
  (how much the model learned its training rows rather than the problem);
* scoring latency per 1,000 rows (median of several batches of 1,000) and the model's size.

The baseline is what a model must beat to be worth serving: the training set's
positive rate (binary), its class shares (multiclass) or its mean (regression).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from smxgb import schema

BASELINE = "baseline"
LATENCY_ROWS = 1000
LATENCY_REPEATS = 5
#: The objective per problem type as evaluation reports it, and whether higher is better.
OBJECTIVES = {schema.BINARY: ("auc", True), schema.MULTICLASS: ("accuracy", True), schema.REGRESSION: ("rmse", False)}


@dataclass
class Candidate:
    """A model (or the baseline) with what evaluation learned about it."""

    name: str
    approach: str
    booster: object | None = None  # xgboost.Booster; None for the baseline
    source: str = ""
    hyperparameters: dict = field(default_factory=dict)
    validation_history: dict = field(default_factory=dict)
    size_bytes: int = 0
    test: dict[str, float] = field(default_factory=dict)
    train_objective: float = float("nan")
    validation_objective: float = float("nan")
    latency_ms_per_1000: float = 0.0
    test_scores: np.ndarray | None = None

    def row(self, objective: str) -> dict:
        return {
            "approach": self.approach,
            "source": self.source,
            "test": self.test,
            "objective": objective,
            "test_objective": self.test.get(objective),
            "train_objective": _finite(self.train_objective),
            "validation_objective": _finite(self.validation_objective),
            "train_validation_gap": _finite(self.train_objective - self.validation_objective),
            "latency_ms_per_1000_rows": round(self.latency_ms_per_1000, 4),
            "model_size_bytes": self.size_bytes,
            "hyperparameters": self.hyperparameters,
        }


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def from_booster(name: str, booster, source: str) -> Candidate:
    """A candidate from a trained model; the approach and history come from its own attributes."""
    return Candidate(
        name=name,
        approach=booster.attr("approach") or "boosting",
        booster=booster,
        source=source,
        hyperparameters=json.loads(booster.attr("hyperparameters") or "{}"),
        validation_history=json.loads(booster.attr("validation_history") or "{}"),
        size_bytes=len(booster.save_raw("ubj")),
    )


def baseline_scores(train_labels: np.ndarray, rows: int, problem_type: str, num_class: int) -> np.ndarray:
    """The trivial model's scores for ``rows`` rows: the same for every row."""
    if problem_type == schema.BINARY:
        return np.full(rows, float(np.mean(train_labels)))
    if problem_type == schema.MULTICLASS:
        shares = np.bincount(train_labels.astype(np.int64), minlength=num_class) / train_labels.size
        return np.tile(shares, (rows, 1))
    return np.full(rows, float(np.mean(train_labels)))


def latency_ms_per_1000(score, features: np.ndarray) -> float:
    """Median milliseconds to score 1,000 rows (the test rows, repeated to 1,000 when fewer)."""
    batch = features[np.resize(np.arange(len(features)), LATENCY_ROWS)]
    score(batch)  # warm up: the first call pays one-time costs a serving container pays once too
    times = []
    for _ in range(LATENCY_REPEATS):
        started = time.perf_counter()
        score(batch)
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000.0)


def best_per_approach(candidates: list[Candidate], higher_is_better: bool) -> dict[str, Candidate]:
    """The candidate with the best validation objective for each approach (the tuner's own criterion)."""
    best: dict[str, Candidate] = {}
    for candidate in candidates:
        current = best.get(candidate.approach)
        value = candidate.validation_objective
        if current is None or (value > current.validation_objective if higher_is_better
                               else value < current.validation_objective):
            best[candidate.approach] = candidate
    return dict(sorted(best.items()))


def verdict(rows: dict[str, dict], winner: str, objective: str, higher_is_better: bool) -> dict:
    """Which approach won (the one the tuner registered) and by how much, on test and on validation."""
    others = [name for name in rows if name not in (winner, BASELINE)]
    sign = 1.0 if higher_is_better else -1.0

    def margin(field_name: str, other: str) -> float | None:
        a, b = rows[winner].get(field_name), rows[other].get(field_name)
        return None if a is None or b is None else sign * (a - b)

    def validation(other: str) -> float:
        value = rows[other]["validation_objective"]
        return -np.inf if value is None else sign * value

    runner_up = max(others, key=validation, default=None)
    return {
        "winner": winner,
        "objective": objective,
        "higher_is_better": higher_is_better,
        "runner_up": runner_up,
        "test_margin": margin("test_objective", runner_up) if runner_up else None,
        "validation_margin": margin("validation_objective", runner_up) if runner_up else None,
        "baseline_margin": margin("test_objective", BASELINE),
    }


def sentence(result: dict) -> str:
    """The verdict in one line, for the log, the report and the model card."""
    v = result["verdict"]
    rows = result["approaches"]
    objective, winner = v["objective"], v["winner"]

    def fmt(value) -> str:
        return "n/a" if value is None else f"{value:.4f}"

    text = f"{winner} won on validation {objective} ({fmt(rows[winner]['validation_objective'])})"
    if v["runner_up"]:
        margin = v["test_margin"]
        text += (f" over {v['runner_up']} ({fmt(rows[v['runner_up']]['validation_objective'])}); on the test set"
                 f" {winner} scores {fmt(rows[winner]['test_objective'])},"
                 f" {'n/a' if margin is None else f'{margin:+.4f}'} against {v['runner_up']}")
    else:
        text += f"; test {objective} {fmt(rows[winner]['test_objective'])} (no other approach was trained)"
    if v["baseline_margin"] is not None:
        text += f" and {v['baseline_margin']:+.4f} against the {BASELINE}"
    return text


def table(result: dict) -> str:
    """The comparison as a Markdown table (the same one the demo prints)."""
    objective = result["verdict"]["objective"]
    lines = [f"| approach | test {objective} | train {objective} | validation {objective} | gap |"
             " ms per 1,000 rows | model KB |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, row in result["approaches"].items():
        def cell(value, fmt="{:.4f}"):
            return "-" if value is None else fmt.format(value)

        marker = " (chosen)" if name == result["verdict"]["winner"] else ""
        lines.append(f"| {name}{marker} | {cell(row['test_objective'])} | {cell(row['train_objective'])} | "
                     f"{cell(row['validation_objective'])} | {cell(row['train_validation_gap'], '{:+.4f}')} | "
                     f"{row['latency_ms_per_1000_rows']:.2f} | {row['model_size_bytes'] / 1024:.1f} |")
    return "\n".join(lines)


def write(result: dict, output_dir: Path, file_name: str) -> Path:
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / file_name
    target.write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")  # approaches in table order
    return target
