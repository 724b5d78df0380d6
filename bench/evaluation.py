"""Evaluation benchmark: what the plots add to the evaluation job, on the demo's data.

The demo's data set (scikit-learn's breast cancer, split 70/15/15 as the
preprocess step splits it) and one boosting and one forest trial trained by the
real ``train.py``; then ``evaluate.py`` runs as the processing job runs it
(through the local runner, a fresh process each time) with the comparison,
once with its plots and once with ``--no-plots``, interleaved, ``--repeat``
times. Printed: the median seconds of each and the ratio (the target is at
most ``TARGET``, i.e. plots add at most 20 %).
"""

from __future__ import annotations

import argparse
import statistics
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import data as bench_data
from tools import cli

TARGET = 1.2
PROCESSING = "/opt/ml/processing"
TRIALS = {"boosting": {"approach": "boosting", "num_round": 50, "max_depth": 4, "eta": 0.2},
          "forest": {"approach": "forest", "num_parallel_tree": 100, "max_depth": 6}}


def _demo_data(root: Path) -> dict[str, Path]:
    from sklearn.datasets import load_breast_cancer

    features, labels = load_breast_cancer(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(labels))
    rows = np.column_stack([labels, features])[order]
    cut = int(len(rows) * 0.7), int(len(rows) * 0.85)
    channels = {}
    for name, part in zip(("train", "validation", "test"), np.split(rows, cut), strict=True):
        (root / name).mkdir(parents=True)
        np.savetxt(root / name / f"{name}.csv", part, delimiter=",", fmt="%.10g")
        channels[name] = root / name
    return channels


def _trials(root: Path, channels: dict[str, Path]) -> Path:
    from training.local_runner import run_training

    candidates = root / "candidates"
    for approach, hps in TRIALS.items():
        result = run_training("train.py", channels={k: channels[k] for k in ("train", "validation")},
                              hyperparameters={"objective": "binary:logistic", "eval_metric": "auc", **hps},
                              root=root / approach, num_cpus=1)
        if result.returncode != 0:
            raise cli.ToolError(f"bench evaluation: training {approach} failed: {result.failure}")
        target = candidates / f"trial-{approach}" / "output" / "model.tar.gz"
        target.parent.mkdir(parents=True)
        with tarfile.open(target, "w:gz") as archive:
            for path in result.model_dir.iterdir():
                archive.add(path, arcname=path.name)
    return candidates


def _evaluate(root: Path, channels: dict[str, Path], candidates: Path, plots: bool) -> float:
    from training.local_runner import run_processing

    inputs = {f"{PROCESSING}/{name}": path for name, path in channels.items()}
    inputs[f"{PROCESSING}/model"] = candidates / "trial-boosting" / "output"
    inputs[f"{PROCESSING}/candidates"] = candidates
    args = ["--model", f"{PROCESSING}/model", "--candidates", f"{PROCESSING}/candidates",
            *(a for name in channels for a in (f"--{name}-dir", f"{PROCESSING}/{name}")),
            "--output-dir", f"{PROCESSING}/evaluation", *([] if plots else ["--no-plots"])]
    started = time.perf_counter()
    result = run_processing("evaluate.py", root=root, inputs=inputs, outputs=[f"{PROCESSING}/evaluation"], args=args,
                            timeout=600)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise cli.ToolError(f"bench evaluation: evaluate.py failed: {result.last_stderr_line}")
    written = sorted(p.name for p in result.outputs[f"{PROCESSING}/evaluation"].glob("*.png"))
    if bool(written) != plots:
        raise cli.ToolError(f"bench evaluation: expected {'plots' if plots else 'no plots'}, found {written}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="python -m bench.evaluation", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each variant, interleaved; medians count")
    options = parser.parse_args(argv)
    if options.repeat < 1:
        parser.error(f"--repeat {options.repeat} must be at least 1")
    bench_data.OUT_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-evaluation-", dir=bench_data.OUT_DIR) as tmp:
        root = Path(tmp)
        channels = _demo_data(root / "data")
        candidates = _trials(root / "trials", channels)
        times: dict[bool, list[float]] = {True: [], False: []}
        for attempt in range(options.repeat):
            for plots in (False, True):
                times[plots].append(_evaluate(root / f"eval-{attempt}-{plots}", channels, candidates, plots))
    without, with_plots = statistics.median(times[False]), statistics.median(times[True])
    ratio = with_plots / without
    print("| evaluation job (demo data, 2 candidates + baseline) | median s |")
    print("| --- | ---: |")
    print(f"| without plots | {without:.2f} |")
    print(f"| with plots | {with_plots:.2f} |")
    print(f"plots add {ratio - 1:+.1%} (with / without {ratio:.2f}x; target <= {TARGET}x: "
          f"{'met' if ratio <= TARGET else 'MISSED'}), median of {options.repeat}")
    return 0


if __name__ == "__main__":
    cli.run(main)
