"""The athena source end to end on small data: the data stack's Glue table and workgroup deployed to the
emulator, raw CSV in its S3, the Preprocess step's AthenaDatasetDefinition run by the local runner on
DuckDB (not Athena), and preprocess.py splitting the Parquet result as it splits the raw files."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest
from aws_cdk.assertions import Template
from constructs.raw_data_catalog import RawDataCatalog
from sklearn.datasets import load_breast_cancer

from stacks.config import ATHENA_RESULTS_PREFIX, GLUE_TABLE_NAME, SourceConfig
from stacks.pipeline_definition import build_definition
from tests.emulator.conftest import deploy_template
from tests.infra.conftest import new_stack
from tests.pipeline_runner.conftest import ASSETS_BUCKET, CODE_KEY, CONFIG, resources
from tools.emulator import Emulator
from tools.pipeline_runner import PipelineError, RunOptions, S3Storage, run_definition

RAW, PROCESSED = CONFIG.bucket_name("raw"), CONFIG.bucket_name("processed")
PREFIX = CONFIG.pipeline.raw_data_prefix


def _frame() -> pd.DataFrame:
    """Breast cancer with Glue-style names (lowercase, ``_``), the label first."""
    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "label"})
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    return frame[["label", *[c for c in frame.columns if c != "label"]]]


COLUMNS = tuple((c, "int" if c == "label" else "double") for c in _frame().columns)
SOURCE = SourceConfig(kind="athena", table_columns=COLUMNS)


@pytest.fixture(scope="module")
def emu(tmp_path_factory, inputs):
    """The emulator with the data stack's raw-data catalog (the real construct's template), the raw CSV in
    two files, and the code tarball."""
    stack = new_stack("Catalog")
    RawDataCatalog(stack, "RawDataCatalog", database_name=CONFIG.glue_database_name, table_name=GLUE_TABLE_NAME,
                   location=f"s3://{RAW}/{PREFIX}", columns=COLUMNS, table_format="csv",
                   workgroup_name=CONFIG.athena_workgroup_name, results_uri=f"s3://{PROCESSED}/{ATHENA_RESULTS_PREFIX}",
                   results_key_arn="arn:aws:kms:us-east-1:111122223333:key/data", bytes_scanned_cutoff=10_000_000)
    # The resources as synthesized; CDK's bootstrap-version check aside (this emulator is not bootstrapped).
    template = {"Resources": Template.from_stack(stack).to_json()["Resources"]}
    with Emulator() as emulator:
        deploy_template(emulator, "catalog", template)
        s3 = emulator.client("s3")
        for bucket in (RAW, PROCESSED, ASSETS_BUCKET):
            s3.create_bucket(Bucket=bucket)
        frame, base = _frame(), tmp_path_factory.mktemp("raw")
        for index, part in enumerate((frame.iloc[:300], frame.iloc[300:])):
            part.to_csv(base / f"part-{index}.csv", index=False)
            s3.upload_file(str(base / f"part-{index}.csv"), RAW, f"{PREFIX}part-{index}.csv")
        s3.upload_file(str(inputs["code"]), ASSETS_BUCKET, CODE_KEY)
        yield emulator


def _preprocess_only(source: SourceConfig, query: str = "") -> dict:
    r = replace(resources(), config=replace(CONFIG.pipeline, source=replace(source, athena_query=query)),
                athena_database=CONFIG.glue_database_name, athena_table=GLUE_TABLE_NAME,
                athena_workgroup=CONFIG.athena_workgroup_name)
    definition = json.loads(json.dumps(build_definition(r)))
    definition["Steps"] = [s for s in definition["Steps"] if s["Name"] == "Preprocess"]
    return definition


def _run(emu, definition: dict, tmp_path, execution: str):
    return run_definition(definition, storage=S3Storage(emu.client("s3")), glue=emu.client("glue"),
                          work_dir=tmp_path / execution, log=lambda _: None,
                          options=RunOptions(execution_id=execution))


def _channel(emu, execution: str, split: str) -> pd.DataFrame:
    s3 = emu.client("s3")
    key = f"channels/{execution}/{split}/{split}.csv"
    listing = s3.list_objects_v2(Bucket=PROCESSED, Prefix=f"channels/{execution}/{split}/")["Contents"]
    assert [o["Key"] for o in listing] == [key]
    return pd.read_csv(s3.get_object(Bucket=PROCESSED, Key=key)["Body"], header=None)


def test_the_athena_query_feeds_preprocessing_the_split_the_raw_files_get(emu, tmp_path) -> None:
    # GIVEN the Preprocess step with the athena source (SELECT * FROM "raw_data") and the same step on the files
    # WHEN both run through the local runner against the emulator
    athena = _run(emu, _preprocess_only(SOURCE), tmp_path, "athenaexec01")
    _run(emu, _preprocess_only(SourceConfig()), tmp_path, "filesexec001")
    # THEN the query ran on DuckDB over both raw objects and its Parquet result landed in the enforced prefix
    step = athena.step("Preprocess")
    assert step.status == "Succeeded", athena.failure
    described = step.detail["inputs"]["raw"]
    assert described.startswith(f"athena:{CONFIG.glue_database_name} (569 rows on duckdb")
    results = emu.client("s3").list_objects_v2(Bucket=PROCESSED, Prefix=f"{ATHENA_RESULTS_PREFIX}athenaexec01/")
    (result,) = [o["Key"] for o in results["Contents"]]
    assert emu.client("s3").get_object(Bucket=PROCESSED, Key=result)["Body"].read(4) == b"PAR1"
    # AND preprocess.py, unchanged, put every row in the split the raw files give it
    for split in ("train", "validation", "test"):
        queried, read = _channel(emu, "athenaexec01", split), _channel(emu, "filesexec001", split)
        assert len(queried) > 0
        pd.testing.assert_frame_equal(queried, read)


def test_a_query_in_duckdbs_reach_but_not_the_tables_fails_naming_the_query(emu, tmp_path) -> None:
    # GIVEN a query naming a column the table does not have
    definition = _preprocess_only(SOURCE, query='SELECT "mean_radius", "no_such_column" FROM "raw_data"')
    # WHEN it runs THEN the step fails on the QueryString field, naming the stand-in engine
    with pytest.raises(PipelineError, match=r"^step Preprocess: .*AthenaDatasetDefinition\.QueryString: the query"
                       r" failed on duckdb \(local stand-in for Athena\): .*no_such_column"):
        _run(emu, definition, tmp_path, "badquery0001")


def test_a_filtering_query_reaches_the_job_as_its_only_rows(emu, tmp_path) -> None:
    # GIVEN a query in Athena's dialect that keeps the large tumours only
    definition = _preprocess_only(SOURCE, query='SELECT * FROM "raw_data" WHERE "mean_radius" > 15')
    # WHEN it runs THEN the three channels together hold exactly those rows
    execution = _run(emu, definition, tmp_path, "filtered0001")
    assert execution.status == "Succeeded", execution.failure
    rows = sum(len(_channel(emu, "filtered0001", split)) for split in ("train", "validation", "test"))
    assert rows == int((_frame()["mean_radius"] > 15).sum())


def test_a_redshift_source_says_it_cannot_run_here(emu, tmp_path) -> None:
    redshift = SourceConfig(kind="redshift", redshift_cluster_id="analytics", redshift_database="dev",
                            redshift_db_user="sagemaker", redshift_query="SELECT 1")
    definition = _preprocess_only(redshift)
    with pytest.raises(PipelineError, match=r"a Redshift query cannot run locally"):
        _run(emu, definition, tmp_path, "redshift0001")
