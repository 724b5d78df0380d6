"""The dataset schema shared by preprocessing, evaluation and serving.

An expected schema (input to ``preprocess.py``) and the written ``schema.json``
(its output) share one format, so a run's output can pin the next run's input::

    {
      "label": {"name": "diagnosis", "problem_type": "binary_classification",
                "classes": ["benign", "malignant"]},
      "features": [{"name": "mean radius", "type": "float"}, {"name": "age", "type": "int"}]
    }

``classes`` is optional: raw label values in class-index order. Without it,
classification labels must already be the integers XGBoost wants (0/1 for
binary, 0..k-1 for multiclass). The written file adds per-feature statistics
(a baseline for drift checks), the split sizes and the seed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from smxgb.failure import UserError

BINARY = "binary_classification"
MULTICLASS = "multiclass_classification"
REGRESSION = "regression"
PROBLEM_TYPES = (BINARY, MULTICLASS, REGRESSION)

FLOAT = "float"
INT = "int"
FEATURE_TYPES = (FLOAT, INT)

SCHEMA_FILE_NAME = "schema.json"


@dataclass
class Feature:
    name: str
    type: str = FLOAT
    statistics: dict | None = None


@dataclass
class Schema:
    label: str
    problem_type: str
    features: list[Feature]
    classes: list | None = None
    extra: dict = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        return [feature.name for feature in self.features]

    @property
    def num_classes(self) -> int | None:
        return len(self.classes) if self.classes is not None else None

    def to_dict(self) -> dict:
        label: dict = {"name": self.label, "problem_type": self.problem_type}
        if self.classes is not None:
            label["classes"] = self.classes
        features = []
        for feature in self.features:
            entry: dict = {"name": feature.name, "type": feature.type}
            if feature.statistics is not None:
                entry["statistics"] = feature.statistics
            features.append(entry)
        return {"label": label, "features": features, **self.extra}

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / SCHEMA_FILE_NAME
        # Sorted keys and no timestamps: the same input and seed give a byte-identical file.
        target.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True, allow_nan=False) + "\n")
        return target


def load(path: Path) -> Schema:
    """Read a schema file; every malformed part is a UserError saying what to write instead."""
    try:
        document = json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise UserError(f"schema file {path} does not exist; pass an existing file or omit it") from exc
    except ValueError as exc:
        raise UserError(f"schema file {path} is not valid JSON: {exc}") from exc
    return from_dict(document, source=str(path))


def from_dict(document: dict, *, source: str = "schema") -> Schema:
    if not isinstance(document, dict):
        raise UserError(f"{source} must be a JSON object with 'label' and 'features'")
    label = document.get("label")
    if isinstance(label, str):
        label = {"name": label}
    if not isinstance(label, dict) or not isinstance(label.get("name"), str):
        raise UserError(f'{source}: "label" must be {{"name": "<column>", "problem_type": "..."}}')
    problem_type = label.get("problem_type", "auto")
    check_problem_type(problem_type, allow_auto=True, source=source)
    classes = label.get("classes")
    if classes is not None and (not isinstance(classes, list) or len(classes) < 2
                                or len(set(map(str, classes))) != len(classes)):
        raise UserError(f'{source}: "classes" must list at least two distinct label values')
    raw_features = document.get("features")
    if not isinstance(raw_features, list) or not raw_features:
        raise UserError(f'{source}: "features" must be a non-empty list of {{"name": ..., "type": ...}}')
    features = []
    for entry in raw_features:
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise UserError(f'{source}: feature {entry!r} must be {{"name": "<column>", "type": "float"}}')
        feature_type = entry.get("type", FLOAT)
        if feature_type not in FEATURE_TYPES:
            raise UserError(
                f"{source}: feature {entry['name']!r} has type {feature_type!r}; use one of"
                f" {', '.join(FEATURE_TYPES)} (encode categories as numbers before this step)"
            )
        features.append(Feature(entry["name"], feature_type, entry.get("statistics")))
    names = [feature.name for feature in features]
    if len(set(names)) != len(names) or label["name"] in names:
        raise UserError(f"{source}: feature names must be unique and must not include the label")
    return Schema(label["name"], problem_type, features, classes)


def check_problem_type(problem_type: str, *, allow_auto: bool, source: str = "problem type") -> None:
    allowed = PROBLEM_TYPES + (("auto",) if allow_auto else ())
    if problem_type not in allowed:
        raise UserError(f"{source}: problem_type {problem_type!r} is not one of {', '.join(allowed)}")


def feature_statistics(values) -> dict:
    """min/max/mean/missing fraction of one float column (NaN = missing), JSON-safe."""
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    present = values[~np.isnan(values)]
    missing = 1.0 - present.size / values.size if values.size else 0.0

    def clean(number: float) -> float | None:
        return None if not math.isfinite(number) else round(float(number), 12)

    if present.size == 0:
        return {"max": None, "mean": None, "min": None, "missing_fraction": missing}
    return {
        "max": clean(present.max()),
        "mean": clean(present.mean()),
        "min": clean(present.min()),
        "missing_fraction": round(missing, 12),
    }
