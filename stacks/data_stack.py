"""Keys and buckets: everything that holds data, none of it deleted by ``cdk destroy``."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs import compliance as nag
from constructs.execution_role import ExecutionRole
from constructs.isolated_vpc import FLOW_LOG_PREFIX
from constructs.permissions_boundary import PermissionsBoundary
from constructs.platform_key import ADMIN_ONLY_ACTIONS, MANAGE_ACTIONS, USE_ACTIONS, PlatformKey
from constructs.raw_data_catalog import RawDataCatalog
from constructs.secure_bucket import SecureBucket

from stacks import perimeter
from stacks.config import ATHENA_RESULTS_PREFIX, GLUE_TABLE_NAME, PlatformConfig

#: People assume the perimeter's own roles only with MFA, for at most an hour.
_PEOPLE_SESSION_HOURS = 1


class DataStack(cdk.Stack):
    """Three keys so that separation of duties can be expressed in IAM.

    * ``data_key``: raw and processed data; who can read training data.
    * ``model_key``: model artifacts, checkpoints, endpoint data capture, job volumes.
    * ``logs_key``: CloudWatch log groups and the alarm topic.

    The keys and the data buckets form the data perimeter (``stacks.perimeter``):
    their policies admit the platform's roles, the key administrator, the
    deployer and the break-glass role, and nobody else in the account.
    """

    def __init__(self, scope: Construct, id: str, *, config: PlatformConfig, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        data = config.data
        prefix = config.prefix
        self.config = config
        # The data stack deploys first: the boundary every role carries must exist before any role.
        self.boundary = PermissionsBoundary(
            self, "PermissionsBoundary", policy_name=config.permissions_boundary_arn.rsplit("/", 1)[1]
        )

        key_admin = self._key_administrator(config)
        deployer = iam.ArnPrincipal(config.deployer_role_arn)

        def key(id: str, purpose: str, description: str) -> PlatformKey:
            return PlatformKey(
                self,
                id,
                alias=f"{prefix}/{purpose}",
                description=description,
                administrators=[key_admin],
                managers=[deployer],
                users=perimeter.key_users(config, purpose),
                grant_creators=perimeter.key_granters(config, purpose),
            )

        self.data_key = key("DataKey", "data", "ML platform: raw and processed data")
        self.model_key = key("ModelKey", "models", "ML platform: model artifacts, job volumes, data capture")
        self.logs_key = key("LogsKey", "logs", "ML platform: log groups and notifications")
        if self._key_admin_role is not None:
            # The key policies grant the administration; stated here too, because the permissions
            # boundary caps a role's grants from key policies as well as from its own policy.
            self._key_admin_role.allow(
                "AdministerPlatformKeys",
                [*MANAGE_ACTIONS, *ADMIN_ONLY_ACTIONS],
                [k.key_arn for k in (self.data_key, self.model_key, self.logs_key)],
            )
        # CloudWatch Logs documents its encryption context (the log group's ARN)
        # as the binding to this account's log groups.
        self.logs_key.allow_service(
            f"logs.{config.region}.amazonaws.com",
            # DescribeKey carries no encryption context, so the binding could never match it.
            actions=[a for a in USE_ACTIONS if a != "kms:DescribeKey"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": config.arn("logs", "log-group:*"),
                },
            },
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
            admitted_principals=perimeter.bucket_principals(config, "raw"),
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
            admitted_principals=perimeter.bucket_principals(config, "processed"),
            encryption_key=self.data_key.key,
            transitions=tiering,
            **common,
        ).bucket
        self.model_bucket = SecureBucket(
            self,
            "ModelArtifacts",
            bucket_name=config.bucket_name("models"),
            admitted_principals=perimeter.bucket_principals(config, "models"),
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
        self.catalog = self._raw_data_catalog(config)
        self._break_glass(config)
        for name, bucket in (
            ("RawBucket", self.raw_bucket),
            ("ProcessedBucket", self.processed_bucket),
            ("ModelBucket", self.model_bucket),
        ):
            cdk.CfnOutput(self, name, value=bucket.bucket_name)

    def _raw_data_catalog(self, config: PlatformConfig) -> RawDataCatalog | None:
        """Only with the Athena source: the table over the raw prefix and the workgroup that queries it."""
        source = config.pipeline.source
        if source.kind != "athena":
            return None
        processed = config.bucket_name("processed")
        return RawDataCatalog(
            self,
            "RawDataCatalog",
            database_name=config.glue_database_name,
            table_name=GLUE_TABLE_NAME,
            location=f"s3://{config.bucket_name('raw')}/{config.pipeline.raw_data_prefix}",
            columns=source.table_columns,
            table_format=source.table_format,
            workgroup_name=config.athena_workgroup_name,
            results_uri=f"s3://{processed}/{ATHENA_RESULTS_PREFIX}",
            results_key_arn=self.data_key.key_arn,
            bytes_scanned_cutoff=source.bytes_scanned_cutoff_per_query,
        )

    def _key_administrator(self, config: PlatformConfig) -> iam.IPrincipal:
        """The configured key administrator, or a role people of the account assume with MFA."""
        self._key_admin_role: ExecutionRole | None = None
        if config.perimeter.key_admin_role_arn:
            return iam.ArnPrincipal(config.perimeter.key_admin_role_arn)
        admin = self._person_role(
            config, "KeyAdministrator", "key-admin", "administers the platform's KMS keys (never reads data)"
        )
        # The key policies grant the administration itself; IAM only lets the
        # console list the keys.
        admin.allow("ListKeys", ["kms:ListAliases", "kms:ListKeys"], ["*"])
        self._key_admin_role = admin
        # The platform administrator persona (stacks/people_stack.py) manages keys through this
        # role; it got its own session with MFA, which a chained session does not carry.
        admin.role.assume_role_policy.add_statements(
            iam.PolicyStatement(
                sid="PlatformAdministrator",
                actions=["sts:AssumeRole"],
                principals=[iam.AccountRootPrincipal()],
                conditions={"ArnEquals": {"aws:PrincipalArn": config.role_arn("platform-admin")}},
            )
        )
        return iam.ArnPrincipal(admin.role_arn)

    def _break_glass(self, config: PlatformConfig) -> None:
        """A role for emergencies that reads every data bucket; it is inside the perimeter."""
        if config.perimeter.break_glass_role_arn:
            return
        role = self._person_role(
            config, "BreakGlass", "break-glass", "emergency read access to every data bucket (MFA; alert on use)"
        )
        for purpose, key in (("raw", self.data_key), ("processed", self.data_key), ("models", self.model_key)):
            role.grant_read(config.arn("s3", config.bucket_name(purpose)), key.key_arn)

    def _person_role(self, config: PlatformConfig, id: str, purpose: str, duty: str) -> ExecutionRole:
        # Trusting the account delegates the choice of who may assume the role to
        # IAM policies of the account; MFA is required whoever that is.
        role = ExecutionRole(
            self,
            id,
            description=f"ML platform: {duty}",
            role_name=config.role_name(purpose),
            assumed_by=iam.AccountRootPrincipal().with_conditions({"Bool": {"aws:MultiFactorAuthPresent": "true"}}),
            max_session_hours=_PEOPLE_SESSION_HOURS,
        )
        # The role names its boundary by ARN: CloudFormation must create the policy first.
        role.role.node.add_dependency(self.boundary.policy)
        return role
