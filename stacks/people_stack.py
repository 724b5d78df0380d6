"""People: one role per persona, how a person gets into it, and what each may and may not do.

Each persona is an :class:`ExecutionRole` (one role, customer-managed
policies of its own, no wildcard action) under the platform's permissions boundary. People
never hold permissions themselves: an IAM user in the persona's group may only
assume the persona's role, with MFA, naming themselves as the session's source
identity (``sts:SourceIdentity`` = their user name, kept through role chaining
and in CloudTrail). With a SAML or OIDC provider, or IAM Identity Center, named
in :class:`PeopleConfig`, the roles trust that identity source instead.

Separation of duties, proven both ways by ``tools/iam_evaluator/personas.py``:

* the data scientist starts pipelines and ad-hoc jobs inside the guardrails and
  opens only their own notebook; never approves, deploys or changes infrastructure;
* the model approver reads evaluations and approves or rejects versions; never
  trains, registers, runs pipelines or deploys, so never approves their own work;
* the ML engineer deploys approved versions and rolls back, operates alarms and
  schedules; never approves;
* the platform administrator deploys through the CDK bootstrap roles, manages the
  keys through the key-administrator role, and creates roles only under the boundary;
* the auditor reads configuration, templates, logs and CloudTrail; no data.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct
from constructs.compliance import COMPLIANCE_PACKS, acknowledge
from constructs.execution_role import ExecutionRole
from constructs.permissions_boundary import ROLE_CHANGES
from constructs.privileged_use_alert import PrivilegedUseAlert
from constructs.sagemaker_guardrails import endpoint_config_conditions, job_conditions, model_conditions

from stacks.access_stack import CHANNELS_PREFIX, EVALUATION_PREFIX, JOB_LOG_GROUPS, AccessStack
from stacks.config import PERSONAS, WORKBENCH_OWNER_TAG, PlatformConfig
from stacks.data_stack import DataStack

#: The approval decisions a model approver may record.
APPROVAL_DECISIONS = ("Approved", "Rejected")
#: Where the Identity Center roles of permission sets live in each account.
IDENTITY_CENTER_ROLES = "role/aws-reserved/sso.amazonaws.com/*"
#: What the CDK bootstrap creates for deployments (``cdk bootstrap``), by role kind.
CDK_BOOTSTRAP_ROLES = ("deploy-role", "file-publishing-role", "image-publishing-role", "lookup-role")

_DUTIES = {
    "data-scientist": "explores data, uses the workbench, runs pipelines and ad-hoc jobs",
    "ml-engineer": "deploys approved model versions, rolls back, operates alarms and schedules",
    "model-approver": "reads evaluations, approves or rejects model versions",
    "platform-admin": "deploys the stacks through the CDK bootstrap roles and manages keys",
    "auditor": "reads configuration, templates, logs and CloudTrail; no data",
}
#: Construct IDs of the persona roles (their logical ID prefixes).
PERSONA_IDS = {
    "data-scientist": "DataScientist",
    "ml-engineer": "MlEngineer",
    "model-approver": "ModelApprover",
    "platform-admin": "PlatformAdmin",
    "auditor": "Auditor",
}


def trust(config: PlatformConfig, persona: str) -> tuple[iam.IPrincipal, str, dict]:
    """(principal, assume action, conditions) a persona's role trusts, for the configured identity source."""
    people = config.people
    if people.federation == "saml":
        return (
            iam.FederatedPrincipal(people.identity_provider_arn),
            "sts:AssumeRoleWithSAML",
            {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
        )
    if people.federation == "oidc":
        issuer = people.identity_provider_arn.split(":oidc-provider/", 1)[1]
        return (
            iam.FederatedPrincipal(people.identity_provider_arn),
            "sts:AssumeRoleWithWebIdentity",
            {"StringEquals": {f"{issuer}:aud": people.oidc_audience}},
        )
    if people.federation == "identity-center":
        # The roles of the permission set named like the persona, in this account.
        sso_role = config.arn("iam", f"{IDENTITY_CENTER_ROLES}AWSReservedSSO_{config.prefix}-{persona}_*")
        return iam.AccountRootPrincipal(), "sts:AssumeRole", {"ArnLike": {"aws:PrincipalArn": sso_role}}
    # IAM users of the account's groups: MFA, recent, and the session names the user.
    return iam.AccountRootPrincipal(), "sts:AssumeRole", mfa_conditions(config)


def privileged_role_arns(config: PlatformConfig) -> list[str]:
    """The roles whose every use is alerted: the platform administrator, the key administrator, break-glass."""
    return [config.role_arn("platform-admin"), config.key_admin_role_arn, config.break_glass_role_arn]


def mfa_conditions(config: PlatformConfig) -> dict:
    """A person's own sign-in with MFA, recent enough, naming themselves as the source identity."""
    return {
        "Bool": {"aws:MultiFactorAuthPresent": "true"},
        "NumericLessThan": {"aws:MultiFactorAuthAge": str(config.people.mfa_max_age_seconds)},
        "StringEquals": {"sts:SourceIdentity": "${aws:username}"},
    }


class PeopleStack(cdk.Stack):
    """The five persona roles, and the IAM groups (or federated trust) people use to assume them."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: PlatformConfig,
        data: DataStack,
        access: AccessStack,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.config = config
        self._data, self._access = data, access
        self.roles: dict[str, ExecutionRole] = {}
        for persona in PERSONAS:
            principal, action, conditions = trust(config, persona)
            role = ExecutionRole(
                self,
                PERSONA_IDS[persona],
                description=f"ML platform persona {persona}: {_DUTIES[persona]}",
                role_name=config.role_name(persona),
                assumed_by=iam.FederatedPrincipal(
                    principal.federated, conditions, action
                ) if isinstance(principal, iam.FederatedPrincipal) else principal.with_conditions(conditions),
                max_session_hours=1 if persona == "platform-admin" else config.people.session_hours,
            )
            # The session carries the person's name (kept through role chaining, logged in CloudTrail).
            role.role.assume_role_policy.add_statements(
                iam.PolicyStatement(
                    sid="SourceIdentity", actions=["sts:SetSourceIdentity"], principals=[principal],
                    conditions=conditions,
                )
            )
            self.roles[persona] = role
        self._data_scientist(self.roles["data-scientist"])
        self._model_approver(self.roles["model-approver"])
        self._ml_engineer(self.roles["ml-engineer"])
        self._platform_admin(self.roles["platform-admin"])
        self._auditor(self.roles["auditor"])
        if config.people.federation == "groups":
            for persona in PERSONAS:
                self._group(persona)
        # Every use of an administrative role is alerted: who, when, from where (CloudTrail via EventBridge).
        self.privileged_use = PrivilegedUseAlert(
            self,
            "PrivilegedUse",
            role_arns=privileged_role_arns(config),
            topic_arn=config.alert_topic_arn,
            rule_name_prefix=f"{config.prefix}-",
        )
        for persona, role in self.roles.items():
            cdk.CfnOutput(self, f"{PERSONA_IDS[persona]}RoleArn", value=role.role_arn)

    # -- how people get in ------------------------------------------------------------------------
    def _group(self, persona: str) -> None:
        """The IAM group whose members may assume the persona's role, with MFA, as themselves."""
        config = self.config
        group = iam.CfnGroup(self, f"{PERSONA_IDS[persona]}Group", group_name=config.role_name(persona))
        iam.CfnManagedPolicy(
            self,
            f"{PERSONA_IDS[persona]}GroupPolicy",
            description=f"ML platform: members of this group assume the {persona} persona with MFA",
            groups=[group.ref],
            policy_document={
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AssumePersonaWithMfa",
                        "Effect": "Allow",
                        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
                        "Resource": config.role_arn(persona),
                        "Condition": mfa_conditions(config),
                    }
                ],
            },
        )
        acknowledge(
            group,
            "IAMGroupHasUsers",
            "People are added to the group by the account's identity administrator (README: how to add a"
            " person); the templates create no IAM user and no access key",
            packs=COMPLIANCE_PACKS,
        )

    # -- what each persona does -------------------------------------------------------------------
    def _sagemaker(self, resource: str) -> str:
        return self.config.arn("sagemaker", resource)

    def _buckets(self) -> tuple[str, str, str]:
        return tuple(self.config.arn("s3", self.config.bucket_name(p)) for p in ("raw", "processed", "models"))

    def _read_registry(self, role: ExecutionRole) -> None:
        group = self.config.model_package_group_name
        role.allow(
            "ReadRegistry",
            ["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"],
            [self._sagemaker(f"model-package/{group}/*"), self._sagemaker(f"model-package-group/{group}")],
            wildcard_reason=f"Model package versions of the group {group} are numbered at registration",
        )
        role.allow("ListRegistry", ["sagemaker:ListModelPackageGroups", "sagemaker:ListModelPackages"], ["*"])

    def _data_scientist(self, role: ExecutionRole) -> None:
        config, access = self.config, self._access
        raw, processed, models = self._buckets()
        data_key, model_key = self._data.data_key.key_arn, self._data.model_key.key_arn
        role.grant_read_write(raw, data_key)
        role.grant_read(processed, data_key, prefix=CHANNELS_PREFIX)
        role.grant_read(models, model_key, prefix=EVALUATION_PREFIX)
        pipeline = self._sagemaker(f"pipeline/{config.pipeline_name}")
        role.allow(
            "RunPipeline",
            ["sagemaker:DescribePipeline", "sagemaker:ListPipelineExecutions", "sagemaker:StartPipelineExecution"],
            [pipeline],
        )
        role.allow(
            "WatchPipeline",
            [
                "sagemaker:DescribePipelineExecution",
                "sagemaker:ListPipelineExecutionSteps",
                "sagemaker:StopPipelineExecution",
            ],
            [f"{pipeline}/execution/*"],
            wildcard_reason="Pipeline execution IDs are assigned when an execution starts",
        )
        prefix = f"{config.prefix}-*"
        for kind, name in (("training-job", "Training"), ("processing-job", "Processing")):
            role.allow(
                f"AdHoc{name}",
                [f"sagemaker:Create{name}Job"],
                [self._sagemaker(f"{kind}/{prefix}")],
                conditions=job_conditions(access.guardrails, data_outputs=kind == "processing-job"),
                wildcard_reason=f"Ad-hoc jobs must be named '{prefix}'; the guardrail conditions pin VPC, KMS"
                " keys, network isolation and inter-container encryption",
            )
            role.allow(
                f"Watch{name}",
                [f"sagemaker:Describe{name}Job", f"sagemaker:Stop{name}Job"],
                [self._sagemaker(f"{kind}/{prefix}"), self._sagemaker(f"{kind}/pipelines-*")],
                wildcard_reason="Jobs a data scientist or the pipeline started, named at run time",
            )
        role.grant_pass_role([access.training_role, access.processing_role])
        role.grant_volume_key(access.guardrails.volume_key_arn)
        self._read_registry(role)
        for kind in ("training", "processing"):
            role.allow(
                f"ReadLogs{kind.capitalize()}",
                ["logs:FilterLogEvents", "logs:GetLogEvents"],
                [config.arn("logs", f"log-group:{JOB_LOG_GROUPS[kind]}:*")],
                wildcard_reason=f"Log streams of {JOB_LOG_GROUPS[kind]} are named after jobs started at run time",
            )
        # The workbench: only the notebook tagged with this person as its owner.
        owner = {"StringEquals": {f"aws:ResourceTag/{WORKBENCH_OWNER_TAG}": "${aws:SourceIdentity}"}}
        opened_from = {"StringEquals": dict(owner["StringEquals"])}
        if config.people.workbench_source_cidrs:
            opened_from["IpAddress"] = {"aws:SourceIp": list(config.people.workbench_source_cidrs)}
        if config.people.workbench_source_vpce_ids:
            opened_from["StringEquals"]["aws:SourceVpce"] = list(config.people.workbench_source_vpce_ids)
        notebooks = [self._sagemaker(f"notebook-instance/{prefix}")]
        reason = f"Notebooks are named '{prefix}'; the owner tag condition admits only the person's own"
        role.allow(
            "OpenOwnNotebook",
            ["sagemaker:CreatePresignedNotebookInstanceUrl"],
            notebooks,
            conditions=opened_from,
            wildcard_reason=reason,
        )
        role.allow(
            "StartStopOwnNotebook",
            ["sagemaker:DescribeNotebookInstance", "sagemaker:StartNotebookInstance", "sagemaker:StopNotebookInstance"],
            notebooks,
            conditions=owner,
            wildcard_reason=reason,
        )

        if config.workloads.workbench == "studio":
            self._own_studio_profile(role, opened_from)

    def _own_studio_profile(self, role: ExecutionRole, opened_from: dict) -> None:
        """Studio: a presigned URL only for the user profile named (and tagged) as the person's session."""
        profile = self._sagemaker("user-profile/*/${aws:SourceIdentity}")
        reason = ("Studio domain IDs are assigned at creation; the profile name and its owner tag must both be"
                  " the person's source identity")
        role.allow("OpenOwnStudioProfile", ["sagemaker:CreatePresignedDomainUrl"], [profile],
                   conditions=opened_from, wildcard_reason=reason)
        role.allow("DescribeOwnStudioProfile", ["sagemaker:DescribeUserProfile"], [profile],
                   wildcard_reason=reason)

    def _model_approver(self, role: ExecutionRole) -> None:
        config = self.config
        _, _, models = self._buckets()
        role.grant_read(models, self._data.model_key.key_arn, prefix=EVALUATION_PREFIX)
        group = config.model_package_group_name
        role.allow(
            "ApproveOrReject",
            ["sagemaker:UpdateModelPackage"],
            [self._sagemaker(f"model-package/{group}/*")],
            conditions={"StringEquals": {"sagemaker:ModelApprovalStatus": list(APPROVAL_DECISIONS)}},
            wildcard_reason=f"Model package versions of the group {group} are numbered at registration",
        )
        self._read_registry(role)
        role.allow(
            "ReadModelCards",
            ["sagemaker:DescribeModelCard"],
            [self._sagemaker(f"model-card/{config.prefix}-*")],
            wildcard_reason=f"Model cards of the platform are named '{config.prefix}-<model>'",
        )

    def _ml_engineer(self, role: ExecutionRole) -> None:
        config, access = self.config, self._access
        g = access.guardrails
        prefix = f"{config.prefix}-*"
        role.allow(
            "CreateModelFromApprovedVersion",
            ["sagemaker:CreateModel"],
            [self._sagemaker(f"model/{prefix}")],
            conditions=model_conditions(g),
            wildcard_reason=f"Models are named '{prefix}<version>' at deployment; the conditions pin VPC and"
            " isolation, and SageMaker refuses a version that is not Approved",
        )
        role.allow(
            "CreateEndpointConfig",
            ["sagemaker:CreateEndpointConfig"],
            [self._sagemaker(f"endpoint-config/{prefix}")],
            conditions=endpoint_config_conditions(g),
            wildcard_reason=f"Endpoint configurations are named '{prefix}<version>' at deployment; the"
            " condition pins the volume key",
        )
        endpoint = self._sagemaker(f"endpoint/{config.endpoint_name}")
        role.allow(
            "DeployAndRollBack",
            [
                "sagemaker:DescribeEndpoint",
                "sagemaker:UpdateEndpoint",
                "sagemaker:UpdateEndpointWeightsAndCapacities",
            ],
            [endpoint],
        )
        role.allow(
            "ReadDeployments",
            ["sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel"],
            [self._sagemaker(f"endpoint-config/{prefix}"), self._sagemaker(f"model/{prefix}")],
            wildcard_reason=f"Models and endpoint configurations of the platform are named '{prefix}'",
        )
        role.grant_pass_role([access.hosting_role])
        role.grant_volume_key(g.volume_key_arn)
        self._read_registry(role)
        role.allow(
            "OperateAlarms",
            [
                "cloudwatch:DescribeAlarms",
                "cloudwatch:DisableAlarmActions",
                "cloudwatch:EnableAlarmActions",
                "cloudwatch:SetAlarmState",
            ],
            [config.arn("cloudwatch", f"alarm:{prefix}")],
            wildcard_reason=f"The platform's alarms are named '{prefix}'",
        )
        role.allow(
            "OperateSchedules",
            ["events:DescribeRule", "events:DisableRule", "events:EnableRule"],
            [config.arn("events", f"rule/{prefix}")],
            wildcard_reason=f"The platform's EventBridge rules and schedules are named '{prefix}'",
        )

    def _platform_admin(self, role: ExecutionRole) -> None:
        config = self.config
        qualifier = config.perimeter.cdk_qualifier
        role.allow(
            "DeployThroughCdkBootstrap",
            ["sts:AssumeRole"],
            [
                *(config.arn("iam", f"role/cdk-{qualifier}-{kind}-{config.account}-{config.region}")
                  for kind in CDK_BOOTSTRAP_ROLES),
                config.key_admin_role_arn,
            ],
        )
        role.allow(
            "ReadStacks",
            [
                "cloudformation:DescribeStackEvents",
                "cloudformation:DescribeStacks",
                "cloudformation:GetTemplate",
                "cloudformation:ListStackResources",
            ],
            [config.arn("cloudformation", f"stack/MlPlatform-{config.name}-*/*")],
            wildcard_reason="CloudFormation stack ARNs end in an ID assigned at creation",
        )
        # Roles it creates carry the boundary (and the boundary itself denies the rest).
        role.allow(
            "RolesUnderTheBoundary",
            list(ROLE_CHANGES),
            [config.arn("iam", f"role/{config.prefix}-*")],
            conditions={"StringEquals": {"iam:PermissionsBoundary": config.permissions_boundary_arn}},
            wildcard_reason=f"Roles of the platform are named '{config.prefix}-<purpose>'; each must carry the"
            " permissions boundary",
        )

    def _auditor(self, role: ExecutionRole) -> None:
        config = self.config
        prefix = f"{config.prefix}-*"
        role.allow(
            "ReadStacksAndNagMetadata",
            [
                "cloudformation:DescribeStackEvents",
                "cloudformation:DescribeStacks",
                "cloudformation:GetTemplate",
                "cloudformation:ListStackResources",
            ],
            [config.arn("cloudformation", f"stack/MlPlatform-{config.name}-*/*")],
            wildcard_reason="CloudFormation stack ARNs end in an ID assigned at creation",
        )
        role.allow("ReadCloudTrail", ["cloudtrail:DescribeTrails", "cloudtrail:LookupEvents"], ["*"])
        role.allow(
            "ReadLogs",
            ["logs:FilterLogEvents", "logs:GetLogEvents"],
            [config.arn("logs", "log-group:/aws/sagemaker/*")],
            wildcard_reason="SageMaker's log groups and streams are named after jobs and endpoints at run time",
        )
        role.allow(
            "ReadIam",
            ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetRole", "iam:ListAttachedRolePolicies"],
            [config.arn("iam", f"role/{prefix}"), config.arn("iam", f"policy/MlPlatform-{config.name}-*"),
             config.permissions_boundary_arn],
            wildcard_reason="Roles are named '<prefix>-<purpose>'; CDK names the managed policies after their stack",
        )
        role.allow(
            "ReadSageMakerConfiguration",
            [
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DescribeModelPackageGroup",
                "sagemaker:DescribeNotebookInstance",
                "sagemaker:DescribePipeline",
            ],
            [
                self._sagemaker(f"endpoint/{prefix}"),
                self._sagemaker(f"endpoint-config/{prefix}"),
                self._sagemaker(f"model-package-group/{prefix}"),
                self._sagemaker(f"notebook-instance/{prefix}"),
                self._sagemaker(f"pipeline/{prefix}"),
            ],
            wildcard_reason=f"SageMaker resources of the platform are named '{prefix}'",
        )
