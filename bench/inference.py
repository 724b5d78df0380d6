"""Serving throughput: our handlers vs the XGBoost container's default CSV handler.

The baseline re-implements, step for step, what sagemaker-xgboost-container
does for a ``text/csv`` request when the script defines no ``input_fn``/
``output_fn``: sniff the delimiter, split lines and fields in Python, build a
float64 ndarray, wrap it in a ``DMatrix``, ``Booster.predict``, then encode
with ``np.savetxt(fmt="%s")``. Both sides get the body as ``str``, as the
inference toolkit hands CSV over, and both run one predict thread (the model
server runs one worker per vCPU). Timing is the median of repeated calls.

Run: ``python -m bench.inference`` (or ``python -m bench``).
"""

from __future__ import annotations

import csv
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import xgboost as xgb

from tools import cli

TRAINING_DIR = Path(__file__).resolve().parents[1] / "training"
PAYLOAD_ROWS = (1, 100, 1_000, 10_000)
TARGET_RATIO_AT_1000_ROWS = 4.0
SECONDS_PER_CASE = 0.5


def _default_container_handler(booster: xgb.Booster, body: str) -> bytes:
    """The container's default text/csv path (encoder.csv_to_dmatrix + predict + encoders.encode)."""
    delimiter = csv.Sniffer().sniff(body.split("\n")[0][:512]).delimiter
    delimiter = "," if delimiter.isalnum() else delimiter
    rows = [["nan" if field == "" else field for field in line.split(delimiter)] for line in body.split("\n")]
    matrix = xgb.DMatrix(np.array(rows).astype(None))
    prediction = booster.predict(matrix, validate_features=False)
    stream = io.StringIO()
    np.savetxt(stream, prediction, delimiter=",", fmt="%s")
    return stream.getvalue().encode("utf-8")


def _model_and_rows(model_dir: Path) -> tuple[Path, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    features, labels = load_breast_cancer(return_X_y=True)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 4, "nthread": 1},
                        xgb.DMatrix(features, labels), 50)
    (model_dir / "xgboost-model").write_bytes(booster.save_raw("ubj"))
    repeats = -(-max(PAYLOAD_ROWS) // len(features))
    return model_dir, np.tile(features, (repeats, 1))


def _median_seconds(call, budget: float = SECONDS_PER_CASE) -> float:
    call()  # warm caches and lazy imports outside the measurement
    samples = []
    deadline = time.perf_counter() + budget
    while len(samples) < 3 or (time.perf_counter() < deadline and len(samples) < 200):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def measure() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-inference-") as tmp:
        return _measure(Path(tmp))


def _measure(model_dir: Path) -> list[dict]:
    if str(TRAINING_DIR) not in sys.path:
        sys.path.insert(0, str(TRAINING_DIR))
    try:
        import inference
    except ImportError as exc:
        raise cli.ToolError(f"training/inference.py cannot be imported ({exc}); run `make setup`") from None

    model_dir, rows = _model_and_rows(model_dir)
    ours_model = inference.model_fn(str(model_dir))
    baseline_model = xgb.Booster()
    baseline_model.load_model(bytearray((model_dir / "xgboost-model").read_bytes()))
    baseline_model.set_param({"nthread": 1})

    def ours(body: str) -> bytes:
        return inference.transform_fn(ours_model, body, "text/csv", "text/csv")[0]

    results = []
    for count in PAYLOAD_ROWS:
        body = "\n".join(",".join(repr(float(v)) for v in row) for row in rows[:count])
        ours_out = np.array(ours(body).split(), dtype=np.float32)
        baseline_out = np.array(_default_container_handler(baseline_model, body).split(), dtype=np.float32)
        # Same answers, or the speed comparison means nothing.
        if ours_out.shape != baseline_out.shape or not np.allclose(ours_out, baseline_out, rtol=1e-6):
            raise cli.ToolError(f"our handler and the default one disagree on a {count}-row payload;"
                                " fix training/inference.py before timing it")
        baseline_s = _median_seconds(lambda body=body: _default_container_handler(baseline_model, body))
        ours_s = _median_seconds(lambda body=body: ours(body))
        results.append({"rows": count, "baseline_s": baseline_s, "ours_s": ours_s})
    return results


def format_table(results: list[dict]) -> str:
    header = f"{'rows':>7} | {'default ms':>10} | {'ours ms':>8} | {'default rows/s':>14} | {'ours rows/s':>11} | ratio"
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r['rows']:>7} | {r['baseline_s'] * 1e3:>10.3f} | {r['ours_s'] * 1e3:>8.3f} |"
            f" {r['rows'] / r['baseline_s']:>14,.0f} | {r['rows'] / r['ours_s']:>11,.0f} |"
            f" {r['baseline_s'] / r['ours_s']:>4.1f}x"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    cli.ArgumentParser(prog="python -m bench.inference", description=__doc__.splitlines()[0]).parse_args(argv)
    print("Inference: text/csv in and out, breast-cancer model (30 features, 50 trees, depth 4), 1 thread")
    results = measure()
    print(format_table(results))
    at_1000 = next(r for r in results if r["rows"] == 1_000)
    ratio = at_1000["baseline_s"] / at_1000["ours_s"]
    verdict = "meets" if ratio >= TARGET_RATIO_AT_1000_ROWS else "MISSES"
    print(f"1,000-row payloads: {ratio:.1f}x the default handler ({verdict} the {TARGET_RATIO_AT_1000_ROWS:g}x target)")
    return 0


if __name__ == "__main__":
    cli.run(main)
