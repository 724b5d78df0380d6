"""The monitoring pipeline: production checks as an ordinary processing job (Model Monitor is closed).

Two branches, chosen by the ``PublishBaselineUri`` parameter:

* ``none`` (the schedule's runs): ``Monitor`` runs ``training/monitor.py`` on
  what the model scored (``ScoredDataUri``: the endpoint's data capture in
  prod, batch-scoring outputs in dev; only the ``WindowHours`` before the
  run's start are read from capture) against the served version's baseline
  and the uploaded labels, both under the endpoint's fixed monitoring prefix
  (``s3://<models>/monitoring/<endpoint>/{baseline,ground-truth}/``), and
  writes ``drift.json`` under ``monitoring-reports/<endpoint>/<execution>/``.
* an S3 URI (a deployment's run): ``PublishBaseline`` checks that baseline and
  copies it to the fixed ``baseline/`` place, which is how scheduled runs find
  the served version's baseline without any lookup at synth.

The fixed prefix holds the baseline from the first publish on, so the
``Monitor`` step's monitoring input is never empty (a processing job refuses
an input prefix without objects).
"""

from __future__ import annotations

from stacks.config import MONITORING_PREFIX, MONITORING_REPORTS_PREFIX, MonitoringConfig
from stacks.pipeline_definition import contract
from stacks.pipeline_definition import parameters as p
from stacks.pipeline_definition.expressions import EXECUTION_ID, join, param
from stacks.pipeline_definition.jobs import s3_uri
from stacks.pipeline_definition.parameters import Parameter
from stacks.pipeline_definition.resources import PipelineResources
from stacks.pipeline_definition.steps import ROOT, _processing_job, _s3_input, _s3_output

MONITOR_SCRIPT = "monitor.py"
PUBLISH_BASELINE = "PublishBaselineUri"
SCORED_DATA = "ScoredDataUri"
WINDOW_HOURS = "WindowHours"
#: ``PublishBaselineUri`` of a scheduled run: nothing to publish, monitor.
NO_BASELINE = "none"
CHOOSE = "PublishOrMonitor"
MONITOR = "Monitor"
PUBLISH = "PublishBaseline"
REPORT_OUTPUT = "report"
BASELINE_OUTPUT = "baseline"
BASELINE_FOLDER = "baseline"
GROUND_TRUTH_FOLDER = "ground-truth"
START_TIME = {"Get": "Execution.StartDateTime"}


def problem_type(static_hyperparameters: tuple[tuple[str, str], ...]) -> str:
    """What the model predicts, from the training objective (quality figures depend on it)."""
    objective = dict(static_hyperparameters).get("objective", "binary:logistic")
    if objective.startswith(("binary:", "reg:logistic")) and objective != "binary:hinge":
        return "binary_classification"
    return "regression"


def monitoring_parameters(r: PipelineResources, *, scored_data_uri: str, window_hours: int) -> list[Parameter]:
    return [
        Parameter(PUBLISH_BASELINE, "String", NO_BASELINE),
        Parameter(SCORED_DATA, "String", scored_data_uri),
        Parameter(WINDOW_HOURS, "Integer", window_hours),
        Parameter(p.PROCESSING_INSTANCE_TYPE, "String", r.config.processing_instance_type),
        Parameter(p.PROCESSING_INSTANCE_COUNT, "Integer", 1),
    ]


def monitor_step(r: PipelineResources, m: MonitoringConfig, *, endpoint_name: str) -> dict:
    inputs_dir, scored_dir, out_dir = f"{ROOT}/monitoring", f"{ROOT}/scored", f"{ROOT}/{REPORT_OUTPUT}"
    monitoring_uri = s3_uri(r.model_bucket, MONITORING_PREFIX, endpoint_name)
    report_uri = s3_uri(r.model_bucket, MONITORING_REPORTS_PREFIX, endpoint_name, EXECUTION_ID)
    arguments = [
        "--baseline", f"{inputs_dir}/{BASELINE_FOLDER}",
        "--ground-truth-dir", f"{inputs_dir}/{GROUND_TRUTH_FOLDER}",
        "--capture-dir", scored_dir,
        "--output-dir", out_dir,
        "--window-end", START_TIME,
        # An Integer parameter, made a string as ContainerArguments must be (the SDK's to_string()).
        "--window-hours", join(param(WINDOW_HOURS), on=""),
        "--psi-threshold", str(m.psi_threshold),
        "--ks-alpha", str(m.ks_alpha),
        "--min-rows", str(m.min_rows),
        "--problem-type", problem_type(r.config.static_hyperparameters),
    ]  # fmt: skip
    return {
        "Name": MONITOR,
        "Type": "Processing",
        "Description": "Drift of what the model scored against the served version's baseline; quality on labels",
        "Arguments": _processing_job(
            r,
            MONITOR_SCRIPT,
            [_s3_input("monitoring", monitoring_uri, inputs_dir), _s3_input("scored", param(SCORED_DATA), scored_dir)],
            [_s3_output(REPORT_OUTPUT, report_uri, out_dir)],
            arguments,
            output_key_arn=r.model_key_arn,
        ),
    }


def publish_step(r: PipelineResources, *, endpoint_name: str) -> dict:
    new_dir, out_dir = f"{ROOT}/new-baseline", f"{ROOT}/{BASELINE_OUTPUT}"
    target = s3_uri(r.model_bucket, MONITORING_PREFIX, endpoint_name, BASELINE_FOLDER)
    return {
        "Name": PUBLISH,
        "Type": "Processing",
        "Description": "Make a deployed version's drift baseline the one scheduled runs compare with",
        "Arguments": _processing_job(
            r,
            MONITOR_SCRIPT,
            [_s3_input("new-baseline", param(PUBLISH_BASELINE), new_dir)],
            [_s3_output(BASELINE_OUTPUT, target, out_dir)],
            ["--publish-baseline", f"{new_dir}/{contract.DRIFT_BASELINE_FILE_NAME}", "--output-dir", out_dir],
            output_key_arn=r.model_key_arn,
        ),
    }


def build_monitoring_definition(
    r: PipelineResources, m: MonitoringConfig, *, endpoint_name: str, scored_data_uri: str
) -> dict:
    params = monitoring_parameters(r, scored_data_uri=scored_data_uri, window_hours=m.window_hours)
    return {
        "Version": "2020-12-01",
        "Metadata": {},
        "Parameters": [x.to_definition() for x in params],
        "Steps": [
            {
                "Name": CHOOSE,
                "Type": "Condition",
                "Description": f"{PUBLISH_BASELINE}={NO_BASELINE} (the schedule) monitors; a baseline URI publishes it",
                "Arguments": {
                    "Conditions": [{"Type": "Equals", "LeftValue": param(PUBLISH_BASELINE), "RightValue": NO_BASELINE}],
                    "IfSteps": [monitor_step(r, m, endpoint_name=endpoint_name)],
                    "ElseSteps": [publish_step(r, endpoint_name=endpoint_name)],
                },
            }
        ],
    }


