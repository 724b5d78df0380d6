"""The batch-scoring pipeline: a model from a registered version, then a transform job over a data set.

Two steps, both plain SageMaker requests (validated against botocore like the
training pipeline's):

* ``CreateScoringModel`` (``Model``, a CreateModel request): the version
  numbered by the ``ModelPackageVersion`` parameter, network-isolated, in the platform's VPC
  where jobs run in it, under the batch-scoring role. The container, its
  environment and ``model.tar.gz`` (with the handlers under ``code/``) come
  from the version itself, so the transform serves exactly what was approved.
* ``ScoreBatch`` (``Transform``): the input split into lines, packed into
  mini-batches of up to ``MaxPayloadInMB``, the row id (first column) filtered
  out before the model sees a line and the input joined back to each
  prediction, so every output line reads ``<row_id>,<features...>,<prediction>``.
  Volume and output are encrypted with the model key.

Only approved versions of this environment's group are scored, with no
lookup at synth. The group: an execution gives a version *number* and the
definition joins it to the group's ARN, so no parameter value can name another
group's package (IAM cannot: the Service Authorization Reference lists no
model-package resource or condition key for CreateModel). The approval:
SageMaker refuses to deploy a version whose ``ModelApprovalStatus`` is not
``Approved``, and the local runner refuses it the same way before any job
(``tools/pipeline_runner/transform.py``). A Lambda step could re-check it, at
the price of a function, its role and a network path, to repeat the service's check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stacks.config import BatchScoringConfig
from stacks.pipeline_definition.definition import SCHEMA_VERSION
from stacks.pipeline_definition.expressions import join, param, step_property
from stacks.pipeline_definition.jobs import run_scoped_uri
from stacks.pipeline_definition.parameters import Parameter

MODEL_STEP = "CreateScoringModel"
TRANSFORM_STEP = "ScoreBatch"
MODEL_PACKAGE_VERSION = "ModelPackageVersion"
INPUT_DATA = "InputDataUri"
INSTANCE_TYPE = "TransformInstanceType"
INSTANCE_COUNT = "TransformInstanceCount"
CSV = "text/csv"
#: JSONPath on each CSV line: everything but the row id goes to the model.
DROP_ROW_ID = "$[1:]"
MIB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class BatchScoringResources:
    """What the definition names outside itself (CDK tokens welcome)."""

    config: BatchScoringConfig
    role_arn: str
    #: Empty when jobs run network-isolated outside the VPC (no ``VpcConfig``).
    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str]
    model_key_arn: str
    #: ``arn:aws:sagemaker:<region>:<account>:model-package/<group>``: versions are ``<this>/<N>``.
    model_package_group_version_prefix: str
    raw_bucket: str
    model_bucket: str
    #: ``batch-scoring``: input under it in the raw bucket, output in the model bucket.
    prefix: str


def batch_scoring_parameters(r: BatchScoringResources) -> list[Parameter]:
    # No default version: every execution names the approved version it scores with.
    return [
        Parameter(MODEL_PACKAGE_VERSION, "Integer", None),
        Parameter(INPUT_DATA, "String", f"s3://{r.raw_bucket}/{r.prefix}/"),
        Parameter(INSTANCE_TYPE, "String", r.config.instance_type),
        Parameter(INSTANCE_COUNT, "Integer", r.config.instance_count),
    ]


def handler_environment(c: BatchScoringConfig) -> dict[str, str]:
    """The handlers' limits (``smxgb.serving``) raised to the mini-batch size: real-time requests stop at
    6 MB, a transform's at ``MaxPayloadInMB``; any row count that fits is accepted."""
    payload = c.max_payload_mb * MIB
    return {"SMXGB_MAX_PAYLOAD_BYTES": str(payload), "SMXGB_MAX_ROWS": str(payload // 2)}


def model_package_arn(r: BatchScoringResources) -> dict:
    """The version's ARN, built from the group's: the parameter is only ever a version number of this group."""
    return join(r.model_package_group_version_prefix, param(MODEL_PACKAGE_VERSION))


def model_step(r: BatchScoringResources) -> dict:
    arguments = {
        "ExecutionRoleArn": r.role_arn,
        "PrimaryContainer": {"ModelPackageName": model_package_arn(r)},
        "EnableNetworkIsolation": True,
    }
    if r.subnet_ids:
        arguments["VpcConfig"] = {"SecurityGroupIds": list(r.security_group_ids), "Subnets": list(r.subnet_ids)}
    return {
        "Name": MODEL_STEP,
        "Type": "Model",
        "Description": "A network-isolated model from the approved version to score with",
        "Arguments": arguments,
    }


def transform_step(r: BatchScoringResources) -> dict:
    c = r.config
    return {
        "Name": TRANSFORM_STEP,
        "Type": "Transform",
        "Description": "Score every line of the input with the version's own handlers; row ids kept",
        "Arguments": {
            "ModelName": step_property(MODEL_STEP, "ModelName"),
            # Throughput: whole lines packed up to MaxPayloadInMB per request (per-request
            # overhead amortized over ~20k rows), one request in flight per model-server
            # worker (one per vCPU); see BatchScoringConfig.
            "BatchStrategy": "MultiRecord",
            "MaxPayloadInMB": c.max_payload_mb,
            "MaxConcurrentTransforms": c.max_concurrent_transforms,
            "ModelClientConfig": {
                "InvocationsTimeoutInSeconds": c.invocation_timeout_seconds,
                "InvocationsMaxRetries": c.invocation_max_retries,
            },
            "Environment": handler_environment(c),
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": param(INPUT_DATA)}},
                "ContentType": CSV,
                "CompressionType": "None",
                "SplitType": "Line",
            },
            "TransformOutput": {
                "S3OutputPath": run_scoped_uri(r.model_bucket, r.prefix),
                "Accept": CSV,
                "AssembleWith": "Line",
                "KmsKeyId": r.model_key_arn,
            },
            "TransformResources": {
                "InstanceType": param(INSTANCE_TYPE),
                "InstanceCount": param(INSTANCE_COUNT),
                "VolumeKmsKeyId": r.model_key_arn,
            },
            "DataProcessing": {"InputFilter": DROP_ROW_ID, "JoinSource": "Input"},
        },
    }


def build_batch_scoring_definition(r: BatchScoringResources) -> dict:
    return {
        "Version": SCHEMA_VERSION,
        "Metadata": {},
        "Parameters": [p.to_definition() for p in batch_scoring_parameters(r)],
        "Steps": [model_step(r), transform_step(r)],
    }
