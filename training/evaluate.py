"""Processing step: model + test channel -> evaluation.json (SageMaker model-quality format).

With ``--candidates`` (every trial's artifact), ``--train-dir`` and
``--validation-dir`` it also compares the best model of each approach and a
trivial baseline (``comparison.json``, :mod:`smxgb.compare`), draws the PNG
plots beside the report (:mod:`smxgb.plots`) and writes the model card the
RegisterModel step registers (``model-card.json``, :mod:`smxgb.card`).

``--model`` is what a pipeline passes from the training step's
``ModelArtifacts.S3ModelArtifacts`` (a directory holding ``model.tar.gz``), a
``model.tar.gz`` file, or a directory holding ``xgboost-model``. The test
channel is label-first, like the training channels. The problem type comes from
the booster's objective unless ``--problem-type`` says otherwise. Each metric
is ``{"value": v, "standard_deviation": s}``, ``s`` from a seeded bootstrap;
the JsonGet paths are the ``*_PATH`` constants in :mod:`smxgb.report`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tarfile
from pathlib import Path

from smxgb import plots

#: When this file runs as the job's script, the plots' process is forked before
#: xgboost and scikit-learn are imported: matplotlib's import in the child then
#: runs beside theirs in this process (:class:`smxgb.plots.Painter`).
_EARLY_PAINTER = plots.Painter() if __name__ == "__main__" and "--no-plots" not in sys.argv[1:] else None

import numpy as np  # noqa: E402
import xgboost as xgb  # noqa: E402

from smxgb import card, compare, env, report, schema  # noqa: E402
from smxgb.data import read_channel_arrays  # noqa: E402
from smxgb.failure import UserError  # noqa: E402

MODEL_ARCHIVE_NAME = "model.tar.gz"
DEFAULT_THRESHOLD = 0.5
DEFAULT_BOOTSTRAP_SAMPLES = 100
BOOTSTRAP_SEED = 0
COMPARISON_FILE_NAME = "comparison.json"


def build_parser() -> argparse.ArgumentParser:
    root = env.processing_root()
    parser = report.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=root / "model")
    parser.add_argument("--test-dir", type=Path, default=root / "test")
    parser.add_argument("--output-dir", type=Path, default=root / "evaluation")
    parser.add_argument("--failure-dir", type=Path, default=report.default_failure_dir())
    parser.add_argument("--content-type", help="test channel content type; default: from file suffixes")
    parser.add_argument("--problem-type", default="auto", help="auto (from the objective), "
                        + ", ".join(schema.PROBLEM_TYPES))
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                        help="binary: a score above it predicts class 1 (as XGBoost's error metric)")
    parser.add_argument("--bootstrap-samples", type=int, default=DEFAULT_BOOTSTRAP_SAMPLES,
                        help="resamples for standard deviations; 0 reports null")
    # The comparison of approaches (smxgb.compare), its pictures and the model card.
    parser.add_argument("--candidates", type=Path, help="every trial's model artifact (the tuning job's output"
                        " prefix, */output/model.tar.gz): the best of each approach is compared with --model")
    parser.add_argument("--train-dir", type=Path, help="training channel: the train score, its gap to validation,"
                        " and the baseline")
    parser.add_argument("--validation-dir", type=Path, help="validation channel: picks each approach's best")
    parser.add_argument("--no-plots", dest="plots", action="store_false", help="skip the PNG plots")
    parser.add_argument("--model-uri", default="", help="for the model card: where the model artifact lives")
    parser.add_argument("--train-uri", default="", help="for the model card: the training channel's location")
    parser.add_argument("--validation-uri", default="", help="for the model card: the validation channel")
    parser.add_argument("--test-uri", default="", help="for the model card: the test channel")
    parser.add_argument("--label-column", default="label", help="for the model card: the label's raw name")
    parser.add_argument("--creator", default="the platform's training pipeline", help="for the model card")
    return parser


# ---------------------------------------------------------------- model


def load_booster(model: Path) -> xgb.Booster:
    raw = _model_bytes(model)
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(raw))
    except xgb.core.XGBoostError as exc:
        raise UserError(
            f"{model} does not hold a loadable XGBoost model ({str(exc).splitlines()[0][:200]}); pass the training"
            " job's model artifact (model.tar.gz or xgboost-model)"
        ) from exc
    return booster


def _model_bytes(model: Path) -> bytes:
    if model.is_dir():
        if (model / env.MODEL_FILE_NAME).is_file():
            return (model / env.MODEL_FILE_NAME).read_bytes()
        archives = sorted(model.glob("*.tar.gz"))
        if len(archives) != 1:
            raise UserError(
                f"{model} holds neither {env.MODEL_FILE_NAME} nor exactly one *.tar.gz"
                f" (found {[a.name for a in archives]}); pass the training job's model artifact"
            )
        model = archives[0]
    if not model.is_file():
        raise UserError(f"model {model} does not exist; map the training step's model artifact there")
    if not tarfile.is_tarfile(model):
        return model.read_bytes()
    # Read the one member in memory: nothing from the archive touches the filesystem.
    with tarfile.open(model, "r:*") as archive:
        members = [m for m in archive.getmembers() if m.isfile() and Path(m.name).name == env.MODEL_FILE_NAME]
        if not members:
            names = [m.name for m in archive.getmembers()][:10]
            raise UserError(f"{model.name} has no {env.MODEL_FILE_NAME} (members: {names}); was it trained here?")
        return archive.extractfile(members[0]).read()


def objective(booster: xgb.Booster) -> tuple[str, int]:
    learner = json.loads(booster.save_config())["learner"]
    num_class = int(float(learner.get("learner_model_param", {}).get("num_class", 0) or 0))
    return learner["objective"]["name"], num_class


def problem_type_of(objective_name: str) -> str:
    if objective_name.startswith("binary:"):
        return schema.BINARY
    if objective_name.startswith("multi:"):
        return schema.MULTICLASS
    if objective_name.startswith(("reg:", "count:", "survival:")):
        return schema.REGRESSION
    raise UserError(
        f"objective {objective_name!r} has no model-quality report here; pass --problem-type to override"
    )


def scores(booster: xgb.Booster, features: np.ndarray, objective_name: str, problem_type: str) -> np.ndarray:
    """Positive-class probability (binary), class probabilities (multiclass) or predictions."""
    matrix = xgb.DMatrix(features)
    if problem_type == schema.MULTICLASS:
        # Margins, so multi:softmax (which predicts labels) still yields probabilities.
        margins = booster.predict(matrix, output_margin=True).astype(np.float64)
        margins -= margins.max(axis=1, keepdims=True)
        exp = np.exp(margins)
        return exp / exp.sum(axis=1, keepdims=True)
    predictions = booster.predict(matrix).astype(np.float64)
    if objective_name == "binary:logitraw":
        return 1.0 / (1.0 + np.exp(-predictions))
    return predictions


# ---------------------------------------------------------------- metrics


def auc(labels: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney AUC with tied scores sharing their average rank."""
    positives = int(labels.sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    sorted_scores = score[order]
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average_rank = first + (counts + 1) / 2.0
    ranks = np.empty(score.size)
    ranks[order] = np.repeat(average_rank, counts)
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def binary_metrics(labels: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, float]:
    predicted = score > threshold
    actual = labels == 1
    tp = float(np.sum(predicted & actual))
    fp = float(np.sum(predicted & ~actual))
    fn = float(np.sum(~predicted & actual))
    tn = float(np.sum(~predicted & ~actual))
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {
        "auc": auc(labels, score),
        "accuracy": (tp + tn) / labels.size,
        "precision": precision,
        "recall": recall,
        "f1": _ratio(2 * precision * recall, precision + recall),
        "true_positive_rate": recall,
        "true_negative_rate": _ratio(tn, tn + fp),
        "false_positive_rate": _ratio(fp, fp + tn),
        "false_negative_rate": _ratio(fn, fn + tp),
    }


def multiclass_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    predicted = probabilities.argmax(axis=1)
    num_classes = probabilities.shape[1]
    confusion = _confusion(labels, predicted, num_classes)
    support = confusion.sum(axis=1)
    true_positives = np.diag(confusion)
    precision = np.divide(true_positives, confusion.sum(axis=0), out=np.zeros(num_classes),
                          where=confusion.sum(axis=0) > 0)
    recall = np.divide(true_positives, support, out=np.zeros(num_classes), where=support > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(num_classes),
                   where=(precision + recall) > 0)
    weights = support / support.sum()
    return {
        "accuracy": float(true_positives.sum() / labels.size),
        "weighted_precision": float(weights @ precision),
        "weighted_recall": float(weights @ recall),
        "weighted_f1": float(weights @ f1),
    }


def regression_metrics(labels: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    errors = predictions - labels
    mse = float(np.mean(errors**2))
    total = float(np.sum((labels - labels.mean()) ** 2))
    return {
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "mae": float(np.mean(np.abs(errors))),
        "r2": 1.0 - float(np.sum(errors**2)) / total if total else float("nan"),
    }


def _confusion(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    return np.bincount(labels * num_classes + predicted, minlength=num_classes**2).reshape(num_classes, -1)


def _confusion_dict(confusion: np.ndarray) -> dict:
    """SageMaker's layout: actual class -> predicted class -> count."""
    return {str(a): {str(p): int(confusion[a, p]) for p in range(confusion.shape[1])}
            for a in range(confusion.shape[0])}


def evaluate(labels: np.ndarray, score: np.ndarray, problem_type: str, *, threshold: float = DEFAULT_THRESHOLD,
             bootstrap_samples: int = DEFAULT_BOOTSTRAP_SAMPLES) -> dict:
    """The model-quality report for one problem type."""
    if problem_type == schema.BINARY:
        labels = labels.astype(np.int64)
        compute = lambda y, s: binary_metrics(y, s, threshold)  # noqa: E731
        confusion = _confusion(labels, (score > threshold).astype(np.int64), 2)
    elif problem_type == schema.MULTICLASS:
        labels = labels.astype(np.int64)
        compute = multiclass_metrics
        confusion = _confusion(labels, score.argmax(axis=1), score.shape[1])
    else:
        compute, confusion = regression_metrics, None
    values = compute(labels, score)
    deviations = _bootstrap_std(compute, labels, score, bootstrap_samples)
    section = {name: report.metric(value, deviations.get(name)) for name, value in values.items()}
    if confusion is not None:
        section["confusion_matrix"] = _confusion_dict(confusion)
    return {report.SECTIONS[problem_type]: section}


def _bootstrap_std(compute, labels: np.ndarray, score: np.ndarray, samples: int) -> dict[str, float]:
    if samples <= 0:
        return {}
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    draws: dict[str, list[float]] = {}
    for _ in range(samples):
        rows = rng.integers(0, labels.size, labels.size)
        for name, value in compute(labels[rows], score[rows]).items():
            draws.setdefault(name, []).append(value)
    # nanstd: a resample holding one class has no AUC, which says nothing about spread.
    with np.errstate(all="ignore"):
        return {name: float(np.nanstd(values, ddof=1)) if np.isfinite(values).sum() > 1 else float("nan")
                for name, values in draws.items()}


# ---------------------------------------------------------------- entry point


def check_labels(labels: np.ndarray, problem_type: str, num_classes: int) -> None:
    if not np.all(np.isfinite(labels)):
        raise UserError("the test channel has missing labels; run the preprocess step, which drops them")
    if problem_type == schema.REGRESSION:
        return
    classes = num_classes if problem_type == schema.MULTICLASS else 2
    bad = labels[(labels != np.round(labels)) | (labels < 0) | (labels >= classes)]
    if bad.size:
        raise UserError(
            f"test labels must be class indices 0..{classes - 1} for {problem_type}, found {bad[0]:g};"
            " is the label the first column, and the test set from the same preprocess run?"
        )


def run(args: argparse.Namespace) -> dict:
    # Forked first, so that matplotlib's import and the drawing run beside the scoring (smxgb.plots).
    painter = _EARLY_PAINTER or (plots.Painter() if args.plots else None)
    with painter or contextlib.nullcontext():
        return _run(args, painter if args.plots else None)


def _run(args: argparse.Namespace, painter: plots.Painter | None) -> dict:
    booster = load_booster(args.model)
    objective_name, num_class = objective(booster)
    problem_type = args.problem_type
    schema.check_problem_type(problem_type, allow_auto=True, source="--problem-type")
    if problem_type == "auto":
        problem_type = problem_type_of(objective_name)
    if not args.test_dir.is_dir():
        raise UserError(f"test channel {args.test_dir} does not exist; map the preprocess step's test output there")
    features, labels = read_channel_arrays(args.test_dir, args.content_type, channel="test")
    if labels.size == 0:
        raise UserError(f"the test channel {args.test_dir} holds no rows")
    if features.shape[1] != booster.num_features():
        raise UserError(
            f"test rows have {features.shape[1]} features but the model expects {booster.num_features()};"
            " evaluate with the test split of the preprocess run the model was trained on"
        )
    check_labels(labels, problem_type, num_class)
    score = scores(booster, features, objective_name, problem_type)
    result = evaluate(labels, score, problem_type, threshold=args.threshold,
                      bootstrap_samples=args.bootstrap_samples)
    target = report.write_report(result, args.output_dir)
    primary_path, _ = report.PRIMARY_METRIC_PATH[problem_type]
    print(f"evaluate: {labels.size} rows, {objective_name}, {primary_path} = {report.json_get(result, primary_path)}"
          f" -> {target}")
    comparison = compare_approaches(args, booster, problem_type, num_class, features, labels, score, painter)
    print("compare: " + comparison["sentence"])
    print(compare.table(comparison))
    if comparison["plots"]:
        print("plots: " + ", ".join(comparison["plots"]))
    return result


# ---------------------------------------------------------------- the approaches side by side


def _objective_of(problem_type: str, threshold: float):
    """(name, higher is better, compute(labels, scores) -> {metric: value}) for one problem type."""
    name, higher = compare.OBJECTIVES[problem_type]
    if problem_type == schema.BINARY:
        return name, higher, lambda y, s: binary_metrics(y.astype(np.int64), s, threshold)
    if problem_type == schema.MULTICLASS:
        return name, higher, lambda y, s: multiclass_metrics(y.astype(np.int64), s)
    return name, higher, regression_metrics


def _channel(directory: Path | None, content_type: str | None, name: str, width: int):
    if directory is None:
        return None
    if not directory.is_dir():
        raise UserError(f"{name} channel {directory} does not exist; map the preprocess step's {name} output there")
    features, labels = read_channel_arrays(directory, content_type, channel=name)
    if features.shape[1] != width:
        raise UserError(f"{name} rows have {features.shape[1]} features but the model expects {width}; pass the"
                        " channels of the preprocess run the models were trained on")
    return features, labels


def _load_candidates(directory: Path | None, chosen: xgb.Booster) -> list[compare.Candidate]:
    if directory is None:
        return []
    if not directory.is_dir():
        raise UserError(f"--candidates {directory} does not exist; map the tuning job's output prefix there")
    chosen_raw = chosen.save_raw("ubj")
    found = []
    for archive in sorted(directory.rglob(MODEL_ARCHIVE_NAME)):
        booster = load_booster(archive)
        if booster.save_raw("ubj") == chosen_raw:
            continue  # the chosen model itself, already a candidate
        found.append(compare.from_booster(archive.parent.parent.name, booster, str(archive.relative_to(directory))))
    return found


def compare_approaches(args: argparse.Namespace, booster: xgb.Booster, problem_type: str, num_class: int,
                       features: np.ndarray, labels: np.ndarray, score: np.ndarray,
                       painter: plots.Painter | None = None) -> dict:
    """Score the best model of each approach and the baseline on the same rows; write comparison.json,
    the plots and the model card next to the report."""
    objective_name, _ = objective(booster)
    metric, higher, compute = _objective_of(problem_type, args.threshold)
    train = _channel(args.train_dir, args.content_type, "train", booster.num_features())
    validation = _channel(args.validation_dir, args.content_type, "validation", booster.num_features())
    chosen = compare.from_booster("chosen", booster, str(args.model))
    if painter is not None:  # the chosen model's curve needs no scoring: drawn while the candidates are scored
        _submit_curve(painter, chosen, problem_type, validation, objective_name, metric, compute, args.output_dir)
    candidates = [chosen, *_load_candidates(args.candidates, booster)]

    def predict(model: xgb.Booster, rows: np.ndarray) -> np.ndarray:
        return scores(model, rows, objective_name, problem_type)

    for candidate in candidates:
        candidate.test_scores = score if candidate is chosen else predict(candidate.booster, features)
        candidate.test = {k: _json_float(v) for k, v in compute(labels, candidate.test_scores).items()}
        if train is not None:
            candidate.train_objective = compute(train[1], predict(candidate.booster, train[0]))[metric]
        if validation is not None:
            candidate.validation_objective = compute(validation[1], predict(candidate.booster, validation[0]))[metric]
    best = compare.best_per_approach(candidates, higher)
    best[chosen.approach] = chosen  # the registered model is the tuner's choice, whatever the ties
    base_labels = train[1] if train is not None else labels
    baseline = compare.Candidate(compare.BASELINE, compare.BASELINE, source="training-set prior")
    baseline.test_scores = compare.baseline_scores(base_labels, labels.size, problem_type, num_class)
    # Latencies first, then the plots: drawn beside the timed scoring, they would slow it on a 2-vCPU
    # instance (both cores busy) and make the reported latencies the drawing's, not the models'.
    for candidate in best.values():
        candidate.latency_ms_per_1000 = compare.latency_ms_per_1000(lambda rows, c=candidate: predict(c.booster, rows),
                                                                    features)
    baseline.test = {k: _json_float(v) for k, v in compute(labels, baseline.test_scores).items()}
    for split, attribute in ((train, "train_objective"), (validation, "validation_objective")):
        if split is not None:
            prior = compare.baseline_scores(base_labels, split[1].size, problem_type, num_class)
            setattr(baseline, attribute, compute(split[1], prior)[metric])
    baseline.latency_ms_per_1000 = compare.latency_ms_per_1000(
        lambda rows: compare.baseline_scores(base_labels, len(rows), problem_type, num_class), features)
    if painter is not None:
        _submit_comparison_plots(painter, best, baseline, chosen, problem_type, labels, args.output_dir)
    rows = {name: c.row(metric) for name, c in best.items()} | {compare.BASELINE: baseline.row(metric)}
    result = {"problem_type": problem_type, "approaches": rows,
              "verdict": compare.verdict(rows, chosen.approach, metric, higher), "plots": []}
    result["sentence"] = compare.sentence(result)
    if painter is not None:
        result["plots"] = sorted((p.name for p in painter.finish()), key=plots.FILES.index)
    compare.write(result, args.output_dir, COMPARISON_FILE_NAME)
    datasets = {k: v for k, v in (("train", args.train_uri), ("validation", args.validation_uri),
                                  ("test", args.test_uri)) if v}
    card.write(card.content(result, problem_type=problem_type, features=booster.num_features(),
                            label=args.label_column, model_uri=args.model_uri or str(args.model), datasets=datasets,
                            creator=args.creator), args.output_dir)
    return result


def _json_float(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _submit_curve(painter: plots.Painter, chosen, problem_type: str, validation, objective_name: str, metric: str,
                  compute, output_dir: Path) -> None:
    """The chosen model's validation metric as it grew: per boosting round, or per tree of a forest."""
    if chosen.approach == "forest":
        if validation is not None and problem_type != schema.MULTICLASS:
            values = forest_curve(chosen.booster, validation, objective_name, metric, compute)
            painter.submit("validation_curve", chosen.approach, metric, values, "trees", output_dir)
    else:
        name, values = next(iter(chosen.validation_history.items()), (None, None))
        if values:
            painter.submit("validation_curve", chosen.approach, name, values, "boosting round", output_dir)


def _submit_comparison_plots(painter: plots.Painter, best: dict, baseline, chosen, problem_type: str,
                             labels: np.ndarray, output_dir: Path) -> None:
    curves = {name: (labels, c.test_scores) for name, c in best.items()}
    if problem_type == schema.BINARY:
        painter.submit("roc_and_pr", {**curves, compare.BASELINE: (labels, baseline.test_scores)}, output_dir)
    elif problem_type == schema.REGRESSION:
        painter.submit("residuals", curves, output_dir)
    gains = {name: c.booster.get_score(importance_type="gain") for name, c in best.items()}
    gains = {chosen.approach: gains.pop(chosen.approach), **gains}  # the winner's features lead
    if any(gains.values()):
        painter.submit("feature_importance", gains, output_dir)


def forest_curve(booster: xgb.Booster, validation, objective_name: str, metric: str, compute) -> list[float]:
    """The forest's validation metric with its first k trees, k = 1..n (its one round, tree by tree).

    XGBoost scales each of a round's n parallel trees by 1/n, so k trees predict the base margin plus
    n/k times the sum of their leaf values.
    """
    features, labels = validation
    matrix = xgb.DMatrix(features)
    leaves = booster.predict(matrix, pred_leaf=True).reshape(len(labels), -1)
    frame = booster.trees_to_dataframe()
    frame = frame[frame["Feature"] == "Leaf"]
    lookup = {(int(t), int(n)): g for t, n, g in zip(frame["Tree"], frame["Node"], frame["Gain"], strict=True)}
    values = np.array([[lookup[(tree, int(leaf))] for tree, leaf in enumerate(row)] for row in leaves])
    margin = booster.predict(matrix, output_margin=True).astype(np.float64)
    base = margin - values.sum(axis=1)
    partial = np.cumsum(values, axis=1)
    trees = values.shape[1]
    curve = []
    for k in range(1, trees + 1):
        margin_k = base + partial[:, k - 1] * trees / k
        if objective_name.startswith(("binary:logistic", "reg:logistic")):
            prediction = 1.0 / (1.0 + np.exp(-margin_k))
        elif objective_name in ("count:poisson", "reg:gamma", "reg:tweedie"):
            prediction = np.exp(margin_k)
        else:
            prediction = margin_k
        curve.append(compute(labels, prediction)[metric])
    return curve


def main(argv: list[str] | None = None) -> None:
    report.processing_main(run, build_parser, argv)


if __name__ == "__main__":
    main()
