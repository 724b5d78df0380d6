"""Per-feature drift of production data against a baseline taken at training time.

The baseline keeps, per feature, the percentiles of the training channel and how
many training values fall in each percentile bin. Production values are
counted in the same bins, so both distributions become histograms over one
grid and every statistic is a vectorised pass over counts:

* **population stability index** over ten groups of ten percentile bins, plus
  a bin for missing values: the size of the shift;
* **two-sample Kolmogorov-Smirnov** statistic over the percentile grid, with
  the asymptotic p-value for the two sample sizes: whether the shift is more
  than sampling noise. Read on the grid, the statistic can only be smaller
  than on the raw values (by at most one bin's mass), so the test stays
  conservative.

A feature drifts when both agree: its PSI reaches ``psi_threshold`` **and** its
KS p-value is below ``ks_alpha`` divided by the number of features (Bonferroni:
``ks_alpha`` bounds the chance that *any* feature of an unchanged distribution
is flagged). Requiring the PSI as well keeps a very large sample from flagging
shifts too small to matter.

Only numpy and scipy are used: the XGBoost image ships both, and monitoring
jobs run with network isolation (nothing can be installed at run time).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import special

BASELINE_FORMAT = "mlp-drift-baseline/1"
PERCENTILE_BINS = 100
PSI_GROUPS = 10
#: Added to an empty bin's share so that PSI stays finite (0.5 / count would be the
#: usual Laplace choice; a constant keeps the figure comparable across sample sizes).
PSI_EPSILON = 1e-4


@dataclass(frozen=True)
class DriftThresholds:
    """When a feature counts as drifted.

    :param psi_threshold: smallest population stability index that counts; 0.1 is
        the usual "moderate shift" line (0.25: "major").
    :param ks_alpha: family-wise false-alarm rate of the KS tests over all features.
    :param min_rows: fewer production rows than this give no verdict (too little data).
    """

    psi_threshold: float = 0.1
    ks_alpha: float = 0.05
    min_rows: int = 100

    def __post_init__(self) -> None:
        if not self.psi_threshold > 0:
            raise ValueError(f"psi_threshold must be positive, got {self.psi_threshold}")
        if not 0 < self.ks_alpha < 1:
            raise ValueError(f"ks_alpha must be in (0, 1), got {self.ks_alpha}")
        if self.min_rows < 1:
            raise ValueError(f"min_rows must be at least 1, got {self.min_rows}")


@dataclass(frozen=True)
class FeatureBaseline:
    name: str
    rows: int
    missing: int
    mean: float
    std: float
    edges: tuple[float, ...]  # PERCENTILE_BINS - 1 inner percentiles, ascending
    counts: tuple[int, ...]  # training values per bin (PERCENTILE_BINS bins) + missing


@dataclass(frozen=True)
class Baseline:
    features: tuple[FeatureBaseline, ...]

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def to_json(self) -> str:
        return json.dumps({"format": BASELINE_FORMAT, "features": [asdict(f) for f in self.features]}, indent=1)

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json())
        return path

    @classmethod
    def from_json(cls, text: str) -> Baseline:
        document = json.loads(text)
        if not isinstance(document, dict) or document.get("format") != BASELINE_FORMAT:
            raise ValueError(f"not a drift baseline (expected format {BASELINE_FORMAT!r})")
        features = []
        for item in document["features"]:
            feature = FeatureBaseline(**{**item, "edges": tuple(item["edges"]), "counts": tuple(item["counts"])})
            if len(feature.edges) != PERCENTILE_BINS - 1 or len(feature.counts) != PERCENTILE_BINS + 1:
                raise ValueError(f"baseline feature {feature.name!r} has a grid of the wrong size")
            features.append(feature)
        return cls(tuple(features))

    @classmethod
    def read(cls, path: Path) -> Baseline:
        return cls.from_json(Path(path).read_text())


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    psi: float
    ks_statistic: float
    ks_p_value: float
    baseline_mean: float
    production_mean: float
    missing_fraction: float
    drifted: bool


@dataclass(frozen=True)
class DriftReport:
    rows: int
    baseline_rows: int
    thresholds: DriftThresholds
    features: tuple[FeatureDrift, ...]
    enough_rows: bool

    @property
    def drifted(self) -> list[FeatureDrift]:
        return [f for f in self.features if f.drifted]

    @property
    def max_psi(self) -> float:
        return max((f.psi for f in self.features), default=0.0)

    def to_dict(self) -> dict:
        """Plain JSON: a figure that does not exist (the mean of no rows) is ``None``, not NaN."""
        return {
            "rows": self.rows,
            "baseline_rows": self.baseline_rows,
            "enough_rows": self.enough_rows,
            "thresholds": asdict(self.thresholds),
            "drifted_features": [f.name for f in self.drifted],
            "max_psi": self.max_psi,
            "features": [{k: _finite(v) for k, v in asdict(f).items()} for f in self.features],
        }


def _finite(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _bin_counts(column: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Values per percentile bin, then the missing ones (NaN) last."""
    missing = np.isnan(column)
    present = column[~missing]
    # side="right": a value equal to an edge joins the bin above it, for baseline
    # and production alike, so tied (discrete) values land in the same bin.
    counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=PERCENTILE_BINS)
    return np.append(counts, missing.sum())


def build_baseline(features: np.ndarray, names: list[str] | None = None) -> Baseline:
    """The baseline of a (rows, features) float matrix; NaN marks a missing value."""
    matrix = np.asarray(features, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ValueError(f"a baseline needs a non-empty 2-D matrix of rows by features, got shape {matrix.shape}")
    names = names or [f"f{i}" for i in range(matrix.shape[1])]
    if len(names) != matrix.shape[1]:
        raise ValueError(f"{len(names)} feature names for {matrix.shape[1]} features")
    inner = np.arange(1, PERCENTILE_BINS) / PERCENTILE_BINS
    result = []
    for name, column in zip(names, matrix.T, strict=True):
        present = column[~np.isnan(column)]
        if present.size:
            edges = np.quantile(present, inner)
            mean, std = float(present.mean()), float(present.std())
        else:
            edges, mean, std = np.zeros(PERCENTILE_BINS - 1), math.nan, math.nan
        counts = _bin_counts(column, edges)
        result.append(FeatureBaseline(
            name=name, rows=int(column.size), missing=int(counts[-1]), mean=mean, std=std,
            edges=tuple(float(e) for e in edges), counts=tuple(int(c) for c in counts),
        ))
    return Baseline(tuple(result))


def population_stability_index(expected: np.ndarray, actual: np.ndarray) -> float:
    """PSI of two histograms over the same bins (counts or shares)."""
    e = expected / max(expected.sum(), 1)
    a = actual / max(actual.sum(), 1)
    used = (e > 0) | (a > 0)
    e, a = np.maximum(e[used], PSI_EPSILON), np.maximum(a[used], PSI_EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def _psi_groups(counts: np.ndarray) -> np.ndarray:
    """Percentile bins merged into PSI_GROUPS equal groups, the missing bin kept apart."""
    return np.append(counts[:PERCENTILE_BINS].reshape(PSI_GROUPS, -1).sum(axis=1), counts[PERCENTILE_BINS])


def ks_two_sample(expected: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """KS statistic between two histograms over the same ordered bins, and its asymptotic p-value."""
    n, m = expected.sum(), actual.sum()
    if n == 0 or m == 0:
        return 0.0, 1.0
    statistic = float(np.max(np.abs(np.cumsum(expected) / n - np.cumsum(actual) / m)))
    effective = n * m / (n + m)
    # Kolmogorov's limiting distribution, as scipy.stats.ks_2samp(method="asymp") uses it.
    return statistic, float(special.kolmogorov(statistic * math.sqrt(effective)))


def compare(
    baseline: Baseline, production: np.ndarray, thresholds: DriftThresholds = DriftThresholds()
) -> DriftReport:
    """Per-feature drift of a (rows, features) matrix against ``baseline``."""
    matrix = np.asarray(production, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != len(baseline.features):
        raise ValueError(
            f"production rows have {matrix.shape[-1] if matrix.ndim else 0} features but the baseline has"
            f" {len(baseline.features)}; compare data of the model version the baseline belongs to"
        )
    rows = matrix.shape[0]
    enough = rows >= thresholds.min_rows
    per_test_alpha = thresholds.ks_alpha / len(baseline.features)
    results = []
    for feature, column in zip(baseline.features, matrix.T, strict=True):
        expected = np.asarray(feature.counts, dtype=np.float64)
        actual = _bin_counts(column, np.asarray(feature.edges)).astype(np.float64)
        psi = population_stability_index(_psi_groups(expected), _psi_groups(actual))
        statistic, p_value = ks_two_sample(expected[:PERCENTILE_BINS], actual[:PERCENTILE_BINS])
        present = column[~np.isnan(column)]
        results.append(FeatureDrift(
            name=feature.name, psi=psi, ks_statistic=statistic, ks_p_value=p_value,
            baseline_mean=feature.mean, production_mean=float(present.mean()) if present.size else math.nan,
            missing_fraction=float(actual[-1] / rows) if rows else 0.0,
            drifted=enough and psi >= thresholds.psi_threshold and p_value < per_test_alpha,
        ))
    return DriftReport(rows=rows, baseline_rows=baseline.features[0].rows if baseline.features else 0,
                       thresholds=thresholds, features=tuple(results), enough_rows=enough)
