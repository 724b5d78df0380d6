"""The Spark engine of the Preprocess step: its definition, its guardrails and its image grant."""

from __future__ import annotations

import shlex
from dataclasses import replace

import pytest

from stacks.access_stack import CHANNELS_PREFIX, CHECKPOINTS_PREFIX, EVALUATION_PREFIX, TRAINING_PREFIX
from stacks.config import ENVIRONMENTS, ConfigError, PipelineConfig
from stacks.images import repository_arn, spark_processing_image_uri, xgboost_image_uri
from stacks.pipeline_definition import PipelineResources, build_definition, checks, contract
from stacks.pipeline_definition import steps as s
from tests.infra.conftest import synth_platform, template
from tools.pipeline_runner import processing

SPARK_IMAGE = spark_processing_image_uri("us-east-1")


def _resources(pipeline: PipelineConfig) -> PipelineResources:
    return PipelineResources(
        config=pipeline, region="us-east-1", image_uri=xgboost_image_uri("us-east-1"), spark_image_uri=SPARK_IMAGE,
        processing_role_arn="arn:aws:iam::1:role/p", training_role_arn="arn:aws:iam::1:role/t",
        subnet_ids=["subnet-1"], security_group_ids=["sg-1"],
        model_key_arn="arn:aws:kms:us-east-1:1:key/k", data_key_arn="arn:aws:kms:us-east-1:1:key/d",
        raw_bucket="raw", processed_bucket="processed",
        model_bucket="models", model_package_group_name="group", code_s3_uri="s3://assets/abc.gz",
        code_file_name="abc.gz", channels_prefix=CHANNELS_PREFIX, training_prefix=TRAINING_PREFIX,
        checkpoints_prefix=CHECKPOINTS_PREFIX, evaluation_prefix=EVALUATION_PREFIX,
    )  # fmt: skip


def test_the_spark_engine_runs_preprocess_on_a_spark_cluster_within_the_guardrails() -> None:
    # GIVEN preprocess_engine="spark"
    definition = build_definition(_resources(PipelineConfig(preprocess_engine="spark", spark_instance_count=3)))
    # THEN the definition still matches botocore's request shapes
    checks.validate_definition(definition, checks.sagemaker_model())
    job = checks.step_named(definition, s.PREPROCESS)["Arguments"]
    # AND Preprocess runs spark_preprocess.py through the Spark image's launcher on SparkInstanceCount instances
    assert job["AppSpecification"]["ImageUri"] == SPARK_IMAGE
    entry = job["AppSpecification"]["ContainerEntrypoint"]
    assert entry[:2] == ["/bin/sh", "-c"] and "exec smspark-submit /opt/ml/code/spark_preprocess.py" in entry[2]
    assert job["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == {"Get": "Parameters.SparkInstanceCount"}
    assert {"Name": "SparkInstanceCount", "Type": "Integer", "DefaultValue": 3} in definition["Parameters"]
    # AND the same guardrails as every job: isolation, inter-container encryption, KMS on volume and outputs, VPC
    network = job["NetworkConfig"]
    assert network["EnableNetworkIsolation"] is True and network["EnableInterContainerTrafficEncryption"] is True
    assert network["VpcConfig"] == {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}
    assert job["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == "arn:aws:kms:us-east-1:1:key/k"
    assert job["ProcessingOutputConfig"]["KmsKeyId"] == "arn:aws:kms:us-east-1:1:key/d"
    # AND every instance receives all raw files (Spark's tasks read byte ranges of the same local files)
    raw = [i for i in job["ProcessingInputs"] if i["InputName"] == "raw"][0]
    assert raw["S3Input"]["S3DataDistributionType"] == "FullyReplicated"
    # AND the trials read Parquet shards; evaluation stays on the XGBoost image
    for job_definition in checks.step_named(definition, s.TUNE)["Arguments"]["TrainingJobDefinitions"]:
        channels = job_definition["InputDataConfig"]
        assert {c["ContentType"] for c in channels if c["ChannelName"] in contract.TRAINING_CHANNELS} == {
            "application/x-parquet"}
    evaluate = next(step for step in checks.iter_steps(definition) if step["Name"] == s.EVALUATE)
    assert evaluate["Arguments"]["AppSpecification"]["ImageUri"] == xgboost_image_uri("us-east-1")


def test_the_default_engine_is_pandas_on_one_instance() -> None:
    definition = build_definition(_resources(PipelineConfig()))
    job = checks.step_named(definition, s.PREPROCESS)["Arguments"]
    assert PipelineConfig().preprocess_engine == "pandas"
    assert job["AppSpecification"]["ImageUri"] == xgboost_image_uri("us-east-1")
    assert "SparkInstanceCount" not in {p["Name"] for p in definition["Parameters"]}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"preprocess_engine": "dask"}, r"preprocess_engine 'dask' must be one of pandas, spark"),
    ({"spark_instance_count": 0}, r"spark_instance_count 0 must be at least 1"),
])
def test_config_refuses_an_unknown_engine_or_an_empty_cluster(kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        PipelineConfig(**kwargs)


def test_only_the_processing_role_may_pull_the_spark_image_and_only_with_the_spark_engine() -> None:
    # GIVEN dev with the Spark engine WHEN synthesized
    base = ENVIRONMENTS["dev"]
    _, platform = synth_platform(replace(base, pipeline=replace(base.pipeline, preprocess_engine="spark")))
    access = template(platform, "access").to_json()
    pulls = {}
    for resource in access["Resources"].values():
        if resource["Type"] != "AWS::IAM::ManagedPolicy":
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Sid") == "EcrPull":
                roles = str(resource["Properties"].get("Roles"))
                pulls[roles] = statement["Resource"] if isinstance(statement["Resource"], list) else [
                    statement["Resource"]]
    spark_repo = repository_arn(SPARK_IMAGE)
    # THEN exactly one role (the processing role) may pull the Spark image
    holders = [roles for roles, resources in pulls.items() if spark_repo in resources]
    assert len(holders) == 1 and "ProcessingJobRole" in holders[0]
    # AND the pipeline definition's Preprocess step uses that image
    rendered = checks.definition_from_template(template(platform, "pipeline").to_json())
    assert checks.step_named(rendered.definition, s.PREPROCESS)["Arguments"]["AppSpecification"]["ImageUri"] == (
        SPARK_IMAGE)


def test_the_local_runner_reads_the_spark_launcher_as_a_pyspark_script() -> None:
    # GIVEN the Spark step's AppSpecification WHEN the local runner parses it
    job = checks.step_named(build_definition(_resources(PipelineConfig(preprocess_engine="spark"))),
                            s.PREPROCESS)["Arguments"]
    spec = job["AppSpecification"]
    assert processing._runs_spark(spec)
    assert not processing._runs_spark(checks.step_named(build_definition(_resources(PipelineConfig())),
                                                        s.PREPROCESS)["Arguments"]["AppSpecification"])
    # THEN it finds spark_preprocess.py as the script to run with plain Python (PySpark then runs in local mode)
    tokens = shlex.split(spec["ContainerEntrypoint"][2])
    assert processing._python_script(tokens) == "/opt/ml/code/spark_preprocess.py"


def test_the_evaluator_allows_the_spark_image_to_the_processing_role_only_with_the_spark_engine() -> None:
    # GIVEN dev with the Spark engine, its policies resolved, and the image rows of the contract
    from tools.iam_evaluator import load_policies
    from tools.iam_evaluator.contract import check_contract, platform_cases
    from tools.iam_evaluator.synth import environment_templates

    base = ENVIRONMENTS["dev"]
    config = replace(base, pipeline=replace(base.pipeline, preprocess_engine="spark"))
    policies = load_policies(environment_templates(config), account=config.account, region=config.region)
    rows = [c for c in platform_cases(policies, config) if c.why == "pull the Spark processing image"]
    # WHEN iam-simulate decides them
    outcomes = check_contract(policies, rows)
    # THEN the processing role may pull it, the training, hosting and batch-scoring roles may not (dev's own run
    # shows the deny for the processing role too, where the engine is pandas), and every decision is the contract's
    assert {(o.case.principal, o.case.expected) for o in outcomes} == {
        ("processing", "allow"), ("training", "deny"), ("hosting", "deny"), ("batch", "deny")}
    assert all(o.matches for o in outcomes), [(o.case.principal, o.decision.result) for o in outcomes]
