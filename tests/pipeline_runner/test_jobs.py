"""Job layout details: instance counts, channel sharding, the CLI's definition check."""

from __future__ import annotations

import pytest

from tests.pipeline_runner.test_template import write_template
from tools.cli import guarded
from tools.pipeline_runner import PipelineError, RunOptions, run_definition
from tools.pipeline_runner.__main__ import main as cli
from tools.pipeline_runner.tuning import host_channels


def test_sharded_channels_split_files_by_key_and_replicated_ones_do_not(tmp_path) -> None:
    train, code = tmp_path / "train", tmp_path / "code"
    for index in range(5):
        (train / f"part-{index}.csv").parent.mkdir(parents=True, exist_ok=True)
        (train / f"part-{index}.csv").write_text(f"{index}\n")
    code.mkdir()
    (code / "code.tar.gz").write_bytes(b"x")

    layout = host_channels({"train": train, "code": code}, {"train"}, 2, tmp_path / "job")

    assert sorted(p.name for p in layout["algo-1"]["train"].iterdir()) == ["part-0.csv", "part-2.csv", "part-4.csv"]
    assert sorted(p.name for p in layout["algo-2"]["train"].iterdir()) == ["part-1.csv", "part-3.csv"]
    assert layout["algo-1"]["code"] == layout["algo-2"]["code"] == code


def test_several_processing_instances_are_refused_by_field(definition, store, tmp_path) -> None:
    with pytest.raises(PipelineError) as error:
        run_definition(definition, storage=store, options=RunOptions(parameters={"ProcessingInstanceCount": 2}),
                       work_dir=tmp_path / "work", log=lambda _: None)
    assert str(error.value).startswith(
        "step Preprocess: Arguments.ProcessingResources.ClusterConfig.InstanceCount: InstanceCount 2")


def test_cli_check_renders_and_preflights_without_running(tmp_path, definition, capsys) -> None:
    path = write_template(tmp_path, definition)
    assert cli(["--check", "--template", str(path)]) == 0
    out = capsys.readouterr().out
    assert "mlp-dev-training: 2 CloudFormation tokens" in out and "  RegisterModel (RegisterModel)" in out

    definition["Steps"][2]["Arguments"]["ProcessingInputs"][1]["S3Input"]["S3Uri"] = {"Get": "Steps.Nope.X"}
    assert guarded(cli, ["--check", "--template", str(write_template(tmp_path, definition))]) == 2
    assert capsys.readouterr().err.startswith(
        "error: step Evaluate: Arguments.ProcessingInputs[1].S3Input.S3Uri: 'Steps.Nope.X' reads step 'Nope'")
