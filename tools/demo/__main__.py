"""The platform end to end on one machine: ``make demo`` (or ``python -m tools.demo``).

synth (every cdk-nag pack) -> emulator -> bootstrap -> deploy every stack ->
breast-cancer CSV into the raw bucket -> the synthesized pipeline run locally
with its data in the emulator's S3 -> model registered, approved, served ->
the batch-scoring pipeline scores the data set with the approved version (row ids kept) ->
shifted traffic captured as the endpoint would -> the monitoring pipeline publishes
the version's drift baseline and compares the capture with it (plot in
demo-output/drift.png) -> the retraining guard lets the drift alarm start the
pipeline again (RetrainReason=drift) and suppresses a second alarm -> version 2 registered ->
summary -> destroy (always) -> data buckets checked to survive.

Errors follow tools.cli: a bad option is one line and exit 2 before anything starts; a failing
phase prints the phase table and ends in its one line (the first failure, not what the teardown
hit after it), exit 1; Ctrl-C and SIGTERM end in 130 and 143. In every case the stacks are
destroyed, the emulator stopped and the scratch folder removed.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from stacks.config import ENVIRONMENTS
from tools import cli, synth_report
from tools.demo import approaches, batch, cycle, summary
from tools.demo.cost import execution_costs
from tools.demo.phases import DemoError, Phases
from tools.emulator import Emulator, format_report
from tools.pipeline_runner import PipelineError, RunOptions, S3Storage, run_pipeline
from tools.pipeline_runner.serving import predict_csv

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = ENVIRONMENTS["dev"]
DATA_BUCKETS = ("raw", "processed", "models", "access-logs")
SAMPLE_ROWS = 5
# SageMaker's own bounds: a tuning job runs at most 500 training jobs, 100 of them at once.
MAX_TRIALS = 500
MAX_PARALLEL = 100


def _count(upper: int):
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = 0
        if not 1 <= number <= upper:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number from 1 to {upper}")
        return number

    return parse


def _rounds(value: str) -> str:
    """num_round stays a string (SageMaker passes hyperparameters as strings), checked as a count."""
    _count(100_000)(value)
    return str(int(value))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = cli.ArgumentParser(prog="python -m tools.demo", description=__doc__.splitlines()[0])
    # Small on purpose: the demo must finish in minutes on two cores.
    parser.add_argument("--trials", type=_count(MAX_TRIALS), default=4, help="MaxTrainingJobs (default 4)")
    parser.add_argument("--parallel", type=_count(MAX_PARALLEL), default=2,
                        help="MaxParallelTrainingJobs (default 2, at most --trials)")
    parser.add_argument("--num-round", type=_rounds, default="50", help="num_round for every trial (definition: 300)")
    parser.add_argument("--skip-synth", action="store_true", help="skip the cdk-nag synth (deploy still synthesizes)")
    parser.add_argument("--plot", type=Path, default=cycle.PLOT_FILE,
                        help=f"where the drift plot goes (default {cycle.PLOT_FILE.relative_to(REPO_ROOT)})")
    args = parser.parse_args(argv)
    if args.parallel > args.trials:
        parser.error(f"--parallel {args.parallel} is more than --trials {args.trials}; lower it or raise --trials")
    return args


def write_dataset(path: Path) -> Path:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "label"})
    frame[["label", *[c for c in frame.columns if c != "label"]]].to_csv(path, index=False)
    return path


def main(argv: list[str] | None = None) -> int:
    """0 when every phase passed; a failure raises (tools.cli makes it one line and an exit code)
    after the phase table is printed and everything is torn down."""
    args = parse_args(argv)
    phases = Phases()
    state: dict = {}
    try:
        _demo(args, phases, state)
    finally:
        try:
            _print_summary(phases, state)
        except Exception as exc:  # noqa: BLE001 - must not hide the failure being reported
            print(f"(no summary: {type(exc).__name__}: {cli.one_line(exc)})")
    return 0


def _demo(args: argparse.Namespace, phases: Phases, state: dict) -> None:
    if not args.skip_synth:
        with phases.phase("synth with every check"):
            try:
                code = synth_report.main([])
            except SystemExit as exc:
                code = exc.code
            if code not in (0, None):
                raise DemoError("synth with every check: the synth or a cdk-nag pack failed (see above)")
    emu = Emulator(account_id=CONFIG.account, region=CONFIG.region)
    with tempfile.TemporaryDirectory(prefix="demo-") as scratch:
        failed = False
        try:
            with phases.phase("start the emulator"):
                emu.start()
                phases.log(f"moto on {emu.endpoint_url}")
            _run(emu, Path(scratch), args, phases, state)
        except BaseException:  # a failure, Ctrl-C or SIGTERM: tear down, and report this one
            failed = True
            raise
        finally:
            try:
                _teardown(emu, phases, state)
            except Exception as exc:  # noqa: BLE001 - the first failure is the one to fix
                if not failed:
                    raise
                phases.log(f"teardown after the failure also failed: {cli.one_line(exc)}")
            finally:
                emu.stop()


def _run(emu: Emulator, scratch: Path, args: argparse.Namespace, phases: Phases, state: dict) -> None:
    assembly = scratch / "assembly"
    with phases.phase("emulator bootstrap"):
        emu.bootstrap()
    with phases.phase("deploy every stack"):
        state["assembly"] = assembly  # a deploy that fails half way is destroyed too
        result = emu.deploy(REPO_ROOT, output_dir=assembly)
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
        state["cloudformation"] = emu.client("cloudformation")
        state["dynamodb"] = emu.client("dynamodb")
        try:
            state["execution"] = _run_pipeline(args, state, storage, sm, scratch / "run", phases)
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
    with phases.phase("the approaches compared (evaluation report, plots, model card)"):
        state["comparison"] = comparison = approaches.fetch(storage, execution, args.plot.parent)
        for line in approaches.table(comparison).splitlines():
            phases.log(line)
        phases.log(f"approach chosen: {comparison['verdict']['winner']}: {comparison['sentence']}")
        phases.log("plots: " + ", ".join(comparison["plot_files"]))
        line = approaches.card_summary(sm.describe_model_package(ModelPackageName=arn))
        if not line:
            raise DemoError(f"version {register.detail['version']} has no model card in the registry")
        phases.log(f"version {register.detail['version']}: {line}")
    with phases.phase("batch scoring (approved version, local transform)"):
        import numpy as np

        version = int(register.detail["version"])
        try:
            scored = batch.run(CONFIG, state["assembly"] / f"{CONFIG.stack_name('batch')}.template.json",
                               storage=storage, cloudformation=state["cloudformation"], sagemaker=sm,
                               version=version, features=np.loadtxt(data, delimiter=",", skiprows=1)[:, 1:],
                               scratch=scratch, log=phases.log)
        except PipelineError as exc:
            raise DemoError(f"batch scoring: {exc}") from None
        state["batch_scoring"] = scored
        phases.log(f"version {version}: {scored.rows} rows scored in {scored.requests} request(s),"
                   f" {scored.rows / scored.seconds:,.0f} rows/s -> {', '.join(scored.outputs)}")
        for line in scored.sample:
            phases.log(f"  {batch.abbreviated(line)}")
    _close_the_cycle(scratch, args, phases, state, storage, sm, data, register.detail, model_url, execution)


def _run_monitoring(state: dict, storage: S3Storage, sm, scratch: Path, phases: Phases):
    """``run(parameters, name)`` for the deployed monitoring pipeline, run locally."""

    def run(parameters: dict, name: str):
        return run_pipeline(
            state["assembly"] / f"{CONFIG.stack_name('monitoring')}.template.json", storage=storage,
            cloudformation=state["cloudformation"], sagemaker=sm, options=RunOptions(parameters=parameters),
            work_dir=scratch / name, account=CONFIG.account, region=CONFIG.region, log=phases.log)

    return run


def _run_pipeline(args: argparse.Namespace, state: dict, storage: S3Storage, sm, work_dir: Path, phases: Phases,
                  *, reason: str | None = None):
    """One local run of the deployed pipeline definition, small enough for the demo."""
    parameters = {"MaxTrainingJobs": args.trials, "MaxParallelTrainingJobs": args.parallel}
    if reason:
        parameters["RetrainReason"] = reason
    options = RunOptions(parameters=parameters, static_hyperparameters={"num_round": args.num_round})
    return run_pipeline(
        state["assembly"] / f"{CONFIG.stack_name('pipeline')}.template.json", storage=storage,
        cloudformation=state["cloudformation"], sagemaker=sm, options=options, work_dir=work_dir,
        account=CONFIG.account, region=CONFIG.region, log=phases.log)


def _close_the_cycle(scratch: Path, args: argparse.Namespace, phases: Phases, state: dict, storage: S3Storage,
                     sm, data: Path, registered: dict, model_url: str, execution) -> None:
    """Production checks and the retraining they start (tools/demo/cycle.py)."""
    import numpy as np

    baseline_uri = registered["drift_baseline_uri"]
    baseline = cycle.read_baseline(storage, baseline_uri)
    names = [f.name for f in baseline.features]
    features = np.loadtxt(data, delimiter=",", skiprows=1)[:, 1:]  # label first, as written
    with phases.phase("production traffic, shifted, captured as the endpoint would"):
        production = cycle.shifted_traffic(features, names, baseline)
        phases.log(f"{len(production)} rows; {', '.join(cycle.SHIFTED_FEATURES)} moved by {cycle.SHIFT_SDS:g}"
                   " training standard deviation (a recalibrated sensor, say)")
        capture_uri = cycle.capture(CONFIG, storage, model_url, production)
        phases.log(f"data capture: {capture_uri}")
    with phases.phase("monitoring pipeline: publish the baseline, check the capture (local)"):
        train_uri = execution.step("Preprocess").detail["outputs"]["train"]["objects"][0]
        training = np.loadtxt(storage.read(train_uri).decode().splitlines(), delimiter=",")[:, 1:]
        try:
            result = cycle.monitoring_run(_run_monitoring(state, storage, sm, scratch, phases), storage, CONFIG,
                                          baseline_uri, capture_uri, plot_to=args.plot, training=training,
                                          production=production)
        except PipelineError as exc:
            raise DemoError(f"monitoring: {exc}") from None
        state["drift"] = result
        for feature in result.report["features"]:
            if feature["drifted"]:
                phases.log(f"drifted: {feature['name']}: PSI {feature['psi']:.2f},"
                           f" KS {feature['ks_statistic']:.2f} (p {feature['ks_p_value']:.1e})")
        phases.log(f"plot: {result.plot}")
    if not result.drifted:
        phases.log("no feature drifted: the drift alarm stays OK, no retraining")
        return
    started: list[str] = []
    with phases.phase("drift alarm -> retraining guard (DynamoDB lock in the emulator)"):
        state["guard"] = _guard(state["dynamodb"], phases, started)
    if not started:
        return
    with phases.phase("retraining started by drift (RetrainReason=drift)"):
        try:
            again = _run_pipeline(args, state, storage, sm, scratch / "retrain", phases, reason=started[0])
        except PipelineError as exc:
            raise DemoError(f"retraining: {exc}") from None
        state["retrained"] = next(s.detail for s in again.steps if s.type == "RegisterModel"
                                  and s.status == "Succeeded")
        phases.log(f"version {state['retrained']['version']} registered, metadata {state['retrained']['metadata']}")


def _guard(dynamodb, phases: Phases, started: list) -> list[str]:
    """The drift alarm, and the same alarm flapping ten minutes later, through the guard's decision."""
    import time

    from tools.retrain_guard import decide

    m = CONFIG.monitoring
    alarm = f"{CONFIG.prefix}-monitoring-drift"
    now = int(time.time())
    decisions = []
    for offset in (0, 600):
        decision = decide(dynamodb, f"{CONFIG.prefix}-retrain-lock", reason="drift", alarm=alarm, now=now + offset,
                          interval_hours=m.retrain_interval_hours, holder=f"demo-{now + offset}",
                          pipeline=CONFIG.pipeline_name, start=started.append,
                          notify=lambda text: phases.log(f"alert topic: {text}"))
        decisions.append(decision.verdict)
        phases.log(f"alarm at +{offset // 60} min: retraining {decision.verdict}")
    return decisions


def _teardown(emu: Emulator, phases: Phases, state: dict) -> None:
    """Destroy whatever was deployed and prove the data buckets outlive it; runs even after a failure."""
    if "assembly" not in state or not (state["assembly"] / "manifest.json").exists():
        return  # nothing was synthesized, so nothing deployed
    if (died := emu.death("the teardown")) is not None:
        phases.log(f"nothing to destroy: {died}")
        return
    s3 = emu.client("s3")
    existing = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    before = {purpose: _keys(s3, CONFIG.bucket_name(purpose)) for purpose in DATA_BUCKETS
              if CONFIG.bucket_name(purpose) in existing}
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
                         costs=costs, timings=phases.timings, drift=state.get("drift"),
                         retrained=state.get("retrained"), guard=state.get("guard"),
                         comparison=state.get("comparison"),
                         comparison_table=approaches.table(state["comparison"]) if state.get("comparison") else ""))


if __name__ == "__main__":
    cli.run(main)
