"""The synthesized pipeline against the real scripts in training/.

The definition names metrics, hyperparameters, channels, paths and a report
field that only the scripts can confirm; a typo in any of them passes synth and
every nag pack and fails (or silently tunes nothing) on AWS. Here the real
``train.py`` runs through ``training/local_runner.py`` with the definition's own
hyperparameters and channel names, and the checks are shown to fail on a
broken copy of the definition, naming the step and field.
"""

from __future__ import annotations

import copy
import importlib
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from stacks.pipeline_definition import checks, contract
from stacks.pipeline_definition import steps as s
from training import local_runner

#: Rounds for the wiring runs: enough for stable metric lines, short enough to stay fast.
FAST_ROUNDS = "10"
#: The tuning step's definitions, one per approach of train.py.
APPROACHES = ("boosting", "forest")


@pytest.fixture(scope="module")
def definition(platform_templates: dict[str, dict]) -> dict:
    return checks.definition_from_template(platform_templates["pipeline"]).definition


def _tune(definition: dict) -> dict:
    return checks.step_named(definition, s.TUNE)["Arguments"]


def _job(definition: dict, approach: str) -> dict:
    """The tuning step's training job definition of one approach, by its DefinitionName."""
    (job,) = [d for d in _tune(definition)["TrainingJobDefinitions"] if d["DefinitionName"] == approach]
    return job


def _trial_hyperparameters(definition: dict, approach: str) -> dict[str, str]:
    """What one trial gets: the static values plus the lower end of every searched range."""
    job = _job(definition, approach)
    hps = dict(job["StaticHyperParameters"])
    for ranges in job["HyperParameterRanges"].values():
        for entry in ranges:
            hps[entry["Name"]] = entry.get("MinValue") or entry["Values"][0]
    if "num_round" in hps:  # boosting; a forest has one round
        hps["num_round"] = FAST_ROUNDS
    return hps


def _data_channels(definition: dict) -> list[str]:
    return [c["ChannelName"] for c in _job(definition, APPROACHES[0])["InputDataConfig"]
            if c["ChannelName"] != "code"]


@pytest.fixture(scope="module")
def cancer_channels(tmp_path_factory) -> dict[str, Path]:
    """scikit-learn's breast cancer data as label-first, headerless CSV per split (the built-in convention)."""
    features, labels = load_breast_cancer(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(labels))
    rows = np.column_stack([labels, features])[order]
    cut = int(len(rows) * 0.7), int(len(rows) * 0.85)
    root = tmp_path_factory.mktemp("cancer")
    paths = {}
    for name, part in zip(("train", "validation", "test"), np.split(rows, cut), strict=True):
        (root / name).mkdir()
        np.savetxt(root / name / f"{name}.csv", part, delimiter=",", fmt="%.10g")
        paths[name] = root / name
    return paths


def test_the_tuning_step_compares_both_approaches(definition: dict) -> None:
    # THEN one definition per approach of train.py, each fixing its approach
    jobs = _tune(definition)["TrainingJobDefinitions"]
    assert [d["DefinitionName"] for d in jobs] == list(APPROACHES)
    assert [d["StaticHyperParameters"]["approach"] for d in jobs] == list(APPROACHES)
    # AND both are scored on the same objective, so the best trial is the best approach
    assert {d["TuningObjective"]["MetricName"] for d in jobs} == {contract.OBJECTIVE_METRIC}


@pytest.fixture(scope="module", params=APPROACHES)
def trial(request, definition: dict, cancer_channels: dict[str, Path], tmp_path_factory):
    """One tuning trial of each approach, as its definition configures it, run by the real train.py."""
    result = local_runner.run_training(
        contract.TRAIN_SCRIPT,
        channels={name: cancer_channels[name] for name in _data_channels(definition)},
        hyperparameters=_trial_hyperparameters(definition, request.param),
        root=tmp_path_factory.mktemp("trial"),
        num_cpus=1,
        timeout=120,
    )
    assert result.returncode == 0, f"train.py failed: {result.failure or result.stderr[-2000:]}"
    return result


# ----------------------------------------------------------------- positive wiring


def test_metric_regex_from_the_template_extracts_the_objective(definition: dict, trial) -> None:
    # GIVEN train.py's stdout from one trial configured by the definition
    # WHEN the tuning step's MetricDefinitions (as synthesized) parse it
    values = checks.check_metric_regexes(definition, trial.stdout)
    # THEN the objective metric is found, a real AUC of this easy data set
    assert 0.9 < values[contract.OBJECTIVE_METRIC] <= 1.0
    # AND it is the script's last reported validation AUC, not some other line
    last = [line for line in trial.stdout.splitlines() if "#validation-auc:" in line][-1]
    assert float(last.rsplit(":", 1)[1]) == pytest.approx(values[contract.OBJECTIVE_METRIC])


def test_hyperparameters_are_ones_train_py_accepts(definition: dict) -> None:
    # WHEN the tuning ranges and static values are checked against train.py's own spec
    checks.check_hyperparameters(definition, contract.hyperparams.SPEC)
    # THEN they also parse with the script's parser (values, not only names), for each approach
    for approach in APPROACHES:
        assert contract.hyperparams.parse(_trial_hyperparameters(definition, approach))["approach"] == approach


def test_channels_are_ones_train_py_reads(definition: dict) -> None:
    # GIVEN the channel names train.py's job module reads (importable once the contract put training/ on sys.path)
    training_job = importlib.import_module("smxgb.job")
    readable = {training_job.TRAIN, training_job.VALIDATION, training_job.TEST}
    checks.check_channels(definition, data_channels=readable)
    # AND each training channel is the preprocessing output of the same name
    for channel in _job(definition, APPROACHES[1])["InputDataConfig"]:
        if channel["ChannelName"] != "code":
            assert f"Outputs['{channel['ChannelName']}']" in channel["DataSource"]["S3DataSource"]["S3Uri"]["Get"]


# ----------------------------------------------------------------- the checks fail on broken wiring


def _broken(definition: dict, mutate) -> dict:
    copy_ = copy.deepcopy(definition)
    mutate(_tune(copy_))
    return copy_


def test_a_broken_regex_is_caught(definition: dict, trial) -> None:
    def mutate(tune):
        tune["TrainingJobDefinitions"][1]["AlgorithmSpecification"]["MetricDefinitions"][0]["Regex"] = (
            r"validation-auc=([0-9.]+)")

    with pytest.raises(checks.DefinitionError,
                       match=r"step Tune: Arguments\.TrainingJobDefinitions\[1\]\.AlgorithmSpecification"
                             r"\.MetricDefinitions\[0\]\.Regex .* matches nothing"):
        checks.check_metric_regexes(_broken(definition, mutate), trial.stdout)


def test_an_objective_without_a_metric_definition_is_caught(definition: dict, trial) -> None:
    def mutate(tune):
        tune["TrainingJobDefinitions"][0]["TuningObjective"]["MetricName"] = "validation:aucpr"

    with pytest.raises(checks.DefinitionError, match=r"step Tune: .*MetricDefinitions: no definition for the"
                                                     r" objective 'validation:aucpr'"):
        checks.check_metric_regexes(_broken(definition, mutate), trial.stdout)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t["TrainingJobDefinitions"][0]["HyperParameterRanges"]["ContinuousParameterRanges"][0].update(
            Name="learning_rate"),
         r"step Tune: Arguments\.TrainingJobDefinitions\[0\]\.HyperParameterRanges\.ContinuousParameterRanges\[0\]"
         r"\.Name 'learning_rate' is not a hyperparameter train\.py accepts"),
        (lambda t: t["TrainingJobDefinitions"][1]["HyperParameterRanges"]["ContinuousParameterRanges"][1].update(
            Name="subsample", MaxValue="1.5"),
         r"ContinuousParameterRanges\[1\]\.MaxValue 1\.5 is outside subsample's accepted range"),
        (lambda t: t["TrainingJobDefinitions"][1]["StaticHyperParameters"].update(num_rounds="10"),
         r"step Tune: Arguments\.TrainingJobDefinitions\[1\]\.StaticHyperParameters\.num_rounds is not a"),
    ],
    ids=["range-name", "range-bound", "static-name"],
)
def test_a_broken_hyperparameter_is_caught(definition: dict, mutate, message: str) -> None:
    with pytest.raises(checks.DefinitionError, match=message):
        checks.check_hyperparameters(_broken(definition, mutate), contract.hyperparams.SPEC)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t["TrainingJobDefinitions"][0]["InputDataConfig"][1].update(ChannelName="valid"),
         r"step Tune: Arguments\.TrainingJobDefinitions\[0\]\.InputDataConfig\[1\]\.ChannelName 'valid' is not a"),
        (lambda t: t["TrainingJobDefinitions"][1]["InputDataConfig"][0].update(ChannelName="training"),
         r"step Tune: Arguments\.TrainingJobDefinitions\[1\]\.InputDataConfig\[0\]\.ChannelName 'training'"),
        (lambda t: t["TrainingJobDefinitions"][1]["StaticHyperParameters"].update(
            sagemaker_submit_directory="s3://bucket/sourcedir.tar.gz"),
         r"step Tune: .*sagemaker_submit_directory 's3://bucket/sourcedir\.tar\.gz' is not inside the 'code'"),
    ],
    ids=["validation-name", "train-name", "code-from-s3"],
)
def test_a_broken_channel_is_caught(definition: dict, mutate, message: str) -> None:
    with pytest.raises(checks.DefinitionError, match=message):
        checks.check_channels(_broken(definition, mutate), data_channels={"train", "validation", "test"})


# ----------------------------------------------------------------- the whole pipeline, locally


def _argument(value, params: dict) -> str:
    """A parameter's value; any other run-time expression (a step's S3 URI, the execution) as a marker."""
    if isinstance(value, dict) and value.get("Get", "").startswith("Parameters."):
        return str(params[value["Get"].split(".", 1)[1]])
    if isinstance(value, dict) and "Std:Join" in value:
        join = value["Std:Join"]
        parts = [_argument(v, params) for v in join["Values"]]
        if not any(part.startswith("s3://resolved") for part in parts):
            return join["On"].join(parts)
    return "s3://resolved-at-run-time" if isinstance(value, dict) else value


def _processing_run(step: dict, params: dict, root: Path, inputs: dict[str, Path]):
    """Run a processing step's script with its own ContainerArguments and container paths."""
    app = step["Arguments"]["AppSpecification"]
    args = [_argument(a, params) for a in app["ContainerArguments"]]
    outputs = [o["S3Output"]["LocalPath"] for o in step["Arguments"]["ProcessingOutputConfig"]["Outputs"]]
    result = local_runner.run_processing(app["ContainerEntrypoint"][-1], inputs=inputs, outputs=outputs, args=args,
                                         root=root, timeout=300)
    assert result.returncode == 0, f"step {step['Name']}: {result.stderr[-2000:]}"
    return result


@pytest.mark.slow
def test_the_pipeline_runs_end_to_end_on_the_real_scripts(definition: dict, tmp_path: Path) -> None:
    # GIVEN raw data with a header, as a data scientist would upload it
    features, labels = load_breast_cancer(return_X_y=True)
    raw = tmp_path / "raw"
    raw.mkdir()
    header = ",".join(["label", *(f"f{i}" for i in range(features.shape[1]))])
    np.savetxt(raw / "cancer.csv", np.column_stack([labels, features]), delimiter=",", header=header,
               comments="", fmt="%.10g")
    params = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}

    # WHEN preprocessing runs with the step's own arguments and paths
    pre = checks.step_named(definition, s.PREPROCESS)
    raw_input = next(i for i in pre["Arguments"]["ProcessingInputs"] if i["InputName"] != "code")
    pre_run = _processing_run(pre, params, tmp_path / "pre", {raw_input["S3Input"]["LocalPath"]: raw})
    produced = {o["OutputName"]: pre_run.outputs[o["S3Output"]["LocalPath"]]
                for o in pre["Arguments"]["ProcessingOutputConfig"]["Outputs"]}

    # AND a trial of each approach trains on the outputs its channels reference, by name
    channels = {name: produced[name] for name in _data_channels(definition)}
    candidates = tmp_path / "candidates"
    for approach in APPROACHES:
        trial = local_runner.run_training(contract.TRAIN_SCRIPT, channels=channels,
                                          hyperparameters=_trial_hyperparameters(definition, approach),
                                          root=tmp_path / approach, num_cpus=1, timeout=300)
        assert trial.returncode == 0, trial.failure or trial.stderr[-2000:]
        checks.check_metric_regexes(definition, trial.stdout)
        model_dir = candidates / f"trial-{approach}" / "output"  # <S3OutputPath>/<job>/output/model.tar.gz
        model_dir.mkdir(parents=True)
        with tarfile.open(model_dir / "model.tar.gz", "w:gz") as archive:  # what SageMaker uploads
            for path in trial.model_dir.iterdir():
                archive.add(path, arcname=path.name)

    # AND evaluation compares them on the channels with its own arguments, the boosting trial as the best
    ev = checks.step_named(definition, s.EVALUATE)
    local = {i["InputName"]: i["S3Input"]["LocalPath"] for i in ev["Arguments"]["ProcessingInputs"]}
    inputs = {local["model"]: candidates / "trial-boosting" / "output", local["candidates"]: candidates,
              **{local[split]: produced[split] for split in contract.SPLITS}}
    ev_run = _processing_run(ev, params, tmp_path / "eval", inputs)

    # THEN the property file holds the AUC at the path the gate reads, above the default threshold
    files = {}
    for prop in ev["PropertyFiles"]:
        output = next(o for o in ev["Arguments"]["ProcessingOutputConfig"]["Outputs"]
                      if o["OutputName"] == prop["OutputName"])
        files[prop["PropertyFileName"]] = json.loads(
            (ev_run.outputs[output["S3Output"]["LocalPath"]] / prop["FilePath"]).read_text())
    (condition,) = checks.step_named(definition, s.CHECK)["Arguments"]["Conditions"]
    auc = contract.report.json_get(files[s.EVALUATION_PROPERTY_FILE], condition["LeftValue"]["Std:JsonGet"]["Path"])
    assert auc >= params["AucThreshold"]
    # AND the model card RegisterModel reads names the approach that won, with both approaches' figures
    card = checks.step_named(definition, s.REGISTER)["Arguments"]["ModelCard"]
    path = card["ModelCardContent"]["Std:JsonGet"]["Path"]
    content = json.loads(contract.report.json_get(files[s.MODEL_CARD_PROPERTY_FILE], path))
    assert content["additional_information"]["custom_details"]["approach"] == "boosting"
    groups = [g["name"] for g in content["evaluation_details"][0]["metric_groups"]]
    assert groups == ["boosting", "forest", "baseline"]
