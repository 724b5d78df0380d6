"""The synthesized pipeline definition: request shapes, step graph, and every job's guardrails.

No cdk-nag rule looks inside a pipeline definition body, so these tests are
the only gate on spot, checkpoints, VPC, isolation, encryption and keys.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import replace

import pytest

from stacks.access_stack import CHANNELS_PREFIX, CHECKPOINTS_PREFIX, EVALUATION_PREFIX, TRAINING_PREFIX
from stacks.config import ENVIRONMENTS, ConfigError, PipelineConfig
from stacks.pipeline_definition import PipelineResources, build_definition, checks, contract
from stacks.pipeline_definition import steps as s
from tests.infra.conftest import synth_platform, template

CONFIG = ENVIRONMENTS["dev"]
MODELS = CONFIG.bucket_name("models")
PROCESSED = CONFIG.bucket_name("processed")


@pytest.fixture(scope="module")
def pipeline_template(platform_templates: dict[str, dict]) -> dict:
    return platform_templates["pipeline"]


@pytest.fixture(scope="module")
def rendered(pipeline_template: dict) -> checks.RenderedDefinition:
    return checks.definition_from_template(pipeline_template)


@pytest.fixture(scope="module")
def definition(rendered: checks.RenderedDefinition) -> dict:
    return rendered.definition


@pytest.fixture(scope="module")
def service_model():
    return checks.sagemaker_model()


def _source(rendered: checks.RenderedDefinition, value: str) -> str:
    """The cross-stack output a placeholder stands for, e.g. ``...ModelKey...Arn...``."""
    intrinsic = rendered.intrinsic(value)
    assert intrinsic is not None, f"{value!r} is a literal, expected a reference to another stack"
    (function, args), = intrinsic.items()
    return args["OutputName"] if function == "Fn::GetStackOutput" else str(args)


def _join(value: dict) -> list:
    assert set(value) == {"Std:Join"}, value
    return value["Std:Join"]["Values"]


def _processing_steps(definition: dict) -> list[dict]:
    return [step for step in checks.iter_steps(definition) if step["Type"] == "Processing"]


#: What one approach's training job definition may set differently from the others.
APPROACH_KEYS = {"DefinitionName", "HyperParameterRanges", "StaticHyperParameters"}


def _training_job(definition: dict) -> dict:
    """The first approach's definition, after checking that every other one runs the same job: the same
    code, data, network, keys, spot and limits (so the settings asserted on it hold for all)."""
    jobs = checks.step_named(definition, s.TUNE)["Arguments"]["TrainingJobDefinitions"]
    # Each occurrence of a CloudFormation token renders as its own placeholder; compare them as tokens.
    common = [re.sub(r"CFNTOKEN\d+X", "TOKEN", json.dumps({k: v for k, v in job.items() if k not in APPROACH_KEYS}))
              for job in jobs]
    assert len(jobs) == 2 and all(c == common[0] for c in common)
    scripts = [{k: v for k, v in job["StaticHyperParameters"].items() if k.startswith("sagemaker_")} for job in jobs]
    assert all(sc == scripts[0] for sc in scripts)
    return jobs[0]


# ----------------------------------------------------------------- request shapes


def test_every_step_matches_the_sagemaker_request_shapes(definition: dict, service_model) -> None:
    # GIVEN the definition parsed from the synthesized template (tokens as placeholders)
    # WHEN each step's Arguments are checked against botocore's SageMaker model
    # THEN required members, unknown keys, types, enums and lengths all hold
    checks.validate_definition(definition, service_model)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["Steps"][0]["Arguments"].update(ProcesingInputs=[]),
         r"step Preprocess: Arguments: unknown member\(s\) \['ProcesingInputs'\]"),
        (lambda d: d["Steps"][0]["Arguments"].pop("RoleArn"),
         r"step Preprocess: Arguments: missing required member\(s\) \['RoleArn'\]"),
        (lambda d: d["Steps"][1]["Arguments"]["HyperParameterTuningJobConfig"].update(
            TrainingJobEarlyStoppingType="Sometimes"),
         r"step Tune: Arguments\.HyperParameterTuningJobConfig\.TrainingJobEarlyStoppingType: 'Sometimes' is not"),
        (lambda d: d["Steps"][1]["Arguments"]["TrainingJobDefinitions"][1].update(EnableNetworkIsolation="true"),
         r"step Tune: Arguments\.TrainingJobDefinitions\[1\]\.EnableNetworkIsolation: expected a boolean"),
        (lambda d: d["Steps"][1]["Arguments"]["TrainingJobDefinitions"][1]["StoppingCondition"].update(
            MaxRuntimeInSeconds=0),
         r"step Tune: Arguments\.TrainingJobDefinitions\[1\]\.StoppingCondition\.MaxRuntimeInSeconds: 0 outside"),
        (lambda d: d["Steps"][1]["Arguments"]["TrainingJobDefinitions"][1].update(InputDataConfig=[]),
         r"step Tune: Arguments\.TrainingJobDefinitions\[1\]\.InputDataConfig: length 0 outside"),
        (lambda d: d["Steps"][3]["Arguments"]["IfSteps"][0]["Arguments"].update(ModelApprovalStatus="Approve"),
         r"step RegisterModel: Arguments\.ModelApprovalStatus: 'Approve' is not one of"),
        (lambda d: d["Steps"][2]["Arguments"]["ProcessingInputs"][1]["S3Input"].update(
            S3Uri={"Get": "Steps.Nope.ModelArtifacts"}),
         r"step Evaluate: Arguments\.ProcessingInputs\[1\]\.S3Input\.S3Uri: 'Steps\.Nope\.ModelArtifacts' reads a"),
        (lambda d: d["Steps"][1]["Arguments"]["TrainingJobDefinitions"][1]["ResourceConfig"].update(
            InstanceType={"Get": "Parameters.Missing"}),
         r"step Tune: Arguments\.TrainingJobDefinitions\[1\]\.ResourceConfig\.InstanceType: undeclared parameter"),
        (lambda d: d["Steps"][1]["Arguments"]["TrainingJobDefinitions"][1]["InputDataConfig"][0]["DataSource"][
            "S3DataSource"].update(S3Uri={"Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['trian']"
                                                  ".S3Output.S3Uri"}),
         r"step Tune: .*InputDataConfig\[0\]\.DataSource\.S3DataSource\.S3Uri: .* names output 'trian'"),
    ],
    ids=["unknown-key", "missing-required", "bad-enum", "bad-type", "below-min", "empty-list", "register-enum",
         "unknown-step", "unknown-parameter", "unknown-output"],
)
def test_validator_names_the_step_and_field_of_a_broken_request(definition, service_model, mutate, message):
    # GIVEN a copy of the definition with one request field broken
    broken = copy.deepcopy(definition)
    mutate(broken)
    # THEN validation fails naming the step and the field path
    with pytest.raises(checks.DefinitionError, match=message):
        checks.validate_definition(broken, service_model)


# ----------------------------------------------------------------- graph and parameters


def test_steps_run_in_order_preprocess_tune_evaluate_gate(definition: dict) -> None:
    # THEN the top level is the four stages in order, the gate branching to register or fail
    assert [step["Name"] for step in definition["Steps"]] == [s.PREPROCESS, s.TUNE, s.EVALUATE, s.CHECK]
    gate = definition["Steps"][3]["Arguments"]
    assert [step["Name"] for step in gate["IfSteps"]] == [s.REGISTER]
    assert [step["Name"] for step in gate["ElseSteps"]] == [s.FAIL]
    # AND each step depends (through the properties it reads) on the stages whose outputs it reads
    assert checks.dependencies(definition) == {
        s.PREPROCESS: set(),
        s.TUNE: {s.PREPROCESS},
        s.EVALUATE: {s.TUNE, s.PREPROCESS},
        s.CHECK: {s.EVALUATE},
        s.REGISTER: {s.TUNE, s.EVALUATE, s.PREPROCESS},  # the drift baseline comes from Preprocess
        s.FAIL: {s.EVALUATE},
    }


def test_parameters_expose_instances_limits_threshold_and_input(definition: dict) -> None:
    params = {p["Name"]: (p["Type"], p["DefaultValue"]) for p in definition["Parameters"]}
    pc = CONFIG.pipeline
    assert params == {
        "InputDataUri": ("String", f"s3://{CONFIG.bucket_name('raw')}/{pc.raw_data_prefix}"),
        "LabelColumn": ("String", pc.label_column),
        "ProcessingInstanceType": ("String", pc.processing_instance_type),
        "ProcessingInstanceCount": ("Integer", pc.processing_instance_count),
        "TrainingInstanceType": ("String", pc.training_instance_type),
        "TrainingInstanceCount": ("Integer", pc.training_instance_count),
        "TuningStrategy": ("String", "Bayesian"),
        "MaxTrainingJobs": ("Integer", pc.max_training_jobs),
        "MaxParallelTrainingJobs": ("Integer", pc.max_parallel_training_jobs),
        "AucThreshold": ("Float", pc.auc_threshold),
        "RetrainReason": ("String", "manual"),
    }
    reasons = next(p for p in definition["Parameters"] if p["Name"] == "RetrainReason")["EnumValues"]
    assert reasons == ["manual", "schedule", "drift", "quality"]


def test_each_model_version_records_its_execution_and_why_it_ran(definition: dict) -> None:
    register = definition["Steps"][3]["Arguments"]["IfSteps"][0]["Arguments"]
    assert register["CustomerMetadataProperties"] == {
        "PipelineExecutionId": {"Get": "Execution.PipelineExecutionId"},
        "RetrainReason": {"Get": "Parameters.RetrainReason"},
    }


# ----------------------------------------------------------------- every job's guardrails


def test_processing_jobs_are_isolated_and_encrypted(definition, rendered) -> None:
    steps = _processing_steps(definition)
    assert [step["Name"] for step in steps] == [s.PREPROCESS, s.EVALUATE]
    for step in steps:
        job = step["Arguments"]
        # THEN no network and encrypted traffic; in dev outside the VPC (no interface endpoints to pay for)
        network = job["NetworkConfig"]
        assert network["EnableNetworkIsolation"] is True, step["Name"]
        assert network["EnableInterContainerTrafficEncryption"] is True, step["Name"]
        assert CONFIG.network.jobs_in_vpc is False and "VpcConfig" not in network
        # AND the volume is encrypted with the model key, the outputs with the key of what they hold:
        # data channels with the data key, the evaluation report with the model key
        assert "ModelKey" in _source(rendered, job["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"])
        output_key = {"Preprocess": "DataKey", "Evaluate": "ModelKey"}[step["Name"]]
        assert output_key in _source(rendered, job["ProcessingOutputConfig"]["KmsKeyId"])
        # AND the job runs as the processing role with a run-time limit
        assert "ProcessingJobRole" in _source(rendered, job["RoleArn"])
        assert job["StoppingCondition"]["MaxRuntimeInSeconds"] == CONFIG.pipeline.processing_max_runtime_seconds
        # AND its script comes from the code input, not from the network
        assert job["ProcessingInputs"][0]["InputName"] == "code"
        assert job["AppSpecification"]["ContainerEntrypoint"][-1] in (
            contract.PREPROCESS_SCRIPT, contract.EVALUATE_SCRIPT)


def test_processing_has_no_spot_option(service_model) -> None:
    # GIVEN CreateProcessingJob's request shape
    members = set(service_model.operation_model("CreateProcessingJob").input_shape.members)
    # THEN there is no spot capacity to ask for: only the tuning trials run on spot
    assert not {m for m in members if "Spot" in m or "Checkpoint" in m}


def test_tuning_trials_run_on_spot_with_checkpoints(definition: dict) -> None:
    job = _training_job(definition)
    pc = CONFIG.pipeline
    # THEN managed spot is on, and the wait (spot capacity + run) covers the run
    assert job["EnableManagedSpotTraining"] is True
    stop = job["StoppingCondition"]
    assert stop["MaxRuntimeInSeconds"] == pc.max_runtime_seconds
    assert stop["MaxWaitTimeInSeconds"] >= stop["MaxRuntimeInSeconds"]
    # AND interrupted trials resume from checkpoints in the model bucket, per execution
    checkpoint = _join(job["CheckpointConfig"]["S3Uri"])
    assert checkpoint[:3] == ["s3:/", MODELS, CHECKPOINTS_PREFIX.rstrip("/")]
    assert checkpoint[3] == {"Get": "Execution.PipelineExecutionId"}
    assert job["CheckpointConfig"]["LocalPath"] == "/opt/ml/checkpoints"


def test_tuning_trials_are_isolated_and_encrypted(definition: dict, rendered) -> None:
    job = _training_job(definition)
    assert job["EnableNetworkIsolation"] is True
    assert job["EnableInterContainerTrafficEncryption"] is True
    assert "VpcConfig" not in job  # dev: outside the VPC
    assert "ModelKey" in _source(rendered, job["ResourceConfig"]["VolumeKmsKeyId"])
    assert "ModelKey" in _source(rendered, job["OutputDataConfig"]["KmsKeyId"])
    assert "TrainingJobRole" in _source(rendered, job["RoleArn"])
    assert _join(job["OutputDataConfig"]["S3OutputPath"])[:3] == ["s3:/", MODELS, TRAINING_PREFIX.rstrip("/")]


def test_in_prod_every_job_runs_in_the_platforms_subnets_and_workload_group() -> None:
    # GIVEN prod, whose jobs run in the VPC
    _, platform = synth_platform(ENVIRONMENTS["prod"])
    rendered = checks.definition_from_template(template(platform, "pipeline").to_json())
    steps = _processing_steps(rendered.definition)
    vpcs = [step["Arguments"]["NetworkConfig"]["VpcConfig"] for step in steps]
    vpcs.append(_training_job(rendered.definition)["VpcConfig"])
    # THEN each job names the isolated subnets of every AZ and the workload security group
    for vpc in vpcs:
        assert len(vpc["Subnets"]) == len(ENVIRONMENTS["prod"].network.availability_zones)
        assert all("isolatedSubnet" in _source(rendered, v) for v in vpc["Subnets"])
        (group,) = vpc["SecurityGroupIds"]
        assert "WorkloadSecurityGroup" in _source(rendered, group)


def test_tuning_searches_auc_with_auto_early_stopping(definition: dict) -> None:
    arguments = checks.step_named(definition, s.TUNE)["Arguments"]
    config = arguments["HyperParameterTuningJobConfig"]
    boosting, forest = arguments["TrainingJobDefinitions"]
    for job in (boosting, forest):
        assert job["TuningObjective"] == {"Type": "Maximize", "MetricName": "validation:auc"}
    # With several definitions, objective and ranges belong to each, not to the tuning job
    assert "HyperParameterTuningJobObjective" not in config and "ParameterRanges" not in config
    assert config["TrainingJobEarlyStoppingType"] == "Auto"
    assert config["Strategy"] == {"Get": "Parameters.TuningStrategy"}
    assert config["ResourceLimits"] == {
        "MaxNumberOfTrainingJobs": {"Get": "Parameters.MaxTrainingJobs"},
        "MaxParallelTrainingJobs": {"Get": "Parameters.MaxParallelTrainingJobs"},
    }
    searched = {r["Name"] for kind in boosting["HyperParameterRanges"].values() for r in kind}
    assert {"eta", "max_depth", "min_child_weight", "subsample", "colsample_bytree", "alpha", "lambda"} <= searched
    # AND the forest searches its own knobs: trees, depth, row and column sampling
    searched = {r["Name"] for kind in forest["HyperParameterRanges"].values() for r in kind}
    assert {"num_parallel_tree", "max_depth", "subsample", "colsample_bynode"} <= searched
    assert (boosting["StaticHyperParameters"]["approach"], forest["StaticHyperParameters"]["approach"]) == (
        "boosting", "forest")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda a: a["HyperParameterTuningJobConfig"].update(ParameterRanges={}),
         r"step Tune: Arguments\.HyperParameterTuningJobConfig\.ParameterRanges: with TrainingJobDefinitions it"
         r" belongs to each definition"),
        (lambda a: a["TrainingJobDefinitions"][1].update(DefinitionName="boosting"),
         r"step Tune: Arguments\.TrainingJobDefinitions\[1\]\.DefinitionName 'boosting' is used twice"),
        (lambda a: a["TrainingJobDefinitions"][0].pop("TuningObjective"),
         r"step Tune: Arguments\.TrainingJobDefinitions\[0\]: TuningObjective is required with several"),
        (lambda a: a["TrainingJobDefinitions"][1]["TuningObjective"].update(MetricName="validation:logloss"),
         r"step Tune: Arguments\.TrainingJobDefinitions: every TuningObjective must be the same"),
        (lambda a: a.update(TrainingJobDefinition=a["TrainingJobDefinitions"][0]),
         r"step Tune: Arguments: give exactly one of TrainingJobDefinition and TrainingJobDefinitions"),
    ],
    ids=["ranges-on-the-job", "same-name", "no-objective", "other-objective", "both-forms"],
)
def test_several_definitions_are_each_named_with_the_same_objective(definition: dict, service_model, mutate,
                                                                     message: str) -> None:
    broken = copy.deepcopy(definition)
    mutate(checks.step_named(broken, s.TUNE)["Arguments"])
    with pytest.raises(checks.DefinitionError, match=message):
        checks.validate_definition(broken, service_model)


def test_trials_read_their_code_from_the_code_channel(definition: dict, pipeline_template: dict) -> None:
    job = _training_job(definition)
    code = next(c for c in job["InputDataConfig"] if c["ChannelName"] == "code")
    uri = code["DataSource"]["S3DataSource"]["S3Uri"]
    key = uri.rsplit("/", 1)[-1]
    # THEN script mode runs train.py from the tarball the code channel downloads
    hps = job["StaticHyperParameters"]
    assert hps["sagemaker_program"] == "train.py"
    assert hps["sagemaker_submit_directory"] == f"/opt/ml/input/data/code/{key}"
    assert hps["sagemaker_region"] == CONFIG.region
    # AND that tarball is the stack's file asset in the bootstrap bucket
    assert uri.startswith(f"s3://cdk-hnb659fds-assets-{CONFIG.account}-{CONFIG.region}/")
    assert key.endswith(".gz") and len(key) == 64 + len(".gz")


def test_evaluation_gates_registration_on_the_report_auc(definition: dict) -> None:
    evaluate = checks.step_named(definition, s.EVALUATE)
    # THEN evaluation scores the best trial's artifact on the test channel
    model_uri = _join(evaluate["Arguments"]["ProcessingInputs"][1]["S3Input"]["S3Uri"])
    assert {"Get": "Steps.Tune.TrainingJobSummaries[0].TrainingJobName"} in model_uri
    assert model_uri[-2:] == ["output", "model.tar.gz"]
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in evaluate["Arguments"]["ProcessingInputs"]}
    for split in ("train", "validation", "test"):
        assert inputs[split] == {"Get": f"Steps.Preprocess.ProcessingOutputConfig.Outputs['{split}'].S3Output.S3Uri"}
    # AND every trial's artifact comes in, so the best of each approach can be compared
    assert _join(inputs["candidates"])[:3] == ["s3:/", MODELS, TRAINING_PREFIX.rstrip("/")]
    # AND writes its report under evaluation/ as a property file
    output = evaluate["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]
    assert _join(output["S3Output"]["S3Uri"])[:3] == ["s3:/", MODELS, EVALUATION_PREFIX.rstrip("/")]
    assert evaluate["PropertyFiles"] == [
        {"PropertyFileName": "EvaluationReport", "OutputName": output["OutputName"], "FilePath": "evaluation.json"},
        {"PropertyFileName": "ModelCard", "OutputName": output["OutputName"], "FilePath": "model-card.json"},
    ]
    # AND the gate compares the report's AUC (the path evaluate.py writes) with the threshold
    (condition,) = checks.step_named(definition, s.CHECK)["Arguments"]["Conditions"]
    assert condition["Type"] == "GreaterThanOrEqualTo"
    assert condition["LeftValue"]["Std:JsonGet"]["Path"] == contract.report.BINARY_AUC_PATH
    assert condition["RightValue"] == {"Get": "Parameters.AucThreshold"}


def test_registration_carries_the_model_card_evaluation_wrote(definition: dict) -> None:
    register = checks.step_named(definition, s.REGISTER)["Arguments"]
    # THEN the card's content is the string evaluate.py wrote, read from its property file, for review
    assert register["ModelCard"] == {
        "ModelCardContent": {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.ModelCard"},
                                             "Path": "content"}},
        "ModelCardStatus": "PendingReview",
    }


def test_registration_is_pending_manual_approval_with_the_report(definition: dict) -> None:
    register = checks.step_named(definition, s.REGISTER)["Arguments"]
    assert register["ModelPackageGroupName"] == CONFIG.model_package_group_name
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    stats = register["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert stats["ContentType"] == "application/json"
    assert _join(stats["S3Uri"])[-1] == "evaluation.json"
    assert checks.step_named(definition, s.FAIL)["Arguments"]["ErrorMessage"]


def test_registered_container_serves_with_the_handlers_inside_the_artifact(definition: dict) -> None:
    # An isolated endpoint fetches nothing: train.py packs inference.py into model.tar.gz's code/,
    # and the container must be told to import it from there.
    (container,) = checks.step_named(definition, s.REGISTER)["Arguments"]["InferenceSpecification"]["Containers"]
    assert container["Environment"] == {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        # The server substitutes this for a missing Accept or */*: the declared response type.
        "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
        # The toolkit pip-installs code/ at start-up; with no index it must build without isolation.
        "PIP_NO_BUILD_ISOLATION": "false",
        "PIP_NO_INDEX": "true",
    }


def test_trials_install_their_code_without_a_package_index(definition: dict) -> None:
    # GIVEN network-isolated trials, whose toolkit runs `pip install .` on the code channel
    job = _training_job(definition)
    assert job["EnableNetworkIsolation"] is True
    # THEN pip builds against the image's setuptools and never looks for an index
    # (pip reads --no-build-isolation inverted from the environment: "false" disables isolation)
    assert job["Environment"] == {"PIP_NO_BUILD_ISOLATION": "false", "PIP_NO_INDEX": "true"}


def test_channels_and_outputs_live_under_the_shared_prefixes(definition: dict) -> None:
    outputs = checks.step_named(definition, s.PREPROCESS)["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    assert {o["OutputName"] for o in outputs} >= {"train", "validation", "test"}
    for output in outputs:
        assert _join(output["S3Output"]["S3Uri"])[:3] == ["s3:/", PROCESSED, CHANNELS_PREFIX.rstrip("/")]


# ----------------------------------------------------------------- the resource and its grants


def test_pipeline_resource_has_the_configured_name_and_pipeline_role(pipeline_template: dict) -> None:
    props = checks.pipeline_resource(pipeline_template)["Properties"]
    assert props["PipelineName"] == CONFIG.pipeline_name
    assert props["PipelineName"].startswith(CONFIG.prefix)
    assert "PipelineExecutionRole" in str(props["RoleArn"])


def test_job_roles_read_exactly_the_code_object(platform_templates: dict, definition: dict) -> None:
    uri = next(c for c in _training_job(definition)["InputDataConfig"] if c["ChannelName"] == "code")[
        "DataSource"]["S3DataSource"]["S3Uri"]
    object_arn = "arn:aws:s3:::" + uri.removeprefix("s3://")
    policies = {
        logical_id: resource["Properties"]["PolicyDocument"]["Statement"]
        for logical_id, resource in platform_templates["access"]["Resources"].items()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
    }
    readers = {
        logical_id.split("Policy")[0]
        for logical_id, statements in policies.items()
        for st in statements
        if st.get("Sid") == "ReadTrainingCode"
    }
    assert readers == {"ProcessingJobRole", "TrainingJobRole"}
    for statements in policies.values():
        for st in statements:
            if st.get("Sid") == "ReadTrainingCode":
                assert st["Action"] == "s3:GetObject" and st["Resource"] == object_arn


# ----------------------------------------------------------------- config variants (no synth needed)


def _resources(pipeline: PipelineConfig) -> PipelineResources:
    return PipelineResources(
        config=pipeline, region="us-east-1", image_uri="img", processing_role_arn="arn:aws:iam::1:role/p",
        training_role_arn="arn:aws:iam::1:role/t", subnet_ids=["subnet-1"], security_group_ids=["sg-1"],
        model_key_arn="arn:aws:kms:us-east-1:1:key/k", data_key_arn="arn:aws:kms:us-east-1:1:key/d",
        raw_bucket="raw", processed_bucket="processed",
        model_bucket="models", model_package_group_name="group", code_s3_uri="s3://assets/abc.gz",
        code_file_name="abc.gz", channels_prefix=CHANNELS_PREFIX, training_prefix=TRAINING_PREFIX,
        checkpoints_prefix=CHECKPOINTS_PREFIX, evaluation_prefix=EVALUATION_PREFIX,
    )  # fmt: skip


def test_warm_start_from_a_configured_parent(service_model) -> None:
    # GIVEN a config naming a parent tuning job
    pipeline = replace(PipelineConfig(), warm_start_parent_tuning_job="mlp-dev-previous")
    definition = build_definition(_resources(pipeline))
    # THEN the tuning step warm starts from it through an overridable parameter
    warm = checks.step_named(definition, s.TUNE)["Arguments"]["WarmStartConfig"]
    assert warm == {
        "ParentHyperParameterTuningJobs": [
            {"HyperParameterTuningJobName": {"Get": "Parameters.WarmStartParentTuningJob"}}
        ],
        "WarmStartType": "IdenticalDataAndAlgorithm",
    }
    assert {"Name": "WarmStartParentTuningJob", "Type": "String", "DefaultValue": "mlp-dev-previous"} in definition[
        "Parameters"]
    checks.validate_definition(definition, service_model)
    # AND without one there is no warm start at all (SageMaker rejects an empty parent list)
    assert "WarmStartConfig" not in checks.step_named(build_definition(_resources(PipelineConfig())), s.TUNE)[
        "Arguments"]


def test_on_demand_training_drops_the_spot_wait(service_model) -> None:
    definition = build_definition(_resources(PipelineConfig(use_spot_training=False)))
    job = _training_job(definition)
    assert job["EnableManagedSpotTraining"] is False
    assert "MaxWaitTimeInSeconds" not in job["StoppingCondition"]
    checks.validate_definition(definition, service_model)


@pytest.mark.parametrize("engine", ["pandas", "spark"])
def test_each_training_instance_reads_its_own_shard_of_the_data(engine) -> None:
    # GIVEN either engine
    definition = build_definition(_resources(replace(PipelineConfig(), preprocess_engine=engine)))
    # THEN Preprocess writes as many files per split as there are training instances
    arguments = checks.step_named(definition, s.PREPROCESS)["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert arguments[arguments.index("--shards") + 1] == {
        "Std:Join": {"On": "", "Values": [{"Get": "Parameters.TrainingInstanceCount"}]}}
    # AND every trial's data channels deal those files out by key, while the code reaches every instance
    for job in checks.step_named(definition, s.TUNE)["Arguments"]["TrainingJobDefinitions"]:
        kinds = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3DataDistributionType"]
                 for c in job["InputDataConfig"]}
        assert kinds == {"train": "ShardedByS3Key", "validation": "ShardedByS3Key", "code": "FullyReplicated"}


@pytest.mark.parametrize(("engine", "fmt", "argument", "content_type"), [
    ("pandas", "", None, "text/csv"),
    ("spark", "", None, "application/x-parquet"),
    ("pandas", "recordio", "recordio", "application/x-recordio-protobuf"),
    ("pandas", "parquet", "parquet", "application/x-parquet"),
    ("spark", "csv", "csv", "text/csv"),
])
def test_the_channel_format_reaches_preprocessing_and_the_trials(service_model, engine, fmt, argument,
                                                                content_type) -> None:
    # GIVEN an engine and a channel format (empty: the engine's own)
    definition = build_definition(_resources(replace(PipelineConfig(), preprocess_engine=engine,
                                                     channel_format=fmt)))
    # THEN Preprocess is told the format only when one is configured
    arguments = checks.step_named(definition, s.PREPROCESS)["Arguments"]["AppSpecification"]["ContainerArguments"]
    if argument:
        assert arguments[arguments.index("--output-format") + 1] == argument
    else:
        assert "--output-format" not in arguments
    # AND every trial reads its data channels with the matching content type
    for job in checks.step_named(definition, s.TUNE)["Arguments"]["TrainingJobDefinitions"]:
        data = [c for c in job["InputDataConfig"] if c["ChannelName"] in contract.TRAINING_CHANNELS]
        assert {c["ContentType"] for c in data} == {content_type}
    checks.validate_definition(definition, service_model)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"channel_format": "tfrecord"}, r"channel_format 'tfrecord' must be one of csv, parquet, recordio"),
        ({"channel_format": "recordio", "preprocess_engine": "spark"},
         r"channel_format 'recordio' needs preprocess_engine 'pandas'.*use channel_format 'parquet' with Spark"),
        ({"max_runtime_seconds": 7200, "max_wait_seconds": 3600}, r"max_wait_seconds \(3600\) must be >="),
        ({"tuning_strategy": "Hyperband"}, r"tuning_strategy 'Hyperband' must be Bayesian or Random"),
        ({"max_parallel_training_jobs": 30}, r"max_parallel_training_jobs must be between"),
    ],
)
def test_config_rejects_settings_sagemaker_would_reject(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PipelineConfig(**kwargs)
