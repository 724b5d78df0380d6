"""A customer-managed KMS key that rotates, outlives the stack and admits only named principals."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

#: What CloudFormation needs to create and update a key and its alias; none of
#: these stops the key from working or destroys it.
MANAGE_ACTIONS = (
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
#: Only the key administrator may make the data unreadable (disable or delete
#: the key), switch rotation off, or take grants back.
ADMIN_ONLY_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
)
#: Encrypting and decrypting data (S3 calls these on the caller's behalf).
USE_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
#: What a service that publishes to an encrypted SNS topic needs (SNS documents these two).
PUBLISHER_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


class PlatformKey(Construct):
    """A symmetric KMS key with yearly rotation, an alias, RETAIN on delete and its own key policy.

    Keys are never deleted with the stack: data encrypted under a deleted key
    is lost for good, so ``cdk destroy`` leaves them (and their cost, $1/month
    each) for the key administrator to schedule for deletion deliberately.

    The key policy replaces the CDK's default (the account root with
    ``kms:*``, which lets any IAM principal of the account with a broad policy
    use the key). It admits:

    * ``administrators``: everything an administrator does, including disabling
      and scheduling deletion;
    * ``managers``: what CloudFormation needs to keep the key as the template
      says, never disabling or deleting it;
    * ``users``: encrypt and decrypt, when their IAM policies also allow it (the
      statement names the account and narrows it with ``aws:PrincipalArn``, so
      roles that do not exist yet can be named);
    * ``grant_creators``: grants for AWS resources only (SageMaker volumes);
    * services added with :meth:`allow_service`, bound to the source resource.

    :param alias: alias name without the ``alias/`` prefix.
    :param description: shown in the KMS console.
    :param administrators: principals that must exist when the key is created.
    :param managers: principals that must exist when the key is created (the deployer).
    :param users: role ARNs that may use the key; none means only services use it.
    :param grant_creators: role ARNs that may create grants for AWS resources.
    :param rotation_period_days: automatic rotation period; default 365.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        alias: str,
        description: str,
        administrators: Sequence[iam.IPrincipal],
        managers: Sequence[iam.IPrincipal] = (),
        users: Sequence[str] = (),
        grant_creators: Sequence[str] = (),
        rotation_period_days: int = 365,
    ) -> None:
        super().__init__(scope, id)
        if not administrators:
            raise ValueError(f"{self.node.path}: a key needs at least one administrator, or nobody can ever manage it")
        account = iam.AccountRootPrincipal()
        statements = [
            iam.PolicyStatement(
                sid="KeyAdministration",
                principals=list(administrators),
                actions=[*MANAGE_ACTIONS, *ADMIN_ONLY_ACTIONS],
                resources=["*"],  # in a key policy "*" means this key
            )
        ]
        if managers:
            statements.append(
                iam.PolicyStatement(
                    sid="KeyManagementByDeployer",
                    principals=list(managers),
                    actions=list(MANAGE_ACTIONS),
                    resources=["*"],
                )
            )
        if users:
            statements.append(
                iam.PolicyStatement(
                    sid="KeyUseByPlatformRoles",
                    principals=[account],
                    actions=list(USE_ACTIONS),
                    resources=["*"],
                    conditions={"ArnEquals": {"aws:PrincipalArn": sorted(set(users))}},
                )
            )
        if grant_creators:
            statements.append(
                iam.PolicyStatement(
                    sid="GrantsForAwsResources",
                    principals=[account],
                    actions=["kms:CreateGrant"],
                    resources=["*"],
                    conditions={
                        "Bool": {"kms:GrantIsForAWSResource": "true"},
                        "ArnEquals": {"aws:PrincipalArn": sorted(set(grant_creators))},
                    },
                )
            )
        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/{alias}",
            description=description,
            enable_key_rotation=True,
            rotation_period=cdk.Duration.days(rotation_period_days),
            removal_policy=cdk.RemovalPolicy.RETAIN,
            # A policy of our own: the CDK then adds no account-wide kms:* statement.
            policy=iam.PolicyDocument(statements=statements),
        )

    @property
    def key_arn(self) -> str:
        return self.key.key_arn

    def allow_service(
        self,
        service_principal: str,
        *,
        conditions: dict,
        actions: Sequence[str] = PUBLISHER_ACTIONS,
        sid: str | None = None,
    ) -> None:
        """Let an AWS service use the key for data it encrypts on the platform's behalf.

        ``conditions`` must bind the service to this account's resources
        (``aws:SourceAccount`` / ``aws:SourceArn`` or the service's encryption
        context): an unconditioned service statement lets any customer's
        resource of that service use the key (the confused deputy).
        """
        if not conditions:
            raise ValueError(
                f"{self.node.path}: {service_principal} needs conditions naming the source account and resource"
            )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid or f"Allow{service_principal.split('.')[0].capitalize()}",
                principals=[iam.ServicePrincipal(service_principal)],
                actions=list(actions),
                resources=["*"],
                conditions=conditions,
            )
        )
