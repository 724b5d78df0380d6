"""Keys and buckets: everything that holds data, none of it deleted by ``cdk destroy``."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs import compliance as nag
from constructs.isolated_vpc import FLOW_LOG_PREFIX
from constructs.platform_key import PlatformKey
from constructs.secure_bucket import SecureBucket

from stacks.config import PlatformConfig


class DataStack(cdk.Stack):
    """Three keys so that separation of duties can be expressed in IAM.

    * ``data_key``: raw and processed data; who can read training data.
    * ``model_key``: model artifacts, checkpoints, endpoint data capture, job volumes.
    * ``logs_key``: CloudWatch log groups and the alarm topic.
    """

    def __init__(self, scope: Construct, id: str, *, config: PlatformConfig, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        data = config.data
        prefix = config.prefix

        self.data_key = PlatformKey(
            self, "DataKey", alias=f"{prefix}/data", description="ML platform: raw and processed data"
        )
        self.model_key = PlatformKey(
            self,
            "ModelKey",
            alias=f"{prefix}/models",
            description="ML platform: model artifacts, job volumes, data capture",
        )
        self.logs_key = PlatformKey(
            self, "LogsKey", alias=f"{prefix}/logs", description="ML platform: log groups and notifications"
        )
        self.logs_key.allow_service(
            f"logs.{config.region}.amazonaws.com",
            source_arn_like=f"arn:aws:logs:{config.region}:{config.account}:log-group:*",
        )

        self.access_logs = SecureBucket(
            self,
            "AccessLogs",
            bucket_name=config.bucket_name("access-logs"),
            encryption_key=None,
            access_logs=None,
            expiration_days=data.access_log_retention_days,
            noncurrent_version_expiration_days=1,
            abort_incomplete_upload_days=data.abort_incomplete_upload_days,
        ).bucket
        self.access_logs.add_lifecycle_rule(
            id="flow-logs",
            prefix=FLOW_LOG_PREFIX,
            expiration=cdk.Duration.days(config.network.flow_log_retention_days),
        )

        common = {
            "access_logs": self.access_logs,
            "noncurrent_version_expiration_days": data.noncurrent_version_expiration_days,
            "abort_incomplete_upload_days": data.abort_incomplete_upload_days,
        }
        self.raw_bucket = SecureBucket(
            self,
            "RawData",
            bucket_name=config.bucket_name("raw"),
            encryption_key=self.data_key.key,
            transitions=[
                s3.Transition(
                    storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                    transition_after=cdk.Duration.days(data.raw_infrequent_access_days),
                ),
                s3.Transition(
                    storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                    transition_after=cdk.Duration.days(data.raw_glacier_ir_days),
                ),
            ],
            **common,
        ).bucket
        tiering = [
            s3.Transition(
                storage_class=s3.StorageClass.INTELLIGENT_TIERING,
                transition_after=cdk.Duration.days(data.intelligent_tiering_days),
            )
        ]
        self.processed_bucket = SecureBucket(
            self,
            "ProcessedData",
            bucket_name=config.bucket_name("processed"),
            encryption_key=self.data_key.key,
            transitions=tiering,
            **common,
        ).bucket
        self.model_bucket = SecureBucket(
            self,
            "ModelArtifacts",
            bucket_name=config.bucket_name("models"),
            encryption_key=self.model_key.key,
            transitions=tiering,
            **common,
        ).bucket

        nag.acknowledge(
            self.access_logs,
            "S3DefaultEncryptionKMS",
            "S3 server access logging and VPC flow log delivery to S3 only write to SSE-S3 buckets; this bucket"
            " holds only those logs, is private, TLS-only and versioned",
            packs=nag.COMPLIANCE_PACKS,
        )
        for bucket in (self.access_logs, self.raw_bucket, self.processed_bucket, self.model_bucket):
            nag.acknowledge(
                bucket,
                "S3BucketReplicationEnabled",
                "Cross-region replication is a per-organisation disaster-recovery choice that doubles storage"
                " cost; within the region the bucket is versioned, retained on stack deletion and its KMS key"
                " is retained, so deleted or overwritten objects are recoverable",
                packs=nag.COMPLIANCE_PACKS,
            )
        for name, bucket in (
            ("RawBucket", self.raw_bucket),
            ("ProcessedBucket", self.processed_bucket),
            ("ModelBucket", self.model_bucket),
        ):
            cdk.CfnOutput(self, name, value=bucket.bucket_name)
