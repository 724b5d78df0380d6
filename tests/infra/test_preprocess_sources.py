"""Preprocessing sources beyond S3 files: an Athena query over a Glue table of the raw bucket, and a
Redshift query UNLOADed to the processed bucket. Definitions against botocore, the stacks under the
four nag packs, and every new IAM decision both ways by the real evaluator."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import aws_cdk as cdk
import pytest
from constructs import compliance

from stacks.config import (
    ATHENA_RESULTS_PREFIX,
    ENVIRONMENTS,
    GLUE_TABLE_NAME,
    REDSHIFT_UNLOAD_PREFIX,
    ConfigError,
    PipelineConfig,
    SourceConfig,
)
from stacks.pipeline_definition import build_definition, checks
from stacks.pipeline_definition import steps as s
from stacks.platform import build_platform
from tests.infra.conftest import new_app
from tests.infra.test_spark_preprocessing import _resources
from tools import synth_report
from tools.iam_evaluator import load_policies
from tools.iam_evaluator.contract import check_contract, platform_cases

COLUMNS = (("mean_radius", "double"), ("mean_texture", "double"), ("label", "int"))
ATHENA = SourceConfig(kind="athena", table_columns=COLUMNS)
REDSHIFT = SourceConfig(kind="redshift", redshift_cluster_id="analytics", redshift_database="dev",
                        redshift_db_user="sagemaker", redshift_query="SELECT * FROM features")
SOURCES = {"athena": ATHENA, "redshift": REDSHIFT}
README = Path(__file__).resolve().parents[2] / "README.md"


def _config(source: SourceConfig):
    base = ENVIRONMENTS["dev"]
    return replace(base, pipeline=replace(base.pipeline, source=source))


def _definition(source: SourceConfig) -> dict:
    r = replace(_resources(PipelineConfig(source=source)), athena_database="mlp_dev_raw",
                athena_table=GLUE_TABLE_NAME, athena_workgroup="mlp-dev-preprocess",
                redshift_role_arn="arn:aws:iam::111122223333:role/mlp-dev-redshift-unload")
    return json.loads(json.dumps(build_definition(r)))


def _raw_input(definition: dict) -> dict:
    job = checks.step_named(definition, s.PREPROCESS)["Arguments"]
    return next(i for i in job["ProcessingInputs"] if i["InputName"] == "raw")


# ------------------------------------------------------------------------------- definitions


def test_the_default_source_stays_plain_s3_files() -> None:
    assert PipelineConfig().source.kind == "s3"
    definition = _definition(SourceConfig())
    assert _raw_input(definition)["S3Input"]["S3Uri"] == {"Get": "Parameters.InputDataUri"}
    assert "InputDataUri" in {p["Name"] for p in definition["Parameters"]}


def test_the_athena_source_is_a_dataset_definition_in_the_enforcing_workgroup() -> None:
    # GIVEN the athena source WHEN the definition is built
    definition = _definition(ATHENA)
    # THEN it still matches botocore's CreateProcessingJob shape
    checks.validate_definition(definition, checks.sagemaker_model())
    raw = _raw_input(definition)
    athena = raw["DatasetDefinition"]["AthenaDatasetDefinition"]
    # AND the query runs in the platform's workgroup over its Glue database, Parquet out, under the data key
    assert athena["Catalog"] == "AwsDataCatalog" and athena["Database"] == "mlp_dev_raw"
    assert athena["WorkGroup"] == "mlp-dev-preprocess" and athena["QueryString"] == f'SELECT * FROM "{GLUE_TABLE_NAME}"'  # noqa: S608
    assert athena["OutputFormat"] == "PARQUET" and athena["KmsKeyId"] == "arn:aws:kms:us-east-1:1:key/d"
    # AND each execution's result lands under its own ID in the prefix the workgroup enforces
    assert athena["OutputS3Uri"] == {"Std:Join": {"On": "/", "Values": [
        "s3:/", "processed", ATHENA_RESULTS_PREFIX.rstrip("/"), {"Get": "Execution.PipelineExecutionId"}]}}
    # AND the job finds the result where it found the raw files; the S3 prefix parameter is gone
    assert raw["DatasetDefinition"]["LocalPath"] == "/opt/ml/processing/input"
    assert "InputDataUri" not in {p["Name"] for p in definition["Parameters"]}


def test_the_redshift_source_unloads_with_the_clusters_role_under_the_data_key() -> None:
    definition = _definition(REDSHIFT)
    checks.validate_definition(definition, checks.sagemaker_model())
    redshift = _raw_input(definition)["DatasetDefinition"]["RedshiftDatasetDefinition"]
    assert (redshift["ClusterId"], redshift["Database"], redshift["DbUser"]) == ("analytics", "dev", "sagemaker")
    assert redshift["QueryString"] == "SELECT * FROM features"
    assert redshift["ClusterRoleArn"] == "arn:aws:iam::111122223333:role/mlp-dev-redshift-unload"
    assert redshift["OutputFormat"] == "PARQUET" and redshift["KmsKeyId"] == "arn:aws:kms:us-east-1:1:key/d"
    assert redshift["OutputS3Uri"]["Std:Join"]["Values"][2] == REDSHIFT_UNLOAD_PREFIX.rstrip("/")


def test_a_broken_dataset_definition_fails_botocore_validation() -> None:
    definition = _definition(ATHENA)
    del _raw_input(definition)["DatasetDefinition"]["AthenaDatasetDefinition"]["OutputFormat"]
    with pytest.raises(checks.DefinitionError, match=r"OutputFormat"):
        checks.validate_definition(definition, checks.sagemaker_model())


@pytest.mark.parametrize(("changes", "error"), [
    ({"kind": "bigquery"}, r"source kind 'bigquery' must be one of s3, athena, redshift"),
    ({"kind": "athena"}, r"the athena source needs SourceConfig.table_columns"),
    ({"table_columns": (("Mean Radius", "double"),)}, r"table column \('Mean Radius', 'double'\) must be a lowercase"),
    ({"table_columns": (("x", "decimal"),)}, r"one of the types double, float"),
    ({"table_format": "orc"}, r"table_format 'orc' must be csv or parquet"),
    ({"bytes_scanned_cutoff_per_query": 1_000}, r"at least 10000000 \(Athena's minimum, 10 MB\)"),
    ({"kind": "redshift", "redshift_cluster_id": "c"}, r"needs SourceConfig.redshift_database"),
    ({"redshift_cluster_id": "Analytics!"}, r"must be a Redshift cluster identifier"),
    ({"redshift_db_user": "bad user"}, r"redshift_db_user 'bad user' must be a Redshift identifier"),
])
def test_bad_source_settings_name_the_fix(changes: dict, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        SourceConfig(**changes)


def test_a_query_source_feeds_the_pandas_engine_only() -> None:
    with pytest.raises(ConfigError, match=r"source 'athena' feeds the pandas engine only"):
        PipelineConfig(source=ATHENA, preprocess_engine="spark")


# ------------------------------------------------------------- stacks, nag packs, evaluator
# Two more platform synths under the four packs and two evaluator runs (about 40 s on 2 cores): slow.


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, list]]:
    """Per source: the dev platform synthesized with it under the four packs (raises on any finding),
    its templates, and every contract row decided by iam-simulate."""
    result = {}
    for kind, source in SOURCES.items():
        config = _config(source)
        outdir = tmp_path_factory.mktemp(f"cdk.out-{kind}-")
        app = cdk.App(outdir=str(outdir),
                      context={**new_app().node.get_all_context(), "aws:cdk:enable-path-metadata": True})
        build_platform(app, config)
        compliance.add_nag_packs(app)
        app.synth()
        assert all(c["unacknowledged"] == 0 for c in synth_report.summarize(outdir)["packs"].values())
        templates = {p.name.split(".")[0].rsplit("-", 1)[-1]: json.loads(p.read_text())
                     for p in outdir.glob("*.template.json")}
        policies = load_policies(templates, account=config.account, region=config.region)
        result[kind] = (templates, check_contract(policies, platform_cases(policies, config)))
    return result


def _resources_of(template: dict, kind: str) -> list[dict]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


@pytest.mark.slow
def test_the_data_stack_catalogs_the_raw_prefix_and_enforces_the_workgroup(sources) -> None:
    # GIVEN the dev platform with the athena source, synthesized under the four packs
    data = sources["athena"][0]["data"]
    config = _config(ATHENA)
    # THEN a Glue table reads the raw prefix with the declared columns, skipping the CSV header
    (table,) = _resources_of(data, "AWS::Glue::Table")
    descriptor = table["TableInput"]["StorageDescriptor"]
    assert descriptor["Location"] == f"s3://{config.bucket_name('raw')}/{config.pipeline.raw_data_prefix}"
    assert [(c["Name"], c["Type"]) for c in descriptor["Columns"]] == list(COLUMNS)
    assert table["TableInput"]["Parameters"]["skip.header.line.count"] == "1"
    assert table["DatabaseName"] == config.glue_database_name == "mlp_dev_raw"
    # AND the workgroup enforces its results location, SSE-KMS with the data key and the scan limit
    (workgroup,) = _resources_of(data, "AWS::Athena::WorkGroup")
    settings = workgroup["WorkGroupConfiguration"]
    assert settings["EnforceWorkGroupConfiguration"] is True
    assert settings["BytesScannedCutoffPerQuery"] == 10_000_000_000
    results = settings["ResultConfiguration"]
    assert results["OutputLocation"] == f"s3://{config.bucket_name('processed')}/{ATHENA_RESULTS_PREFIX}"
    assert results["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    assert results["EncryptionConfiguration"]["KmsKey"]["Fn::GetAtt"][0].startswith("DataKey")


def test_the_default_platform_builds_no_catalog_and_no_unload_role(platform_templates) -> None:
    assert not _resources_of(platform_templates["data"], "AWS::Glue::Table")
    assert not _resources_of(platform_templates["data"], "AWS::Athena::WorkGroup")
    assert not [k for k in platform_templates["access"]["Resources"] if k.startswith("RedshiftUnloadRole")]


@pytest.mark.slow
def test_every_source_decision_is_the_contracts_both_ways(sources) -> None:
    for kind, (_, outcomes) in sources.items():
        rows = [o for o in outcomes if kind in o.case.why.lower() or o.case.principal == "redshift-unload"
                or o.case.action.split(":")[0] in ("athena", "glue", "redshift", "redshift-data")]
        assert {o.case.expected for o in rows} == {"allow", "deny"}, kind
        assert [f"{kind}: {o.case.principal}: {o.case.why}: got {o.decision.result}"
                for o in outcomes if not o.matches] == []


@pytest.mark.slow
def test_the_unload_role_trusts_redshift_for_this_account_only(sources) -> None:
    outcomes = sources["redshift"][1]
    trust = {o.case.why: o.decision.allowed for o in outcomes if o.case.action == "sts:AssumeRole"
             and "UNLOAD role" in o.case.why}
    assert trust == {"redshift assumes the UNLOAD role for this account": True,
                     "redshift assumes the UNLOAD role for another account (confused deputy)": False,
                     "SageMaker assumes the UNLOAD role": False}


@pytest.mark.slow
def test_the_readme_states_the_source_row_counts(sources) -> None:
    athena, redshift = len(sources["athena"][1]), len(sources["redshift"][1])
    text = " ".join(README.read_text().split())
    assert re.search(rf"{athena} with the Athena source and {redshift} with the Redshift source", text)
