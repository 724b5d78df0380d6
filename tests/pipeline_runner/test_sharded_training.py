"""Two training instances on ShardedByS3Key channels, RecordIO-protobuf from the Preprocess step, run locally:
each instance (a process on 127.0.0.1) reads its own shard of each split and together they train one model."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import replace

import pytest

from stacks.pipeline_definition import build_definition
from tests.conftest import REPO_ROOT
from tests.pipeline_runner.conftest import CONFIG, FAST, resources
from tools.pipeline_runner import PipelineError, RunOptions, run_definition

pytestmark = pytest.mark.slow


def _records(store, uri: str) -> int:
    if str(REPO_ROOT / "training") not in sys.path:
        sys.path.insert(0, str(REPO_ROOT / "training"))
    from smxgb import recordio

    return recordio.read_all(io.BytesIO(store.read(uri)).read, uri).n_rows


def test_two_instances_read_their_own_recordio_shards_and_train_one_model(store, tmp_path) -> None:
    # GIVEN the definition writing RecordIO-protobuf channels, run with TrainingInstanceCount=2
    config = replace(resources(), config=replace(CONFIG.pipeline, channel_format="recordio"))
    definition = json.loads(json.dumps(build_definition(config)))
    options = RunOptions(parameters={**FAST.parameters, "TrainingInstanceCount": 2},
                         static_hyperparameters=FAST.static_hyperparameters, execution_id=FAST.execution_id)
    # WHEN it runs locally (every step but the registration, which needs a registry)
    with pytest.raises(PipelineError, match=r"^step RegisterModel: no model registry") as stopped:
        run_definition(definition, storage=store, options=options, work_dir=tmp_path / "work", log=lambda _: None)
    execution = stopped.value.execution
    assert [(s.name, s.status) for s in execution.steps][:4] == [
        ("Preprocess", "Succeeded"), ("Tune", "Succeeded"), ("Evaluate", "Succeeded"), ("CheckAuc", "Succeeded")]
    # THEN Preprocess wrote two RecordIO files per split, one per instance
    outputs = execution.step("Preprocess").detail["outputs"]
    shards = {split: sorted(outputs[split]["objects"]) for split in ("train", "validation")}
    assert [[key.rsplit("/", 1)[1] for key in keys] for keys in shards.values()] == [
        ["train-part-00000.recordio", "train-part-00001.recordio"],
        ["validation-part-00000.recordio", "validation-part-00001.recordio"]]
    # AND each instance was given only its own shard of each split and read exactly its rows
    (trial,) = execution.step("Tune").detail["trials"]
    assert trial["status"] == "Completed" and sorted(trial["hosts"]) == ["algo-1", "algo-2"]
    for index, host in enumerate(("algo-1", "algo-2")):
        given = trial["hosts"][host]
        assert given["files"]["train"] == [f"train-part-{index:05d}.recordio"]
        assert given["files"]["validation"] == [f"validation-part-{index:05d}.recordio"]
        expected = {split: _records(store, shards[split][index]) for split in shards}
        assert given["rows"] == expected
    # AND the two trained one model: the all-reduced validation metric is the same on both
    lines = {trial["hosts"][host]["last_validation_line"] for host in trial["hosts"]}
    assert len(lines) == 1 and None not in lines
    # AND the channels are declared as RecordIO-protobuf to the trial, which the evaluation then scored
    assert execution.step("Tune").detail["best"]["model_uri"]
