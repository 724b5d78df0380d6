"""The batch-scoring pipeline: request shapes, the transform's semantics and its guardrails.

Like the training pipeline's, no cdk-nag rule looks inside the definition body,
so these tests are the gate on isolation, VPC, keys and the output contract.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest

from stacks.config import BATCH_SCORING_PREFIX, ENVIRONMENTS, BatchScoringConfig, ConfigError
from stacks.pipeline_definition import batch_scoring as b
from stacks.pipeline_definition import checks
from stacks.pipeline_definition.expressions import EXECUTION_ID

CONFIG = ENVIRONMENTS["dev"]


@pytest.fixture(scope="module")
def rendered(platform_templates: dict[str, dict]) -> checks.RenderedDefinition:
    return checks.definition_from_template(platform_templates["batch"])


@pytest.fixture(scope="module")
def definition(rendered: checks.RenderedDefinition) -> dict:
    return rendered.definition


@pytest.fixture(scope="module")
def service_model():
    return checks.sagemaker_model()


def _resources(**changes) -> b.BatchScoringResources:
    values = dict(
        config=BatchScoringConfig(), role_arn="arn:aws:iam::111122223333:role/mlp-dev-batch",
        subnet_ids=(), security_group_ids=(), model_key_arn="arn:aws:kms:us-east-1:111122223333:key/model",
        model_package_group_version_prefix="arn:aws:sagemaker:us-east-1:111122223333:model-package/mlp-dev-xgboost",
        raw_bucket="raw", model_bucket="models", prefix=BATCH_SCORING_PREFIX,
    )
    return b.BatchScoringResources(**{**values, **changes})


def _source(rendered: checks.RenderedDefinition, value: str) -> str:
    intrinsic = rendered.intrinsic(value)
    assert intrinsic is not None, f"{value!r} is a literal, expected a reference to another stack"
    return str(intrinsic)


def test_the_synthesized_definition_matches_the_sagemaker_request_shapes(definition, service_model) -> None:
    # WHEN the Model step (CreateModel) and the Transform step (CreateTransformJob) are checked against botocore
    # THEN required members, types, enums and ranges hold
    checks.validate_definition(definition, service_model)
    assert [(s["Name"], s["Type"]) for s in definition["Steps"]] == [(b.MODEL_STEP, "Model"),
                                                                      (b.TRANSFORM_STEP, "Transform")]
    assert checks.dependencies(definition) == {b.MODEL_STEP: set(), b.TRANSFORM_STEP: {b.MODEL_STEP}}


def test_a_definition_for_jobs_in_the_vpc_validates_and_names_the_vpc(service_model) -> None:
    # GIVEN prod's choice: jobs in the VPC
    definition = b.build_batch_scoring_definition(_resources(subnet_ids=("subnet-1", "subnet-2"),
                                                             security_group_ids=("sg-1",)))
    checks.validate_definition(definition, service_model)
    # THEN the model (which the transform job runs) is in the VPC
    assert definition["Steps"][0]["Arguments"]["VpcConfig"] == {"SecurityGroupIds": ["sg-1"],
                                                               "Subnets": ["subnet-1", "subnet-2"]}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["Steps"][1]["Arguments"].update(BatchStrategy="Multi"),
         r"step ScoreBatch: Arguments\.BatchStrategy: 'Multi' is not one of"),
        (lambda d: d["Steps"][1]["Arguments"]["TransformInput"].update(SplitType="Lines"),
         r"step ScoreBatch: Arguments\.TransformInput\.SplitType: 'Lines' is not one of"),
        (lambda d: d["Steps"][1]["Arguments"]["DataProcessing"].update(JoinSource="Output"),
         r"step ScoreBatch: Arguments\.DataProcessing\.JoinSource: 'Output' is not one of"),
        (lambda d: d["Steps"][1]["Arguments"].pop("TransformResources"),
         r"step ScoreBatch: Arguments: missing required member\(s\) \['TransformResources'\]"),
        (lambda d: d["Steps"][1]["Arguments"].update(ModelName={"Get": "Steps.Nope.ModelName"}),
         r"step ScoreBatch: Arguments\.ModelName: 'Steps\.Nope\.ModelName' reads a step not defined before it"),
        (lambda d: d["Steps"][0]["Arguments"].update(EnableNetworkIsolation="true"),
         r"step CreateScoringModel: Arguments\.EnableNetworkIsolation: expected a boolean"),
    ],
    ids=["batch-strategy", "split-type", "join-source", "missing-resources", "unknown-step", "isolation-type"],
)
def test_a_broken_request_names_its_step_and_field(definition, service_model, mutate, message) -> None:
    broken = copy.deepcopy(definition)
    mutate(broken)
    with pytest.raises(checks.DefinitionError, match=message):
        checks.validate_definition(broken, service_model)


def test_the_model_is_the_groups_version_isolated_under_the_batch_role(rendered, definition) -> None:
    model = definition["Steps"][0]["Arguments"]
    # THEN the version's ARN is the group's ARN joined to a version number: no value names another group
    values = model["PrimaryContainer"]["ModelPackageName"]["Std:Join"]["Values"]
    assert values == [CONFIG.arn("sagemaker", f"model-package/{CONFIG.model_package_group_name}"),
                      {"Get": f"Parameters.{b.MODEL_PACKAGE_VERSION}"}]
    assert model["PrimaryContainer"]["ModelPackageName"]["Std:Join"]["On"] == "/"
    # AND the container, its environment and artifact are the version's own (nothing overridden)
    assert set(model["PrimaryContainer"]) == {"ModelPackageName"}
    assert model["EnableNetworkIsolation"] is True
    assert "VpcConfig" not in model  # dev runs jobs isolated outside the VPC
    assert "BatchScoringRole" in _source(rendered, model["ExecutionRoleArn"])


def test_the_transform_scores_lines_in_mini_batches_keeping_row_ids(rendered, definition) -> None:
    job = definition["Steps"][1]["Arguments"]
    c = CONFIG.batch_scoring
    assert job["ModelName"] == {"Get": f"Steps.{b.MODEL_STEP}.ModelName"}
    assert (job["BatchStrategy"], job["TransformInput"]["SplitType"]) == ("MultiRecord", "Line")
    assert (job["MaxPayloadInMB"], job["MaxConcurrentTransforms"]) == (c.max_payload_mb, c.max_concurrent_transforms)
    # the row id (first column) never reaches the model, and comes back joined to the prediction
    assert job["DataProcessing"] == {"InputFilter": "$[1:]", "JoinSource": "Input"}
    assert (job["TransformInput"]["ContentType"], job["TransformOutput"]["Accept"]) == ("text/csv", "text/csv")
    assert job["TransformOutput"]["AssembleWith"] == "Line"
    # the handlers accept a request as large as a mini-batch (real-time stops at 6 MB)
    assert int(job["Environment"]["SMXGB_MAX_PAYLOAD_BYTES"]) == c.max_payload_mb * 1024 * 1024
    assert job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == {"Get": f"Parameters.{b.INPUT_DATA}"}


def test_output_lands_per_execution_under_the_model_buckets_batch_scoring_prefix(definition) -> None:
    output = definition["Steps"][1]["Arguments"]["TransformOutput"]["S3OutputPath"]["Std:Join"]
    assert output == {"On": "/", "Values": ["s3:/", CONFIG.bucket_name("models"), BATCH_SCORING_PREFIX,
                                            EXECUTION_ID]}


def test_volume_and_output_are_encrypted_with_the_model_key(rendered, definition) -> None:
    job = definition["Steps"][1]["Arguments"]
    assert "ModelKey" in _source(rendered, job["TransformOutput"]["KmsKeyId"])
    assert "ModelKey" in _source(rendered, job["TransformResources"]["VolumeKmsKeyId"])


def test_parameters_require_a_version_and_default_the_rest(definition) -> None:
    params = {p["Name"]: p for p in definition["Parameters"]}
    # THEN no default version: every execution says which approved version scores
    assert params[b.MODEL_PACKAGE_VERSION] == {"Name": b.MODEL_PACKAGE_VERSION, "Type": "Integer"}
    assert params[b.INPUT_DATA]["DefaultValue"] == f"s3://{CONFIG.bucket_name('raw')}/{BATCH_SCORING_PREFIX}/"
    assert params[b.INSTANCE_TYPE]["DefaultValue"] == CONFIG.batch_scoring.instance_type


def test_the_pipeline_runs_under_its_own_role(platform_templates) -> None:
    resource = checks.pipeline_resource(platform_templates["batch"])
    assert resource["Properties"]["PipelineName"] == CONFIG.batch_scoring_pipeline_name
    assert "BatchPipelineRole" in str(resource["Properties"]["RoleArn"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_payload_mb": 101}, r"max_payload_mb 101 must be 1-100"),
        ({"max_payload_mb": 30, "max_concurrent_transforms": 4}, r"30 x 4 must be at most 100"),
        ({"max_concurrent_transforms": 0}, r"must be at most 100"),
        ({"invocation_max_retries": 4}, r"invocation_max_retries 4 must be 0-3"),
        ({"invocation_timeout_seconds": 0}, r"invocation_timeout_seconds 0 must be 1-3600"),
    ],
)
def test_a_transform_sagemaker_would_refuse_fails_synth(changes, message) -> None:
    with pytest.raises(ConfigError, match=message):
        replace(BatchScoringConfig(), **changes)
