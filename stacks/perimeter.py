"""The data perimeter: which of the platform's roles each key and each data bucket admits.

The access stack grants each role exactly what it does (object prefixes, key
use through S3 only); the perimeter is the second lock, on the resources
themselves: a principal that is not listed here is refused by the key policy
and the bucket policy even if its own IAM policies allow everything.

Roles are named by ``PlatformConfig.role_name`` so that these lists are plain
ARNs, known before the access stack exists.
"""

from __future__ import annotations

from stacks.config import PlatformConfig

#: The platform's machine roles (created by the access stack), by purpose.
PLATFORM_ROLES = ("processing", "training", "hosting", "batch", "pipeline", "batch-pipeline", "notebook")

#: Roles that read or write objects under each key, through S3 (the personas of the
#: people stack too: the data scientist's data, the approver's evaluation reports).
KEY_USERS = {
    "data": ("processing", "training", "batch", "notebook", "data-scientist"),
    "models": (
        "processing", "training", "hosting", "batch", "pipeline", "notebook", "data-scientist", "model-approver",
    ),
    # AWS services (logs, alarms, rules) use the logs key, and the retraining guard, which
    # publishes its decisions to the alert topic encrypted with it.
    "logs": ("retrain-guard",),
}
#: Roles that launch SageMaker work whose volumes SageMaker encrypts with a
#: grant on the key (kms:GrantIsForAWSResource).
KEY_GRANTERS = {
    "data": (),
    "models": ("pipeline", "batch-pipeline", "notebook", "data-scientist", "ml-engineer"),
    "logs": (),
}
#: Roles admitted to each data bucket.
BUCKET_USERS = {
    "raw": ("processing", "batch", "notebook", "data-scientist"),
    "processed": ("processing", "training", "notebook", "data-scientist"),
    "models": (
        "processing", "training", "hosting", "batch", "pipeline", "notebook", "data-scientist", "model-approver",
    ),
}


#: The role Redshift assumes to UNLOAD the preprocessing query, only with the redshift source
#: (``SourceConfig``): it writes the processed bucket's unload prefix under the data key.
REDSHIFT_UNLOAD = "redshift-unload"


def _source_roles(config: PlatformConfig) -> list[str]:
    return [config.role_arn(REDSHIFT_UNLOAD)] if config.pipeline.source.kind == "redshift" else []


def key_users(config: PlatformConfig, key: str) -> list[str]:
    """Principals that may encrypt and decrypt with ``key``: its roles and the break-glass role."""
    arns = [config.role_arn(purpose) for purpose in KEY_USERS[key]]
    if key == "data":
        arns += [*config.perimeter.raw_data_writer_role_arns, *_source_roles(config)]
    return [*arns, config.break_glass_role_arn] if arns else []


def key_granters(config: PlatformConfig, key: str) -> list[str]:
    """Principals that may create grants for AWS resources (job, endpoint and notebook volumes).

    CloudFormation creates the endpoint configuration and the notebook with the
    model key, so the deployer creates grants on it too.
    """
    arns = [config.role_arn(purpose) for purpose in KEY_GRANTERS[key]]
    return [*arns, config.deployer_role_arn] if arns else []


def bucket_principals(config: PlatformConfig, bucket: str) -> list[str]:
    """Principals a data bucket admits; every other principal is denied its objects."""
    arns = [config.role_arn(purpose) for purpose in BUCKET_USERS[bucket]]
    if bucket == "raw":
        arns += config.perimeter.raw_data_writer_role_arns
    if bucket == "processed":
        arns += _source_roles(config)
    return [*arns, config.break_glass_role_arn]
