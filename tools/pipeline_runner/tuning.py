"""Tuning steps: trials of the definition's training job, run locally with the definition's search space.

Each trial is one process started by ``training/local_runner.py`` (script mode
from the code channel's tarball, channels downloaded once from S3 and linked
into every trial). Up to MaxParallelTrainingJobs run at once; a batch finishes
before the next is proposed, so a seed gives the same trials on any machine.
The objective is read from each trial's log with the definition's own
MetricDefinitions regex, as SageMaker reads CloudWatch.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tools.pipeline_runner.base import StepOutcome, Workspace, job_name
from tools.pipeline_runner.errors import PipelineError
from tools.pipeline_runner.search import Search, dimensions
from tools.pipeline_runner.storage import split_uri
from tools.pipeline_runner.tarballs import extract, pack
from training import local_runner

TRAINING_DATA_ROOT = "/opt/ml/input/data/"
JOB_DEFINITION = "Arguments.TrainingJobDefinition"
JOB_DEFINITIONS = "Arguments.TrainingJobDefinitions"
TUNING_CONFIG = "Arguments.HyperParameterTuningJobConfig"


@dataclass
class Trial:
    name: str
    point: np.ndarray
    hyperparameters: dict[str, str]
    definition: str | None = None
    status: str = "InProgress"
    objective: float | None = None
    metrics: dict | None = None
    failure: str | None = None
    seconds: float = 0.0
    model_uri: str | None = None
    #: Per instance of a multi-instance trial: the files of each channel it was given and the rows it read.
    hosts: dict | None = None


@dataclass
class Definition:
    """One training job definition ready to run: its search, channels and code."""

    name: str | None
    field: str
    job: dict
    search: Search
    regexes: dict[str, tuple[int, re.Pattern]]
    channels: dict[str, Path]
    content_types: dict[str, str]
    layout: dict[str, dict[str, Path]]
    static: dict[str, str]
    entry_point: str
    source_dir: Path
    root: Path
    history: list[tuple[np.ndarray, float]]


def _job_definitions(args: dict) -> list[tuple[str, dict]]:
    if "TrainingJobDefinitions" in args:
        return [(f"{JOB_DEFINITIONS}[{i}]", job) for i, job in enumerate(args["TrainingJobDefinitions"])]
    return [(JOB_DEFINITION, args["TrainingJobDefinition"])]


def _static(job: dict, overrides: dict[str, str], others: list[dict]) -> dict[str, str]:
    """The definition's static hyperparameters with the run's overrides of the ones it sets (a forest
    sets no num_round, so a shorter boosting run leaves it alone); a name no definition sets goes to all."""
    static = dict(job.get("StaticHyperParameters", {}))
    for name, value in overrides.items():
        if name in static or not any(name in o.get("StaticHyperParameters", {}) for o in others):
            static[name] = value
    return static


def _prepare(step: dict, args: dict, ws: Workspace, index: int, field: str, job: dict,
             jobs: list[dict], initial: int) -> Definition:
    name = step["Name"]
    config = args["HyperParameterTuningJobConfig"]
    objective = job.get("TuningObjective") or config.get("HyperParameterTuningJobObjective")
    if objective is None:
        raise PipelineError("no TuningObjective and no HyperParameterTuningJobObjective", step=name, field=field)
    ranges = job.get("HyperParameterRanges") or config.get("ParameterRanges", {})
    try:
        search = Search(dimensions(ranges), config.get("Strategy", "Bayesian"),
                        int(config.get("RandomSeed", ws.options.seed)) + index,
                        maximize=objective["Type"] == "Maximize", initial=initial)
    except ValueError as exc:
        where = "Strategy" if "strategy" in str(exc) else "ParameterRanges"
        raise PipelineError(str(exc), step=name, field=f"{TUNING_CONFIG}.{where}") from None
    definition = job.get("DefinitionName")
    root = ws.work_dir / name / (definition or "")
    channels, content_types, sharded = _download_channels(name, job, ws, root / "channels", field)
    hosts = int(job["ResourceConfig"].get("InstanceCount", 1))
    static = _static(job, dict(ws.options.static_hyperparameters), jobs)
    entry_point, source_dir = _script_mode(name, static, channels, ws, root, field)
    return Definition(definition, field, job, search, _metric_regexes(name, job, objective["MetricName"], field),
                      channels, content_types, host_channels(channels, sharded, hosts, root), static, entry_point,
                      source_dir, root, [])


def run_tuning_step(step: dict, args: dict, ws: Workspace) -> StepOutcome:
    name = step["Name"]
    config = args["HyperParameterTuningJobConfig"]
    tuning_name = job_name(ws.execution_id, name, limit=32)
    limits = config["ResourceLimits"]
    max_jobs, parallel = int(limits["MaxNumberOfTrainingJobs"]), int(limits["MaxParallelTrainingJobs"])
    if not 1 <= parallel or not 1 <= max_jobs:
        raise PipelineError("MaxNumberOfTrainingJobs and MaxParallelTrainingJobs must be >= 1", step=name,
                            field=f"{TUNING_CONFIG}.ResourceLimits")
    if "WarmStartConfig" in args:
        # The parent tuning job ran on SageMaker, not here: its trials cannot seed this search.
        ws.log(f"  {name}: WarmStartConfig ignored locally (no parent tuning job); the search starts cold")
    listed = _job_definitions(args)
    jobs = [job for _, job in listed]
    # Each definition's search starts from its own random trials before it exploits their results.
    initial = max(1, -(-parallel // len(listed)))
    definitions = [_prepare(step, args, ws, i, field, job, jobs, initial) for i, (field, job) in enumerate(listed)]
    objective = definitions[0].job.get("TuningObjective") or config["HyperParameterTuningJobObjective"]

    # SageMaker decides how to share trials among definitions; locally they take turns, so every
    # approach gets trials and a seed gives the same trials on any machine.
    trials: list[Trial] = []
    while len(trials) < max_jobs:
        batch: list[tuple[Trial, Definition]] = []
        size = min(parallel, max_jobs - len(trials))
        turns = [definitions[(len(trials) + k) % len(definitions)] for k in range(size)]
        for definition in definitions:
            count = sum(1 for d in turns if d is definition)
            for point in definition.search.propose(count, definition.history) if count else []:
                tuned = definition.search.hyperparameters(point)
                digest = hashlib.sha256(repr((definition.name, sorted(tuned.items()))).encode()).hexdigest()[:8]
                number = len(trials) + len(batch) + 1
                batch.append((Trial(f"{tuning_name}-{number:03d}-{digest}", point, tuned, definition.name),
                              definition))
        ws.log(f"  {name}: trials {len(trials) + 1}-{len(trials) + len(batch)} of {max_jobs}"
               f" ({len(batch)} in parallel)")
        hosts = max(len(d.layout) for _, d in batch)
        cpus = max(1, ws.options.cpus // (len(batch) * hosts))
        with ThreadPoolExecutor(max_workers=len(batch)) as pool:
            futures = [pool.submit(_run_trial, trial, d.entry_point, d.source_dir, d.layout, d.content_types,
                                   d.static, d.root, cpus, d.job.get("StoppingCondition", {}).get(
                                       "MaxRuntimeInSeconds"), d.job.get("Environment", {})) for trial, d in batch]
            results = [future.result() for future in futures]
        for (trial, definition), result in zip(batch, results, strict=True):
            output_path = definition.job["OutputDataConfig"]["S3OutputPath"].rstrip("/")
            _finish_trial(name, trial, result, definition.regexes, objective["MetricName"], output_path, ws,
                          definition.field)
            if trial.objective is not None:
                definition.history.append((trial.point, trial.objective))
            label = f" [{trial.definition}]" if trial.definition else ""
            ws.log(f"    {trial.name}{label}: {trial.status} in {trial.seconds:.1f}s"
                   + (f", {objective['MetricName']} = {trial.objective:.6f}" if trial.objective is not None
                      else f": {trial.failure}"))
        trials += [trial for trial, _ in batch]

    completed = [t for t in trials if t.status == "Completed"]
    if not completed:
        first = trials[0]
        channels = ", ".join(definitions[0].channels)
        hosts = len(definitions[0].layout)
        raise PipelineError(
            f"all {len(trials)} training jobs failed; {first.name}: {first.failure}"
            f" (channels given: {channels}; {hosts} instance(s) per job)",
            step=name, field=definitions[0].field if len(definitions) == 1 else JOB_DEFINITIONS,
        )
    completed.sort(key=lambda t: t.objective, reverse=objective["Type"] == "Maximize")
    ordered = completed + [t for t in trials if t.status != "Completed"]
    summaries = [_summary(t, objective, ws, tuning_name) for t in ordered]
    properties = {
        **args,
        "HyperParameterTuningJobName": tuning_name,
        "HyperParameterTuningJobArn": ws.arn("hyper-parameter-tuning-job", tuning_name),
        "HyperParameterTuningJobStatus": "Completed",
        "BestTrainingJob": summaries[0],
        "TrainingJobSummaries": summaries,
        "TrainingJobStatusCounters": {"Completed": len(completed), "Failed": len(trials) - len(completed)},
    }
    first_job = definitions[0].job
    best_per_definition = {}
    for trial in completed:  # already best first
        best_per_definition.setdefault(trial.definition, {"name": trial.name, "objective": trial.objective})
    detail = {
        "tuning_job": tuning_name,
        "strategy": definitions[0].search.strategy,
        "objective": objective,
        "definitions": [d.name for d in definitions],
        "best": {"name": completed[0].name, "objective": completed[0].objective, "definition": completed[0].definition,
                 "hyperparameters": completed[0].hyperparameters, "model_uri": completed[0].model_uri},
        "best_per_definition": best_per_definition,
        "trials": [{"name": t.name, "definition": t.definition, "status": t.status, "objective": t.objective,
                    "seconds": t.seconds, "hyperparameters": t.hyperparameters, "failure": t.failure,
                    **({"hosts": t.hosts} if t.hosts else {})} for t in trials],
        "trial_seconds": sum(t.seconds for t in trials),
        "instance_count": int(first_job["ResourceConfig"].get("InstanceCount", 1)),
        "instance_type": first_job["ResourceConfig"].get("InstanceType"),
        "spot": bool(first_job.get("EnableManagedSpotTraining")),
    }
    return StepOutcome(properties, {}, detail)


def _metric_regexes(step: str, job: dict, objective: str, path: str) -> dict[str, tuple[int, re.Pattern]]:
    definitions = job.get("AlgorithmSpecification", {}).get("MetricDefinitions", [])
    compiled = {}
    for index, entry in enumerate(definitions):
        try:
            compiled[entry["Name"]] = (index, re.compile(entry["Regex"]))
        except re.error as exc:
            field = f"{path}.AlgorithmSpecification.MetricDefinitions[{index}].Regex"
            raise PipelineError(f"regex does not compile: {exc}", step=step, field=field) from None
    if objective not in compiled:
        raise PipelineError(f"objective metric {objective!r} has no MetricDefinitions entry (defined:"
                            f" {sorted(compiled)})", step=step,
                            field=f"{TUNING_CONFIG}.HyperParameterTuningJobObjective.MetricName")
    return compiled


def _download_channels(step: str, job: dict, ws: Workspace, target: Path,
                       path: str) -> tuple[dict[str, Path], dict[str, str], set[str]]:
    channels, content_types, sharded = {}, {}, set()
    for index, channel in enumerate(job.get("InputDataConfig", [])):
        field = f"{path}.InputDataConfig[{index}]"
        source = channel.get("DataSource", {}).get("S3DataSource")
        if source is None or source.get("S3DataType", "S3Prefix") != "S3Prefix":
            raise PipelineError("only S3Prefix data sources are supported locally", step=step,
                                field=f"{field}.DataSource")
        if channel.get("InputMode", job["AlgorithmSpecification"].get("TrainingInputMode", "File")) == "Pipe":
            raise PipelineError("Pipe mode is not supported locally (File and FastFile are)", step=step,
                                field=f"{field}.InputMode")
        if channel.get("CompressionType", "None") != "None":
            raise PipelineError("compressed channels are not supported locally", step=step,
                                field=f"{field}.CompressionType")
        name = channel["ChannelName"]
        local = target / name
        try:
            files = ws.storage.download_prefix(source["S3Uri"], local)
        except ValueError as exc:
            raise PipelineError(str(exc), step=step, field=f"{field}.DataSource.S3DataSource.S3Uri") from None
        if not files:
            raise PipelineError(f"no objects under {source['S3Uri']} for channel {name!r}", step=step,
                                field=f"{field}.DataSource.S3DataSource.S3Uri")
        channels[name] = local
        if source.get("S3DataDistributionType") == "ShardedByS3Key":
            sharded.add(name)
        if channel.get("ContentType"):
            content_types[name] = channel["ContentType"]
    return channels, content_types, sharded


def host_channels(channels: dict[str, Path], sharded: set[str], hosts: int, root: Path) -> dict[str, dict[str, Path]]:
    """Each host's channels: all files (FullyReplicated) or every hosts-th file by key (ShardedByS3Key)."""
    if hosts == 1:
        return {"algo-1": channels}
    layout: dict[str, dict[str, Path]] = {}
    for index in range(hosts):
        host = f"algo-{index + 1}"
        layout[host] = {}
        for name, directory in channels.items():
            if name not in sharded:
                layout[host][name] = directory
                continue
            shard = root / "shards" / host / name
            files = sorted(p for p in directory.rglob("*") if p.is_file())
            for path in files[index::hosts]:
                target = shard / path.relative_to(directory)
                target.parent.mkdir(parents=True, exist_ok=True)
                if not target.exists():
                    target.symlink_to(path)
            shard.mkdir(parents=True, exist_ok=True)
            layout[host][name] = shard
    return layout


def _script_mode(step: str, static: dict, channels: dict[str, Path], ws: Workspace, root: Path,
                 path: str) -> tuple[str, Path]:
    """(entry point, unpacked source dir): what the training toolkit does with these two hyperparameters."""
    field = f"{path}.StaticHyperParameters"
    program, submit = static.get("sagemaker_program"), static.get("sagemaker_submit_directory")
    if not program or not submit:
        raise PipelineError("the local runner runs script-mode training only: sagemaker_program and"
                            " sagemaker_submit_directory are required", step=step, field=field)
    if submit.startswith("s3://"):
        tarball = root / "submit" / split_uri(submit)[1].rsplit("/", 1)[-1]
        tarball.parent.mkdir(parents=True, exist_ok=True)
        ws.storage.get(*split_uri(submit), tarball)
    elif submit.startswith(TRAINING_DATA_ROOT):
        channel, _, rest = submit[len(TRAINING_DATA_ROOT):].partition("/")
        if channel not in channels:
            raise PipelineError(f"{submit!r} is inside channel {channel!r}, which the job does not have"
                                f" ({sorted(channels)})", step=step, field=f"{field}.sagemaker_submit_directory")
        tarball = channels[channel] / rest
    else:
        raise PipelineError(f"{submit!r} is neither an s3:// URI nor inside a channel", step=step,
                            field=f"{field}.sagemaker_submit_directory")
    source = root / "source"
    if not source.exists():
        extract(tarball, source, step=step, field=f"{field}.sagemaker_submit_directory")
    if not (source / program).is_file():
        raise PipelineError(f"{program!r} is not in the code tarball", step=step, field=f"{field}.sagemaker_program")
    return program, source


def _run_trial(trial: Trial, entry_point: str, source_dir: Path, layout: dict[str, dict[str, Path]],
               content_types: dict[str, str], static: dict, root: Path, cpus: int,
               timeout: float | None, environment: dict[str, str]) -> local_runner.Result | None:
    """One training job: one process per instance; the leader's (algo-1) result stands for the job.

    The job definition's Environment reaches the script as SageMaker passes it to the container.
    """
    started = time.perf_counter()
    common = dict(content_types=content_types, hyperparameters={**static, **trial.hyperparameters},
                  source_dir=source_dir, num_cpus=cpus, timeout=timeout, env=environment)
    try:
        if len(layout) == 1:
            return local_runner.run_training(entry_point, channels=layout["algo-1"],
                                             root=root / "trials" / trial.name, **common)
        results = local_runner.run_cluster(entry_point, host_channels=layout, root=root / "trials" / trial.name,
                                           **common)
        trial.hosts = {host: _host_summary(layout[host], result) for host, result in zip(layout, results, strict=True)}
        failed = next((r for r in results if r.returncode != 0), None)
        return failed or results[0]
    except subprocess.TimeoutExpired:
        trial.status, trial.failure = "Stopped", f"MaxRuntimeInSeconds ({timeout}) exceeded"
        return None
    finally:
        trial.seconds = time.perf_counter() - started


_DATA_LINE = re.compile(r"^data: (\d+) train rows, (\d+) validation rows", re.M)
_VALIDATION_LINE = re.compile(r"^\[\d+\]#validation-\S+$", re.M)


def _host_summary(channels: dict[str, Path], result: local_runner.Result) -> dict:
    """What one instance was given (file names per channel) and read (rows, from train.py's data line)."""
    found = _DATA_LINE.search(result.stdout)
    return {
        "files": {name: sorted(p.name for p in Path(directory).rglob("*") if p.is_file())
                  for name, directory in channels.items()},
        "rows": {"train": int(found[1]), "validation": int(found[2])} if found else None,
        # All-reduced over the instances: the same on each when they train one model together.
        "last_validation_line": (_VALIDATION_LINE.findall(result.stdout) or [None])[-1],
    }


def _finish_trial(step: str, trial: Trial, result: local_runner.Result | None,
                  regexes: dict[str, tuple[int, re.Pattern]], objective: str, output_path: str,
                  ws: Workspace, path: str) -> None:
    if result is None:
        return
    if result.returncode != 0:
        trial.status = "Failed"
        trial.failure = result.failure or result.last_stderr_line or f"exit {result.returncode}"
        return
    log = result.stdout + "\n" + result.stderr
    trial.metrics = {}
    for metric, (_, regex) in regexes.items():
        found = regex.findall(log)
        if found:
            last = found[-1]
            trial.metrics[metric] = float(last[0] if isinstance(last, tuple) else last)
    if objective not in trial.metrics:
        index, regex = regexes[objective]
        raise PipelineError(
            f"objective metric {objective!r}: regex {regex.pattern!r} matches nothing in the log of training"
            f" job {trial.name} (last line: {result.stdout.strip().splitlines()[-1:] or ['']})",
            step=step, field=f"{path}.AlgorithmSpecification.MetricDefinitions[{index}].Regex",
        )
    trial.objective = trial.metrics[objective]
    trial.status = "Completed"
    job_output = f"{output_path}/{trial.name}/output"
    trial.model_uri = ws.storage.upload_file(pack(result.model_dir, result.root / "model.tar.gz"),
                                             f"{job_output}/model.tar.gz")
    if any(result.output_data_dir.iterdir()):
        ws.storage.upload_file(pack(result.output_data_dir, result.root / "output.tar.gz"),
                               f"{job_output}/output.tar.gz")


def _summary(trial: Trial, objective: dict, ws: Workspace, tuning_name: str) -> dict:
    summary = {
        **({"TrainingJobDefinitionName": trial.definition} if trial.definition else {}),
        "TuningJobName": tuning_name,
        "TrainingJobName": trial.name,
        "TrainingJobArn": ws.arn("training-job", trial.name),
        "TrainingJobStatus": trial.status,
        "TunedHyperParameters": trial.hyperparameters,
    }
    if trial.objective is not None:
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": objective["Type"], "MetricName": objective["MetricName"], "Value": trial.objective}
        summary["ObjectiveStatus"] = "Succeeded"
    if trial.failure:
        summary["FailureReason"] = trial.failure
    return summary
