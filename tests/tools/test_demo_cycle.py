"""tools/demo/cycle.py: the demo's shifted traffic and its drift plot (the end-to-end run is in test_demo)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tools.demo import cycle

sys.path.insert(0, str(cycle.TRAINING_DIR))
from smxgb import drift  # noqa: E402


def _baseline_and_names():
    rng = np.random.default_rng(0)
    names = ["mean radius", "mean texture", "mean area"]
    training = rng.normal([14, 19, 650], [3.5, 4.3, 350], (2_000, 3))
    return training, names, drift.build_baseline(training, names)


def test_only_the_named_features_move_by_their_training_standard_deviation():
    training, names, baseline = _baseline_and_names()
    moved = cycle.shifted_traffic(training, names, baseline)
    delta = (moved - training).mean(axis=0)
    assert delta == pytest.approx([baseline.features[0].std * cycle.SHIFT_SDS,
                                   baseline.features[1].std * cycle.SHIFT_SDS, 0])
    # AND the drift check the demo relies on singles them out
    assert [f.name for f in drift.compare(baseline, moved).drifted] == list(cycle.SHIFTED_FEATURES)


def test_the_plot_is_one_png_where_the_demo_says(tmp_path):
    training, names, baseline = _baseline_and_names()
    moved = cycle.shifted_traffic(training, names, baseline)
    report = drift.compare(baseline, moved).to_dict()
    path = cycle.plot_drift(report, training, moved, tmp_path / "out" / "drift.png")
    assert path == tmp_path / "out" / "drift.png"
    assert path.read_bytes().startswith(b"\x89PNG")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["drift.png"]
