"""Run training/ inside a reproduction of the SageMaker XGBoost image's Python, offline.

The image environment (``.image-venv``, built by ``tests/image/build_env.sh``) holds
the image's Python packages and the real sagemaker-containers toolkit. Each run gets
its own overlay venv on top of it, because the toolkit ``pip install``s the user
code into the running interpreter and parallel runs must not share that.

Every run is offline as a network-isolated job is: no package index answers
(``unshare -n`` where the machine allows it, and in any case pip's index points at
a closed port and the machine's pip configuration - local find-links and extra
indexes - is switched off, so nothing on disk stands in for the missing index).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGE_VENV = REPO_ROOT / ".image-venv"
STAMP = IMAGE_VENV / ".setup-stamp"
HERE = Path(__file__).resolve().parent
CONTAINER_ROOT = "/opt/ml"
#: The ENV lines of the image's Dockerfile that the toolkit and the stand-in read.
IMAGE_ENV = {
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "PYTHONIOENCODING": "utf-8",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "SM_INPUT": "/opt/ml/input",
    "SM_INPUT_TRAINING_CONFIG_FILE": "/opt/ml/input/config/hyperparameters.json",
    "SM_INPUT_DATA_CONFIG_FILE": "/opt/ml/input/config/inputdataconfig.json",
    "SM_CHECKPOINT_CONFIG_FILE": "/opt/ml/input/config/checkpointconfig.json",
    "SM_MODEL_DIR": "/opt/ml/model",
    "SAGEMAKER_TRAINING_MODULE": "sagemaker_xgboost_container.training:main",
    "SAGEMAKER_SERVING_MODULE": "sagemaker_xgboost_container.serving:main",
}
#: An address nothing listens on: pip's index, so that reaching it fails at once.
UNREACHABLE_INDEX = "http://127.0.0.1:9/simple"


def image_python() -> Path:
    return IMAGE_VENV / "bin" / "python"


def image_env_missing() -> str | None:
    """Why the image environment cannot be used, or ``None`` when it is built."""
    if not STAMP.is_file() or not image_python().is_file():
        return f"the image environment is not built; run `make {IMAGE_VENV.name}/{STAMP.name}` (make test does)"
    return None


def _network_isolation() -> list[str]:
    if shutil.which("unshare") is None:
        return []
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    return ["unshare", "-n"] if probe.returncode == 0 else []


def in_container(path: str, root: Path) -> str:
    """``/opt/ml/...`` -> the same path under ``root``."""
    if path == CONTAINER_ROOT or path.startswith(CONTAINER_ROOT + "/"):
        return str(root) + path[len(CONTAINER_ROOT):]
    return path


def offline_environment(root: Path, container_env: dict[str, str]) -> dict[str, str]:
    """The process environment of the container: the image's ENV, the job's Environment, no index."""
    keep = ("PATH", "HOME", "TMPDIR", "SYSTEMROOT")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update({name: in_container(value, root) for name, value in IMAGE_ENV.items()})
    env.update({name: in_container(value, root) for name, value in container_env.items()})
    env["SAGEMAKER_BASE_DIR"] = str(root)  # the toolkit's own switch away from /opt/ml
    env.update({
        "PIP_CONFIG_FILE": os.devnull,  # no /etc/pip.conf, /etc/xdg/pip, ~/.config/pip (local wheels)
        "PIP_INDEX_URL": UNREACHABLE_INDEX,
        "PIP_RETRIES": "0",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    })
    return env


def overlay_python(directory: Path) -> Path:
    """A fresh venv that sees the image environment's packages and installs into itself."""
    # Created by the image's Python, so it runs the same base interpreter (a venv of a venv
    # points at the base one); pip comes from the image environment through the .pth below.
    subprocess.run([str(image_python()), "-m", "venv", "--without-pip", str(directory)], check=True,
                   capture_output=True)
    python = directory / "bin" / "python"
    image_site = _site(image_python())
    # addsitedir (not a bare path) so the image's own .pth files (setuptools' distutils shim,
    # the stand-in) take effect, as they do inside the image.
    (_site(python) / "image_env.pth").write_text(f"import site; site.addsitedir({str(image_site)!r})\n")
    return python


def _site(python: Path) -> Path:
    venv = python.parent.parent
    version = subprocess.run([str(image_python()), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    return venv / "lib" / f"python{version}" / "site-packages"


def run(python: Path, args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the image's Python offline, from ``/`` (the image sets no WORKDIR)."""
    return subprocess.run([*_network_isolation(), str(python), *args], env=env, cwd="/", capture_output=True,
                          text=True, timeout=timeout, check=False)


# ------------------------------------------------------------------ training


@dataclass(frozen=True)
class TrainingRun:
    process: subprocess.CompletedProcess
    root: Path

    @property
    def log(self) -> str:
        return self.process.stdout + self.process.stderr

    @property
    def model_dir(self) -> Path:
        return self.root / "model"


def trial_hyperparameters(job_definition: dict, tuning_config: dict) -> dict[str, str]:
    """What SageMaker writes to hyperparameters.json for one trial: static + a point in the ranges.

    Every value is a string (the API's type); the tuner adds ``_tuning_objective_metric``.
    """
    values = dict(job_definition["StaticHyperParameters"])
    # Several definitions carry their own ranges and objective; one definition leaves them to the tuning job.
    ranges = job_definition.get("HyperParameterRanges") or tuning_config["ParameterRanges"]
    for entry in ranges.get("IntegerParameterRanges", []):
        values[entry["Name"]] = str((int(entry["MinValue"]) + int(entry["MaxValue"])) // 2)
    for entry in ranges.get("ContinuousParameterRanges", []):
        low, high = float(entry["MinValue"]), float(entry["MaxValue"])
        values[entry["Name"]] = repr(low + (high - low) / 4)
    objective = job_definition.get("TuningObjective") or tuning_config["HyperParameterTuningJobObjective"]
    values["_tuning_objective_metric"] = objective["MetricName"]
    return values


def input_data_config(job_definition: dict) -> dict:
    """inputdataconfig.json as SageMaker writes it from the job's InputDataConfig."""
    config = {}
    default_mode = job_definition["AlgorithmSpecification"]["TrainingInputMode"]
    for channel in job_definition["InputDataConfig"]:
        entry = {
            "TrainingInputMode": channel.get("InputMode", default_mode),
            "S3DistributionType": channel["DataSource"]["S3DataSource"]["S3DataDistributionType"],
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
        }
        if "ContentType" in channel:
            entry["ContentType"] = channel["ContentType"]
        config[channel["ChannelName"]] = entry
    return config


def lay_out_training(root: Path, job_definition: dict, hyperparameters: dict[str, str],
                     channels: dict[str, Path], code_file: tuple[str, bytes]) -> None:
    """``/opt/ml`` of one trial under ``root``: config files, data channels, the code channel."""
    config = root / "input" / "config"
    config.mkdir(parents=True)
    # SageMaker mounts these before the container starts; the toolkit writes its
    # success/failure file into output/ and only reports a failure if it can.
    for directory in ("model", "output/data", "checkpoints"):
        (root / directory).mkdir(parents=True)
    rooted = {name: in_container(value, root) for name, value in hyperparameters.items()}
    (config / "hyperparameters.json").write_text(json.dumps(rooted))
    (config / "inputdataconfig.json").write_text(json.dumps(input_data_config(job_definition)))
    instance_type = "ml.m5.large"
    (config / "resourceconfig.json").write_text(json.dumps({
        "current_host": "algo-1", "current_instance_type": instance_type, "current_group_name": "homogeneousCluster",
        "hosts": ["algo-1"], "network_interface_name": "eth0",
        "instance_groups": [{"instance_group_name": "homogeneousCluster", "instance_type": instance_type,
                             "hosts": ["algo-1"]}],
    }))
    checkpoint = job_definition.get("CheckpointConfig")
    if checkpoint:
        (config / "checkpointconfig.json").write_text(json.dumps(
            {"LocalPath": in_container(checkpoint["LocalPath"], root), "S3Path": "s3://checkpoints/trial"}))
    data = root / "input" / "data"
    for name, source in channels.items():
        (data / name).mkdir(parents=True)
        shutil.copy2(source, data / name / source.name)
    code_name, code_bytes = code_file
    (data / "code").mkdir(parents=True)
    (data / "code" / code_name).write_bytes(code_bytes)


def run_training(root: Path, job_definition: dict, overlay: Path) -> TrainingRun:
    """The image's ``train`` command (sagemaker-containers' CLI) with the job's Environment."""
    env = offline_environment(root, job_definition.get("Environment", {}))
    process = run(overlay_python(overlay), ["-m", "sagemaker_containers.cli.train"], env)
    return TrainingRun(process, root)


def package_model(model_dir: Path, target: Path) -> Path:
    """model.tar.gz as SageMaker uploads it: the model directory's contents at the archive root."""
    with tarfile.open(target, "w:gz") as tar:
        for entry in sorted(model_dir.iterdir()):
            tar.add(entry, arcname=entry.name)
    return target


# ------------------------------------------------------------------ serving


@dataclass(frozen=True)
class Served:
    """What the driver saw: the start-up error (if any), else one response per request."""

    start_up_error: str | None
    responses: list[dict]
    log: str


def serve(root: Path, model_tarball: Path, container_env: dict[str, str], requests: list[dict],
          overlay: Path) -> Served:
    """Extract the artifact to ``/opt/ml/model`` as SageMaker does, start the image's server, send ``requests``."""
    model_dir = root / "model"
    model_dir.mkdir(parents=True)
    with tarfile.open(model_tarball) as tar:
        tar.extractall(model_dir, filter="data")
    exchange = root.parent / f"{root.name}-exchange"
    exchange.mkdir()
    (exchange / "requests.json").write_text(json.dumps(requests))
    env = offline_environment(root, container_env)
    process = run(overlay_python(overlay), [str(HERE / "drive_serving.py"), str(exchange)], env)
    log = process.stdout + process.stderr
    result_file = exchange / "responses.json"
    if not result_file.is_file():
        raise AssertionError(f"the serving driver wrote no responses (exit {process.returncode}):\n{log[-4000:]}")
    result = json.loads(result_file.read_text())
    return Served(result.get("start_up_error"), result.get("responses", []), log)
