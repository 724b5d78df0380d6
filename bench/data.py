"""The benchmark data set, generated once and cached under ``bench/out/`` (git-ignored).

Binary classification with a known nonlinear signal plus noise, so AUC is
informative (well below 1) and the trees have real splits to find. Written
as headerless label-first CSV (the built-in convention the baseline reads)
and as Parquet, each with a train and a validation file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

OUT_DIR = Path(__file__).resolve().parent / "out"
DEFAULT_ROWS = 2_000_000
DEFAULT_FEATURES = 50
VALIDATION_FRACTION = 0.1
_CHUNK_ROWS = 250_000


@dataclass(frozen=True)
class DataSet:
    directory: Path
    rows: int
    features: int

    def path(self, split: str, fmt: str) -> Path:
        return self.directory / f"{split}.{fmt}"


def _chunk(rng: np.random.Generator, rows: int, features: int, weights: np.ndarray) -> pa.Table:
    X = rng.normal(size=(rows, features)).astype(np.float32)
    X = np.round(X, 4)  # realistic CSV width: 4 decimals as most exported data has
    logit = X[:, : len(weights)] @ weights + 0.8 * np.sin(2 * X[:, 0]) * X[:, 1] + 0.5 * (X[:, 2] > 0.5)
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    columns = {"label": y} | {f"x{i}": X[:, i] for i in range(features)}
    return pa.table(columns)


def _write(path_csv: Path, path_parquet: Path, rng, rows, features, weights) -> None:
    schema = _chunk(np.random.default_rng(0), 1, features, weights).schema
    options = pacsv.WriteOptions(include_header=False)
    tmp_csv = path_csv.with_name(path_csv.name + ".tmp")
    tmp_parquet = path_parquet.with_name(path_parquet.name + ".tmp")
    with pacsv.CSVWriter(tmp_csv, schema, write_options=options) as csv_out, pq.ParquetWriter(
        tmp_parquet, schema
    ) as pq_out:
        for start in range(0, rows, _CHUNK_ROWS):
            table = _chunk(rng, min(_CHUNK_ROWS, rows - start), features, weights)
            csv_out.write_table(table)
            pq_out.write_table(table)
    # Renamed last, so an interrupted generation is never mistaken for a cached data set.
    tmp_csv.rename(path_csv)
    tmp_parquet.rename(path_parquet)


def ensure(rows: int = DEFAULT_ROWS, features: int = DEFAULT_FEATURES, seed: int = 7) -> DataSet:
    """Generate the data set unless a complete copy is cached."""
    data = DataSet(OUT_DIR / f"binary_{rows}x{features}_s{seed}", rows, features)
    wanted = [data.path(s, f) for s in ("train", "validation") for f in ("csv", "parquet")]
    if all(p.is_file() for p in wanted):
        return data
    data.directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    weights = rng.normal(scale=0.4, size=min(features, 20)).astype(np.float32)
    print(f"bench: generating {rows:,} x {features} rows in {data.directory} (once)", flush=True)
    _write(data.path("train", "csv"), data.path("train", "parquet"), rng, rows, features, weights)
    validation_rows = max(1000, int(rows * VALIDATION_FRACTION))
    _write(data.path("validation", "csv"), data.path("validation", "parquet"), rng, validation_rows, features, weights)
    return data
