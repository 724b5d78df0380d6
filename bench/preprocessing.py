"""``python -m bench.preprocessing [--rows N] [--features F]``: the Preprocess step on pandas vs Spark.

Side by side in separate processes on the same CSV (a header, a ``label`` column):
``preprocess.py`` (one process), ``spark_preprocess.py`` in local mode on 2 cores,
and on a standalone cluster of 1 and of 2 one-core workers on 127.0.0.1. Prints
rows per second, wall seconds and the peak memory of each run's process tree
(the Python driver plus the JVMs it or the cluster started), and checks that
every run wrote the same rows to each split. No assertion on time anywhere.

Spark's driver gets 4 GB of heap (``--driver-memory``; its default is 1 GB), the
standalone workers 3 GB each; the drift baseline is the step's default sample.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.csv as pacsv

from bench.spark_cluster import standalone_cluster
from tools import cli

REPO = Path(__file__).resolve().parents[1]
TRAINING = REPO / "training"
OUT = Path(__file__).resolve().parent / "out"
SPLITS = ("train", "validation", "test")


def make_input(rows: int, features: int) -> Path:
    """Cached ``bench/out/prep-<rows>x<features>/data.csv``: 4-decimal normal features, a 0/1 label."""
    directory = OUT / f"prep-{rows}x{features}"
    target = directory / "data.csv"
    if target.is_file():
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    temporary = target.with_suffix(".tmp")
    with pacsv.CSVWriter(temporary, pa.schema([("label", pa.int8())] + [(f"x{i}", pa.float64())
                                                                         for i in range(features)])) as out:
        for start in range(0, rows, 250_000):
            n = min(250_000, rows - start)
            X = np.round(rng.normal(size=(n, features)), 4)
            y = (rng.random(n) < 1 / (1 + np.exp(-X[:, 0] - X[:, 1]))).astype(np.int8)
            out.write_table(pa.table({"label": y} | {f"x{i}": X[:, i] for i in range(features)}))
    temporary.rename(target)
    return directory


def _peak_tree_rss(pid: int, stop: threading.Event, result: list[int], extra: list[int]) -> None:
    """Poll the RSS of the process tree (and of extra pids: a cluster's JVMs) every 0.2 s."""
    peak = 0
    while not stop.is_set():
        total = 0
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            procs = []
        for other in extra:
            try:
                owner = psutil.Process(other)
                procs += [owner, *owner.children(recursive=True)]
            except psutil.Error:
                pass
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
        peak = max(peak, total)
        stop.wait(0.2)
    result.append(peak)


def run(name: str, command: list[str], output: Path, extra_pids: list[int] = ()) -> dict:
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_SUBMIT_ARGS": "--driver-memory 4g pyspark-shell"}
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=TRAINING, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    stop, peak = threading.Event(), []
    watcher = threading.Thread(target=_peak_tree_rss, args=(process.pid, stop, peak, list(extra_pids)))
    watcher.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    watcher.join()
    if process.returncode != 0:
        raise RuntimeError(f"{name} failed (exit {process.returncode}): {stderr.strip().splitlines()[-1:]}")
    return {"name": name, "seconds": seconds, "peak_mb": peak[0] / 2**20, "output": output,
            "log": stdout.strip().splitlines()[-1]}


def split_rows(output: Path) -> dict[str, np.ndarray]:
    sys.path.insert(0, str(TRAINING))
    from smxgb.data import read_channel_arrays

    result = {}
    for split in SPLITS:
        features, labels = read_channel_arrays(output / split)
        rows = np.column_stack([labels, features])
        result[split] = rows[np.lexsort(rows.T[::-1])]
    return result


def _args(input_dir: Path, output: Path) -> list[str]:
    return ["--input-dir", str(input_dir), *[a for s in SPLITS for a in (f"--{s}-dir", str(output / s))],
            "--schema-dir", str(output / "schema"), "--failure-dir", str(output / "failure"),
            "--output-format", "parquet"]


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="python -m bench.preprocessing", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--skip-cluster", action="store_true", help="only pandas and Spark local mode")
    options = parser.parse_args(argv)
    if options.rows < 1000 or options.features < 1:
        parser.error("--rows must be at least 1000 and --features at least 1")
    input_dir = make_input(options.rows, options.features)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-prep-") as scratch:
        root = Path(scratch)
        results.append(run("pandas (preprocess.py)", [sys.executable, "preprocess.py",
                                                      *_args(input_dir, root / "pandas")], root / "pandas"))
        results.append(run("Spark local[2]", [sys.executable, "spark_preprocess.py", *_args(input_dir, root / "local"),
                                              "--master", "local[2]"], root / "local"))
        if not options.skip_cluster:
            for workers in (1, 2):
                with standalone_cluster(root / f"cluster-{workers}", workers, worker_memory="3g") as master:
                    cluster_pids = [p.pid for p in psutil.Process().children()]
                    name = f"Spark standalone, {workers} worker{'s' if workers > 1 else ''}"
                    results.append(run(name, [sys.executable, "spark_preprocess.py",
                                              *_args(input_dir, root / f"standalone-{workers}"), "--master", master],
                                             root / f"standalone-{workers}", cluster_pids))
        reference = split_rows(results[0]["output"])
        schema = (results[0]["output"] / "schema" / "schema.json").read_text()
        for result in results[1:]:
            rows = split_rows(result["output"])
            result["same_split"] = all(np.array_equal(rows[s], reference[s]) for s in SPLITS)
            mine = (result["output"] / "schema" / "schema.json").read_text()
            result["same_counts"] = _counts(mine) == _counts(schema)
    base = results[0]["seconds"]
    print(f"\nPreprocess, {options.rows:,} rows x {options.features} features ({input_dir / 'data.csv'},"
          f" {(input_dir / 'data.csv').stat().st_size / 2**20:.0f} MB CSV), {os.cpu_count()} cores")
    print("| run | seconds | rows/s | peak MB (process tree) | vs pandas | same split as pandas |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for r in results:
        same = "(reference)" if r is results[0] else ("yes" if r["same_split"] and r["same_counts"] else "NO")
        print(f"| {r['name']} | {r['seconds']:.1f} | {options.rows / r['seconds']:,.0f} | {r['peak_mb']:,.0f} |"
              f" {base / r['seconds']:.2f}x | {same} |")
    standalone = [r for r in results if r["name"].startswith("Spark standalone")]
    if len(standalone) == 2:
        print(f"standalone 2 workers vs 1: {standalone[0]['seconds'] / standalone[1]['seconds']:.2f}x")
    return 0 if all(r.get("same_split", True) and r.get("same_counts", True) for r in results) else 1


def _counts(text: str) -> dict:
    import json

    return json.loads(text)["rows"]


if __name__ == "__main__":
    cli.run(main)
