"""The personas' rows: each allowed duty allowed, each forbidden one denied, and how people get in.

Separation of duties is shown as the evaluator decides it: the model approver
may approve but never train, register or run a pipeline, so a version it
approves is never one it produced; the data scientist and the ML engineer may
never approve; the approver never deploys; the auditor reads no data. People
get into a persona only as members of its group, with MFA signed in within the
configured age, naming themselves as the session's source identity; the
platform administrator creates roles only under the permissions boundary.
"""

from __future__ import annotations

from stacks.access_stack import CHANNELS_PREFIX, EVALUATION_PREFIX, TRAINING_PREFIX
from stacks.config import PERSONAS
from stacks.people_stack import PERSONA_IDS
from tools.iam_evaluator.decide import ContextValue

#: The IAM user of the rows (a member of the persona's group) and someone else.
PERSON, OTHER_PERSON = "alice", "bob"


def _signed_in(*, mfa: bool = True, age: int = 600, source_identity: str = PERSON) -> dict[str, ContextValue]:
    context: dict[str, ContextValue] = {"aws:username": PERSON, "sts:SourceIdentity": source_identity}
    if mfa:
        context |= {"aws:MultiFactorAuthPresent": True, "aws:MultiFactorAuthAge": str(age)}
    else:
        context["aws:MultiFactorAuthPresent"] = False
    return context


#: The audience of AWS's SAML sign-in endpoint, which a SAML assertion for the console or the CLI names.
SAML_SIGN_IN = "https://signin.aws.amazon.com/saml"


def _federated(p, case, allow: str, deny: str) -> list:
    """A person of the configured identity source assuming each persona; everyone else refused.

    iam-data lists ``<issuer>:aud`` only for the OIDC issuers it knows (Google, Cognito, GitHub...),
    so the OIDC rows need such an issuer to be decided in strict mode. ``sts:SetSourceIdentity``
    rows are decided for Identity Center only: iam-data lists no SAML or OIDC key for that action,
    although AWS evaluates the trust statement with the assertion's keys.
    """
    cfg, people = p.config, p.config.people
    mode = people.federation
    user = cfg.arn("iam", f"user/{PERSON}")
    own_policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"], "Resource": list(p.people.values())}]}
    # Group-style access is gone: an IAM user whose own policy allows it, with recent MFA, is refused.
    cases = [case(user, "sts:AssumeRole", p.people[persona], _signed_in(), deny,
                  f"an IAM user with MFA assumes the {persona} persona ({mode} replaces the groups)",
                  identity_policies=(own_policy,)) for persona in PERSONAS]
    if mode in ("saml", "oidc"):
        provider = people.identity_provider_arn
        other = provider.rsplit("/", 1)[0] + "/another-provider"
        if mode == "saml":
            action, audience_key, audience = "sts:AssumeRoleWithSAML", "SAML:aud", SAML_SIGN_IN
        else:
            issuer = provider.split(":oidc-provider/", 1)[1]
            action, audience_key, audience = "sts:AssumeRoleWithWebIdentity", f"{issuer}:aud", people.oidc_audience
        for persona in PERSONAS:
            role = p.people[persona]
            cases += [
                case(provider, action, role, {audience_key: audience}, allow,
                     f"a person of the {mode} provider assumes the {persona} persona", identity_policies=()),
                case(provider, action, role, {audience_key: "another-audience"}, deny,
                     f"a {mode} token for another audience assumes the {persona} persona", identity_policies=()),
            ]
        cases.append(case(other, action, p.people["data-scientist"], {audience_key: audience}, deny,
                          f"another {mode} provider of the account assumes the data scientist persona",
                          identity_policies=()))
        return cases
    # IAM Identity Center: the roles of the permission set named like the persona.
    def sso_role(persona: str) -> str:
        return cfg.arn("iam", f"role/aws-reserved/sso.amazonaws.com/{cfg.region}/"
                       f"AWSReservedSSO_{cfg.prefix}-{persona}_0123456789abcdef")

    for persona in PERSONAS:
        cases += [
            case(sso_role(persona), "sts:AssumeRole", p.people[persona], {}, allow,
                 f"the {persona} permission set assumes its persona", identity_policies=(own_policy,)),
            case(sso_role(persona), "sts:SetSourceIdentity", p.people[persona],
                 {"sts:SourceIdentity": PERSON}, allow,
                 f"the {persona} permission set names the person as the source identity",
                 identity_policies=(own_policy,)),
        ]
    cases += [
        case(sso_role("data-scientist"), "sts:AssumeRole", p.people["model-approver"], {}, deny,
             "the data scientist permission set assumes the model approver persona", identity_policies=(own_policy,)),
        case(sso_role("auditor"), "sts:AssumeRole", p.people["platform-admin"], {}, deny,
             "the auditor permission set assumes the platform administrator persona", identity_policies=(own_policy,)),
        case(cfg.arn("iam", f"role/aws-reserved/sso.amazonaws.com/{cfg.region}/AWSReservedSSO_AdministratorAccess_1"),
             "sts:AssumeRole", p.people["platform-admin"], {}, deny,
             "another permission set assumes the platform administrator persona", identity_policies=(own_policy,)),
    ]
    return cases


def getting_in(p, case, allow: str, deny: str, group_policies) -> list:
    """An IAM user of each persona's group assuming the persona's role (or the federated rows)."""
    if p.config.people.federation != "groups":
        return _federated(p, case, allow, deny)
    user = p.config.arn("iam", f"user/{PERSON}")
    max_age = p.config.people.mfa_max_age_seconds
    cases = []
    for persona in PERSONAS:
        role = p.people[persona]
        member = tuple(policy.document for policy in group_policies[p.config.role_name(persona)])
        cases += [
            case(user, "sts:AssumeRole", role, _signed_in(), allow, f"a member of the {persona} group assumes it with"
                 " MFA, as themselves", identity_policies=member),
            case(user, "sts:AssumeRole", role, _signed_in(mfa=False), deny, f"a member of the {persona} group"
                 " assumes it without MFA", identity_policies=member),
            case(user, "sts:AssumeRole", role, _signed_in(age=max_age + 60), deny, f"a member of the {persona}"
                 " group assumes it with an MFA sign-in older than the limit", identity_policies=member),
            case(user, "sts:AssumeRole", role, _signed_in(source_identity=OTHER_PERSON), deny,
                 f"a member of the {persona} group assumes it as another person", identity_policies=member),
            case(user, "sts:SetSourceIdentity", role, _signed_in(), allow,
                 f"a member of the {persona} group names themselves as the {persona} session's source identity",
                 identity_policies=member),
        ]
    scientists = tuple(policy.document for policy in group_policies[p.config.role_name("data-scientist")])
    cases += [
        case(user, "sts:AssumeRole", p.people["model-approver"], _signed_in(), deny,
             "a data scientist assumes the model approver persona", identity_policies=scientists),
        case(user, "sts:AssumeRole", p.people["data-scientist"], _signed_in(), deny,
             "a user in no group assumes the data scientist persona", identity_policies=()),
    ]
    return cases


def persona_cases(p, case, allow: str, deny: str, group_policies) -> list:
    """``p`` is the contract's platform view, ``case`` its row type; ``group_policies`` by group name."""
    cfg = p.config
    raw_object = f"{p.bucket('raw')}/{p.raw}part-0.csv"
    report = f"{p.bucket('models')}/{EVALUATION_PREFIX}run-1/evaluation.json"
    model = f"{p.bucket('models')}/{TRAINING_PREFIX}run-1/model.tar.gz"
    channel = f"{p.bucket('processed')}/{CHANNELS_PREFIX}train/part-0.csv"
    other_env = "prod" if cfg.name != "prod" else "dev"
    other_env_raw = f"arn:aws:s3:::{cfg.project}-{other_env}-raw-{p.account}-{p.region}/{p.raw}part-0.csv"
    version = p.sagemaker(f"model-package/{p.group}/3")
    pipeline = p.sagemaker(f"pipeline/{cfg.pipeline_name}")
    experiment = p.sagemaker(f"training-job/{cfg.prefix}-experiment-1")
    notebook = p.sagemaker(f"notebook-instance/{cfg.prefix}-workbench")
    endpoint = p.sagemaker(f"endpoint/{cfg.endpoint_name}")
    boundary = cfg.permissions_boundary_arn
    new_role = cfg.arn("iam", f"role/{cfg.prefix}-batch-scoring")
    to_sagemaker = {"iam:PassedToService": "sagemaker.amazonaws.com"}
    approve = {"sagemaker:ModelApprovalStatus": "Approved"}
    own = {"aws:ResourceTag/owner": PERSON, "aws:SourceIdentity": PERSON}
    isolated_model = {"sagemaker:NetworkIsolation": True}
    if p.in_vpc:
        isolated_model |= {"sagemaker:VpcSubnets": p.subnets, "sagemaker:VpcSecurityGroupIds": [p.workload_sg]}
    stack = cfg.arn("cloudformation", f"stack/{cfg.stack_name('data')}/0a1b2c3d")
    qualifier = cfg.perimeter.cdk_qualifier
    deploy_role = cfg.arn("iam", f"role/cdk-{qualifier}-deploy-role-{p.account}-{p.region}")

    def rows(who: str, table: list[tuple]) -> list:
        return [case(who, action, resource, context, expected, why) for action, resource, context, expected, why
                in table]

    scientist = rows("data-scientist", [
        ("s3:GetObject", raw_object, {}, allow, "read raw data"),
        ("s3:PutObject", raw_object, {}, allow, "upload raw data"),
        ("kms:Decrypt", p.data_key, p.via_s3, allow, "decrypt data through S3"),
        ("s3:GetObject", channel, {}, allow, "read a data channel"),
        ("s3:GetObject", report, {}, allow, "read an evaluation report"),
        ("sagemaker:StartPipelineExecution", pipeline, {}, allow, "start the pipeline"),
        ("sagemaker:DescribePipelineExecution", f"{pipeline}/execution/abc123", {}, allow, "watch an execution"),
        ("sagemaker:CreateTrainingJob", experiment, p.job_context(), allow, "an ad-hoc training job within the"
         " guardrails"),
        ("sagemaker:CreateProcessingJob", p.sagemaker(f"processing-job/{cfg.prefix}-explore-1"),
         p.job_context(output_key=p.data_key), allow, "an ad-hoc processing job within the guardrails"),
        ("iam:PassRole", p.roles["training"], to_sagemaker, allow, "pass the training role to SageMaker"),
        ("sagemaker:CreatePresignedNotebookInstanceUrl", notebook, own, allow, "open their own notebook"),
        ("sagemaker:StopNotebookInstance", notebook, own, allow, "stop their own notebook"),
        ("sagemaker:DescribeModelPackage", version, {}, allow, "read a registered version"),
        ("sagemaker:UpdateModelPackage", version, approve, deny, "approve a model version"),
        ("sagemaker:CreateModelPackage", version, {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}, deny,
         "register a model version"),
        ("sagemaker:UpdateEndpoint", endpoint, {}, deny, "deploy to the endpoint"),
        ("sagemaker:CreateModel", p.sagemaker(f"model/{cfg.prefix}-3"), isolated_model, deny, "create a model"),
        ("iam:CreateRole", new_role, {"iam:PermissionsBoundary": boundary}, deny, "change infrastructure: create a"
         " role"),
        ("s3:GetObject", other_env_raw, {}, deny, "read another environment's raw data"),
        ("s3:GetObject", model, {}, deny, "download a model artifact"),
        ("s3:PutObject", report, {}, deny, "forge an evaluation report"),
        ("sagemaker:CreatePresignedNotebookInstanceUrl", notebook,
         {"aws:ResourceTag/owner": OTHER_PERSON, "aws:SourceIdentity": PERSON}, deny, "open another person's notebook"),
        ("sagemaker:CreatePresignedNotebookInstanceUrl", notebook, {"aws:SourceIdentity": PERSON}, deny,
         "open a notebook that names no owner"),
        ("sagemaker:CreateTrainingJob", experiment, p.job_context(**{"sagemaker:NetworkIsolation": False}), deny,
         "an ad-hoc training job without network isolation"),
        ("iam:PassRole", p.roles["hosting"], to_sagemaker, deny, "pass the hosting role"),
    ])
    approver = rows("model-approver", [
        ("sagemaker:UpdateModelPackage", version, approve, allow, "approve a model version"),
        ("sagemaker:UpdateModelPackage", version, {"sagemaker:ModelApprovalStatus": "Rejected"}, allow,
         "reject a model version"),
        ("sagemaker:DescribeModelPackage", version, {}, allow, "read a version's metrics"),
        ("s3:GetObject", report, {}, allow, "read an evaluation report"),
        ("kms:Decrypt", p.model_key, p.via_s3, allow, "decrypt the report through S3"),
        ("sagemaker:DescribeModelCard", p.sagemaker(f"model-card/{cfg.prefix}-xgboost"), {}, allow,
         "read a model card"),
        ("sagemaker:UpdateModelPackage", p.sagemaker("model-package/another-group/3"), approve, deny,
         "approve a version of another group"),
        ("sagemaker:CreateModelPackage", version, {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}, deny,
         "register a version (then approve their own)"),
        ("sagemaker:CreateTrainingJob", experiment, p.job_context(), deny, "train a model"),
        ("sagemaker:StartPipelineExecution", pipeline, {}, deny, "run the pipeline"),
        ("sagemaker:UpdatePipeline", pipeline, {}, deny, "change the pipeline"),
        ("sagemaker:UpdateEndpoint", endpoint, {}, deny, "deploy to the endpoint"),
        ("s3:GetObject", raw_object, {}, deny, "read raw data"),
    ])
    engineer = rows("ml-engineer", [
        ("sagemaker:CreateModel", p.sagemaker(f"model/{cfg.prefix}-3"), isolated_model, allow,
         "create a model from an approved version within the guardrails"),
        ("sagemaker:CreateEndpointConfig", p.sagemaker(f"endpoint-config/{cfg.prefix}-3"),
         {"sagemaker:VolumeKmsKeyArn": p.model_key}, allow, "create an endpoint configuration"),
        ("sagemaker:UpdateEndpoint", endpoint, {}, allow, "deploy to the endpoint, or roll back"),
        ("iam:PassRole", p.roles["hosting"], to_sagemaker, allow, "pass the hosting role to SageMaker"),
        ("kms:CreateGrant", p.model_key, {"kms:GrantIsForAWSResource": True}, allow,
         "let SageMaker encrypt endpoint volumes"),
        ("cloudwatch:DisableAlarmActions", cfg.arn("cloudwatch", f"alarm:{cfg.prefix}-endpoint-latency"), {}, allow,
         "silence an alarm during maintenance"),
        ("events:DisableRule", cfg.arn("events", f"rule/{cfg.prefix}-model-approved"), {}, allow,
         "pause a schedule"),
        ("sagemaker:UpdateModelPackage", version, approve, deny, "approve a model version"),
        ("sagemaker:CreateTrainingJob", experiment, p.job_context(), deny, "train a model"),
        ("sagemaker:StartPipelineExecution", pipeline, {}, deny, "run the pipeline"),
        ("sagemaker:CreateModel", p.sagemaker(f"model/{cfg.prefix}-3"),
         {**isolated_model, "sagemaker:NetworkIsolation": False}, deny, "create a model without network isolation"),
        ("sagemaker:CreateEndpointConfig", p.sagemaker(f"endpoint-config/{cfg.prefix}-3"),
         {"sagemaker:VolumeKmsKeyArn": p.foreign_key}, deny, "an endpoint configuration with a foreign key"),
        ("sagemaker:UpdateEndpoint", p.sagemaker("endpoint/another-endpoint"), {}, deny, "deploy to another endpoint"),
        ("iam:PassRole", p.roles["training"], to_sagemaker, deny, "pass the training role"),
        ("s3:GetObject", raw_object, {}, deny, "read raw data"),
    ])
    admin = rows("platform-admin", [
        ("sts:AssumeRole", deploy_role, {}, allow, "deploy the stacks through the CDK bootstrap's deploy role"),
        ("sts:AssumeRole", cfg.key_admin_role_arn, {}, allow, "manage the keys as the key administrator"),
        ("cloudformation:DescribeStacks", stack, {}, allow, "read the stacks"),
        ("iam:CreateRole", new_role, {"iam:PermissionsBoundary": boundary}, allow, "create a role under the"
         " boundary"),
        ("iam:PutRolePolicy", new_role, {"iam:PermissionsBoundary": boundary}, allow, "give a role under the"
         " boundary a policy"),
        ("iam:CreateRole", new_role, {}, deny, "create a role without the boundary (escape it)"),
        ("iam:CreateRole", new_role, {"iam:PermissionsBoundary": cfg.arn("iam", "policy/AdministratorAccess")},
         deny, "create a role under another boundary"),
        ("iam:AttachRolePolicy", new_role, {"iam:PermissionsBoundary": cfg.arn("iam", "policy/Other")}, deny,
         "attach a policy to a role under another boundary"),
        ("iam:CreateRole", cfg.arn("iam", "role/Admin"), {"iam:PermissionsBoundary": boundary}, deny,
         "create a role outside the platform's names"),
        ("iam:DeleteRolePermissionsBoundary", p.roles["processing"], {}, deny, "remove a role's boundary"),
        ("iam:CreatePolicyVersion", boundary, {}, deny, "rewrite the boundary"),
        ("iam:CreateAccessKey", cfg.arn("iam", f"user/{PERSON}"), {}, deny, "create a long-term access key"),
        ("s3:GetObject", raw_object, {}, deny, "read raw data"),
        ("kms:Decrypt", p.data_key, p.via_s3, deny, "decrypt data"),
        ("sagemaker:UpdateModelPackage", version, approve, deny, "approve a model version"),
    ])
    auditor = rows("auditor", [
        ("cloudformation:GetTemplate", stack, {}, allow, "read a template and its nag metadata"),
        ("cloudtrail:LookupEvents", "*", {}, allow, "read CloudTrail"),
        ("logs:FilterLogEvents", cfg.arn("logs", "log-group:/aws/sagemaker/TrainingJobs"), {}, allow,
         "read job logs"),
        ("iam:GetRole", p.roles["pipeline"], {}, allow, "read a role"),
        ("iam:GetPolicyVersion", boundary, {}, allow, "read the permissions boundary"),
        ("sagemaker:DescribePipeline", pipeline, {}, allow, "read the pipeline's definition"),
        ("s3:GetObject", raw_object, {}, deny, "read raw data"),
        ("s3:GetObject", channel, {}, deny, "read a data channel"),
        ("s3:GetObject", report, {}, deny, "read an evaluation report"),
        ("kms:Decrypt", p.data_key, p.via_s3, deny, "decrypt data"),
        ("sagemaker:CreatePresignedNotebookInstanceUrl", notebook, own, deny, "open a notebook"),
        ("sagemaker:UpdateModelPackage", version, approve, deny, "approve a model version"),
        ("cloudformation:DeleteStack", stack, {}, deny, "delete a stack"),
        ("logs:DeleteLogGroup", cfg.arn("logs", "log-group:/aws/sagemaker/TrainingJobs"), {}, deny,
         "delete logs"),
    ])
    return [*getting_in(p, case, allow, deny, group_policies), *scientist, *approver, *engineer, *admin, *auditor]


#: Construct IDs (logical ID prefixes) of the persona roles, in the people stack.
PERSONA_ROLES = {persona: f"{PERSONA_IDS[persona]}Role" for persona in PERSONAS}
