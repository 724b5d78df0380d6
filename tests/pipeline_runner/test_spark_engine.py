"""The pipeline with preprocess_engine="spark", run locally: the Preprocess step is the Spark image's job,
run by real PySpark in local mode, and the trials train on its Parquet shards."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from stacks.pipeline_definition import build_definition
from tests.pipeline_runner.conftest import CONFIG, FAST, resources
from tools.pipeline_runner import PipelineError, run_definition

pytestmark = pytest.mark.slow


def test_the_spark_preprocess_step_feeds_training_and_evaluation(store, tmp_path) -> None:
    # GIVEN the definition with the Spark engine on a 2-instance cluster
    spark = replace(resources(), config=replace(CONFIG.pipeline, preprocess_engine="spark"),
                    spark_image_uri="173754725891.dkr.ecr.us-east-1.amazonaws.com/sagemaker-spark-processing:3.5-cpu")
    definition = json.loads(json.dumps(build_definition(spark)))
    lines = []
    # WHEN it runs locally on files (no emulator: every step runs but the registration, which needs a registry)
    with pytest.raises(PipelineError, match=r"^step RegisterModel: no model registry") as stopped:
        run_definition(definition, storage=store, options=FAST, work_dir=tmp_path / "work", log=lines.append)
    execution = stopped.value.execution
    # THEN Preprocess ran spark_preprocess.py on PySpark and wrote Parquet shards
    preprocess = execution.step("Preprocess")
    assert preprocess.status == "Succeeded", execution.failure
    assert preprocess.detail["engine"] == "pyspark local mode" and preprocess.detail["instance_count"] == 2
    assert preprocess.detail["script"] == "spark_preprocess.py"
    train = preprocess.detail["outputs"]["train"]["objects"]
    shards = [key for key in train if not key.rsplit("/", 1)[1].startswith(".")]  # Hadoop's .crc files aside
    assert shards and all(key.rsplit("/", 1)[1].startswith("part-") and key.endswith(".parquet") for key in shards)
    # AND the trial and the evaluation read them (the gate's AUC comes from the Spark-made test split)
    assert [(s.name, s.status) for s in execution.steps][:4] == [
        ("Preprocess", "Succeeded"), ("Tune", "Succeeded"), ("Evaluate", "Succeeded"), ("CheckAuc", "Succeeded")]
