"""Hyperparameters: the built-in XGBoost algorithm's names and ranges, plus this job's own.

SageMaker passes every hyperparameter as a string, to script mode as
``--name value`` arguments (and as JSON in ``SM_HPS``). Each is parsed and
checked here, so a typo or an out-of-range value fails in the first second
with a message naming the hyperparameter, the allowed range and the fix,
rather than as an XGBoost traceback minutes later.

``SPEC`` is the single source of truth: the infrastructure's tuning ranges
are tested against it. No XGBoost import here, so the infra side can import
it cheaply.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from smxgb.failure import UserError

INF = math.inf


@dataclass(frozen=True)
class Spec:
    """One hyperparameter: ``kind`` is "int", "float" or "categorical"."""

    kind: str
    low: float = -INF
    high: float = INF
    low_inclusive: bool = True
    high_inclusive: bool = True
    choices: tuple[str, ...] = ()
    default: Any = None
    required: bool = False
    xgboost: bool = True  # passed to xgboost.train's params, versus consumed by this job
    help: str = ""

    def describe(self) -> str:
        if self.kind == "categorical":
            return "one of " + ", ".join(self.choices)
        left = "[" if self.low_inclusive else "("
        right = "]" if self.high_inclusive else ")"
        low = "-inf" if self.low == -INF else _number(self.low)
        high = "inf" if self.high == INF else _number(self.high)
        return f"{'an integer' if self.kind == 'int' else 'a number'} in {left}{low}, {high}{right}"

    def contains(self, value: float) -> bool:
        above = value >= self.low if self.low_inclusive else value > self.low
        below = value <= self.high if self.high_inclusive else value < self.high
        return above and below


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _int(low=-INF, high=INF, **kw) -> Spec:
    return Spec("int", low, high, **kw)


def _float(low=-INF, high=INF, **kw) -> Spec:
    return Spec("float", low, high, **kw)


def _cat(*choices: str, **kw) -> Spec:
    return Spec("categorical", choices=choices, **kw)


OBJECTIVES = (
    "binary:logistic", "binary:logitraw", "binary:hinge",
    "reg:squarederror", "reg:squaredlogerror", "reg:logistic", "reg:pseudohubererror",
    "reg:absoluteerror", "reg:quantileerror", "reg:gamma", "reg:tweedie",
    "count:poisson", "survival:cox", "survival:aft",
    "multi:softmax", "multi:softprob",
    "rank:pairwise", "rank:ndcg", "rank:map",
)  # fmt: skip
EVAL_METRICS = (
    "rmse", "rmsle", "mae", "mape", "mphe", "logloss", "error", "merror", "mlogloss",
    "auc", "aucpr", "pre", "ndcg", "map", "poisson-nloglik", "gamma-nloglik",
    "cox-nloglik", "gamma-deviance", "tweedie-nloglik", "aft-nloglik",
)  # fmt: skip
TREE_METHODS = ("auto", "exact", "approx", "hist")
BOOSTING, FOREST = "boosting", "forest"
APPROACHES = (BOOSTING, FOREST)
#: A forest's settings when the job names none: XGBoost's random-forest recipe (one round, learning
#: rate 1, a sample of rows per tree and of columns per split, so the trees differ).
FOREST_DEFAULTS = {"num_round": 1, "eta": 1.0, "num_parallel_tree": 100, "subsample": 0.8, "colsample_bynode": 0.8}

# Names and ranges as the built-in XGBoost algorithm documents them.
SPEC: dict[str, Spec] = {
    "approach": _cat(*APPROACHES, default=BOOSTING, xgboost=False,
                     help="boosting (rounds of trees, each fit to the last's errors) or forest (one round of "
                          "num_parallel_tree independent trees on row and column samples: a random forest)"),
    "num_round": _int(1, help="number of boosting rounds (forest: 1)", required=True, xgboost=False),
    "eta": _float(0, 1, help="step size shrinkage"),
    "gamma": _float(0, help="minimum loss reduction to split"),
    "max_depth": _int(0, help="maximum tree depth (0 = no limit, needs grow_policy=lossguide)"),
    "min_child_weight": _float(0, help="minimum hessian in a child"),
    "max_delta_step": _float(0),
    "subsample": _float(0, 1, low_inclusive=False),
    "sampling_method": _cat("uniform", "gradient_based"),
    "colsample_bytree": _float(0, 1, low_inclusive=False),
    "colsample_bylevel": _float(0, 1, low_inclusive=False),
    "colsample_bynode": _float(0, 1, low_inclusive=False),
    "lambda": _float(0, help="L2 regularisation"),
    "alpha": _float(0, help="L1 regularisation"),
    "tree_method": _cat(*TREE_METHODS, default="hist"),
    "sketch_eps": _float(0, 1, low_inclusive=False, high_inclusive=False),
    "scale_pos_weight": _float(0, low_inclusive=False),
    "grow_policy": _cat("depthwise", "lossguide"),
    "max_leaves": _int(0),
    "max_bin": _int(2, help="histogram bins per feature"),
    "num_parallel_tree": _int(1),
    "objective": _cat(*OBJECTIVES, default="reg:squarederror"),
    "num_class": _int(2, help="classes for multi:* objectives"),
    "base_score": _float(),
    "eval_metric": Spec("list", choices=EVAL_METRICS, help="comma-separated metrics; the last drives early stopping"),
    "seed": _int(0, 2**31 - 1),
    "early_stopping_rounds": _int(1, xgboost=False, help="stop when validation does not improve for this many rounds"),
    "tweedie_variance_power": _float(1, 2, low_inclusive=False, high_inclusive=False),
    "huber_slope": _float(0, low_inclusive=False),
    "quantile_alpha": _float(0, 1, low_inclusive=False, high_inclusive=False),
    "max_cat_to_onehot": _int(1),
    "nthread": _int(1, help="threads; default: SM_NUM_CPUS"),
    "verbosity": _int(0, 3),
    # This job's own knobs, not XGBoost's.
    "content_type": _cat("text/csv", "application/x-parquet", "text/libsvm", "csv", "parquet", "libsvm",
                         xgboost=False, help="input format; default from the channel's ContentType or extension"),
    "data_mode": _cat("auto", "memory", "external", default="auto", xgboost=False,
                      help="external streams data larger than memory through an external-memory matrix"),
    "cuts_sample_rows": _int(0, default=200_000, xgboost=False,
                             help="build histogram cuts from this many sampled rows when training is larger (0 = all)"),
    "checkpoint_frequency": _int(1, default=10, xgboost=False, help="checkpoint every N rounds (managed spot)"),
    "checkpoints_to_keep": _int(1, default=3, xgboost=False),
    "tracker_port": _int(1024, 65535, xgboost=False,
                          help="multi-instance tracker port on the first host (default 9099)"),
    "tracker_timeout": _int(1, 3600, default=300, xgboost=False,
                            help="seconds to wait for every host to join the training"),
}  # fmt: skip

# SageMaker adds these itself (tuning jobs, the SDK); they are not ours to check.
_RESERVED_PREFIXES = ("sagemaker_", "_")


def names() -> list[str]:
    """Every accepted hyperparameter name."""
    return sorted(SPEC)


def ranges() -> dict[str, dict[str, Any]]:
    """The spec as plain data: ``{name: {"kind", "low", "high", "choices", ...}}`` (JSON-safe, inf as None)."""
    out = {}
    for name, spec in SPEC.items():
        out[name] = {
            "kind": spec.kind,
            "low": None if spec.low == -INF else spec.low,
            "high": None if spec.high == INF else spec.high,
            "low_inclusive": spec.low_inclusive,
            "high_inclusive": spec.high_inclusive,
            "choices": list(spec.choices),
            "default": spec.default,
            "required": spec.required,
        }
    return out


def _bad(name: str, raw: Any, spec: Spec, fix: str = "") -> UserError:
    return UserError(
        f"hyperparameter {name}={raw!r} is invalid: must be {spec.describe()}; "
        + (fix or f"set {name} to a value in that range")
    )


def parse_value(name: str, raw: Any) -> Any:
    if name not in SPEC:
        close = difflib.get_close_matches(name, SPEC, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise UserError(
            f"unknown hyperparameter '{name}': {hint}remove it or use one of the accepted names "
            f"({', '.join(names())})"
        )
    spec = SPEC[name]
    text = str(raw).strip()
    if name == "tree_method" and text == "gpu_hist":
        raise UserError(
            "hyperparameter tree_method='gpu_hist' is invalid: XGBoost 3 removed it; use tree_method=hist "
            "on a GPU instance (the job sets device=cuda itself when the instance has GPUs)"
        )
    if spec.kind == "categorical":
        if text not in spec.choices:
            raise _bad(name, raw, spec)
        return text
    if spec.kind == "list":
        values = [v.strip() for v in text.split(",") if v.strip()]
        unknown = [v for v in values if v.split("@")[0] not in spec.choices]
        if not values or unknown:
            raise UserError(
                f"hyperparameter {name}={raw!r} is invalid: each comma-separated entry must be one of "
                f"{', '.join(spec.choices)} (optionally with @n); fix the metric name"
            )
        return values
    try:
        number = float(text)
    except ValueError:
        raise _bad(name, raw, spec) from None
    if spec.kind == "int":
        if not number.is_integer():
            raise _bad(name, raw, spec)
        number = int(number)
    if math.isnan(number) or not spec.contains(number):
        raise _bad(name, raw, spec)
    return number


def _cross_checks(hps: dict[str, Any]) -> None:
    objective = hps.get("objective", SPEC["objective"].default)
    if objective.startswith("multi:") and "num_class" not in hps:
        raise UserError(
            f"hyperparameter num_class is required with objective={objective}: "
            "set num_class to the number of classes (an integer >= 2)"
        )
    if "num_class" in hps and not objective.startswith("multi:"):
        raise UserError(
            f"hyperparameter num_class only applies to multi:* objectives, not objective={objective}; "
            "remove num_class or use multi:softprob"
        )
    if objective == "survival:aft":
        raise UserError(
            "objective=survival:aft needs lower and upper label bounds per row, which CSV, Parquet and libsvm "
            "channels do not carry (one label column); use survival:cox (negative labels = right-censored)"
        )
    if objective == "reg:quantileerror" and "quantile_alpha" not in hps:
        raise UserError(
            "hyperparameter quantile_alpha is required with objective=reg:quantileerror: set it to the "
            "quantile to predict, a number in (0, 1) such as 0.5"
        )
    if hps.get("max_depth") == 0 and hps.get("grow_policy") != "lossguide":
        raise UserError(
            "hyperparameter max_depth=0 (no limit) needs grow_policy=lossguide; set max_depth >= 1 "
            "or grow_policy=lossguide"
        )


def _forest_checks(hps: dict[str, Any]) -> None:
    """A forest is one round of independent trees: settings that would make it something else are refused."""
    fixed = {
        "num_round": (1, "a forest is one round of num_parallel_tree trees; remove num_round (or set it to 1) and "
                         "set the number of trees with num_parallel_tree"),
        "eta": (1.0, "a forest averages its trees without shrinking them; remove eta (or set it to 1)"),
    }
    for name, (value, fix) in fixed.items():
        if name in hps and hps[name] != value:
            raise UserError(f"hyperparameter {name}={hps[name]:g} does not fit approach=forest: {fix}")
    if "early_stopping_rounds" in hps:
        raise UserError(
            "hyperparameter early_stopping_rounds does not fit approach=forest: a forest trains one round, so "
            "there is nothing to stop early; remove early_stopping_rounds"
        )
    if hps.get("num_parallel_tree") == 1:
        raise UserError(
            "hyperparameter num_parallel_tree=1 does not fit approach=forest: one tree is not a forest; set "
            "num_parallel_tree >= 2 (100 by default)"
        )
    if hps.get("subsample", FOREST_DEFAULTS["subsample"]) == 1 and hps.get(
        "colsample_bynode", FOREST_DEFAULTS["colsample_bynode"]
    ) == 1:
        raise UserError(
            "hyperparameters subsample=1 and colsample_bynode=1 do not fit approach=forest: without row or column "
            "sampling every tree is the same tree; set subsample < 1 or colsample_bynode < 1 (0.8 by default)"
        )


def parse(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validated, typed hyperparameters with defaults filled in."""
    hps: dict[str, Any] = {}
    for name, value in raw.items():
        if name.startswith(_RESERVED_PREFIXES):
            continue
        hps[name] = parse_value(name, value)
    if hps.get("approach") == FOREST:
        _forest_checks(hps)
        hps = {**FOREST_DEFAULTS, **hps}
    missing = [n for n, s in SPEC.items() if s.required and n not in hps]
    if missing:
        raise UserError(
            f"hyperparameter {missing[0]} is required: set it to {SPEC[missing[0]].describe()} "
            f"(e.g. --{missing[0]} 100)"
        )
    _cross_checks(hps)
    for name, spec in SPEC.items():
        if name not in hps and spec.default is not None:
            hps[name] = spec.default
    return hps


def args_to_dict(argv: Iterable[str]) -> dict[str, str]:
    """``["--eta", "0.3", "--num_round=10"]`` -> ``{"eta": "0.3", "num_round": "10"}``."""
    argv = list(argv)
    out: dict[str, str] = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        if not token.startswith("--"):
            raise UserError(
                f"unexpected argument {token!r}: hyperparameters are passed as '--name value'"
            )
        if "=" in token:
            name, value = token[2:].split("=", 1)
            i += 1
        else:
            if i + 1 >= len(argv):
                raise UserError(f"hyperparameter {token[2:]} has no value: pass '--{token[2:]} value'")
            name, value = token[2:], argv[i + 1]
            i += 2
        out[name] = value
    return out


def from_argv_and_env(argv: Iterable[str], sm_hps: str | None) -> dict[str, Any]:
    """Command-line arguments win over ``SM_HPS``; both carry the same values under the toolkit."""
    raw: dict[str, Any] = {}
    if sm_hps:
        try:
            raw.update({k: v for k, v in json.loads(sm_hps).items()})
        except json.JSONDecodeError as exc:
            raise UserError(f"SM_HPS is not valid JSON ({exc}); let SageMaker set it") from exc
    raw.update(args_to_dict(argv))
    return parse(raw)


def xgboost_params(hps: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of hyperparameters that are XGBoost booster params."""
    params = {k: v for k, v in hps.items() if SPEC[k].xgboost}
    if "eval_metric" in params:
        params["eval_metric"] = list(params["eval_metric"])
    return params
