"""``python -m bench.preprocessing [--rows N] [--features F]``: the Preprocess step on pandas vs Spark.

Side by side in separate processes on the same CSV (a header, a ``label`` column):
``preprocess.py`` (one process), ``spark_preprocess.py`` in local mode on 2 cores,
and on a standalone cluster of 1 and of 2 one-core workers on 127.0.0.1. Prints
rows per second, wall seconds, the peak memory of each run's process tree
(the Python driver plus the JVMs it or the cluster started), the CPU seconds
of the driver's processes and of the cluster's, and the cores they kept busy
on average (CPU seconds over wall seconds: at 2.0 the machine's 2 cores were the
limit), and checks that every run wrote the same rows to each split. No
assertion on time anywhere.

Spark's driver gets 4 GB of heap (``--driver-memory``; its default is 1 GB), the
standalone workers 3 GB each and each executor all of its worker's 3 GB
(``--executor-memory``; at its default of 1 GB the executors die of heap
exhaustion on 2M rows and the cluster relaunches them forever); the drift
baseline is the step's default sample.
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

#: Each standalone worker's memory, all of it given to the worker's one executor.
WORKER_MEMORY = "3g"

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


def _processes(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _watch_tree(pid: int, stop: threading.Event, result: dict, extra: list[int]) -> None:
    """Poll the process tree (and extra pids: a cluster's JVMs and their executors) every 0.2 s.

    Records the peak of the summed RSS and the CPU seconds (user + system) each
    part used during the run: the driver's tree, and the cluster's (counted from
    the first poll, since the master and workers started before the run).
    """
    peak, cpu, first = 0, {}, {}
    while not stop.is_set():
        total = 0
        parts = [("driver", proc) for proc in _processes(pid)]
        parts += [("cluster", proc) for other in extra for proc in _processes(other)]
        for part, proc in parts:
            try:
                total += proc.memory_info().rss
                times = proc.cpu_times()
            except psutil.Error:
                continue
            used = times.user + times.system
            first.setdefault(proc.pid, used if part == "cluster" and proc.pid in extra else 0.0)
            cpu[proc.pid] = (part, used - first[proc.pid])
        peak = max(peak, total)
        stop.wait(0.2)
    result["peak_mb"] = peak / 2**20
    for part in ("driver", "cluster"):
        result[f"{part}_cpu_s"] = sum(used for owner, used in cpu.values() if owner == part)


def run(name: str, command: list[str], output: Path, extra_pids: list[int] = ()) -> dict:
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_SUBMIT_ARGS": f"--driver-memory 4g --executor-memory {WORKER_MEMORY} pyspark-shell"}
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=TRAINING, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    stop, watched = threading.Event(), {}
    watcher = threading.Thread(target=_watch_tree, args=(process.pid, stop, watched, list(extra_pids)))
    watcher.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    watcher.join()
    if process.returncode != 0:
        raise RuntimeError(f"{name} failed (exit {process.returncode}): {stderr.strip().splitlines()[-1:]}")
    return {"name": name, "seconds": seconds, **watched, "output": output, "log": stdout.strip().splitlines()[-1]}


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
                with standalone_cluster(root / f"cluster-{workers}", workers, worker_memory=WORKER_MEMORY) as master:
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
    print("| run | seconds | rows/s | peak MB (process tree) | driver CPU s | cluster CPU s | cores busy | vs pandas |"
          " same split as pandas |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in results:
        same = "(reference)" if r is results[0] else ("yes" if r["same_split"] and r["same_counts"] else "NO")
        busy = (r["driver_cpu_s"] + r["cluster_cpu_s"]) / r["seconds"]
        print(f"| {r['name']} | {r['seconds']:.1f} | {options.rows / r['seconds']:,.0f} | {r['peak_mb']:,.0f} |"
              f" {r['driver_cpu_s']:.0f} | {r['cluster_cpu_s']:.0f} | {busy:.2f} | {base / r['seconds']:.2f}x |"
              f" {same} |")
    standalone = [r for r in results if r["name"].startswith("Spark standalone")]
    if len(standalone) == 2:
        print(f"standalone 2 workers vs 1: {standalone[0]['seconds'] / standalone[1]['seconds']:.2f}x")
    return 0 if all(r.get("same_split", True) and r.get("same_counts", True) for r in results) else 1


def _counts(text: str) -> dict:
    import json

    return json.loads(text)["rows"]


if __name__ == "__main__":
    cli.run(main)
