"""The demo's view of the approach comparison: Evaluate's comparison.json, its plots and the model card."""

from __future__ import annotations

import json
from pathlib import Path

from tools.demo.cycle import TRAINING_DIR
from tools.pipeline_runner.storage import Storage

COMPARISON_FILE = "comparison.json"


def fetch(storage: Storage, execution, plot_dir: Path) -> dict:
    """The first run's comparison, with its plots copied from the evaluation output to ``plot_dir``."""
    output = execution.step("Evaluate").detail["outputs"]["evaluation"]["uri"].rstrip("/")
    comparison = json.loads(storage.read(f"{output}/{COMPARISON_FILE}"))
    plot_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for name in comparison.get("plots", []):
        target = plot_dir / name
        target.write_bytes(storage.read(f"{output}/{name}"))
        files.append(target)
    comparison["plot_files"] = [str(f) for f in files]
    return comparison


def card_summary(described: dict) -> str:
    """One line about the model card a registered version carries (DescribeModelPackage's ModelCard)."""
    card = described.get("ModelCard")
    if not card:
        return ""
    content = json.loads(card["ModelCardContent"])
    approach = content.get("additional_information", {}).get("custom_details", {}).get("approach", "?")
    groups = [g["name"] for g in content.get("evaluation_details", [{}])[0].get("metric_groups", [])]
    return (f"model card ({card['ModelCardStatus']}): approach {approach}; evaluation of {', '.join(groups)};"
            f" {len(card['ModelCardContent'])} characters")


def table(comparison: dict) -> str:
    """The comparison table as evaluation prints it (``smxgb.compare.table``, imported as the container does)."""
    import sys

    if str(TRAINING_DIR) not in sys.path:
        sys.path.insert(0, str(TRAINING_DIR))
    from smxgb import compare

    return compare.table(comparison)
