"""python -m bench.formats on tiny data: every format loads the same rows, the table and the verdict print."""

from __future__ import annotations

import re

from bench import data as bench_data
from bench import formats


def test_four_formats_side_by_side_on_tiny_data(tmp_path, monkeypatch, capsys):
    # GIVEN the benchmark's data directory in a temporary place
    monkeypatch.setattr(bench_data, "OUT_DIR", tmp_path)
    # WHEN the benchmark runs on 2,000 rows of 5 features
    assert formats.main(["--rows", "2000", "--features", "5"]) == 0
    out = capsys.readouterr().out
    # THEN each format was converted once and measured in its own process, in one table
    for fmt in ("csv", "parquet", "libsvm", "recordio"):
        assert (tmp_path / "binary_2000x5_s7" / f"train.{fmt}").is_file()
        assert re.search(rf"^{fmt}\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+\d+\s+[\d.]+x\s+[\d.]+x$", out, flags=re.M), out
    assert re.search(r"^imports\s+-\s", out, flags=re.M)
    # AND the verdict states the measured ratios against every other format
    assert re.search(r"^RecordIO-protobuf: [\d.]+x faster than csv .* (a lot|NOT a lot) more efficient", out,
                     flags=re.M)

