"""smxgb.drift: the statistics the monitoring job decides drift with."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from smxgb import drift

FEATURES = 5


@pytest.fixture(scope="module")
def population():
    rng = np.random.default_rng(7)
    means, scales = rng.normal(0, 10, FEATURES), rng.uniform(0.5, 5, FEATURES)
    return means, scales, drift.build_baseline(rng.normal(means, scales, (20_000, FEATURES)))


def _sample(population, rows, seed, shift=None):
    means, scales, _ = population
    data = np.random.default_rng(seed).normal(means, scales, (rows, FEATURES))
    if shift is not None:
        feature, sds = shift
        data[:, feature] += sds * scales[feature]
    return data


def test_a_sample_of_the_baseline_distribution_does_not_drift(population):
    report = drift.compare(population[2], _sample(population, 5_000, seed=1))
    assert report.drifted == []
    assert report.max_psi < 0.02


def test_half_a_standard_deviation_in_one_feature_is_that_feature_only(population):
    report = drift.compare(population[2], _sample(population, 5_000, seed=2, shift=(3, 0.5)))
    assert [f.name for f in report.drifted] == ["f3"]
    shifted = report.features[3]
    assert shifted.psi > 0.1 and shifted.ks_p_value < 1e-6
    assert shifted.production_mean > shifted.baseline_mean


def test_the_grid_ks_statistic_is_close_to_scipys_and_never_larger():
    # GIVEN raw training and production values
    rng = np.random.default_rng(3)
    train, prod = rng.normal(0, 1, 20_000), rng.normal(0.3, 1.2, 4_000)
    baseline = drift.build_baseline(train[:, None])
    # WHEN compared on the percentile grid
    ours = drift.compare(baseline, prod[:, None]).features[0]
    exact = stats.ks_2samp(train, prod, method="asymp")
    # THEN within one percentile bin of the exact statistic, and conservative
    assert exact.statistic - 0.011 <= ours.ks_statistic <= exact.statistic + 1e-9
    assert ours.ks_p_value >= exact.pvalue * 0.999


def test_psi_of_known_histograms():
    expected = np.array([50, 50])
    actual = np.array([25, 75])
    want = (0.25 - 0.5) * np.log(0.25 / 0.5) + (0.75 - 0.5) * np.log(0.75 / 0.5)
    assert drift.population_stability_index(expected, actual) == pytest.approx(want)
    assert drift.population_stability_index(expected, expected) == 0


def test_a_discrete_feature_drifts_when_its_proportions_change():
    rng = np.random.default_rng(4)
    baseline = drift.build_baseline(rng.binomial(1, 0.3, (10_000, 1)).astype(float))
    same = drift.compare(baseline, rng.binomial(1, 0.3, (5_000, 1)).astype(float))
    moved = drift.compare(baseline, rng.binomial(1, 0.5, (5_000, 1)).astype(float))
    assert same.drifted == []
    assert [f.name for f in moved.drifted] == ["f0"]


def test_missing_values_have_their_own_bin_and_share():
    rng = np.random.default_rng(5)
    baseline = drift.build_baseline(rng.normal(0, 1, (10_000, 1)))
    prod = rng.normal(0, 1, (4_000, 1))
    prod[:2_000, 0] = np.nan
    feature = drift.compare(baseline, prod).features[0]
    assert feature.missing_fraction == pytest.approx(0.5)
    assert feature.psi > 1  # the missing bin alone moves half the mass


def test_too_few_rows_give_no_verdict(population):
    report = drift.compare(population[2], _sample(population, 50, seed=6, shift=(0, 3)))
    assert not report.enough_rows
    assert report.drifted == []


def test_a_width_other_than_the_baselines_is_refused_with_the_fix(population):
    with pytest.raises(ValueError, match=r"have 4 features but the baseline has 5; compare data of the model"):
        drift.compare(population[2], np.zeros((10, 4)))


def test_the_baseline_survives_json_and_refuses_other_documents(population, tmp_path):
    baseline = population[2]
    again = drift.Baseline.read(baseline.write(tmp_path / "b.json"))
    assert again == baseline
    with pytest.raises(ValueError, match="not a drift baseline"):
        drift.Baseline.from_json(json.dumps({"features": []}))


def test_the_report_is_plain_json_even_without_rows(population):
    report = drift.compare(population[2], np.empty((0, FEATURES)))
    text = json.dumps(report.to_dict(), allow_nan=False)
    assert json.loads(text)["features"][0]["production_mean"] is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"psi_threshold": 0}, "psi_threshold must be positive"), ({"ks_alpha": 1}, r"ks_alpha must be in \(0, 1\)"),
     ({"min_rows": 0}, "min_rows must be at least 1")],
)
def test_thresholds_refuse_values_that_cannot_work(kwargs, message):
    with pytest.raises(ValueError, match=message):
        drift.DriftThresholds(**kwargs)
