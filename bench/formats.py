"""``python -m bench.formats [--rows N] [--features F] [--repeat R]``: training input formats side by side.

The same training data (``bench.data``: 2M rows x 50 features by default) as
headerless CSV, Parquet, libsvm and RecordIO-protobuf, each loaded the way
``train.py`` loads a channel (``smxgb.data`` reads it, ``smxgb.matrices``
builds the ``QuantileDMatrix`` with cuts from a row sample, 2 threads), each in
its own process, so the peak RSS (``wait4``'s rusage of that child) is that
format's alone. An ``imports`` run that loads nothing gives the fixed part of
every process (interpreter, numpy, pyarrow, xgboost). Prints seconds, peak
memory and the ratios against CSV, and whether RecordIO-protobuf is "a lot more
efficient" (at least 2x faster than every other format at no more memory).
No assertion on time anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import data as bench_data
from bench.training import RESULT_PREFIX, _last_line, _run_child, check_size_options, run_worker
from tools import cli

REPO_ROOT = Path(__file__).resolve().parents[1]
THREADS = 2
FORMATS = ("csv", "parquet", "libsvm", "recordio")
CONTENT_TYPES = {"csv": "text/csv", "parquet": "application/x-parquet", "libsvm": "text/libsvm",
                 "recordio": "application/x-recordio-protobuf"}
#: "A lot more efficient": this many times faster than every other format, at no more peak memory.
A_LOT = 2.0
_CHUNK_ROWS = 250_000


def ensure_formats(dataset: bench_data.DataSet) -> dict[str, Path]:
    """The training file in every format: CSV and Parquet from bench.data, libsvm and RecordIO made from the
    Parquet once (cached beside them)."""
    import numpy as np
    import pyarrow.parquet as pq

    paths = {fmt: dataset.path("train", fmt) for fmt in FORMATS}
    missing = [fmt for fmt in ("libsvm", "recordio") if not paths[fmt].is_file()]
    if not missing:
        return paths
    sys.path.insert(0, str(REPO_ROOT / "training"))
    from sklearn.datasets import dump_svmlight_file

    from smxgb import recordio

    print(f"bench: writing {', '.join(missing)} copies of {paths['parquet'].name} (once)", flush=True)
    temporary = {fmt: paths[fmt].with_name(paths[fmt].name + ".tmp") for fmt in missing}
    handles = {fmt: open(temporary[fmt], "wb") for fmt in missing}  # noqa: SIM115
    try:
        for batch in pq.ParquetFile(paths["parquet"]).iter_batches(batch_size=_CHUNK_ROWS):
            columns = [column.to_numpy() for column in batch.columns]
            label, features = columns[0], np.column_stack(columns[1:]).astype(np.float32)
            if "libsvm" in handles:
                # 4 decimals, as the CSV holds them (float32 printed as float64 would take 17 digits).
                dump_svmlight_file(np.round(features.astype(np.float64), 4), label, handles["libsvm"],
                                   zero_based=True)
            if "recordio" in handles:
                recordio.write_dense(handles["recordio"], features, label)
    finally:
        for handle in handles.values():
            handle.close()
    for fmt in missing:
        temporary[fmt].rename(paths[fmt])
    return paths


# ---------------------------------------------------------------- worker (a child process per format)


def _worker(fmt: str, path: Path) -> dict:
    started = time.perf_counter()
    sys.path.insert(0, str(REPO_ROOT / "training"))
    from smxgb import data as chdata
    from smxgb import hyperparams, matrices

    imported = time.perf_counter()
    if fmt == "imports":
        return {"import_s": imported - started, "load_s": 0.0, "build_s": 0.0, "rows": 0, "features": 0}
    channel = chdata.open_channel("train", path, CONTENT_TYPES[fmt])
    loaded = chdata.load_channel(channel)
    read = time.perf_counter()
    built = matrices.build_in_memory(loaded, None, max_bin=None, nthread=THREADS,
                                     cuts_sample_rows=hyperparams.from_argv_and_env(["--num_round", "1"], None)[
                                         "cuts_sample_rows"])
    done = time.perf_counter()
    return {"import_s": imported - started, "load_s": read - imported, "build_s": done - read,
            "rows": built.n_train_rows, "features": built.n_features, "label_sum": float(loaded.label.sum())}


def _measure(fmt: str, path: Path, work: Path) -> dict:
    result = run_worker("bench.formats", fmt, path, work, name=f"formats {fmt}")
    return {**result, "total_s": result["load_s"] + result["build_s"]}


# ---------------------------------------------------------------- report


def table(results: dict[str, dict], sizes: dict[str, float]) -> str:
    header = (f"{'format':<10} {'file MB':>8} {'load s':>7} {'build s':>8} {'load+build s':>13} {'peak RSS MB':>12}"
              f" {'time vs CSV':>12} {'RSS vs CSV':>11}")
    lines = [header, "-" * len(header)]
    csv = results.get("csv")
    for name, r in results.items():
        size = f"{sizes[name]:>8.0f}" if name in sizes else f"{'-':>8}"
        if name == "imports" or csv is None:
            ratios = f"{'-':>12} {'-':>11}"
        else:
            ratios = f"{r['total_s'] / csv['total_s']:>11.2f}x {r['rss_mb'] / csv['rss_mb']:>10.2f}x"
        lines.append(f"{name:<10} {size} {r['load_s']:>7.2f} {r['build_s']:>8.2f} {r['total_s']:>13.2f}"
                     f" {r['rss_mb']:>12.0f} {ratios}")
    return "\n".join(lines)


def verdict(results: dict[str, dict]) -> str:
    """Whether RecordIO-protobuf is "a lot more efficient" than the other formats, as measured."""
    ours = results["recordio"]
    others = {name: r for name, r in results.items() if name in FORMATS and name != "recordio"}
    speed = {name: r["total_s"] / ours["total_s"] for name, r in others.items()}
    memory = {name: ours["rss_mb"] / r["rss_mb"] for name, r in others.items()}
    a_lot = all(s >= A_LOT for s in speed.values()) and all(m <= 1.0 for m in memory.values())
    parts = ", ".join(f"{speed[n]:.2f}x faster than {n} at {memory[n]:.2f}x its memory" for n in others)
    return (f"RecordIO-protobuf: {parts}; {'a lot more efficient' if a_lot else 'NOT a lot more efficient'}"
            f" (criterion: at least {A_LOT:g}x faster than every other format at no more peak memory)")


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="python -m bench.formats", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=bench_data.DEFAULT_ROWS, help="training rows")
    parser.add_argument("--features", type=int, default=bench_data.DEFAULT_FEATURES)
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per format, interleaved; the fastest is reported (the CPU may be shared)")
    parser.add_argument("--worker", nargs=2, metavar=("FORMAT", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--convert", nargs=3, metavar=("DIR", "ROWS", "FEATURES"), help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.convert:
        directory, rows, features = options.convert
        ensure_formats(bench_data.DataSet(Path(directory), int(rows), int(features)))
        return 0
    if options.worker:
        fmt, path = options.worker
        if fmt not in (*FORMATS, "imports"):
            raise cli.UserError(f"--worker format {fmt!r} is not one of {', '.join(FORMATS)}, imports")
        print(RESULT_PREFIX + json.dumps(_worker(fmt, Path(path))), flush=True)
        return 0
    check_size_options(parser, options)

    dataset = bench_data.ensure(options.rows, options.features)
    # Converted in a child: a child's peak RSS starts from its parent's size at fork, so this process stays small.
    with tempfile.TemporaryDirectory(prefix="bench-formats-convert-", dir=bench_data.OUT_DIR) as tmp:
        code, _, _, output = _run_child(
            [sys.executable, "-m", "bench.formats", "--convert", str(dataset.directory), str(options.rows),
             str(options.features)], cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            log=Path(tmp) / "convert.log")
        print(output, end="", flush=True)
        if code != 0:
            raise cli.ToolError(f"bench formats conversion failed (exit {code}): {_last_line(output)}")
    paths = {fmt: dataset.path("train", fmt) for fmt in FORMATS}
    sizes = {fmt: path.stat().st_size / 1e6 for fmt, path in paths.items()}
    print(f"Formats: {options.rows:,} x {options.features} training rows, read as train.py reads a channel and"
          f" built into a QuantileDMatrix ({THREADS} threads), one process per run", flush=True)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-formats-", dir=bench_data.OUT_DIR) as tmp:
        for attempt in range(options.repeat):
            for fmt in ("imports", *FORMATS):
                print(f"bench: {fmt} (run {attempt + 1}/{options.repeat}) ...", flush=True)
                result = _measure(fmt, paths.get(fmt, dataset.directory), Path(tmp))
                if fmt not in results or result["total_s"] + result["import_s"] < (
                        results[fmt]["total_s"] + results[fmt]["import_s"]):
                    results[fmt] = result
    shapes = {(r["rows"], r["features"], r["label_sum"]) for name, r in results.items() if name in FORMATS}
    if len(shapes) != 1:
        raise cli.ToolError(f"the formats did not load the same data (rows, features, label sum): {sorted(shapes)}")
    print(table(results, sizes))
    print(verdict(results))
    print("load = read the file into columns (float32); build = QuantileDMatrix; peak RSS of the whole process,"
          " imports included (the imports row)")
    return 0


if __name__ == "__main__":
    cli.run(main)
