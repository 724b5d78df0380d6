"""The one log format for per-round metrics, and the regexes that parse it.

Every round prints ``[<round>]#<data>-<metric>:<value>``, e.g.
``[12]#validation-auc:0.912345``: no tabs (CloudWatch shows them as ``#011``
and the built-in algorithm's regexes depend on that), one metric per line so
each regex matches exactly one thing. Hyperparameter tuning jobs and the
infrastructure's ``MetricDefinitions`` import :func:`metric_regex` from here,
so the printer and its parsers cannot drift apart. No XGBoost import: the
infra side loads this module on its own.
"""

from __future__ import annotations

import re

# A float as Python's repr prints it, including inf/nan should a metric diverge.
_NUMBER = r"([-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|inf|nan))"
DATA_NAMES = ("validation", "train")
METRIC_NAMES = (
    "auc", "aucpr", "error", "logloss", "merror", "mlogloss", "rmse", "rmsle", "mae", "mape", "mphe",
    "ndcg", "map", "pre", "poisson-nloglik", "gamma-nloglik", "gamma-deviance", "tweedie-nloglik",
    "cox-nloglik", "aft-nloglik",
)  # fmt: skip


def format_line(iteration: int, data_name: str, metric: str, value: float) -> str:
    return f"[{iteration}]#{data_name}-{metric}:{value:.8g}"


def metric_regex(name: str) -> str:
    """Regex for an objective metric named as the built-in algorithm names it: ``validation:auc``.

    The single capture group is the value.
    """
    data_name, sep, metric = name.partition(":")
    if not sep or not data_name or not metric:
        raise ValueError(f"metric name {name!r} must look like 'validation:auc'")
    return r"\]#" + re.escape(f"{data_name}-{metric}") + ":" + _NUMBER


# Every objective metric the tuning side may choose, precomputed.
METRIC_REGEX: dict[str, str] = {f"{d}:{m}": metric_regex(f"{d}:{m}") for d in DATA_NAMES for m in METRIC_NAMES}


def metric_definitions(names: list[str] | None = None) -> list[dict[str, str]]:
    """SageMaker ``MetricDefinitions`` (``[{"Name", "Regex"}]``) for the given metric names."""
    return [{"Name": n, "Regex": metric_regex(n)} for n in (names or sorted(METRIC_REGEX))]
