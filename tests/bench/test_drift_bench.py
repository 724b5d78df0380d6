"""bench.drift: the plain-pandas side computes the same statistics, so the speed-up compares like with like."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bench import drift as bench_drift
from tools import cli


def test_both_implementations_see_the_same_shift(tmp_path):
    # GIVEN captured traffic where feature 2 moved by one standard deviation
    rng = np.random.default_rng(0)
    training = rng.normal(0, 1, (5_000, 4))
    production = rng.normal(0, 1, (3_000, 4))
    production[:, 2] += 1.0
    path = tmp_path / "capture.jsonl"
    bench_drift.write_capture(path, production)
    # WHEN both read it
    ours = bench_drift.ours(path, bench_drift.drift.build_baseline(training))
    plain = bench_drift.plain_pandas(path, training)
    # THEN both single out feature 2, with PSI figures of the same size
    assert [f.name for f in ours.drifted] == ["f2"]
    assert int(np.argmax([psi for psi, _ in plain])) == 2
    assert ours.features[2].psi == pytest.approx(plain[2][0], rel=0.25)
    assert plain[2][1] < 1e-6 and min(p for _, p in plain[:2] + plain[3:]) > 1e-4


def test_the_rates_meet_their_targets_on_a_small_run():
    detected, false_alarms = bench_drift.rates(trials=10, rows=10_000, features=10, shift=0.5)
    assert detected == 10
    assert false_alarms <= 1


def test_bad_options_end_in_one_line_and_exit_2(capsys):
    assert cli.guarded(bench_drift.main, ["--trials", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert re.fullmatch(r"error: --trials must be at least 1; see python -m bench.drift --help", err)
