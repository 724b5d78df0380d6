"""Run any entry script in ``training/`` on a laptop exactly as the SageMaker container would.

Training (script mode): lays out ``/opt/ml`` under a temporary root
(``input/config/*.json``, ``input/data/<channel>``, ``model``, ``output/data``,
``checkpoints``), copies the source directory to ``<root>/code``, sets the
``SM_*`` variables the training toolkit sets, passes hyperparameters as
``--name value`` and runs the script with ``cwd`` = source directory and the
same Python. Several hosts run as several processes on 127.0.0.1.

Processing: lays out ``/opt/ml/processing/input/<name>`` and output
directories under the root, rewrites ``/opt/ml/...`` paths in the script's
arguments to the root, and runs the script the same way.

Both set ``SMXGB_OPT_ML`` to the root, so a script's own default paths
(``/opt/ml/processing/...``, ``/opt/ml/output``) also land inside it: nothing
is written under the real ``/opt/ml``.

A temporary root (no ``root``/``--root`` given) is removed when the run ends,
whether it succeeded or failed, unless ``keep=True``, ``--keep`` or
``SMXGB_KEEP_ROOT=1`` asks to keep it; the CLI then prints where it is. A
root you name is yours and is never removed.

Python::

    from training.local_runner import run_training, run_processing
    result = run_training("train.py", channels={"train": "data/train.csv"},
                          hyperparameters={"num_round": 10}, root="runs/first")
    result.returncode, result.model_dir, result.failure

CLI (bad input to the runner itself: one ``FAILURE:`` line, exit 2)::

    python -m training.local_runner train.py --channel train=data/train/ --hp num_round=10 --keep
    python -m training.local_runner preprocess.py --processing --input raw=data/raw/ --keep \\
        -- --input-dir /opt/ml/processing/input/raw --label-column label
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SOURCE_DIR = Path(__file__).resolve().parent
CONTAINER_ROOT = "/opt/ml"
DEFAULT_TIMEOUT = 600
_COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "local_runner.py")
# The toolkit drops these from SM_USER_ARGS: they configure the toolkit itself.
_TOOLKIT_PREFIX = "sagemaker_"
# Inherited variables that would leak the caller's job into the emulated one.
_INHERITED_PREFIXES = ("SM_", "SMXGB_")
#: Set in the child to the root: the scripts' default /opt/ml paths resolve under it (smxgb.env.OPT_ML_ENV).
OPT_ML_ENV = "SMXGB_OPT_ML"
#: ``SMXGB_KEEP_ROOT=1`` keeps a temporary root, like ``--keep``.
KEEP_ENV = "SMXGB_KEEP_ROOT"
FAILURE_PREFIX = "FAILURE: "


class RunnerError(Exception):
    """Bad input to the runner itself (a missing data path, a malformed flag); the message names the fix."""


@dataclass
class Result:
    """One finished (or started) process and the emulated container paths it used."""

    returncode: int | None
    stdout: str
    stderr: str
    root: Path
    command: list[str]
    env: dict[str, str] = field(repr=False)
    model_dir: Path | None = None
    output_dir: Path | None = None
    output_data_dir: Path | None = None
    checkpoint_dir: Path | None = None
    inputs: dict[str, Path] = field(default_factory=dict)
    outputs: dict[str, Path] = field(default_factory=dict)
    #: False once a temporary root was removed (its paths are then gone; ``failure`` was read before).
    kept: bool = True
    _failure: str | None = field(default=None, repr=False)

    @property
    def failure(self) -> str | None:
        """The failure file's reason, as ``DescribeTrainingJob`` would show it (None if absent)."""
        if not self.kept:
            return self._failure
        if self.output_dir is None:
            return None
        path = self.output_dir / "failure"
        return path.read_text().strip() if path.is_file() else None

    @property
    def last_stderr_line(self) -> str:
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _hp_string(value: Any) -> str:
    # SageMaker stores every hyperparameter as a string; JSON for containers.
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def _decoded(value: str) -> Any:
    # SM_HPS carries values JSON-decoded where possible, as the toolkit does.
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _keep_requested(keep: bool | None) -> bool:
    if keep is not None:
        return keep
    return os.environ.get(KEEP_ENV, "").strip().lower() in ("1", "true", "yes")


def _new_root(root: str | os.PathLike | None, prefix: str) -> tuple[Path, bool]:
    """``(root, owned)``: a root we create is ours to remove."""
    if root is not None:
        # Absolute: the script runs with the source directory as its cwd, where a
        # relative root would name another folder.
        root = Path(root).expanduser().resolve()
        root.mkdir(parents=True, exist_ok=True)
        return root, False
    return Path(tempfile.mkdtemp(prefix=prefix)), True


def _place(source: Path, target: Path, copy: bool, what: str = "input") -> None:
    """Put a file or directory at ``target``: symlink (fast) or copy (isolated)."""
    source = Path(source).expanduser()
    if not source.exists():
        raise RunnerError(f"{what} path {source} does not exist; point it at an existing file or directory")
    source = source.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    if copy:
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    else:
        target.symlink_to(source, target_is_directory=source.is_dir())


def _clean_env(extra: Mapping[str, str] | None) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_PREFIXES)}
    base["PYTHONUNBUFFERED"] = "1"
    base.update(extra or {})
    return base


def _prepare_source(source_dir: Path, root: Path, copy_source: bool) -> Path:
    if not copy_source:
        return Path(source_dir).resolve()
    code = root / "code"
    if not code.exists():
        shutil.copytree(source_dir, code, ignore=_COPY_IGNORE)
    return code


@dataclass
class Job:
    """A prepared (not yet started) process: ``start()`` for a Popen, ``run()`` to wait."""

    command: list[str]
    cwd: Path
    env: dict[str, str]
    result: Result
    #: Remove ``result.root`` when the process ends (a temporary root nobody asked to keep).
    remove_root: bool = False

    def cleanup(self) -> None:
        """Remove a temporary root, keeping the failure reason; idempotent."""
        if not self.remove_root or not self.result.kept:
            return
        self.result._failure = self.result.failure
        shutil.rmtree(self.result.root, ignore_errors=True)
        self.result.kept = False

    def start(self, **popen_kwargs) -> subprocess.Popen:
        popen_kwargs.setdefault("stdout", subprocess.PIPE)
        popen_kwargs.setdefault("stderr", subprocess.PIPE)
        return subprocess.Popen(self.command, cwd=self.cwd, env=self.env, text=True, **popen_kwargs)

    def run(self, timeout: float | None = DEFAULT_TIMEOUT, capture: bool = True) -> Result:
        try:
            if capture:
                done = subprocess.run(self.command, cwd=self.cwd, env=self.env, text=True, capture_output=True,
                                      timeout=timeout, check=False)
                self.result.stdout, self.result.stderr = done.stdout, done.stderr
            else:
                done = subprocess.run(self.command, cwd=self.cwd, env=self.env, timeout=timeout, check=False)
            self.result.returncode = done.returncode
        finally:
            self.cleanup()
        return self.result

    def finish(self, process: subprocess.Popen, timeout: float | None = DEFAULT_TIMEOUT) -> Result:
        """Wait for a started process and record its output."""
        try:
            stdout, stderr = process.communicate(timeout=timeout)
            self.result.returncode, self.result.stdout, self.result.stderr = process.returncode, stdout, stderr
        finally:
            if process.poll() is not None:
                self.cleanup()
        return self.result


def prepare_training(
    entry_point: str = "train.py",
    *,
    channels: Mapping[str, str | os.PathLike] | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    source_dir: str | os.PathLike = SOURCE_DIR,
    root: str | os.PathLike | None = None,
    hosts: Sequence[str] = ("algo-1",),
    current_host: str | None = None,
    checkpoint: bool = False,
    checkpoint_dir: str | os.PathLike | None = None,
    content_types: Mapping[str, str] | None = None,
    num_cpus: int | None = None,
    num_gpus: int = 0,
    copy_source: bool = True,
    copy_data: bool = False,
    env: Mapping[str, str] | None = None,
    python: str = sys.executable,
    keep: bool | None = None,
) -> Job:
    """Lay out the container file system for one host and build its command and environment.

    Without ``root`` a temporary one is made and removed when the job ends, unless ``keep``
    (default: ``SMXGB_KEEP_ROOT``). Raises :class:`RunnerError` for a missing channel path.
    """
    return _in_root(root, "sm-local-", keep, lambda root: _prepare_training(
        entry_point, root=root, channels=channels, hyperparameters=hyperparameters, source_dir=source_dir,
        hosts=hosts, current_host=current_host, checkpoint=checkpoint, checkpoint_dir=checkpoint_dir,
        content_types=content_types, num_cpus=num_cpus, num_gpus=num_gpus, copy_source=copy_source,
        copy_data=copy_data, env=env, python=python))


def _in_root(root: str | os.PathLike | None, prefix: str, keep: bool | None, prepare: Callable[[Path], Job]) -> Job:
    """``prepare(root)`` in the given root or a new temporary one; a temporary root is removed if
    preparing fails, and marked for removal when the job ends unless kept."""
    root, owned = _new_root(root, prefix)
    try:
        job = prepare(root)
    except BaseException:
        if owned:
            shutil.rmtree(root, ignore_errors=True)
        raise
    job.remove_root = owned and not _keep_requested(keep)
    return job


def _prepare_training(entry_point, *, root: Path, channels, hyperparameters, source_dir, hosts, current_host,
                      checkpoint, checkpoint_dir, content_types, num_cpus, num_gpus, copy_source, copy_data, env,
                      python) -> Job:
    hosts = list(hosts)
    current_host = current_host or hosts[0]
    hyperparameters = {k: _hp_string(v) for k, v in (hyperparameters or {}).items()}
    channels = dict(channels or {})
    content_types = dict(content_types or {})

    input_dir, config_dir = root / "input", root / "input" / "config"
    data_dir = input_dir / "data"
    model_dir, output_dir = root / "model", root / "output"
    output_data_dir = output_dir / "data"
    for directory in (config_dir, data_dir, model_dir, output_data_dir):
        directory.mkdir(parents=True, exist_ok=True)

    channel_dirs = {}
    for name, source in channels.items():
        target = data_dir / name
        if not target.exists():
            source = Path(source)
            what = f"channel '{name}'"
            if source.is_dir():
                _place(source, target, copy_data, what)
            else:
                # A single file still arrives inside a channel directory in the container.
                _place(source, target / source.name, copy_data, what)
        channel_dirs[name] = target

    input_data_config = {
        name: {
            "TrainingInputMode": "File",
            "S3DistributionType": "ShardedByS3Key" if len(hosts) > 1 else "FullyReplicated",
            "RecordWrapperType": "None",
            **({"ContentType": content_types[name]} if name in content_types else {}),
        }
        for name in channels
    }
    resource_config = {"current_host": current_host, "hosts": hosts, "network_interface_name": "lo"}
    (config_dir / "hyperparameters.json").write_text(json.dumps(hyperparameters, indent=2))
    (config_dir / "inputdataconfig.json").write_text(json.dumps(input_data_config, indent=2))
    (config_dir / "resourceconfig.json").write_text(json.dumps(resource_config, indent=2))
    checkpoint_config = config_dir / "checkpointconfig.json"
    local_checkpoints = Path(checkpoint_dir) if checkpoint_dir else root / "checkpoints"
    if checkpoint:
        local_checkpoints.mkdir(parents=True, exist_ok=True)
        checkpoint_config.write_text(json.dumps({"LocalPath": str(local_checkpoints), "S3Uri": "s3://local/ckpt"}))

    user_args: list[str] = []
    for name, value in hyperparameters.items():
        if not name.startswith(_TOOLKIT_PREFIX):
            user_args += [f"--{name}", value]
    cpus = num_cpus or os.cpu_count() or 1
    sm_env = {
        "SM_MODEL_DIR": str(model_dir),
        "SM_OUTPUT_DIR": str(output_dir),
        "SM_OUTPUT_DATA_DIR": str(output_data_dir),
        "SM_INPUT_DIR": str(input_dir),
        "SM_INPUT_CONFIG_DIR": str(config_dir),
        "SM_INPUT_DATA_CONFIG": json.dumps(input_data_config),
        "SM_CHECKPOINT_CONFIG_FILE": str(checkpoint_config),
        "SM_CHANNELS": json.dumps(sorted(channels)),
        "SM_HPS": json.dumps({k: _decoded(v) for k, v in hyperparameters.items()}),
        "SM_USER_ARGS": json.dumps(user_args),
        "SM_HOSTS": json.dumps(hosts),
        "SM_CURRENT_HOST": current_host,
        "SM_NUM_CPUS": str(cpus),
        "SM_NUM_GPUS": str(num_gpus),
        "SM_RESOURCE_CONFIG": json.dumps(resource_config),
        "SM_MODULE_DIR": str(source_dir),
        "SM_USER_ENTRY_POINT": entry_point,
        "SM_FRAMEWORK_MODULE": "sagemaker_xgboost_container.training:main",
        "SM_LOG_LEVEL": "20",
        **{f"SM_CHANNEL_{name.upper()}": str(path) for name, path in channel_dirs.items()},
        **{f"SM_HP_{name.upper()}": value for name, value in hyperparameters.items()},
    }
    _check_entry_point(source_dir, entry_point)
    cwd = _prepare_source(Path(source_dir), root, copy_source)
    command = [python, entry_point, *user_args]
    process_env = _clean_env({OPT_ML_ENV: str(root), **sm_env, **(env or {})})
    result = Result(
        None, "", "", root, command, process_env,
        model_dir=model_dir, output_dir=output_dir, output_data_dir=output_data_dir,
        checkpoint_dir=local_checkpoints if checkpoint else None,
        inputs=channel_dirs,
    )  # fmt: skip
    return Job(command, cwd, process_env, result)


def _check_entry_point(source_dir: Path, entry_point: str) -> None:
    if not (Path(source_dir) / entry_point).is_file():
        scripts = sorted(p.name for p in Path(source_dir).glob("*.py") if p.name != "local_runner.py")
        raise RunnerError(
            f"entry point {entry_point!r} is not a file in the source dir {source_dir}; "
            f"use one of {', '.join(scripts) or '(no scripts there: check --source-dir)'}"
        )


def run_training(entry_point: str = "train.py", *, timeout: float | None = DEFAULT_TIMEOUT, capture: bool = True,
                 **kwargs) -> Result:
    """Prepare and run one training host to completion; see :func:`prepare_training` for arguments."""
    return prepare_training(entry_point, **kwargs).run(timeout=timeout, capture=capture)


def run_cluster(
    entry_point: str = "train.py",
    *,
    host_channels: Mapping[str, Mapping[str, str | os.PathLike]],
    root: str | os.PathLike | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
    **kwargs,
) -> list[Result]:
    """Run one process per host (``host_channels``: host -> its own channel shards) on 127.0.0.1.

    Every host gets its own root (``<root>/<host>``) as each instance has its
    own disk. ``algo-N`` names do not resolve on a laptop, so the tracker
    address is set with ``SMXGB_TRACKER_HOST=127.0.0.1`` and a free port with
    ``SMXGB_TRACKER_PORT``.
    """
    keep = kwargs.pop("keep", None)
    root, owned = _new_root(root, "sm-local-cluster-")
    hosts = list(host_channels)
    extra = {"SMXGB_TRACKER_HOST": "127.0.0.1", "SMXGB_TRACKER_PORT": str(free_port()), **(env or {})}
    processes: list[subprocess.Popen] = []
    try:
        jobs = [
            prepare_training(entry_point, channels=channels, root=root / host, hosts=hosts, current_host=host,
                             env=extra, **kwargs)
            for host, channels in host_channels.items()
        ]
        for job in jobs:
            job.remove_root = owned and not _keep_requested(keep)
        processes = [job.start() for job in jobs]
        return [job.finish(process, timeout) for job, process in zip(jobs, processes, strict=True)]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        if owned and not _keep_requested(keep):
            shutil.rmtree(root, ignore_errors=True)


def _container_path(value: str, root: Path) -> str:
    """``/opt/ml/processing/...`` -> ``<root>/processing/...``; other values unchanged."""
    if value == CONTAINER_ROOT or value.startswith(CONTAINER_ROOT + "/"):
        return str(root) + value[len(CONTAINER_ROOT):]
    if "=" in value:  # --flag=/opt/ml/...
        flag, _, rest = value.partition("=")
        return f"{flag}={_container_path(rest, root)}"
    return value


def _processing_dir(name: str, kind: str, root: Path) -> Path:
    if name.startswith("/"):
        return Path(_container_path(name, root))
    return root / "processing" / kind / name


def prepare_processing(
    script: str,
    *,
    inputs: Mapping[str, str | os.PathLike] | None = None,
    outputs: Sequence[str] = (),
    args: Sequence[str] = (),
    source_dir: str | os.PathLike = SOURCE_DIR,
    root: str | os.PathLike | None = None,
    copy_source: bool = True,
    copy_data: bool = False,
    env: Mapping[str, str] | None = None,
    python: str = sys.executable,
    keep: bool | None = None,
) -> Job:
    """Lay out a processing job: ``inputs`` {dest: local source}, ``outputs`` [dest].

    ``dest`` is a name under ``/opt/ml/processing/{input,output}/`` or a full
    container path. ``/opt/ml/...`` in ``args`` point at the same directories,
    and the script's default ``/opt/ml`` paths resolve under the root too.
    A temporary root is removed when the job ends unless ``keep``.
    """
    return _in_root(root, "sm-local-processing-", keep, lambda root: _prepare_processing(
        script, root=root, inputs=inputs, outputs=outputs, args=args, source_dir=source_dir,
        copy_source=copy_source, copy_data=copy_data, env=env, python=python))


def _prepare_processing(script, *, root: Path, inputs, outputs, args, source_dir, copy_source, copy_data, env,
                        python) -> Job:
    input_dirs = {}
    for dest, source in (inputs or {}).items():
        target = _processing_dir(dest, "input", root)
        if not target.exists():
            _place(Path(source), target, copy_data, f"processing input '{dest}'")
        input_dirs[dest] = target
    output_dirs = {}
    for dest in outputs:
        target = _processing_dir(dest, "output", root)
        target.mkdir(parents=True, exist_ok=True)
        output_dirs[dest] = target
    _check_entry_point(source_dir, script)
    cwd = _prepare_source(Path(source_dir), root, copy_source)
    command = [python, script, *(_container_path(a, root) for a in args)]
    process_env = _clean_env({OPT_ML_ENV: str(root), **(env or {})})
    result = Result(None, "", "", root, command, process_env, output_dir=root / "output", inputs=input_dirs,
                    outputs=output_dirs)
    return Job(command, cwd, process_env, result)


def run_processing(script: str, *, timeout: float | None = DEFAULT_TIMEOUT, capture: bool = True,
                   **kwargs) -> Result:
    """Prepare and run a processing script to completion; see :func:`prepare_processing`."""
    return prepare_processing(script, **kwargs).run(timeout=timeout, capture=capture)


def parse_pairs(values: Sequence[str], flag: str) -> dict[str, str]:
    """``["a=1", "b=2"]`` -> ``{"a": "1", "b": "2"}``; a bad item is a RunnerError naming the flag."""
    out = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name.strip():
            raise RunnerError(f"{flag} expects NAME=VALUE, got {value!r}; write it as {flag} name=value")
        out[name.strip()] = rest
    return out


class _Parser(argparse.ArgumentParser):
    """Argument errors are one FAILURE line and exit 2, like the scripts' own user errors."""

    def error(self, message: str):
        raise RunnerError(f"bad arguments: {message}; see python -m training.local_runner --help")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m training.local_runner",
        description="Run a training/ entry script as the SageMaker container would, under a local /opt/ml root.",
    )
    parser.add_argument("entry_point", help="script inside the source dir, e.g. train.py or preprocess.py")
    parser.add_argument("--source-dir", default=str(SOURCE_DIR), help="directory shipped to the container")
    parser.add_argument("--root", help="emulated /opt/ml, kept afterwards (default: a temporary directory, removed)")
    parser.add_argument("--keep", action="store_true",
                        help=f"keep the temporary root and print where it is (or set {KEEP_ENV}=1)")
    parser.add_argument("--channel", action="append", default=[], metavar="NAME=PATH", help="training input")
    parser.add_argument("--content-type", action="append", default=[], metavar="NAME=TYPE",
                        help="channel ContentType, e.g. train=text/csv")
    parser.add_argument("--hp", action="append", default=[], metavar="NAME=VALUE", help="hyperparameter")
    parser.add_argument("--hosts", type=int, default=1, help="emulated instances (shard channel dirs yourself)")
    parser.add_argument("--checkpoint", action="store_true", help="write checkpointconfig.json (managed spot)")
    parser.add_argument("--processing", action="store_true", help="run as a processing job")
    parser.add_argument("--input", action="append", default=[], metavar="DEST=PATH", help="processing input")
    parser.add_argument("--output", action="append", default=[], metavar="DEST", help="processing output")
    parser.add_argument("--timeout", type=float, default=None, help="seconds before the process is killed")
    parser.epilog = "Processing script arguments follow a lone --: ... --processing -- --input-dir /opt/ml/..."
    return parser


def _check_mode(options: argparse.Namespace) -> None:
    training_only = [flag for flag, value in (("--channel", options.channel), ("--hp", options.hp),
                                              ("--content-type", options.content_type),
                                              ("--checkpoint", options.checkpoint),
                                              ("--hosts", options.hosts != 1)) if value]
    processing_only = [flag for flag, value in (("--input", options.input), ("--output", options.output),
                                                ("script arguments after --", options.args)) if value]
    if options.processing and training_only:
        raise RunnerError(f"{training_only[0]} is for training jobs, not --processing; pass processing inputs as "
                          "--input DEST=PATH and script arguments after --")
    if not options.processing and processing_only:
        raise RunnerError(f"{processing_only[0]} is for processing jobs; add --processing, or use --channel and "
                          "--hp for a training job")
    if options.hosts < 1:
        raise RunnerError(f"--hosts must be at least 1, got {options.hosts}; pass the number of instances to emulate")
    if options.timeout is not None and options.timeout <= 0:
        raise RunnerError(f"--timeout must be a positive number of seconds, got {options.timeout:g}; "
                          "leave it out for no limit")


def _announce_root(root: Path, owned: bool, keep: bool) -> None:
    """Said before the run, so that a failing script's FAILURE line stays the last line."""
    if owned and keep:
        print(f"local_runner: root {root} (kept afterwards)", file=sys.stderr, flush=True)
    elif owned:
        print(f"local_runner: root {root} (temporary: removed afterwards; --keep or --root keeps it)",
              file=sys.stderr, flush=True)


def _run(options: argparse.Namespace) -> int:
    _check_mode(options)
    keep = _keep_requested(True if options.keep else None)
    owned = options.root is None
    if options.processing:
        job = prepare_processing(options.entry_point, inputs=parse_pairs(options.input, "--input"),
                                 outputs=options.output, args=options.args, source_dir=options.source_dir,
                                 root=options.root, keep=keep)
        _announce_root(job.result.root, owned, keep)
        result = job.run(timeout=options.timeout, capture=False)
        if result.returncode == 0:
            outputs = json.dumps({k: str(v) for k, v in result.outputs.items()})
            print(f"local_runner: done; root {result.root}; outputs {outputs}" if result.kept
                  else "local_runner: done", file=sys.stderr)
        return result.returncode or 0
    channels = parse_pairs(options.channel, "--channel")
    common = dict(hyperparameters=parse_pairs(options.hp, "--hp"), source_dir=options.source_dir,
                  checkpoint=options.checkpoint, content_types=parse_pairs(options.content_type, "--content-type"),
                  keep=keep)
    if options.hosts > 1:
        hosts = [f"algo-{i + 1}" for i in range(options.hosts)]
        results = run_cluster(options.entry_point, host_channels=dict.fromkeys(hosts, channels), root=options.root,
                              timeout=options.timeout, **common)
        for host, result in zip(hosts, results, strict=True):
            sys.stdout.write(result.stdout)
            sys.stderr.write(result.stderr)
            print(f"local_runner: {host} exit {result.returncode}", file=sys.stderr)
        failed = [r for r in results if r.returncode]
        if failed and failed[0].failure:
            # Hosts' logs are replayed one after another: repeat the first reason as the last line.
            print(FAILURE_PREFIX + failed[0].failure, file=sys.stderr, flush=True)
        return max(r.returncode or 0 for r in results)
    job = prepare_training(options.entry_point, channels=channels, root=options.root, **common)
    _announce_root(job.result.root, owned, keep)
    result = job.run(timeout=options.timeout, capture=False)
    if result.returncode == 0:
        print(f"local_runner: done; model {result.model_dir}; output {result.output_dir}" if result.kept
              else "local_runner: done", file=sys.stderr)
    return result.returncode or 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The runner's own options, and everything after the first ``--`` as the script's arguments."""
    argv = list(argv)
    split = argv.index("--") if "--" in argv else len(argv)
    options = build_parser().parse_args(argv[:split])
    options.args = argv[split + 1:]
    return options


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _run(parse_args(sys.argv[1:] if argv is None else argv))
    except RunnerError as error:
        print(FAILURE_PREFIX + " ".join(str(error).split()), file=sys.stderr, flush=True)
        return 2
    except subprocess.TimeoutExpired as expired:
        print(f"{FAILURE_PREFIX}the script ran longer than --timeout {expired.timeout:g} s and was stopped; "
              "raise --timeout or use less data", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
