"""Hyperparameter search over a tuning job's ParameterRanges: Random and a small Bayesian-like search.

Points live in the unit cube; each dimension maps a coordinate to a value with
the range's ScalingType (Auto is treated as Linear: SageMaker's choice is not
documented, and linear is what it picks for ranges that span one order of
magnitude). Bayesian here is a kernel-regression surrogate with an
upper-confidence-bound acquisition: enough to show that later trials exploit
earlier results, deterministic for a seed, and no extra dependency.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

STRATEGIES = ("Random", "Bayesian")
_CANDIDATES = 256
_LOCAL_CANDIDATES = 64
_LENGTH_SCALE = 0.2
_EXPLORATION = 0.3


@dataclass(frozen=True)
class Dimension:
    name: str
    kind: str  # Integer | Continuous | Categorical
    low: float = 0.0
    high: float = 0.0
    scaling: str = "Auto"
    values: tuple[str, ...] = ()

    def value(self, u: float) -> Any:
        u = min(max(float(u), 0.0), 1.0)
        if self.kind == "Categorical":
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        if self.scaling == "Logarithmic":
            raw = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        elif self.scaling == "ReverseLogarithmic":
            raw = 1 - math.exp(math.log(1 - self.high) + (1 - u) * (math.log(1 - self.low) - math.log(1 - self.high)))
        else:
            raw = self.low + u * (self.high - self.low)
        if self.kind == "Integer":
            return int(min(max(round(raw), self.low), self.high))
        return min(max(raw, self.low), self.high)

    def text(self, u: float) -> str:
        """The value as SageMaker passes hyperparameters: a string."""
        value = self.value(u)
        return value if isinstance(value, str) else (str(value) if isinstance(value, int) else f"{value:.6g}")


def dimensions(ranges: Mapping[str, Sequence[Mapping]]) -> list[Dimension]:
    """Dimensions of a ``ParameterRanges`` object; ValueError names the bad range."""
    dims = []
    for kind, key in (("Integer", "IntegerParameterRanges"), ("Continuous", "ContinuousParameterRanges")):
        for index, entry in enumerate(ranges.get(key, [])):
            low, high = float(entry["MinValue"]), float(entry["MaxValue"])
            scaling = entry.get("ScalingType", "Auto")
            if not low <= high:
                raise ValueError(f"{key}[{index}] ({entry['Name']}): MinValue {low} > MaxValue {high}")
            if scaling == "Logarithmic" and low <= 0:
                raise ValueError(f"{key}[{index}] ({entry['Name']}): Logarithmic scaling needs MinValue > 0")
            if scaling == "ReverseLogarithmic" and not (0 <= low and high < 1):
                raise ValueError(f"{key}[{index}] ({entry['Name']}): ReverseLogarithmic needs 0 <= values < 1")
            dims.append(Dimension(entry["Name"], kind, low, high, scaling))
    for index, entry in enumerate(ranges.get("CategoricalParameterRanges", [])):
        if not entry.get("Values"):
            raise ValueError(f"CategoricalParameterRanges[{index}] ({entry['Name']}): no Values")
        dims.append(Dimension(entry["Name"], "Categorical", values=tuple(entry["Values"])))
    return dims


class Search:
    """Proposes unit-cube points; ``maximize`` says which way the objective is better."""

    def __init__(self, dims: list[Dimension], strategy: str, seed: int, maximize: bool, initial: int = 2) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy {strategy!r} is not supported locally (supported: {', '.join(STRATEGIES)})")
        self.dims, self.strategy, self.maximize = dims, strategy, maximize
        self.initial = max(initial, 1)
        self.rng = np.random.default_rng(seed)

    def hyperparameters(self, point: np.ndarray) -> dict[str, str]:
        return {d.name: d.text(u) for d, u in zip(self.dims, point, strict=True)}

    def propose(self, count: int, history: list[tuple[np.ndarray, float]]) -> list[np.ndarray]:
        """``count`` new points given ``(point, objective)`` of every finished trial."""
        width = len(self.dims)
        if self.strategy == "Random" or len(history) < self.initial or width == 0:
            return [self.rng.random(width) for _ in range(count)]
        points = np.array([p for p, _ in history])
        scores = np.array([v if self.maximize else -v for _, v in history], dtype=float)
        proposals = []
        for _ in range(count):
            candidates = self._candidates(points, scores)
            mean, uncertainty = self._surrogate(points, scores, candidates)
            spread = float(np.ptp(scores)) or 1.0
            best = candidates[int(np.argmax(mean + _EXPLORATION * spread * uncertainty))]
            proposals.append(best)
            # "Kriging believer": pretend the pending point scored its prediction, so one batch spreads out.
            predicted, _ = self._surrogate(points, scores, best[None, :])
            points, scores = np.vstack([points, best]), np.append(scores, predicted[0])
        return proposals

    def _candidates(self, points: np.ndarray, scores: np.ndarray) -> np.ndarray:
        width = points.shape[1]
        top = points[np.argsort(-scores)[:3]]
        local = top[self.rng.integers(len(top), size=_LOCAL_CANDIDATES)]
        local = np.clip(local + self.rng.normal(0, 0.1, size=local.shape), 0, 1)
        return np.vstack([self.rng.random((_CANDIDATES, width)), local])

    @staticmethod
    def _surrogate(points: np.ndarray, scores: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        distance = ((at[:, None, :] - points[None, :, :]) ** 2).sum(axis=2)
        weights = np.exp(-distance / (2 * _LENGTH_SCALE**2 * points.shape[1]))
        total = weights.sum(axis=1)
        prior = scores.mean()
        mean = (weights @ scores + prior * 1e-3) / (total + 1e-3)
        return mean, 1.0 - weights.max(axis=1)
