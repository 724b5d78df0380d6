"""Drift detection: how often it is right, and how fast the monitoring job reads a day of traffic.

1. **Rates** over seeded trials on generated data (features of different means
   and scales): a shift of ``--shift`` standard deviations in one feature at
   ``--rows`` production rows must be flagged (that feature, and only it) in at
   least 95 of 100 trials; a sample of the baseline's own distribution may
   raise a false alarm (any feature flagged) in at most 5 of 100.
2. **Throughput**: ``--capture-rows`` rows of ``--features`` features written in
   SageMaker's data-capture format, then read and compared by the monitoring
   job's code (:mod:`smxgb.capture`, :mod:`smxgb.drift`), side by side with a
   plain pandas implementation of the same statistics (``read_json(lines=True)``,
   per-column ``qcut``-style binning for PSI, ``scipy.stats.ks_2samp`` on the raw
   values against a baseline sample). Rows per second for both, and the ratio.

Run: ``python -m bench.drift`` (or ``python -m bench --only drift``); a bad option exits 2 in one line.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TRAINING_DIR = Path(__file__).resolve().parents[1] / "training"
if str(TRAINING_DIR) not in sys.path:
    sys.path.insert(0, str(TRAINING_DIR))

from smxgb import capture, drift  # noqa: E402
from tools import cli  # noqa: E402

BASELINE_ROWS = 50_000
MIN_DETECTED = 95
MAX_FALSE_ALARMS = 5
PLAIN_BASELINE_SAMPLE = 10_000


def _population(features: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0, 10, features), rng.uniform(0.5, 5, features)


def rates(*, trials: int, rows: int, features: int, shift: float) -> tuple[int, int]:
    means, scales = _population(features, seed=0)
    baseline = drift.build_baseline(np.random.default_rng(1).normal(means, scales, (BASELINE_ROWS, features)))
    detected = false_alarms = 0
    for trial in range(trials):
        rng = np.random.default_rng(10_000 + trial)
        sample = rng.normal(means, scales, (rows, features))
        false_alarms += bool(drift.compare(baseline, sample).drifted)
        target = trial % features
        sample[:, target] += shift * scales[target]
        detected += [f.name for f in drift.compare(baseline, sample).drifted] == [f"f{target}"]
    return detected, false_alarms


def write_capture(path: Path, matrix: np.ndarray) -> None:
    """One request per row (the hardest case for the reader: most JSON per value), 7 significant digits."""
    import pandas as pd

    rows = pd.DataFrame(matrix).to_csv(header=False, index=False, float_format="%.7g").splitlines()
    template = capture.capture_record("ROW-PLACEHOLDER", event_id="EVENT-PLACEHOLDER")
    head, tail = template.split("ROW-PLACEHOLDER")
    with open(path, "w", encoding="utf-8") as handle:
        for i, row in enumerate(rows):
            handle.write(head + row + tail.replace("EVENT-PLACEHOLDER", str(i)) + "\n")


def ours(path: Path, baseline: drift.Baseline) -> drift.DriftReport:
    return drift.compare(baseline, capture.read_files([path]).features)


def plain_pandas(path: Path, training: np.ndarray) -> list[tuple[float, float]]:
    """The same statistics the obvious way: pandas for reading and binning, scipy on raw values."""
    import pandas as pd
    from scipy import stats

    records = pd.read_json(path, lines=True)
    inputs = pd.json_normalize(records["captureData"].tolist())["endpointInput.data"]
    frame = inputs.str.split(",", expand=True).astype(float)
    picked = np.random.default_rng(0).choice(len(training), min(PLAIN_BASELINE_SAMPLE, len(training)), replace=False)
    sample = training[picked]
    result = []
    for column in range(frame.shape[1]):
        edges = np.unique(np.quantile(training[:, column], np.linspace(0, 1, 11)[1:-1]))
        bins = [-np.inf, *edges, np.inf]
        expected = pd.cut(pd.Series(training[:, column]), bins).value_counts(normalize=True, sort=False)
        actual = pd.cut(frame[column], bins).value_counts(normalize=True, sort=False)
        e, a = expected.clip(lower=1e-4), actual.clip(lower=1e-4)
        psi = float(((a - e) * np.log(a / e)).sum())
        result.append((psi, float(stats.ks_2samp(sample[:, column], frame[column]).pvalue)))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="python -m bench.drift", description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--rows", type=int, default=10_000, help="production rows per trial")
    parser.add_argument("--shift", type=float, default=0.5, help="shift in standard deviations")
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--capture-rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    for name in ("trials", "rows", "features", "capture_rows"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")

    detected, false_alarms = rates(trials=args.trials, rows=args.rows, features=args.features, shift=args.shift)
    print(f"drift rates over {args.trials} seeded trials, {args.features} features, {args.rows} rows:")
    print(f"  {args.shift} SD shift in one feature detected (that feature only): {detected}/{args.trials}"
          f" (target >= {MIN_DETECTED}/100)")
    print(f"  false alarms on the baseline's own distribution:            {false_alarms}/{args.trials}"
          f" (target <= {MAX_FALSE_ALARMS}/100)")

    means, scales = _population(args.features, seed=0)
    training = np.random.default_rng(1).normal(means, scales, (BASELINE_ROWS, args.features))
    baseline = drift.build_baseline(training)
    production = np.random.default_rng(2).normal(means, scales, (args.capture_rows, args.features))
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as scratch:
        path = Path(scratch) / "capture.jsonl"
        write_capture(path, production)
        size_mb = path.stat().st_size / 1e6
        started = time.perf_counter()
        ours(path, baseline)
        our_seconds = time.perf_counter() - started
        started = time.perf_counter()
        plain_pandas(path, training)
        plain_seconds = time.perf_counter() - started
    print(f"monitoring job on {args.capture_rows:,} captured rows x {args.features} features ({size_mb:,.0f} MB):")
    print(f"  smxgb.capture + smxgb.drift: {our_seconds:6.1f} s  {args.capture_rows / our_seconds:>10,.0f} rows/s")
    print(f"  plain pandas + scipy:        {plain_seconds:6.1f} s  {args.capture_rows / plain_seconds:>10,.0f} rows/s")
    print(f"  speed-up: {plain_seconds / our_seconds:.1f}x")
    if args.trials == 100 and (detected < MIN_DETECTED or false_alarms > MAX_FALSE_ALARMS):
        raise cli.ToolError(f"drift rates miss their targets ({detected} detected, {false_alarms} false alarms);"
                            " revisit the thresholds in smxgb.drift")
    return 0


if __name__ == "__main__":
    cli.run(main)
