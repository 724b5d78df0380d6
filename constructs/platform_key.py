"""A customer-managed KMS key that rotates and outlives the stack."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


class PlatformKey(Construct):
    """A symmetric KMS key with yearly rotation, an alias and RETAIN on delete.

    Keys are never deleted with the stack: data encrypted under a deleted key
    is lost for good, so ``cdk destroy`` leaves them (and their cost, $1/month
    each) for an operator to schedule for deletion deliberately.

    :param alias: alias name without the ``alias/`` prefix.
    :param description: shown in the KMS console.
    :param rotation_period_days: automatic rotation period; default 365.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        alias: str,
        description: str,
        rotation_period_days: int = 365,
    ) -> None:
        super().__init__(scope, id)
        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/{alias}",
            description=description,
            enable_key_rotation=True,
            rotation_period=cdk.Duration.days(rotation_period_days),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    @property
    def key_arn(self) -> str:
        return self.key.key_arn

    def allow_service(self, service_principal: str, *, source_arn_like: str | None = None) -> None:
        """Let an AWS service (logs, SNS, ...) use the key for data it encrypts on our behalf."""
        conditions = {"ArnLike": {"aws:SourceArn": source_arn_like}} if source_arn_like else None
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"Allow{service_principal.split('.')[0].capitalize()}",
                principals=[iam.ServicePrincipal(service_principal)],
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                    "kms:GenerateDataKey",
                    "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:DescribeKey",
                ],
                resources=["*"],  # in a key policy "*" means this key
                conditions=conditions,
            )
        )
