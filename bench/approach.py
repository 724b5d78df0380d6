"""Approach benchmark: the forest path of ``train.py`` against the boosting path, same trees, same data.

Both run as the container runs them (``train.py`` through the local runner, one
process each, on the Parquet copy of the training benchmark's data): boosting
grows ``TREES`` rounds of one tree, the forest one round of ``TREES`` trees
(``num_parallel_tree``, rows sampled per tree and columns per split, learning
rate 1). Same depth, same threads. Printed: training seconds from each job's
``metrics.json``, the ratio forest / boosting (the target is at most
``RATIO_TARGET``), and both validation AUCs. Training CPU seconds (all the
job's threads) are printed beside: on a loaded machine wall time swings with
the load, CPU time much less, so its ratio is the figure to trust there.

``python -m bench.approach --rows 200000`` for a quick run.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench import data as bench_data
from bench.training import THREADS, _last_line, _run_child, check_size_options
from tools import cli

TREES = 100
DEPTH = 6
RATIO_TARGET = 1.2
COMMON = {"objective": "binary:logistic", "eval_metric": "auc", "max_depth": DEPTH, "nthread": THREADS}
APPROACHES = {
    "boosting": {"approach": "boosting", "num_round": TREES, "eta": 0.3},
    "forest": {"approach": "forest", "num_parallel_tree": TREES, "subsample": 0.8, "colsample_bynode": 0.8},
}


def _run(approach: str, data_dir: Path, work: Path) -> dict:
    from training.local_runner import prepare_training

    job = prepare_training(
        "train.py",
        channels={"train": data_dir / "train.parquet", "validation": data_dir / "validation.parquet"},
        hyperparameters={**COMMON, **APPROACHES[approach]},
        root=work / approach, num_cpus=THREADS,
    )
    code, wall, rss, output = _run_child(job.command, cwd=job.cwd, env=job.env, log=work / f"{approach}.log")
    if code != 0:
        raise cli.ToolError(f"bench approach {approach} failed (exit {code}): {_last_line(output)}")
    report = json.loads((job.result.output_data_dir / "metrics.json").read_text())
    seconds = report["seconds"]
    return {"train_s": seconds["train"], "train_cpu_s": seconds["train_cpu"], "total_s": seconds["total"],
            "wall_s": wall, "rss_mb": rss, "auc": report["final"]["validation:auc"],
            "trees": TREES, "rounds": report["num_boosted_rounds"]}


def table(results: dict[str, dict]) -> str:
    lines = ["| approach | trees | rounds | train s | train CPU s | job s | peak RSS MB | validation AUC |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['trees']} | {r['rounds']} | {r['train_s']:.2f} | {r['train_cpu_s']:.2f} | "
                     f"{r['total_s']:.2f} | "
                     f"{r['rss_mb']:.0f} | {r['auc']:.5f} |")
    return "\n".join(lines)


def verdict(results: dict[str, dict]) -> str:
    ratio = results["forest"]["train_s"] / results["boosting"]["train_s"]
    cpu_ratio = results["forest"]["train_cpu_s"] / results["boosting"]["train_cpu_s"]
    delta = results["forest"]["auc"] - results["boosting"]["auc"]
    return (f"forest / boosting training time {ratio:.2f}x for {TREES} trees (target <= {RATIO_TARGET}x: "
            f"{'met' if ratio <= RATIO_TARGET else 'MISSED'}); CPU time {cpu_ratio:.2f}x; "
            f"validation AUC forest - boosting {delta:+.5f}")


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="python -m bench.approach", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=bench_data.DEFAULT_ROWS, help="training rows (validation +10%%)")
    parser.add_argument("--features", type=int, default=bench_data.DEFAULT_FEATURES)
    parser.add_argument("--repeat", type=int, default=1, help="runs per approach, interleaved; the fastest counts")
    options = parser.parse_args(argv)
    check_size_options(parser, options)
    dataset = bench_data.ensure(options.rows, options.features)
    print(f"Approaches: {options.rows:,} x {options.features} binary (Parquet), {TREES} trees of depth {DEPTH}, "
          f"{THREADS} threads, one process per run", flush=True)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-approach-", dir=bench_data.OUT_DIR) as tmp:
        for attempt in range(options.repeat):
            for name in APPROACHES:
                print(f"bench: {name} (run {attempt + 1}/{options.repeat}) ...", flush=True)
                result = _run(name, dataset.directory, Path(tmp) / f"{attempt}")
                if name not in results or result["train_s"] < results[name]["train_s"]:
                    results[name] = result
    print(table(results))
    print(verdict(results))
    return 0


if __name__ == "__main__":
    cli.run(main)
