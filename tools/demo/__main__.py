"""The platform end to end on one machine: ``make demo`` (or ``python -m tools.demo``).

synth (every cdk-nag pack) -> emulator -> bootstrap -> deploy every stack ->
breast-cancer CSV into the raw bucket -> the synthesized pipeline run locally
with its data in the emulator's S3 -> model registered, approved, served ->
summary -> destroy (always) -> data buckets checked to survive.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from stacks.config import ENVIRONMENTS
from tools import synth_report
from tools.demo import summary
from tools.demo.cost import execution_costs
from tools.demo.phases import DemoError, Phases
from tools.emulator import Emulator, format_report
from tools.pipeline_runner import PipelineError, RunOptions, S3Storage, run_pipeline
from tools.pipeline_runner.serving import predict_csv

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = ENVIRONMENTS["dev"]
DATA_BUCKETS = ("raw", "processed", "models", "access-logs")
SAMPLE_ROWS = 5


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__.splitlines()[0])
    # Small on purpose: the demo must finish in minutes on two cores.
    parser.add_argument("--trials", type=int, default=4, help="MaxTrainingJobs (default 4)")
    parser.add_argument("--parallel", type=int, default=2, help="MaxParallelTrainingJobs (default 2)")
    parser.add_argument("--num-round", default="50", help="num_round for every trial (definition: 300)")
    parser.add_argument("--skip-synth", action="store_true", help="skip the cdk-nag synth (deploy still synthesizes)")
    return parser.parse_args(argv)


def write_dataset(path: Path) -> Path:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "label"})
    frame[["label", *[c for c in frame.columns if c != "label"]]].to_csv(path, index=False)
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    phases = Phases()
    state: dict = {}
    try:
        if not args.skip_synth:
            with phases.phase("synth with every check"):
                if synth_report.main([]) != 0:
                    raise DemoError("synth with every check: the synth or a cdk-nag pack failed (see above)")
        emu = Emulator(account_id=CONFIG.account, region=CONFIG.region)
        with tempfile.TemporaryDirectory(prefix="demo-") as scratch:
            try:
                with phases.phase("start the emulator"):
                    emu.start()
                    phases.log(f"moto on {emu.endpoint_url}")
                failure = None
                try:
                    _run(emu, Path(scratch), args, phases, state)
                except DemoError as exc:
                    failure = exc
                try:
                    _teardown(emu, phases, state)
                except DemoError as exc:
                    # Report both: the first failure is the one to fix, the teardown one may hide it.
                    failure = DemoError(f"{failure}; then {exc}") if failure else exc
                if failure:
                    raise failure
            finally:
                emu.stop()
    except DemoError as exc:
        _print_summary(phases, state)
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    _print_summary(phases, state)
    return 0


def _run(emu: Emulator, scratch: Path, args: argparse.Namespace, phases: Phases, state: dict) -> None:
    assembly = scratch / "assembly"
    with phases.phase("emulator bootstrap"):
        emu.bootstrap()
    with phases.phase("deploy every stack"):
        result = emu.deploy(REPO_ROOT, output_dir=assembly)
        state["assembly"] = assembly
        for stack in result.stacks:
            print(format_report(stack, result.unemulated.get(stack, [])))
    s3 = emu.client("s3")
    with phases.phase("upload the breast cancer data set"):
        data = write_dataset(scratch / "breast_cancer.csv")
        key = f"{CONFIG.pipeline.raw_data_prefix}breast_cancer.csv"
        s3.upload_file(str(data), CONFIG.bucket_name("raw"), key)
        phases.log(f"s3://{CONFIG.bucket_name('raw')}/{key} ({data.stat().st_size} bytes)")
    storage = S3Storage(s3)
    sm = emu.client("sagemaker")
    with phases.phase("pipeline (local run, data in the emulator's S3)"):
        options = RunOptions(parameters={"MaxTrainingJobs": args.trials, "MaxParallelTrainingJobs": args.parallel},
                             static_hyperparameters={"num_round": args.num_round})
        try:
            state["execution"] = run_pipeline(
                assembly / f"{CONFIG.stack_name('pipeline')}.template.json", storage=storage,
                cloudformation=emu.client("cloudformation"), sagemaker=sm, options=options,
                work_dir=scratch / "run", account=CONFIG.account, region=CONFIG.region, log=phases.log)
        except PipelineError as exc:
            state["execution"] = exc.execution
            raise DemoError(f"pipeline: {exc}") from None
    execution = state["execution"]
    with phases.phase("approve and serve the registered model"):
        register = next(s for s in execution.steps if s.type == "RegisterModel" and s.status == "Succeeded")
        state["registered"] = register.detail
        arn = register.detail["model_package_arn"]
        sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
        register.detail["approval"] = sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"]
        model_url = sm.describe_model_package(ModelPackageName=arn)["InferenceSpecification"]["Containers"][0][
            "ModelDataUrl"]
        test_uri = execution.step("Preprocess").detail["outputs"]["test"]["objects"][0]
        rows = storage.read(test_uri).decode().splitlines()[:SAMPLE_ROWS]
        labels = [int(float(r.split(",", 1)[0])) for r in rows]
        body, _ = predict_csv(model_url, "\n".join(r.split(",", 1)[1] for r in rows), storage=storage)
        state["predictions"] = list(zip(labels, (float(v) for v in body.decode().split()), strict=True))


def _teardown(emu: Emulator, phases: Phases, state: dict) -> None:
    """Destroy whatever was deployed and prove the data buckets outlive it; runs even after a failure."""
    if "assembly" not in state:
        return
    s3 = emu.client("s3")
    before = {purpose: _keys(s3, CONFIG.bucket_name(purpose)) for purpose in DATA_BUCKETS}
    with phases.phase("destroy every stack"):
        emu.destroy(REPO_ROOT, app=str(state["assembly"]))
    with phases.phase("check the data buckets survived destroy"):
        for purpose, keys in before.items():
            after = _keys(s3, CONFIG.bucket_name(purpose))
            if not keys <= after:
                raise DemoError(f"destroy removed {len(keys - after)} object(s) from the {purpose} bucket")
        phases.log("data buckets kept with every object: "
                   + ", ".join(f"{purpose} {len(keys)}" for purpose, keys in before.items()))


def _keys(s3, bucket: str) -> set[str]:
    return {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])}


def _print_summary(phases: Phases, state: dict) -> None:
    execution = state.get("execution")
    print("\n" + "=" * 100)
    if execution is None:
        print(summary.render_timings(phases.timings))
        return
    try:
        costs = execution_costs(execution)
    except ValueError as exc:
        print(f"(no cost estimate: {exc})")
        costs = []
    print(summary.render(execution, predictions=state.get("predictions", []), registered=state.get("registered", {}),
                         costs=costs, timings=phases.timings))


if __name__ == "__main__":
    sys.exit(main())
