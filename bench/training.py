"""Training benchmark: the real ``train.py`` versus the abalone-style baseline, same data, same settings.

Every run is its own process, started one after the other, so its peak RSS
(``wait4`` rusage of that child) and its timings are its own:

* baseline: ``bench/baseline_abalone.py`` (pandas -> DMatrix, train+validation eval)
* ours: ``training/train.py`` through the local runner, exactly as the container runs it,
  on CSV and on Parquet; stage times come from its ``metrics.json``
* floor: each unavoidable stage at its best standalone speed (pyarrow read, QuantileDMatrix
  build, training with validation-only evaluation), summed

``python -m bench.training --rows 200000`` for a quick run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import data as bench_data
from tools import cli

REPO_ROOT = Path(__file__).resolve().parents[1]
NUM_ROUND = 100
THREADS = 2
PARAMS = {"objective": "binary:logistic", "eval_metric": "auc", "max_depth": 6, "eta": 0.3,
          "tree_method": "hist", "nthread": THREADS}
RESULT_PREFIX = "BENCH_RESULT "
TARGETS = {"csv": 1.4, "parquet": 1.6}
FLOOR_TARGET = 1.1
AUC_TOLERANCE = 0.001


# ---------------------------------------------------------------- workers (run in child processes)


def _worker_baseline(data_dir: Path) -> dict:
    from bench import baseline_abalone

    return baseline_abalone.run(str(data_dir / "train.csv"), str(data_dir / "validation.csv"), PARAMS, NUM_ROUND)


def _worker_floor(data_dir: Path, fmt: str) -> dict:
    """Each stage alone, with xgboost and pyarrow called directly, none of our code."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    import xgboost as xgb

    def read(path: Path) -> pa.Table:
        if fmt == "parquet":
            return pq.read_table(path)
        n = len(path.open().readline().split(","))
        names = [f"c{i}" for i in range(n)]
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.float32())),
        )

    started = time.perf_counter()
    train, valid = read(data_dir / f"train.{fmt}"), read(data_dir / f"validation.{fmt}")
    read_done = time.perf_counter()
    label_name = train.schema.names[0]
    y_train = train.column(label_name).to_numpy()
    y_valid = valid.column(label_name).to_numpy()
    X_train, X_valid = train.drop_columns([label_name]), valid.drop_columns([label_name])
    rows = np.sort(np.random.default_rng(0).choice(train.num_rows, min(200_000, train.num_rows), replace=False))
    sample = xgb.QuantileDMatrix(X_train.take(pa.array(rows)), nthread=THREADS)
    dtrain = xgb.QuantileDMatrix(X_train, label=y_train, ref=sample, nthread=THREADS)
    dvalid = xgb.QuantileDMatrix(X_valid, label=y_valid, ref=dtrain, nthread=THREADS)
    del train, valid, X_train, X_valid
    build_done = time.perf_counter()
    history: dict = {}
    xgb.train(PARAMS, dtrain, NUM_ROUND, evals=[(dvalid, "validation")], evals_result=history, verbose_eval=False)
    train_done = time.perf_counter()
    return {
        "load_s": read_done - started,
        "build_s": build_done - read_done,
        "train_s": train_done - build_done,
        "total_s": (read_done - started) + (build_done - read_done) + (train_done - build_done),
        "auc": history["validation"]["auc"][-1],
    }


WORKER_KINDS = ("baseline", "floor-csv", "floor-parquet")
#: The smallest run whose timings mean anything; the validation set is at least 1,000 rows anyway.
MIN_ROWS = 1_000


def _worker(argv: list[str]) -> int:
    kind, data_dir = argv[0], Path(argv[1])
    if kind not in WORKER_KINDS:
        raise cli.UserError(f"--worker kind {kind!r} is not one of {', '.join(WORKER_KINDS)}")
    if not data_dir.is_dir():
        raise cli.UserError(f"--worker data directory {data_dir} does not exist")
    if kind == "baseline":
        result = _worker_baseline(data_dir)
    else:
        result = _worker_floor(data_dir, kind.split("-", 1)[1])
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


# ---------------------------------------------------------------- orchestration


def _run_child(command: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> tuple[int, float, float, str]:
    """Run to completion; returns (exit status, wall seconds, peak RSS in MB of that child alone, output)."""
    with open(log, "w") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        # wait4 reaps this child and returns its own rusage (RUSAGE_CHILDREN would be a max over all runs).
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, wall, usage.ru_maxrss / 1024, log.read_text()


def _last_line(output: str) -> str:
    """The child's last words (its error line), which the run's one-line failure quotes."""
    return next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "no output")


def run_worker(module: str, kind: str, path: Path, work: Path, *, name: str | None = None) -> dict:
    """``python -m module --worker kind path`` in a fresh process: its result line, wall seconds and peak RSS.
    A failure is one line naming the run (``name``, default ``kind``) and quoting the child's last words."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    code, wall, rss, output = _run_child(
        [sys.executable, "-m", module, "--worker", kind, str(path)],
        cwd=REPO_ROOT, env=env, log=work / f"{kind}.log",
    )
    lines = [line for line in output.splitlines() if line.startswith(RESULT_PREFIX)]
    if code != 0 or not lines:
        raise cli.ToolError(f"bench {name or kind} failed (exit {code}): {_last_line(output)}")
    return {**json.loads(lines[-1][len(RESULT_PREFIX):]), "wall_s": wall, "rss_mb": rss}


def _python_worker(kind: str, data_dir: Path, work: Path) -> dict:
    return run_worker("bench.training", kind, data_dir, work)


def _ours(fmt: str, data_dir: Path, work: Path) -> dict:
    sys.path.insert(0, str(REPO_ROOT))
    from training.local_runner import prepare_training

    job = prepare_training(
        "train.py",
        channels={"train": data_dir / f"train.{fmt}", "validation": data_dir / f"validation.{fmt}"},
        hyperparameters={"num_round": NUM_ROUND, **{k: v for k, v in PARAMS.items() if k != "tree_method"}},
        root=work / f"ours-{fmt}", num_cpus=THREADS,
    )
    code, wall, rss, output = _run_child(job.command, cwd=job.cwd, env=job.env, log=work / f"ours-{fmt}.log")
    if code != 0:
        raise cli.ToolError(f"bench ours-{fmt} failed (exit {code}): {_last_line(output)}")
    report = json.loads((job.result.output_data_dir / "metrics.json").read_text())
    seconds = report["seconds"]
    return {
        "load_s": seconds["read"],
        "build_s": seconds["build"],
        "train_s": seconds["train"],
        "total_s": seconds["read"] + seconds["build"] + seconds["train"],
        "auc": report["final"]["validation:auc"],
        "wall_s": wall,
        "rss_mb": rss,
    }


def _table(results: dict[str, dict]) -> str:
    header = f"{'run':<16} {'load s':>7} {'build s':>8} {'train s':>8} {'total s':>8} {'process s':>10} " \
             f"{'peak RSS MB':>12} {'val AUC':>9}"
    lines = [header, "-" * len(header)]
    for name, r in results.items():
        lines.append(
            f"{name:<16} {r['load_s']:>7.2f} {r['build_s']:>8.2f} {r['train_s']:>8.2f} {r['total_s']:>8.2f} "
            f"{r['wall_s']:>10.2f} {r['rss_mb']:>12.0f} {r['auc']:>9.5f}"
        )
    return "\n".join(lines)


def _verdicts(results: dict[str, dict]) -> list[str]:
    base = results["baseline-csv"]
    out = []
    for fmt in ("csv", "parquet"):
        ours, floor = results[f"ours-{fmt}"], results[f"floor-{fmt}"]
        speedup = base["total_s"] / ours["total_s"]
        process_speedup = base["wall_s"] / ours["wall_s"]
        rss_ratio = ours["rss_mb"] / base["rss_mb"]
        auc_delta = ours["auc"] - base["auc"]
        over_floor = ours["total_s"] / floor["total_s"]
        out.append(
            f"{fmt:<8} speed-up vs baseline {speedup:.2f}x (target >= {TARGETS[fmt]}x: "
            f"{'met' if speedup >= TARGETS[fmt] else 'MISSED'}); whole process {process_speedup:.2f}x; "
            f"peak RSS {rss_ratio:.2f}x ({'met' if rss_ratio <= 1 else 'MISSED'}); "
            f"AUC {auc_delta:+.5f} ({'met' if abs(auc_delta) <= AUC_TOLERANCE else 'MISSED'}); "
            f"vs sum of unavoidable stages {over_floor:.2f}x (target <= {FLOOR_TARGET}x: "
            f"{'met' if over_floor <= FLOOR_TARGET else 'MISSED'})"
        )
    return out


def check_size_options(parser: argparse.ArgumentParser, options: argparse.Namespace) -> None:
    """The --rows, --features and --repeat every training-data benchmark takes; a bad one is a parser error."""
    if options.rows < MIN_ROWS:
        parser.error(f"--rows {options.rows} is too few to time; give at least {MIN_ROWS:,}")
    if not 1 <= options.features <= 10_000:
        parser.error(f"--features {options.features} must be between 1 and 10,000")
    if options.repeat < 1:
        parser.error(f"--repeat {options.repeat} must be at least 1")


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="python -m bench.training", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=bench_data.DEFAULT_ROWS, help="training rows (validation +10%%)")
    parser.add_argument("--features", type=int, default=bench_data.DEFAULT_FEATURES)
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per variant, interleaved; the fastest is reported (the CPU may be shared)")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "DATA_DIR"), help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.worker:
        return _worker(options.worker)
    check_size_options(parser, options)

    dataset = bench_data.ensure(options.rows, options.features)
    sizes = {f: dataset.path("train", f).stat().st_size / 1e6 for f in ("csv", "parquet")}
    print(
        f"Training: {options.rows:,} x {options.features} binary ({sizes['csv']:.0f} MB CSV, "
        f"{sizes['parquet']:.0f} MB Parquet), {NUM_ROUND} rounds, depth 6, {THREADS} threads, one process per run",
        flush=True,
    )
    results: dict[str, dict] = {}
    floor_runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-training-", dir=bench_data.OUT_DIR) as tmp:
        work = Path(tmp)
        runs = [
            ("baseline-csv", lambda: _python_worker("baseline", dataset.directory, work)),
            ("ours-csv", lambda: _ours("csv", dataset.directory, work)),
            ("ours-parquet", lambda: _ours("parquet", dataset.directory, work)),
            ("floor-csv", lambda: _python_worker("floor-csv", dataset.directory, work)),
            ("floor-parquet", lambda: _python_worker("floor-parquet", dataset.directory, work)),
        ]
        # Interleaved rounds spread any load from other processes over every variant.
        for attempt in range(options.repeat):
            for name, run in runs:
                print(f"bench: {name} (run {attempt + 1}/{options.repeat}) ...", flush=True)
                result = run()
                if name.startswith("floor-"):
                    floor_runs.setdefault(name, []).append(result)
                if name not in results or result["total_s"] < results[name]["total_s"]:
                    results[name] = result
    # The floor is each unavoidable stage at its best: the fastest read, build and train over all runs.
    for name, runs_of_floor in floor_runs.items():
        best = {stage: min(r[stage] for r in runs_of_floor) for stage in ("load_s", "build_s", "train_s")}
        results[name] = {**results[name], **best, "total_s": sum(best.values())}
    print(_table(results))
    for line in _verdicts(results):
        print(line)
    print("total = load + build + train inside the process; process = wall time including interpreter and imports")
    return 0


if __name__ == "__main__":
    cli.run(main)
