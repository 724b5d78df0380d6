"""The data scientist's notebook, executed end to end (nbclient + ipykernel) against the emulator.

The stacks it needs are deployed to moto through the CDK CLI, the breast-cancer
set goes into the raw bucket, and the notebook runs as on the workbench, with
``MLP_NOTEBOOK_MODE=local``: the pipeline through ``tools.pipeline_runner`` and
scoring through the serving handlers, since the emulator runs no SageMaker job.
"""

from __future__ import annotations

import time

import nbformat
import pytest
from nbclient import NotebookClient

from stacks.config import ENVIRONMENTS
from tests.conftest import REPO_ROOT
from tools.demo.__main__ import write_dataset
from tools.emulator import Emulator

pytestmark = pytest.mark.slow

NOTEBOOK = REPO_ROOT / "notebooks" / "data_scientist.ipynb"
CONFIG = ENVIRONMENTS["dev"]
STACKS = [CONFIG.stack_name(unit) for unit in ("data", "network", "access", "registry", "pipeline")]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("notebook")
    with Emulator(account_id=CONFIG.account, region=CONFIG.region) as emu:
        emu.bootstrap()
        emu.deploy(REPO_ROOT, stacks=STACKS, output_dir=scratch / "assembly")
        data = write_dataset(scratch / "breast_cancer.csv")
        emu.client("s3").upload_file(str(data), CONFIG.bucket_name("raw"), "input/breast_cancer.csv")
        notebook = nbformat.read(NOTEBOOK, as_version=4)
        env = {**emu.env(), "MLP_ENV": "dev", "MLP_NOTEBOOK_MODE": "local", "MLP_REPO": str(REPO_ROOT),
               "MLP_ASSEMBLY": str(scratch / "assembly"), "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
        client = NotebookClient(notebook, kernel_name="python3", timeout=900,
                                resources={"metadata": {"path": str(scratch)}})
        started = time.perf_counter()
        client.execute(env=env)  # raises CellExecutionError on the first failing cell
        seconds = time.perf_counter() - started
        print(f"\nnotebook executed in {seconds:.1f} s")
        yield notebook, emu


def _text(notebook) -> str:
    return "\n".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                     for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", []))


def test_every_cell_runs_and_reads_the_raw_data(executed):
    notebook, _ = executed
    assert all(o.get("output_type") != "error" for c in notebook.cells for o in c.get("outputs", []))
    assert "input/breast_cancer.csv: 569 rows, 30 features" in _text(notebook)


def test_the_plot_is_drawn(executed):
    notebook, _ = executed
    images = [o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 1


def test_the_pipeline_ran_and_its_evaluation_report_is_read(executed):
    text = _text(executed[0])
    assert "pipeline mlp-dev-xgboost-training: Succeeded" in text
    assert "RegisterModel        Succeeded" in text
    assert "version 1 (PendingManualApproval): AUC 0." in text


def test_the_adhoc_tuning_job_keeps_the_guardrails(executed):
    # GIVEN the tuning job the notebook started  THEN it has every setting the notebook role's policy demands
    _, emu = executed
    sm = emu.client("sagemaker")
    (summary,) = sm.list_hyper_parameter_tuning_jobs(NameContains="mlp-dev-adhoc-")["HyperParameterTuningJobSummaries"]
    job = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=summary["HyperParameterTuningJobName"])
    (definition,) = job.get("TrainingJobDefinitions") or [job["TrainingJobDefinition"]]  # one approach
    assert definition["EnableNetworkIsolation"] is True
    assert definition["EnableInterContainerTrafficEncryption"] is True
    assert definition["RoleArn"] == CONFIG.role_arn("training")
    assert definition["OutputDataConfig"]["KmsKeyId"].startswith(f"arn:aws:kms:{CONFIG.region}:{CONFIG.account}:key/")
    assert definition["ResourceConfig"]["VolumeKmsKeyId"] == definition["OutputDataConfig"]["KmsKeyId"]
    assert job["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 4
    depth = next(r for r in definition.get("HyperParameterRanges", job["HyperParameterTuningJobConfig"].get(
        "ParameterRanges", {}))["IntegerParameterRanges"] if r["Name"] == "max_depth")
    assert depth["MaxValue"] == "5"


def test_rows_are_scored(executed):
    notebook, _ = executed
    scored = notebook.cells[-1].outputs[-1]["data"]["text/plain"]
    assert len(scored.strip().splitlines()) == 6  # header and five rows
