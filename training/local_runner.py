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

Python::

    from training.local_runner import run_training, run_processing
    result = run_training("train.py", channels={"train": "data/train.csv"},
                          hyperparameters={"num_round": 10})
    result.returncode, result.model_dir, result.failure

CLI::

    python -m training.local_runner train.py --channel train=data/ --hp num_round=10
    python -m training.local_runner preprocess.py --processing --input raw=data/ \\
        --output train -- --input-dir /opt/ml/processing/input/raw --output-dir /opt/ml/processing/output/train
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
from collections.abc import Mapping, Sequence
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

    @property
    def failure(self) -> str | None:
        """The failure file's reason, as ``DescribeTrainingJob`` would show it (None if absent)."""
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


def _place(source: Path, target: Path, copy: bool) -> None:
    """Put a file or directory at ``target``: symlink (fast) or copy (isolated)."""
    source = Path(source).resolve()
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist")
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

    def start(self, **popen_kwargs) -> subprocess.Popen:
        popen_kwargs.setdefault("stdout", subprocess.PIPE)
        popen_kwargs.setdefault("stderr", subprocess.PIPE)
        return subprocess.Popen(self.command, cwd=self.cwd, env=self.env, text=True, **popen_kwargs)

    def run(self, timeout: float | None = DEFAULT_TIMEOUT, capture: bool = True) -> Result:
        if capture:
            done = subprocess.run(self.command, cwd=self.cwd, env=self.env, text=True, capture_output=True,
                                  timeout=timeout, check=False)
            self.result.stdout, self.result.stderr = done.stdout, done.stderr
        else:
            done = subprocess.run(self.command, cwd=self.cwd, env=self.env, timeout=timeout, check=False)
        self.result.returncode = done.returncode
        return self.result

    def finish(self, process: subprocess.Popen, timeout: float | None = DEFAULT_TIMEOUT) -> Result:
        """Wait for a started process and record its output."""
        stdout, stderr = process.communicate(timeout=timeout)
        self.result.returncode, self.result.stdout, self.result.stderr = process.returncode, stdout, stderr
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
) -> Job:
    """Lay out the container file system for one host and build its command and environment."""
    root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="sm-local-"))
    root.mkdir(parents=True, exist_ok=True)
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
            if source.is_dir():
                _place(source, target, copy_data)
            else:
                # A single file still arrives inside a channel directory in the container.
                target.mkdir(parents=True)
                _place(source, target / source.name, copy_data)
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
    cwd = _prepare_source(Path(source_dir), root, copy_source)
    command = [python, entry_point, *user_args]
    process_env = _clean_env({**sm_env, **(env or {})})
    result = Result(
        None, "", "", root, command, process_env,
        model_dir=model_dir, output_dir=output_dir, output_data_dir=output_data_dir,
        checkpoint_dir=local_checkpoints if checkpoint else None,
        inputs=channel_dirs,
    )  # fmt: skip
    return Job(command, cwd, process_env, result)


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
    root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="sm-local-cluster-"))
    hosts = list(host_channels)
    extra = {"SMXGB_TRACKER_HOST": "127.0.0.1", "SMXGB_TRACKER_PORT": str(free_port()), **(env or {})}
    jobs = [
        prepare_training(entry_point, channels=channels, root=root / host, hosts=hosts, current_host=host,
                         env=extra, **kwargs)
        for host, channels in host_channels.items()
    ]
    processes = [job.start() for job in jobs]
    try:
        return [job.finish(process, timeout) for job, process in zip(jobs, processes, strict=True)]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


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
) -> Job:
    """Lay out a processing job: ``inputs`` {dest: local source}, ``outputs`` [dest].

    ``dest`` is a name under ``/opt/ml/processing/{input,output}/`` or a full
    container path. ``/opt/ml/...`` in ``args`` point at the same directories.
    """
    root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="sm-local-processing-"))
    root.mkdir(parents=True, exist_ok=True)
    input_dirs = {}
    for dest, source in (inputs or {}).items():
        target = _processing_dir(dest, "input", root)
        if not target.exists():
            _place(Path(source), target, copy_data)
        input_dirs[dest] = target
    output_dirs = {}
    for dest in outputs:
        target = _processing_dir(dest, "output", root)
        target.mkdir(parents=True, exist_ok=True)
        output_dirs[dest] = target
    cwd = _prepare_source(Path(source_dir), root, copy_source)
    command = [python, script, *(_container_path(a, root) for a in args)]
    process_env = _clean_env(env)
    result = Result(None, "", "", root, command, process_env, inputs=input_dirs, outputs=output_dirs)
    return Job(command, cwd, process_env, result)


def run_processing(script: str, *, timeout: float | None = DEFAULT_TIMEOUT, capture: bool = True,
                   **kwargs) -> Result:
    """Prepare and run a processing script to completion; see :func:`prepare_processing`."""
    return prepare_processing(script, **kwargs).run(timeout=timeout, capture=capture)


def parse_pairs(values: Sequence[str], flag: str) -> dict[str, str]:
    """``["a=1", "b=2"]`` -> ``{"a": "1", "b": "2"}``; a bad item exits naming the flag."""
    out = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name:
            raise SystemExit(f"{flag} expects name=value, got {value!r}")
        out[name] = rest
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.local_runner",
        description="Run a training/ entry script as the SageMaker container would, under a local /opt/ml root.",
    )
    parser.add_argument("entry_point", help="script inside the source dir, e.g. train.py or preprocess.py")
    parser.add_argument("--source-dir", default=str(SOURCE_DIR), help="directory shipped to the container")
    parser.add_argument("--root", help="emulated /opt/ml (default: a new temporary directory)")
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
    parser.add_argument("args", nargs="*", help="processing script arguments (after --)")
    options = parser.parse_args(argv)

    if options.processing:
        result = run_processing(options.entry_point, inputs=parse_pairs(options.input, "--input"),
                                outputs=options.output,
                                args=options.args, source_dir=options.source_dir, root=options.root,
                                timeout=options.timeout, capture=False)
        outputs = json.dumps({k: str(v) for k, v in result.outputs.items()})
        print(f"local_runner: exit {result.returncode}; outputs {outputs}", file=sys.stderr)
        return result.returncode or 0
    channels = parse_pairs(options.channel, "--channel")
    common = dict(hyperparameters=parse_pairs(options.hp, "--hp"), source_dir=options.source_dir,
                  checkpoint=options.checkpoint, content_types=parse_pairs(options.content_type, "--content-type"))
    if options.hosts > 1:
        hosts = [f"algo-{i + 1}" for i in range(options.hosts)]
        results = run_cluster(options.entry_point, host_channels=dict.fromkeys(hosts, channels), root=options.root,
                              timeout=options.timeout, **common)
        for host, result in zip(hosts, results, strict=True):
            sys.stdout.write(result.stdout)
            sys.stderr.write(result.stderr)
            print(f"local_runner: {host} exit {result.returncode}", file=sys.stderr)
        return max(r.returncode or 0 for r in results)
    result = run_training(options.entry_point, channels=channels, root=options.root, timeout=options.timeout,
                          capture=False, **common)
    print(f"local_runner: exit {result.returncode}; model {result.model_dir}; output {result.output_dir}",
          file=sys.stderr)
    return result.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
