"""The label values each objective accepts, checked before XGBoost sees them.

XGBoost rejects a label outside its objective's domain only once training
starts, with a C++ ``XGBoostError`` that names neither the file nor the row.
:func:`rule_for` states the same domains (as XGBoost 3 enforces them, except
``binary:*``, held to the 0/1 convention of the built-in algorithm), so the
data readers can reject the first bad label with the file, row, value and fix.
No XGBoost import here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: rank:ndcg takes relevance degrees as 2**label; XGBoost caps them at 31.
MAX_NDCG_RELEVANCE = 31


@dataclass(frozen=True)
class LabelRule:
    """One objective's label domain: ``valid(label)`` is a boolean mask of the labels it accepts."""

    objective: str
    requirement: str
    valid: Callable[[np.ndarray], np.ndarray]
    fix: str

    def first_bad(self, label: np.ndarray) -> tuple[int, int] | None:
        """``(index of the first bad label, number of bad labels)`` or ``None``."""
        bad = np.flatnonzero(~self.valid(label))
        return (int(bad[0]), int(bad.size)) if bad.size else None


def _integers(label: np.ndarray) -> np.ndarray:
    return label == np.round(label)


def rule_for(objective: str, num_class: int | None = None) -> LabelRule | None:
    """The label domain of ``objective`` beyond "finite" (which every objective needs), or ``None``."""
    if objective.startswith("binary:") or objective == "rank:map":
        return LabelRule(
            objective, "labels 0 or 1", lambda y: (y == 0) | (y == 1),
            "map the two classes to 0 and 1 (the preprocess step does), or pick a reg:* or multi:* objective",
        )
    if objective.startswith("multi:"):
        classes = int(num_class or 0)
        return LabelRule(
            objective, f"class indices 0..{classes - 1} (integers below num_class={classes})",
            lambda y: _integers(y) & (y >= 0) & (y < classes),
            "map the classes to 0..num_class-1 (the preprocess step does), or raise num_class",
        )
    if objective == "reg:logistic":
        return LabelRule(objective, "labels in [0, 1]", lambda y: (y >= 0) & (y <= 1),
                         "scale the label into [0, 1], or pick reg:squarederror")
    if objective == "reg:squaredlogerror":
        return LabelRule(objective, "labels greater than -1", lambda y: y > -1,
                         "shift the label above -1, or pick reg:squarederror")
    if objective == "reg:gamma":
        return LabelRule(objective, "labels greater than 0", lambda y: y > 0,
                         "drop rows with labels <= 0, or pick reg:tweedie (which allows 0)")
    if objective in ("reg:tweedie", "count:poisson"):
        return LabelRule(objective, "labels >= 0", lambda y: y >= 0,
                         "drop rows with negative labels, or pick reg:squarederror")
    if objective == "rank:ndcg":
        return LabelRule(
            objective, f"integer relevance degrees 0..{MAX_NDCG_RELEVANCE}",
            lambda y: _integers(y) & (y >= 0) & (y <= MAX_NDCG_RELEVANCE),
            f"map relevance to integers 0..{MAX_NDCG_RELEVANCE}, or pick rank:pairwise",
        )
    return None
