"""What the definition refers to: roles, network, keys, buckets, image and code (CDK tokens welcome)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stacks.config import PipelineConfig


@dataclass(frozen=True, kw_only=True)
class PipelineResources:
    """Everything outside the definition that its steps name.

    :param code_s3_uri: ``s3://`` URL of the code tarball object.
    :param code_file_name: the object's file name, which is what a job's code
        input is downloaded as (the asset key, not ``sourcedir.tar.gz``).
    """

    config: PipelineConfig
    region: str
    image_uri: str
    #: SageMaker's Spark processing image; used when ``config.preprocess_engine`` is ``spark``.
    spark_image_uri: str = ""
    processing_role_arn: str
    training_role_arn: str
    #: Empty when jobs run network-isolated outside the VPC (no ``VpcConfig``).
    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str]
    #: Encrypts job volumes, model artifacts, checkpoints and evaluation reports.
    model_key_arn: str
    #: Encrypts the processed data channels (separation of duties: data vs models).
    data_key_arn: str
    raw_bucket: str
    processed_bucket: str
    model_bucket: str
    model_package_group_name: str
    code_s3_uri: str
    code_file_name: str
    #: S3 layout prefixes (``channels/`` ...), shared with the roles' grants.
    channels_prefix: str
    training_prefix: str
    checkpoints_prefix: str
    evaluation_prefix: str
    #: The Athena source (``config.source.kind == "athena"``): the Glue database the query runs in
    #: and the workgroup that enforces results location, KMS and the scan limit.
    athena_database: str = ""
    athena_table: str = ""
    athena_workgroup: str = ""
    #: The role your Redshift cluster UNLOADs with (``redshift`` source).
    redshift_role_arn: str = ""
