"""Processing steps: S3 inputs in, the AppSpecification's script through the local runner, S3 outputs out."""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from pathlib import Path

from tools.pipeline_runner import athena
from tools.pipeline_runner.base import StepOutcome, Workspace, container_path, job_name
from tools.pipeline_runner.errors import PipelineError
from tools.pipeline_runner.tarballs import extract
from training import local_runner

#: The launcher of SageMaker's Spark processing image (stacks.pipeline_definition.jobs.SPARK_SUBMIT).
SPARK_SUBMIT = "smspark-submit"


def run_processing_step(step: dict, args: dict, ws: Workspace) -> StepOutcome:
    name = step["Name"]
    root = ws.work_dir / name
    root.mkdir(parents=True, exist_ok=True)
    count = int(args.get("ProcessingResources", {}).get("ClusterConfig", {}).get("InstanceCount", 1))
    spark = _runs_spark(args.get("AppSpecification", {}))
    # A Spark job is one application whatever the instance count: locally PySpark runs it in local
    # mode on this machine's cores. Other scripts would each run on their own shard.
    if count != 1 and not spark:
        # Several processing instances each run the script on their shard; these scripts are written for one.
        raise PipelineError(f"InstanceCount {count}: only one processing instance is supported locally", step=name,
                            field="Arguments.ProcessingResources.ClusterConfig.InstanceCount")
    downloaded = _download_inputs(name, args, ws, root)
    outputs = args.get("ProcessingOutputConfig", {}).get("Outputs", [])
    local_outputs = []
    for index, output in enumerate(outputs):
        if "S3Output" not in output:
            raise PipelineError("only S3Output outputs are supported locally", step=name,
                                field=f"Arguments.ProcessingOutputConfig.Outputs[{index}]")
        local_outputs.append(output["S3Output"]["LocalPath"])
    script, cwd, script_args = _entrypoint(name, args.get("AppSpecification", {}), root)
    script_args = [container_path(a, root) for a in script_args]
    if "--failure-dir" not in script_args and "failure_dir" in _source(cwd / script):
        # The container's /opt/ml/output exists; locally it must be the emulated one, or the
        # script's failure file (and with it the reason) would be lost.
        script_args += ["--failure-dir", str(root / "output")]
    timeout = args.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
    started = time.perf_counter()
    try:
        result = local_runner.run_processing(
            script, outputs=local_outputs, args=script_args, source_dir=cwd, root=root, copy_source=False,
            env={k: str(v) for k, v in args.get("Environment", {}).items()}, timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise PipelineError(f"the job ran longer than MaxRuntimeInSeconds={timeout}", step=name,
                            field="Arguments.StoppingCondition") from None
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise PipelineError(f"processing job failed (exit {result.returncode}): {_failure(result, root)}", step=name,
                            field=f"Arguments.AppSpecification ({script})")
    uploaded = {}
    for output in outputs:
        local = Path(container_path(output["S3Output"]["LocalPath"], root))
        uri = output["S3Output"]["S3Uri"]
        uploaded[output["OutputName"]] = {"uri": uri, "objects": ws.storage.upload_dir(local, uri)}
    property_files = _property_files(step, outputs, ws)
    properties = {
        **args,
        "ProcessingJobName": job_name(ws.execution_id, name),
        "ProcessingJobStatus": "Completed",
        "ExitMessage": "",
    }
    cluster = args.get("ProcessingResources", {}).get("ClusterConfig", {})
    detail = {"script": script, "inputs": downloaded, "outputs": uploaded, "job_seconds": seconds,
              "instance_type": cluster.get("InstanceType"), "instance_count": int(cluster.get("InstanceCount", 1)),
              "engine": "pyspark local mode" if spark else "python",
              "stdout_tail": result.stdout.strip().splitlines()[-3:]}
    return StepOutcome(properties, property_files, detail)


def _download_inputs(name: str, args: dict, ws: Workspace, root: Path) -> dict[str, str]:
    downloaded = {}
    for index, entry in enumerate(args.get("ProcessingInputs", [])):
        field = f"Arguments.ProcessingInputs[{index}]"
        if "DatasetDefinition" in entry:
            downloaded[entry.get("InputName", str(index))] = _dataset_definition(
                name, entry["DatasetDefinition"], ws, root, f"{field}.DatasetDefinition")
            continue
        s3 = entry.get("S3Input")
        if s3 is None:
            raise PipelineError("the input has neither S3Input nor DatasetDefinition", step=name, field=field)
        if s3.get("S3CompressionType", "None") != "None" or s3.get("S3InputMode", "File") != "File":
            raise PipelineError("only File mode, uncompressed inputs are supported locally", step=name,
                                field=f"{field}.S3Input")
        local = Path(container_path(s3["LocalPath"], root))
        try:
            files = ws.storage.download_prefix(s3["S3Uri"], local)
        except ValueError as exc:
            raise PipelineError(str(exc), step=name, field=f"{field}.S3Input.S3Uri") from None
        if not files:
            raise PipelineError(f"no objects under {s3['S3Uri']} (input {entry.get('InputName')!r})", step=name,
                                field=f"{field}.S3Input.S3Uri")
        downloaded[entry.get("InputName", str(index))] = s3["S3Uri"]
    return downloaded


def _dataset_definition(name: str, dataset: dict, ws: Workspace, root: Path, field: str) -> str:
    """SageMaker runs the query before the job starts and downloads its result to ``LocalPath``; so does this,
    with DuckDB standing in for Athena. Redshift has no local stand-in."""
    if "RedshiftDatasetDefinition" in dataset:
        raise PipelineError("a Redshift query cannot run locally (no Redshift engine here); its definition is"
                            " checked against botocore only: use the s3 or athena source for local runs",
                            step=name, field=f"{field}.RedshiftDatasetDefinition")
    if "AthenaDatasetDefinition" not in dataset:
        raise PipelineError("a DatasetDefinition needs AthenaDatasetDefinition or RedshiftDatasetDefinition",
                            step=name, field=field)
    if dataset.get("InputMode", "File") != "File":
        raise PipelineError("only File mode is supported locally", step=name, field=f"{field}.InputMode")
    query = athena.run_query(dataset["AthenaDatasetDefinition"], glue=ws.glue, storage=ws.storage, step=name,
                             field=f"{field}.AthenaDatasetDefinition", log=ws.log)
    ws.storage.download_prefix(query["prefix"], Path(container_path(dataset["LocalPath"], root)))
    return f"athena:{query['database']} ({query['rows']} rows on {athena.ENGINE}) -> {query['result']}"


def _entrypoint(name: str, spec: dict, root: Path) -> tuple[str, Path, list[str]]:
    """(script, its directory, its arguments) from ContainerEntrypoint + ContainerArguments.

    Two shapes are understood: ``python3 <script.py> ...`` and the ``/bin/sh -c`` launcher
    that unpacks the code tarball (``tar -xzf <tarball> -C <dir> && cd <dir> && python3 <script>``).
    """
    field = "Arguments.AppSpecification.ContainerEntrypoint"
    entry = [str(v) for v in spec.get("ContainerEntrypoint", [])]
    arguments = [str(v) for v in spec.get("ContainerArguments", [])]
    if len(entry) >= 3 and entry[0].endswith("sh") and entry[1] == "-c":
        tokens = shlex.split(entry[2])
        tarball, target, cwd, script = _value_after(tokens, "-xzf"), _value_after(tokens, "-C"), \
            _value_after(tokens, "cd"), _python_script(tokens)
        if tarball and target:
            extract(Path(container_path(tarball, root)), Path(container_path(target, root)),
                    step=name, field=field)
        if script is None:
            raise PipelineError(f"cannot find 'python3 <script>.py' in {entry[2]!r}", step=name, field=field)
        if cwd and script.startswith(cwd.rstrip("/") + "/"):
            script = script[len(cwd.rstrip("/")) + 1:]
        directory = Path(container_path(cwd, root)) if cwd else root
        # With sh -c, "$@" is everything after "$0" (entry[3]); the job's arguments follow.
        return script, directory, [*entry[4:], *arguments]
    script = _python_script(entry)
    if script is None:
        raise PipelineError(f"cannot tell which Python script {entry} runs", step=name, field=field)
    local = Path(container_path(script, root))
    rest = entry[entry.index(script) + 1:]
    return local.name, local.parent, [*rest, *arguments]


def _runs_spark(spec: dict) -> bool:
    return any(SPARK_SUBMIT in str(token) for token in spec.get("ContainerEntrypoint", []))


def _value_after(tokens: list[str], flag: str) -> str | None:
    for index, token in enumerate(tokens[:-1]):
        if token == flag:
            return tokens[index + 1]
    return None


def _python_script(tokens: list[str]) -> str | None:
    """The script after ``python3`` or the Spark image's ``smspark-submit`` (run locally by plain Python:
    PySpark then starts in local mode)."""
    for index, token in enumerate(tokens[:-1]):
        if token.rsplit("/", 1)[-1] in ("python", "python3", SPARK_SUBMIT) and tokens[index + 1].endswith(".py"):
            return tokens[index + 1]
    return None


def _source(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _failure(result: local_runner.Result, root: Path) -> str:
    for candidate in (root / "output" / "message", root / "output" / "failure"):
        if candidate.is_file() and candidate.read_text().strip():
            return candidate.read_text().strip()
    return result.last_stderr_line or "(no output)"


def _property_files(step: dict, outputs: list[dict], ws: Workspace) -> dict:
    files = {}
    by_name = {o["OutputName"]: o for o in outputs}
    for index, spec in enumerate(step.get("PropertyFiles", [])):
        field = f"PropertyFiles[{index}]"
        output = by_name.get(spec.get("OutputName"))
        if output is None:
            raise PipelineError(f"OutputName {spec.get('OutputName')!r} is not an output of the step"
                                f" ({sorted(by_name)})", step=step["Name"], field=f"{field}.OutputName")
        uri = f"{output['S3Output']['S3Uri'].rstrip('/')}/{spec['FilePath']}"
        try:
            files[spec["PropertyFileName"]] = json.loads(ws.storage.read(uri))
        except Exception as exc:  # noqa: BLE001 - missing object or bad JSON: both are this field's fault
            raise PipelineError(f"cannot read {uri} as JSON ({type(exc).__name__}: {exc})", step=step["Name"],
                                field=f"{field}.FilePath") from None
    return files
