"""A least-privilege IAM role for one platform principal, built from explicit grants.

Permissions live in customer-managed policies of the role's own (the compliance
packs reject inline policies, and AWS managed policies such as
AmazonSageMakerFullAccess grant far more than any principal here needs): one,
or more when the grants outgrow IAM's 6,144 characters per managed policy.
Every ``grant_*`` method names exact ARNs; where an ARN must end in a wildcard
(objects under a prefix, ENIs that do not exist yet), the grant records the
exact cdk-nag finding with its reason on this role's policy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from constructs import Construct
from constructs.compliance import acknowledge

SAGEMAKER = "sagemaker.amazonaws.com"

#: Actions with no resource-level permissions in the IAM service authorization
#: reference: "Resource": "*" is the only form IAM accepts for them, so they are
#: the only actions ``allow`` grants on "*".
NO_RESOURCE_LEVEL_ACTIONS = frozenset(
    {
        "cloudtrail:DescribeTrails",
        "cloudtrail:LookupEvents",
        "cloudwatch:PutMetricData",
        "ecr:GetAuthorizationToken",
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        "kms:ListAliases",
        "kms:ListKeys",
        # The Data API's statements have no ARN; a condition holds them to the caller's own.
        "redshift-data:CancelStatement",
        "redshift-data:DescribeStatement",
        "redshift-data:GetStatementResult",
        "sagemaker:ListModelPackages",
        "sagemaker:ListModelPackageGroups",
        "sts:GetServiceBearerToken",
    }
)
#: IAM's quota on a customer-managed policy, counted without white space.
MANAGED_POLICY_CHARS = 6_144
#: What a token (an ARN or ID known only at deployment) may grow to in the
#: deployed policy: more than the longest ARN the grants name (a role ARN in
#: aws-us-gov: 102), so a policy filled up to the quota here fits once deployed.
TOKEN_CHARS = 128
_TOKEN = re.compile(r"\$\{Token\[[^\]]*\]\}")
_DOCUMENT_CHARS = len('{"Statement":[],"Version":"2012-10-17"}')

STAR_REASON = (
    "Resource '*' is granted only for actions without resource-level permissions ("
    + ", ".join(sorted(NO_RESOURCE_LEVEL_ACTIONS))
    + "), enforced by ExecutionRole.allow; PutMetricData is limited by a cloudwatch:namespace condition,"
    " GetServiceBearerToken by sts:AWSServiceName"
)


#: A policy variable in a resource; cdk-nag names ``${aws:x}`` as ``<aws:x>`` in its findings.
_POLICY_VARIABLE = re.compile(r"\$\{([^}]*)\}")

class ExecutionRole(Construct):
    """An IAM role whose managed policies only ``grant_*`` methods add to (a second past 6,144 characters).

    :param assumed_by: service principal allowed to assume the role; default SageMaker.
        The trust is limited to the role's own account with ``aws:SourceAccount``.
        A principal object (e.g. the account with an MFA condition, for a role
        people assume) is trusted as given.
    :param role_name: physical name; default a generated one. The data
        perimeter names roles by ARN, so platform roles have fixed names.
    :param description: what the principal does; shown in IAM.
    :param max_session_hours: maximum session length; default 12 (the longest
        SageMaker job phase that refreshes credentials).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        description: str,
        assumed_by: str | iam.IPrincipal = SAGEMAKER,
        role_name: str | None = None,
        max_session_hours: int = 12,
    ) -> None:
        super().__init__(scope, id)
        # Read once: every property read is a round trip to the jsii runtime.
        stack = cdk.Stack.of(self)
        self._account, self._region = stack.account, stack.region
        if isinstance(assumed_by, str):
            assumed_by = iam.ServicePrincipal(assumed_by).with_conditions(
                {"StringEquals": {"aws:SourceAccount": self._account}}
            )
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            description=description,
            assumed_by=assumed_by,
            max_session_duration=cdk.Duration.hours(max_session_hours),
        )
        self._description = description
        self._role_name = self.role.role_name
        #: (policy, its statements, their longest deployed size), filled in grant order.
        self._parts: list[tuple[iam.CfnManagedPolicy, list[dict], list[int]]] = []
        self.policy = self._new_part()
        self._acknowledged: set[tuple[int, str]] = set()
        #: Every action granted so far; the permissions boundary allows their union.
        self.actions: set[str] = set()
        self._role_arn = self.role.role_arn

    @property
    def role_arn(self) -> str:
        return self._role_arn

    @property
    def policies(self) -> list[iam.CfnManagedPolicy]:
        """The role's managed policies: :attr:`policy`, then one more each time a policy filled up."""
        return [policy for policy, _, _ in self._parts]

    def _new_part(self) -> iam.CfnManagedPolicy:
        # The document is rendered once, at synth, from statements kept in Python:
        # an L2 ManagedPolicy costs two jsii round trips per statement (about 200
        # for the platform), this costs one callback per policy. Same template.
        # "Policy/Resource" is the path the L2 gave the first: its logical ID stays.
        number = len(self._parts) + 1
        statements: list[dict] = []
        policy = iam.CfnManagedPolicy(
            Construct(self, "Policy" if number == 1 else f"Policy{number}"),
            "Resource",
            roles=[self._role_name],
            description=f"{self._description} (least privilege{'' if number == 1 else f', part {number}'})",
            path="/",
            policy_document=cdk.Lazy.any(_Document(statements)),
        )
        self._parts.append((policy, statements, [_DOCUMENT_CHARS]))
        return policy

    # -- the one way statements get in ------------------------------------------------
    def allow(
        self,
        sid: str,
        actions: Sequence[str],
        resources: Sequence[str],
        *,
        conditions: dict | None = None,
        wildcard_reason: str | None = None,
    ) -> None:
        """Add one Allow statement.

        A resource ending in ``*`` needs ``wildcard_reason``; ``Resource: "*"`` is
        only for :data:`NO_RESOURCE_LEVEL_ACTIONS` and is explained by ``STAR_REASON``.
        """
        if any("*" in action for action in actions):
            raise ValueError(f"{self.node.path}: {sid}: wildcard actions are never granted: {list(actions)}")
        if "*" in resources and not set(actions) <= NO_RESOURCE_LEVEL_ACTIONS:
            raise ValueError(
                f"{self.node.path}: {sid}: Resource '*' only for actions without resource-level permissions;"
                f" name the ARNs of {sorted(set(actions) - NO_RESOURCE_LEVEL_ACTIONS)}"
            )
        wildcards = [r for r in resources if "*" in r]
        if any(r != "*" for r in wildcards) and not wildcard_reason:
            raise ValueError(
                f"{self.node.path}: {sid}: resources {wildcards} contain '*'; pass wildcard_reason explaining"
                " why no narrower ARN exists"
            )
        if any(statement["Sid"] == sid for _, statements, _ in self._parts for statement in statements):
            raise ValueError(f"{self.node.path}: statement id {sid!r} is used twice; name each grant apart")
        self.actions.update(actions)
        # Keys in the L2 PolicyStatement's order, so templates read the same.
        statement = {"Action": _one_or_list(sorted(actions))}
        if conditions:
            statement["Condition"] = conditions
        statement |= {"Effect": "Allow", "Resource": _one_or_list(sorted(resources)), "Sid": sid}
        size = longest_size(statement)
        if size + _DOCUMENT_CHARS > MANAGED_POLICY_CHARS:
            raise ValueError(f"{self.node.path}: {sid}: one statement of up to {size} characters cannot fit IAM's"
                             f" {MANAGED_POLICY_CHARS} per managed policy; split the grant")
        policy, statements, sizes = self._parts[-1]
        if sum(sizes) + len(statements) + size > MANAGED_POLICY_CHARS:  # + the commas between statements
            policy = self._new_part()
            _, statements, sizes = self._parts[-1]
        statements.append(statement)
        sizes.append(size)
        part = len(self._parts)
        for resource in wildcards:
            # cdk-nag names a policy variable ``${aws:x}`` as ``<aws:x>`` in its finding.
            finding = "IAM5[Resource::" + _POLICY_VARIABLE.sub(r"<\1>", resource) + "]"
            if (part, finding) not in self._acknowledged:
                # One acknowledgement per finding and policy: several grants share
                # Resource::*, so its reason states the rule that covers all of them.
                self._acknowledged.add((part, finding))
                acknowledge(policy, finding, STAR_REASON if resource == "*" else wildcard_reason)

    # -- data ---------------------------------------------------------------------------
    def grant_read(self, bucket_arn: str, key_arn: str, *, prefix: str = "") -> None:
        """Read objects under ``prefix`` of one bucket, decrypting with its key through S3 only."""
        name = _name(bucket_arn, prefix)
        self.allow(
            f"Read{name}",
            ["s3:GetObject", "s3:GetObjectVersion"],
            [f"{bucket_arn}/{prefix}*"],
            wildcard_reason=_objects_reason(prefix),
        )
        self.allow(
            f"List{name}",
            ["s3:ListBucket"],
            [bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}} if prefix else None,
        )
        self._grant_key(f"Decrypt{name}", key_arn, ["kms:Decrypt"])

    def grant_write(self, bucket_arn: str, key_arn: str, *, prefix: str = "") -> None:
        """Write (and overwrite) objects under ``prefix``; versioning keeps the old ones."""
        name = _name(bucket_arn, prefix)
        self.allow(
            f"Write{name}",
            ["s3:PutObject", "s3:AbortMultipartUpload"],
            [f"{bucket_arn}/{prefix}*"],
            wildcard_reason=_objects_reason(prefix),
        )
        self._grant_key(f"Encrypt{name}", key_arn, ["kms:GenerateDataKey", "kms:Decrypt"])

    def grant_read_write(self, bucket_arn: str, key_arn: str, *, prefix: str = "") -> None:
        self.grant_read(bucket_arn, key_arn, prefix=prefix)
        self.grant_write(bucket_arn, key_arn, prefix=prefix)

    def grant_read_object(self, sid: str, object_arn: str) -> None:
        """Read one exact object, e.g. the training code asset."""
        self.allow(sid, ["s3:GetObject"], [object_arn])

    def grant_volume_key(self, key_arn: str) -> None:
        """Let SageMaker encrypt the ML storage volumes of what this principal launches with the key."""
        self.allow(
            "VolumeKeyGrant",
            ["kms:CreateGrant"],
            [key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        )
        # Its own statement: kms:GrantIsForAWSResource exists for grant actions
        # only, so DescribeKey under that condition would never be allowed.
        self.allow("VolumeKeyDescribe", ["kms:DescribeKey"], [key_arn])

    def _grant_key(self, sid: str, key_arn: str, actions: Sequence[str]) -> None:
        self.allow(
            sid,
            actions,
            [key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{self._region}.amazonaws.com"}},
        )

    # -- job plumbing ---------------------------------------------------------------------
    def grant_logs(self, log_group: str) -> None:
        """Write to one SageMaker log group, e.g. ``/aws/sagemaker/TrainingJobs``."""
        arn = f"arn:aws:logs:{self._region}:{self._account}:log-group:{log_group}"
        self.allow(
            f"Logs{_alnum(log_group)}",
            ["logs:CreateLogStream", "logs:PutLogEvents", "logs:CreateLogGroup", "logs:DescribeLogStreams"],
            [f"{arn}:*"],
            wildcard_reason=f"Log streams of {log_group} are named after jobs that do not exist yet",
        )

    def grant_metrics(self, namespace: str) -> None:
        self.allow(
            f"Metrics{_alnum(namespace)}",
            ["cloudwatch:PutMetricData"],
            ["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": namespace}},
        )

    def grant_image_pull(self, repository_arns: Sequence[str]) -> None:
        """Pull the named ECR images (the SageMaker framework images live in AWS-owned accounts)."""
        self.allow(
            "EcrAuth",
            ["ecr:GetAuthorizationToken"],
            ["*"],
        )
        self.allow(
            "EcrPull",
            ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            list(repository_arns),
        )

    def grant_vpc_access(self, vpc_id: str, subnet_ids: Sequence[str], security_group_ids: Sequence[str]) -> None:
        """The ENI permissions SageMaker needs to attach jobs to the platform's subnets."""
        ec2 = f"arn:aws:ec2:{self._region}:{self._account}"
        self.allow(
            "VpcDescribe",
            [
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
            ],
            ["*"],
        )
        self.allow(
            "VpcEniCreate",
            ["ec2:CreateNetworkInterface"],
            [
                *(f"{ec2}:subnet/{s}" for s in subnet_ids),
                *(f"{ec2}:security-group/{g}" for g in security_group_ids),
            ],
        )
        self.allow(
            "VpcEniManage",
            [
                "ec2:CreateNetworkInterface",
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            ],
            [f"{ec2}:network-interface/*"],
            conditions={"ArnEquals": {"ec2:Vpc": f"{ec2}:vpc/{vpc_id}"}},
            wildcard_reason="ENIs for a job are created at run time so their IDs are unknown; the ec2:Vpc"
            " condition keeps them in the platform's VPC",
        )

    def grant_pass_role(self, roles: Sequence[ExecutionRole | iam.IRole], *, service: str = SAGEMAKER) -> None:
        """Pass the given roles to one service only (default SageMaker)."""
        arns = [r.role_arn for r in roles]
        to = "" if service == SAGEMAKER else f"To{_alnum(service.split('.')[0])}"
        self.allow(
            f"PassRole{len(arns)}x{_alnum(self.node.id)}{to}",
            ["iam:PassRole"],
            arns,
            conditions={"StringEquals": {"iam:PassedToService": service}},
        )


@jsii.implements(cdk.IStableAnyProducer)
class _Document:
    """The policy document of an :class:`ExecutionRole`, produced when the template is rendered."""

    def __init__(self, statements: list[dict]) -> None:
        self._statements = statements

    def produce(self) -> dict:
        if not self._statements:
            raise ValueError("an ExecutionRole's policy has no statement; grant something or drop the role")
        return {"Statement": list(self._statements), "Version": "2012-10-17"}


def longest_size(statement: dict) -> int:
    """Characters of ``statement`` as IAM counts them, each token at :data:`TOKEN_CHARS`."""
    return len(_TOKEN.sub("t" * TOKEN_CHARS, json.dumps(statement, separators=(",", ":"))))


def _one_or_list(values: list[str]) -> str | list[str]:
    # IAM's own short form, as the L2 PolicyStatement renders it.
    return values[0] if len(values) == 1 else values


def _objects_reason(prefix: str) -> str:
    return f"Objects under {prefix or 'the root of'} a bucket of the platform; object keys are chosen at run time"


def _alnum(text: str) -> str:
    return "".join(part.capitalize() for part in "".join(c if c.isalnum() else " " for c in text).split())


def _name(bucket_arn: str, prefix: str) -> str:
    # mlp-dev-raw-111122223333-us-east-1 -> MlpDevRaw: readable, unique per bucket and prefix.
    bucket = bucket_arn.rsplit(":", 1)[-1]
    return _alnum(" ".join(bucket.split("-")[:3]) + " " + prefix)
