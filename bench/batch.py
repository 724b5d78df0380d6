"""Batch-scoring throughput: the local transform against calling the handlers directly on the same rows.

Both sides use the model artifact's own handlers (``training/inference.py``
packed under ``code/``, ``model_fn`` once, then ``transform_fn`` per request),
the batch-scoring definition's mini-batch size and the same number of requests
in flight. The direct side is handed the feature rows already cut into those
requests; the transform side is the local runner's Transform step as the
batch-scoring pipeline runs it: read the input object (row id first), split it
into lines, drop the row id (``InputFilter``), pack requests by
``MaxPayloadInMB``, join each prediction to its input line and write the
output object. Storage is a local directory on both sides, so the figure is
the runner's own overhead, not the emulator's S3 transfer. Best of
``--repeat`` runs; the ratio is direct rows/s over transform rows/s (the
target is at most 1.5).

Run: ``python -m bench.batch`` (or ``python -m bench --only batch``).
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import xgboost as xgb

from stacks.config import BATCH_SCORING_PREFIX, BatchScoringConfig
from stacks.pipeline_definition import batch_scoring as b
from stacks.pipeline_definition import contract
from tools import cli
from tools.pipeline_runner import LocalStorage, RunOptions
from tools.pipeline_runner.base import Workspace
from tools.pipeline_runner.expressions import Context, resolve
from tools.pipeline_runner.serving import load_handlers
from tools.pipeline_runner.tarballs import extract, pack
from tools.pipeline_runner.transform import MIB, TransformSettings, mini_batches, run_transform_step

TARGET_RATIO = 1.5
FEATURES = 30
MODEL_NAME = "pipelines-bench-CreateScoringModel"


def _artifact(scratch: Path, features: np.ndarray) -> Path:
    from smxgb import outputs

    labels = (features[:, 0] + features[:, 1] > 0).astype(int)
    sample = slice(0, min(len(features), 20_000))
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 6, "nthread": 2},
                        xgb.DMatrix(features[sample], label=labels[sample]), 100)
    model_dir = scratch / "model"
    outputs.save_model(booster, model_dir)
    outputs.package_serving_code(model_dir)
    return pack(model_dir, scratch / "model.tar.gz")


def _direct(model_dir: Path, bodies: list[str], concurrency: int, environment: dict) -> tuple[float, int]:
    """Seconds to load the model and answer every request; rows answered."""
    import os

    os.environ.update(environment)
    started = time.perf_counter()
    handlers = load_handlers(model_dir, step="bench")
    model = handlers.model_fn(str(model_dir))
    with ThreadPoolExecutor(concurrency) as pool:
        answers = list(pool.map(lambda body: handlers.transform_fn(model, body, "text/csv", "text/csv")[0], bodies))
    seconds = time.perf_counter() - started
    return seconds, sum(answer.count(b"\n") for answer in answers)


def measure(rows: int, repeat: int, config: BatchScoringConfig = BatchScoringConfig()) -> dict:  # noqa: B008
    rng = np.random.default_rng(7)
    features = rng.normal(size=(rows, FEATURES)).astype(np.float32)
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        scratch = Path(tmp)
        artifact = _artifact(scratch, features)
        feature_lines = [",".join(f"{v:.6g}" for v in row) for row in features]
        storage = LocalStorage(scratch / "s3")
        raw, models = "raw", "models"
        (scratch / "s3" / raw / BATCH_SCORING_PREFIX).mkdir(parents=True)
        (scratch / "s3" / raw / BATCH_SCORING_PREFIX / "input.csv").write_text(
            "".join(f"r{i},{line}\n" for i, line in enumerate(feature_lines)))
        storage.upload_file(artifact, f"s3://{models}/training/model.tar.gz")
        definition = b.build_batch_scoring_definition(b.BatchScoringResources(
            config=config, role_arn="arn:aws:iam::111122223333:role/bench", subnet_ids=(), security_group_ids=(),
            model_key_arn="arn:aws:kms:us-east-1:111122223333:key/bench",
            model_package_group_version_prefix="arn:aws:sagemaker:us-east-1:111122223333:model-package/bench",
            raw_bucket=raw, model_bucket=models, prefix=BATCH_SCORING_PREFIX))
        step = definition["Steps"][1]
        params = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
        context = Context({**params, b.MODEL_PACKAGE_VERSION: 1}, {"PipelineExecutionId": "bench"})
        context.steps[b.MODEL_STEP] = {"ModelName": MODEL_NAME}
        args = resolve(step["Arguments"], context, step=step["Name"], field_path="Arguments")
        settings = TransformSettings.from_request(step["Name"], args)
        # The direct side gets the very requests the transform sends (same rows, same boundaries).
        sizes = [len(line) for line in feature_lines]
        bodies = ["\n".join(feature_lines[start:stop]) for start, stop in mini_batches(sizes, settings)]
        model_dir = scratch / "direct-model"
        extract(artifact, model_dir, step="bench", field="model")
        environment = {**contract.SERVING_ENVIRONMENT, **args["Environment"]}
        container = {"ModelDataUrl": f"s3://{models}/training/model.tar.gz", "Environment": environment}
        direct_s, transform_s = [], []
        for attempt in range(repeat):
            seconds, answered = _direct(model_dir, bodies, settings.concurrency, environment)
            if answered != rows:
                raise cli.ToolError(f"the handlers answered {answered} of {rows} rows; fix training/inference.py")
            direct_s.append(seconds)
            ws = Workspace(storage, scratch / f"run-{attempt}", RunOptions(), "bench", log=lambda _: None)
            ws.models[MODEL_NAME] = container
            started = time.perf_counter()
            outcome = run_transform_step(step, args, ws)
            transform_s.append(time.perf_counter() - started)
            if outcome.detail["records"] != rows:
                raise cli.ToolError(f"the transform scored {outcome.detail['records']} of {rows} rows")
    return {"rows": rows, "requests": len(bodies), "payload_mb": settings.max_payload_bytes // MIB,
            "concurrency": settings.concurrency, "direct_s": min(direct_s), "transform_s": min(transform_s)}


def format_result(r: dict) -> str:
    direct, transform = r["rows"] / r["direct_s"], r["rows"] / r["transform_s"]
    ratio = direct / transform
    verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
    return "\n".join([
        f"Batch scoring: {r['rows']:,} rows x {FEATURES} features, 100 trees depth 6, {r['requests']} requests of"
        f" <= {r['payload_mb']} MB, {r['concurrency']} in flight",
        f"{'side':<34} | {'seconds':>7} | {'rows/s':>10}",
        f"{'handlers called directly':<34} | {r['direct_s']:>7.2f} | {direct:>10,.0f}",
        f"{'local transform (split/filter/join)':<34} | {r['transform_s']:>7.2f} | {transform:>10,.0f}",
        f"ratio {ratio:.2f}x (direct / transform; {verdict} the <= {TARGET_RATIO:g}x target)",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="python -m bench.batch", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows to score (default 200,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per side; the best counts (default 3)")
    args = parser.parse_args(argv)
    if not 1_000 <= args.rows <= 10_000_000:
        parser.error(f"--rows {args.rows} must be between 1,000 and 10,000,000")
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat} must be at least 1")
    print(format_result(measure(args.rows, args.repeat)))
    return 0


if __name__ == "__main__":
    cli.run(main)
