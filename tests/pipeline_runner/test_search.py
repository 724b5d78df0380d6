"""The search honours the ranges, their scaling, the strategy and the seed."""

from __future__ import annotations

import numpy as np
import pytest

from tools.pipeline_runner.search import Search, dimensions

RANGES = {
    "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "3", "MaxValue": "10", "ScalingType": "Auto"}],
    "ContinuousParameterRanges": [
        {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.3", "ScalingType": "Logarithmic"},
        {"Name": "subsample", "MinValue": "0.5", "MaxValue": "1.0", "ScalingType": "Linear"},
    ],
    "CategoricalParameterRanges": [{"Name": "tree_method", "Values": ["hist", "approx"]}],
}


def proposals(strategy: str, seed: int, count: int = 8) -> list[dict[str, str]]:
    search = Search(dimensions(RANGES), strategy, seed, maximize=True)
    return [search.hyperparameters(p) for p in search.propose(count, [])]


def test_values_stay_in_their_ranges_as_sagemaker_strings() -> None:
    for hps in proposals("Random", 1, 50):
        assert 3 <= int(hps["max_depth"]) <= 10
        assert 0.01 <= float(hps["eta"]) <= 0.3
        assert 0.5 <= float(hps["subsample"]) <= 1.0
        assert hps["tree_method"] in ("hist", "approx")


def test_logarithmic_scaling_spreads_over_orders_of_magnitude() -> None:
    etas = [float(h["eta"]) for h in proposals("Random", 3, 400)]
    # Linear sampling would put ~3% below 0.02; log-uniform puts ~20% there.
    assert 0.12 < np.mean([e < 0.02 for e in etas]) < 0.3


def test_the_seed_makes_the_search_repeatable() -> None:
    assert proposals("Random", 7) == proposals("Random", 7)
    assert proposals("Random", 7) != proposals("Random", 8)


def test_bayesian_exploits_what_earlier_trials_found() -> None:
    dims = dimensions({"ContinuousParameterRanges": [
        {"Name": "x", "MinValue": "0", "MaxValue": "1", "ScalingType": "Linear"}]})
    search = Search(dims, "Bayesian", 0, maximize=False, initial=2)
    history = [(np.array([u]), (u - 0.3) ** 2) for u in (0.0, 0.25, 0.35, 0.6, 0.9)]
    batch = search.propose(2, history)
    assert any(abs(p[0] - 0.3) < 0.15 for p in batch), batch
    assert abs(batch[0][0] - batch[1][0]) > 1e-3, "one batch must not repeat a point"


@pytest.mark.parametrize("strategy", ["Hyperband", "Grid"])
def test_unsupported_strategies_are_refused(strategy) -> None:
    with pytest.raises(ValueError, match=f"strategy {strategy!r} is not supported locally"):
        Search(dimensions(RANGES), strategy, 0, maximize=True)
