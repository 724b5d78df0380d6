"""Model quality in production: predictions joined with ground-truth labels uploaded later.

Labels arrive as CSV files ``<row_id>,<label>`` (a header row is allowed),
``row_id`` being what the prediction carries: the data-capture ``inferenceId``
(or ``eventId``, ``#<n>`` for the n-th row of a request) or the batch-scoring
row id. Rows without a label, or without a numeric prediction, are left out;
the figures are the ones ``evaluate.py`` reports at training time, so a
production AUC is comparable with the registered one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

GROUND_TRUTH_SUFFIXES = (".csv",)
#: The figures published per problem type (names as ``evaluate.py`` reports them).
PUBLISHED = {
    "binary_classification": ("auc", "accuracy", "f1"),
    "regression": ("rmse", "mae"),
}


class GroundTruthError(ValueError):
    """A ground-truth file that cannot be read; the message names the file."""


@dataclass(frozen=True)
class Joined:
    labels: np.ndarray
    predictions: np.ndarray
    scored_rows: int
    label_rows: int


def read_ground_truth(root: Path) -> dict[str, float]:
    """row id -> label from every ``.csv`` under ``root`` (later files win for a repeated id)."""
    import pandas as pd

    labels: dict[str, float] = {}
    if not root.is_dir():
        return labels
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in GROUND_TRUTH_SUFFIXES):
        try:
            frame = pd.read_csv(path, header=None, dtype=str, engine="c")
        except (ValueError, pd.errors.ParserError) as exc:
            raise GroundTruthError(f"{path}: not CSV lines <row_id>,<label>: {' '.join(str(exc).split())}") \
                from exc
        if frame.shape[1] != 2:
            raise GroundTruthError(f"{path}: {frame.shape[1]} columns; ground truth is <row_id>,<label>")
        values = pd.to_numeric(frame[1], errors="coerce")
        if len(frame) and np.isnan(values.iloc[0]):  # a header row
            frame, values = frame.iloc[1:], values.iloc[1:]
        if values.isna().any():
            bad = frame[1][values.isna()].iloc[0]
            raise GroundTruthError(f"{path}: label {bad!r} is not a number; write <row_id>,<label> per line")
        labels.update(zip(frame[0].astype(str), values.astype(float), strict=True))
    return labels


def join(row_ids: list[str], predictions: np.ndarray, labels: dict[str, float]) -> Joined:
    keep = [i for i, row_id in enumerate(row_ids) if row_id in labels and np.isfinite(predictions[i])]
    return Joined(
        labels=np.array([labels[row_ids[i]] for i in keep], dtype=np.float64),
        predictions=predictions[keep].astype(np.float64),
        scored_rows=len(row_ids),
        label_rows=len(labels),
    )
