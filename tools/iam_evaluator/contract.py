"""The platform's access contract: what each principal must be allowed, and what must be denied.

One row per API call: (principal, action, resource, request context, expected).
The rows are built from the environment's config and its resolved templates
(subnets, security groups, key ARNs), never from the policies under test, and
:func:`check_contract` asks the real evaluator about all of them at once.

Denied rows break ONE guardrail of an otherwise allowed call (a foreign subnet
among the platform's, isolation off, a foreign key...), so each shows that
this guardrail alone stops the call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from stacks.access_stack import (
    CHANNELS_PREFIX,
    CHECKPOINTS_PREFIX,
    DATA_CAPTURE_PREFIX,
    EVALUATION_PREFIX,
    JOB_LOG_GROUPS,
    PENDING_APPROVAL,
    PIPELINE_JOB_PREFIX,
    TRAINING_PREFIX,
)
from stacks.config import (
    ATHENA_RESULTS_PREFIX,
    BATCH_SCORING_PREFIX,
    GLUE_TABLE_NAME,
    MONITORING_PREFIX,
    MONITORING_REPORTS_PREFIX,
    REDSHIFT_UNLOAD_PREFIX,
    PlatformConfig,
)
from stacks.images import repository_arn, spark_processing_image_uri, xgboost_image_uri
from tools.iam_evaluator.decide import ContextValue, Decision, Request, decide_all
from tools.iam_evaluator.perimeter import PEOPLE, perimeter_cases
from tools.iam_evaluator.personas import getting_in, persona_cases
from tools.iam_evaluator.policies import NamedPolicy, PlatformPolicies

ALLOW, DENY = "allow", "deny"

#: Construct IDs of the principals in stacks/access_stack.py (their roles' logical ID prefixes).
PRINCIPALS = {
    "processing": "ProcessingJobRole",
    "training": "TrainingJobRole",
    "hosting": "HostingRole",
    "batch": "BatchScoringRole",
    "pipeline": "PipelineExecutionRole",
    "batch-pipeline": "BatchPipelineRole",
    "notebook": "NotebookRole",
    # stacks/monitoring_stack.py: services' roles, not SageMaker's.
    "monitoring-schedule": "ScheduleRole",
    "retrain-trigger": "TriggerRole",
    "retrain-guard": "GuardRole",
}
#: Roles only some configurations create: Redshift's UNLOAD role exists with the redshift source.
SOURCE_PRINCIPALS = {"redshift-unload": "RedshiftUnloadRole"}
REDSHIFT = "redshift.amazonaws.com"
#: The caller's ``aws:userid`` as a SageMaker job's role session has it.
JOB_USERID = "AROAEXAMPLEROLEID:SageMaker"
#: The service each monitoring role trusts (the others trust SageMaker).
SERVICE_ROLES = {
    "monitoring-schedule": "scheduler.amazonaws.com",
    "retrain-trigger": "events.amazonaws.com",
    "retrain-guard": "states.amazonaws.com",
}
SAGEMAKER = "sagemaker.amazonaws.com"
KEY = "AWS::KMS::Key"
#: Another account, another project: what must never be reachable.
FOREIGN_ACCOUNT = "444455556666"


@dataclass(frozen=True)
class Case:
    #: A key of PRINCIPALS, a service principal (``sagemaker.amazonaws.com``) or an ARN.
    principal: str
    action: str
    resource: str
    context: Mapping[str, ContextValue]
    expected: str
    #: What the row shows, e.g. "foreign subnet among the subnets".
    why: str
    #: Identity policies of a principal that is not a role of the templates
    #: (``principal`` is then its ARN), e.g. an account administrator's ``*``.
    identity_policies: tuple[dict, ...] | None = None

    @property
    def id(self) -> str:
        return f"{self.principal}-{self.expected}-{self.why}".replace(" ", "-")


@dataclass(frozen=True)
class Outcome:
    case: Case
    decision: Decision

    @property
    def matches(self) -> bool:
        return self.decision.allowed == (self.case.expected == ALLOW)


class _Platform:
    """The concrete names a case needs, from the config and the resolved templates."""

    def __init__(self, policies: PlatformPolicies, config: PlatformConfig) -> None:
        self.config = config
        self.region, self.account = config.region, config.account
        self.data_key = policies.attribute_of(KEY, "data", "DataKey")
        self.model_key = policies.attribute_of(KEY, "data", "ModelKey")
        self.logs_key = policies.attribute_of(KEY, "data", "LogsKey")
        self.foreign_key = f"arn:aws:kms:{self.region}:{self.account}:key/another-project-key"
        self.subnets = sorted(policies.physical_ids("AWS::EC2::Subnet", "network").values())
        groups = policies.physical_ids("AWS::EC2::SecurityGroup", "network")
        self.workload_sg = next(v for k, v in groups.items() if k.startswith("VpcWorkloadSecurityGroup"))
        self.endpoint_sg = next(v for k, v in groups.items() if k.startswith("VpcEndpointSecurityGroup"))
        self.vpc = next(iter(policies.physical_ids("AWS::EC2::VPC", "network").values()))
        self.roles = {name: policies.role(prefix).arn for name, prefix in PRINCIPALS.items()}
        self.people = {name: policies.role(prefix).arn for name, prefix in PEOPLE.items()}
        self.group = config.model_package_group_name
        self.topic = policies.attribute_of("AWS::SNS::Topic", "registry", "AlertsTopic", "TopicArn")
        self.via_s3 = {"kms:ViaService": f"s3.{self.region}.amazonaws.com"}
        #: Where raw data lands (what preprocessing reads).
        self.raw = config.pipeline.raw_data_prefix
        #: Whether jobs run in the VPC (prod) or network-isolated outside it (dev).
        self.in_vpc = config.network.jobs_in_vpc

    def bucket(self, purpose: str) -> str:
        return f"arn:aws:s3:::{self.config.bucket_name(purpose)}"

    def foreign_bucket(self, purpose: str) -> str:
        return f"arn:aws:s3:::other-{self.config.name}-{purpose}-{self.account}-{self.region}"

    def sagemaker(self, resource: str) -> str:
        return self.config.arn("sagemaker", resource)

    def log_stream(self, kind: str) -> str:
        return self.config.arn("logs", f"log-group:{JOB_LOG_GROUPS[kind]}:log-stream:job-1/algo-1")

    def job_context(self, *, output_key: str | None = None, **changes: ContextValue) -> dict[str, ContextValue]:
        """A request that meets every guardrail; ``changes`` break one (None removes a key).

        Where jobs run outside the VPC the compliant request names no VPC.
        """
        compliant: dict[str, ContextValue] = {
            "sagemaker:VpcSubnets": self.subnets if self.in_vpc else None,
            "sagemaker:VpcSecurityGroupIds": [self.workload_sg] if self.in_vpc else None,
            "sagemaker:NetworkIsolation": True,
            "sagemaker:InterContainerTrafficEncryption": True,
            "sagemaker:VolumeKmsKeyArn": self.model_key,
            "sagemaker:OutputKmsKeyArn": output_key or self.model_key,
        }
        return {**compliant, **changes}


def _data_cases(
    p: _Platform,
    who: str,
    reads: list[tuple[str, str, str]],
    writes: list[tuple[str, str, str]],
    denied: list[tuple[str, str, str]],
) -> list[Case]:
    """Object reads/writes ``(bucket purpose, prefix, key ARN)`` allowed, with their key through S3 (once per
    key); ``denied`` are (action, object ARN, why)."""
    cases, keys = [], {}
    for verb, action, key_action, grants in (("read", "s3:GetObject", "kms:Decrypt", reads),
                                             ("write", "s3:PutObject", "kms:GenerateDataKey", writes)):
        for purpose, prefix, key in grants:
            cases.append(Case(who, action, f"{p.bucket(purpose)}/{prefix}part-0.csv", {}, ALLOW,
                              f"{verb} {purpose}/{prefix}"))
            keys.setdefault((key_action, key), f"{key_action.split(':')[1]} for {purpose} through S3")
    cases += [Case(who, action, key, p.via_s3, ALLOW, why) for (action, key), why in keys.items()]
    cases += [Case(who, action, resource, {}, DENY, why) for action, resource, why in denied]
    return cases


def _job_role_cases(p: _Platform, who: str, kind: str) -> list[Case]:
    """Plumbing every job role has, and its limits."""
    other_kind = "training" if kind != "training" else "processing"
    return [
        Case(who, "logs:PutLogEvents", p.log_stream(kind), {}, ALLOW, "write its job logs"),
        Case(who, "logs:PutLogEvents", p.log_stream(other_kind), {}, DENY, f"write {other_kind} logs"),
        Case(who, "cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": JOB_LOG_GROUPS[kind]}, ALLOW,
             "publish its metrics"),
        Case(who, "cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "AWS/EC2"}, DENY,
             "publish into another namespace"),
        Case(who, "ecr:BatchGetImage", repository_arn(xgboost_image_uri(p.region)), {}, ALLOW, "pull the image"),
        Case(who, "ecr:BatchGetImage", p.config.arn("ecr", "repository/any-image"), {}, DENY, "pull another image"),
        # The Spark image only for the processing role, and only when the pipeline preprocesses on Spark.
        Case(who, "ecr:BatchGetImage", repository_arn(spark_processing_image_uri(p.region)), {},
             ALLOW if kind == "processing" and p.config.pipeline.preprocess_engine == "spark" else DENY,
             "pull the Spark processing image"),
        # Jobs outside the VPC (dev) create no network interface, so their roles may not either.
        Case(who, "ec2:CreateNetworkInterface", p.config.arn("ec2", f"subnet/{p.subnets[0]}"), {},
             ALLOW if p.in_vpc else DENY, "attach to a platform subnet"),
        Case(who, "ec2:CreateNetworkInterface", p.config.arn("ec2", "subnet/subnet-foreign"), {}, DENY,
             "attach to a foreign subnet"),
        Case(who, "ec2:DeleteNetworkInterface", p.config.arn("ec2", "network-interface/eni-1"),
             {"ec2:Vpc": p.config.arn("ec2", f"vpc/{p.vpc}")}, ALLOW if p.in_vpc else DENY,
             "manage its ENIs in the VPC"),
        Case(who, "ec2:DeleteNetworkInterface", p.config.arn("ec2", "network-interface/eni-1"),
             {"ec2:Vpc": p.config.arn("ec2", "vpc/vpc-foreign")}, DENY, "manage ENIs of another VPC"),
        Case(who, "sagemaker:CreateTrainingJob", p.sagemaker(f"training-job/{PIPELINE_JOB_PREFIX}a-b-c"),
             p.job_context(), DENY, "launch jobs itself"),
        Case(who, "iam:PassRole", p.roles["training"], {"iam:PassedToService": SAGEMAKER}, DENY, "pass a role"),
    ]


def _processing(p: _Platform) -> list[Case]:
    who = "processing"
    endpoint = p.config.endpoint_name
    monitoring = f"{MONITORING_PREFIX}{endpoint}/"
    return [
        *_data_cases(
            p,
            who,
            reads=[("raw", p.raw, p.data_key), ("processed", CHANNELS_PREFIX, p.data_key),
                   ("models", TRAINING_PREFIX, p.model_key), ("models", DATA_CAPTURE_PREFIX, p.model_key),
                   ("models", f"{BATCH_SCORING_PREFIX}/", p.model_key), ("models", monitoring, p.model_key)],
            writes=[("processed", CHANNELS_PREFIX, p.data_key), ("models", EVALUATION_PREFIX, p.model_key),
                    ("models", monitoring, p.model_key),
                    ("models", f"{MONITORING_REPORTS_PREFIX}{endpoint}/", p.model_key)],
            denied=[
                ("s3:PutObject", f"{p.bucket('models')}/{DATA_CAPTURE_PREFIX}{endpoint}/x.jsonl",
                 "forge captured traffic"),
                ("s3:PutObject", f"{p.bucket('models')}/{BATCH_SCORING_PREFIX}/exec/part.out",
                 "forge batch-scoring outputs"),
                ("s3:PutObject", f"{p.bucket('models')}/{MONITORING_PREFIX}other-endpoint/baseline/b.json",
                 "write another endpoint's baseline"),
                ("s3:PutObject", f"{p.bucket('raw')}/{p.raw}part-0.csv", "overwrite raw data"),
                ("s3:PutObject", f"{p.bucket('processed')}/scratch/part-0.csv", "write outside channels/"),
                ("s3:PutObject", f"{p.bucket('models')}/{TRAINING_PREFIX}model.tar.gz", "overwrite a model"),
                ("s3:GetObject", f"{p.foreign_bucket('raw')}/{p.raw}part-0.csv", "read another project's bucket"),
                ("s3:DeleteObject", f"{p.bucket('raw')}/{p.raw}part-0.csv", "delete raw data"),
            ],
        ),
        Case(who, "s3:GetObject", f"{p.bucket('raw')}/{p.raw}part-0.csv", {"aws:SecureTransport": False}, DENY,
             "read raw data without TLS"),
        Case(who, "s3:ListBucket", p.bucket("raw"), {}, ALLOW, "list raw"),
        Case(who, "s3:ListBucket", p.bucket("processed"), {"s3:prefix": CHANNELS_PREFIX}, ALLOW, "list channels/"),
        Case(who, "s3:ListBucket", p.bucket("processed"), {"s3:prefix": "scratch/"}, DENY, "list outside channels/"),
        Case(who, "kms:Decrypt", p.data_key, {}, DENY, "decrypt directly, not through S3"),
        Case(who, "kms:Decrypt", p.data_key, {"kms:ViaService": f"ec2.{p.region}.amazonaws.com"}, DENY,
             "decrypt through another service"),
        Case(who, "kms:Decrypt", p.foreign_key, p.via_s3, DENY, "decrypt with another project's key"),
        Case(who, "kms:Decrypt", p.logs_key, p.via_s3, DENY, "decrypt with the logs key"),
        *_job_role_cases(p, who, "processing"),
    ]


def _training(p: _Platform) -> list[Case]:
    who = "training"
    return [
        *_data_cases(
            p,
            who,
            reads=[("processed", CHANNELS_PREFIX, p.data_key), ("models", CHECKPOINTS_PREFIX, p.model_key)],
            writes=[("models", TRAINING_PREFIX, p.model_key), ("models", CHECKPOINTS_PREFIX, p.model_key)],
            denied=[
                ("s3:GetObject", f"{p.bucket('raw')}/{p.raw}part-0.csv", "read raw data"),
                ("s3:PutObject", f"{p.bucket('processed')}/{CHANNELS_PREFIX}part-0.csv", "write data channels"),
                ("s3:PutObject", f"{p.bucket('models')}/{EVALUATION_PREFIX}report.json", "write evaluations"),
                ("s3:GetObject", f"{p.foreign_bucket('processed')}/{CHANNELS_PREFIX}part-0.csv",
                 "read another project's bucket"),
            ],
        ),
        Case(who, "kms:GenerateDataKey", p.data_key, p.via_s3, DENY, "encrypt with the data key"),
        Case(who, "kms:Decrypt", p.foreign_key, p.via_s3, DENY, "decrypt with another project's key"),
        *_job_role_cases(p, who, "training"),
    ]


def _hosting(p: _Platform) -> list[Case]:
    who = "hosting"
    return [
        *_data_cases(
            p,
            who,
            reads=[("models", TRAINING_PREFIX, p.model_key)],
            writes=[("models", DATA_CAPTURE_PREFIX, p.model_key)],
            denied=[
                ("s3:GetObject", f"{p.bucket('raw')}/{p.raw}part-0.csv", "read raw data"),
                ("s3:GetObject", f"{p.bucket('processed')}/{CHANNELS_PREFIX}part-0.csv", "read data channels"),
                ("s3:PutObject", f"{p.bucket('models')}/{TRAINING_PREFIX}model.tar.gz", "overwrite a model"),
            ],
        ),
        Case(who, "kms:Decrypt", p.data_key, p.via_s3, DENY, "decrypt with the data key"),
        *_job_role_cases(p, who, "hosting"),
    ]


def _batch(p: _Platform) -> list[Case]:
    """The transform job's role: the scoring input, the model artifact, the scored output; nothing else."""
    who, scoring = "batch", f"{BATCH_SCORING_PREFIX}/"
    return [
        *_data_cases(
            p,
            who,
            reads=[("raw", scoring, p.data_key), ("models", TRAINING_PREFIX, p.model_key)],
            writes=[("models", scoring, p.model_key)],
            denied=[
                ("s3:GetObject", f"{p.bucket('raw')}/{p.raw}part-0.csv", "read the training data"),
                ("s3:PutObject", f"{p.bucket('raw')}/{scoring}part-0.csv", "overwrite its input"),
                ("s3:GetObject", f"{p.bucket('processed')}/{CHANNELS_PREFIX}part-0.csv", "read data channels"),
                ("s3:PutObject", f"{p.bucket('models')}/{TRAINING_PREFIX}model.tar.gz", "overwrite a model"),
                ("s3:PutObject", f"{p.bucket('models')}/{DATA_CAPTURE_PREFIX}capture.jsonl", "forge data capture"),
                ("s3:GetObject", f"{p.foreign_bucket('raw')}/{scoring}part-0.csv", "read another project's bucket"),
            ],
        ),
        Case(who, "kms:GenerateDataKey", p.data_key, p.via_s3, DENY, "encrypt with the data key"),
        *_job_role_cases(p, who, "batch"),
    ]


def _batch_launch_cases(p: _Platform) -> list[Case]:
    """The batch-scoring pipeline's role: an isolated model, a transform job with that model; nothing else."""
    who = "batch-pipeline"
    model = p.sagemaker(f"model/{PIPELINE_JOB_PREFIX}abc123-createscoringmodel-x1")
    transform = p.sagemaker(f"transform-job/{PIPELINE_JOB_PREFIX}abc123-scorebatch-x1")
    platform_vpc = {"sagemaker:VpcSubnets": p.subnets, "sagemaker:VpcSecurityGroupIds": [p.workload_sg]}
    isolated = {"sagemaker:NetworkIsolation": True, **(platform_vpc if p.in_vpc else {})}
    broken_model = {
        "network isolation off": {"sagemaker:NetworkIsolation": False},
        "no network isolation key": {"sagemaker:NetworkIsolation": None},
        "a foreign subnet among the subnets": {**platform_vpc, "sagemaker:VpcSubnets": [*p.subnets, "subnet-foreign"]},
        "a foreign security group": {**platform_vpc, "sagemaker:VpcSecurityGroupIds": ["sg-foreign"]},
        **({"no VPC at all": {"sagemaker:VpcSubnets": None, "sagemaker:VpcSecurityGroupIds": None}}
           if p.in_vpc else {}),
    }
    transform_ok = {"sagemaker:VolumeKmsKeyArn": p.model_key, "sagemaker:OutputKmsKeyArn": p.model_key,
                    "sagemaker:ModelArn": model}
    broken_transform = {
        "no volume key": {"sagemaker:VolumeKmsKeyArn": None},
        "a foreign volume key": {"sagemaker:VolumeKmsKeyArn": p.foreign_key},
        "no output key": {"sagemaker:OutputKmsKeyArn": None},
        "a foreign output key": {"sagemaker:OutputKmsKeyArn": p.foreign_key},
        "the data key as output key": {"sagemaker:OutputKmsKeyArn": p.data_key},
        "a model the pipeline did not create": {"sagemaker:ModelArn": p.sagemaker("model/hand-made-model")},
    }
    return [
        Case(who, "sagemaker:CreateModel", model, isolated, ALLOW, "CreateModel isolated within the guardrails"),
        *(Case(who, "sagemaker:CreateModel", model, {**isolated, **change}, DENY, f"CreateModel with {why}")
          for why, change in broken_model.items()),
        Case(who, "sagemaker:CreateModel", p.sagemaker(f"model/{p.config.prefix}-adhoc"), isolated, DENY,
             "CreateModel not named by the pipeline"),
        Case(who, "sagemaker:CreateTransformJob", transform, transform_ok, ALLOW,
             "CreateTransformJob within the guardrails"),
        *(Case(who, "sagemaker:CreateTransformJob", transform, {**transform_ok, **change}, DENY,
               f"CreateTransformJob with {why}") for why, change in broken_transform.items()),
        Case(who, "sagemaker:CreateTransformJob", p.sagemaker("transform-job/adhoc-scoring"), transform_ok, DENY,
             "CreateTransformJob not named by the pipeline"),
        Case(who, "sagemaker:DescribeTransformJob", transform, {}, ALLOW, "watch its transform jobs"),
        Case(who, "iam:PassRole", p.roles["batch"], {"iam:PassedToService": SAGEMAKER}, ALLOW,
             "pass the batch-scoring role to SageMaker"),
        Case(who, "iam:PassRole", p.roles["batch"], {"iam:PassedToService": "ec2.amazonaws.com"}, DENY,
             "pass the batch-scoring role to EC2"),
        Case(who, "iam:PassRole", p.roles["training"], {"iam:PassedToService": SAGEMAKER}, DENY,
             "pass the training role"),
        Case(who, "sagemaker:CreateTrainingJob", p.sagemaker(f"training-job/{PIPELINE_JOB_PREFIX}abc123-train-x1"),
             p.job_context(), DENY, "launch training jobs"),
        Case(who, "sagemaker:CreateModelPackage", p.sagemaker(f"model-package/{p.group}/3"),
             {"sagemaker:ModelApprovalStatus": PENDING_APPROVAL}, DENY, "register a version"),
        Case(who, "kms:CreateGrant", p.model_key, {"kms:GrantIsForAWSResource": True}, ALLOW,
             "let SageMaker encrypt transform volumes"),
        Case(who, "kms:CreateGrant", p.data_key, {"kms:GrantIsForAWSResource": True}, DENY, "grant the data key"),
        Case(who, "s3:GetObject", f"{p.bucket('models')}/{TRAINING_PREFIX}model.tar.gz", {}, DENY,
             "download a model"),
    ]


def _launch_cases(p: _Platform, who: str, action: str, resource: str, output_key: str | None = None) -> list[Case]:
    """One compliant launch, then each guardrail broken alone."""
    short = action.split(":")[1]
    ok = p.job_context(output_key=output_key)
    platform_vpc = {"sagemaker:VpcSubnets": p.subnets, "sagemaker:VpcSecurityGroupIds": [p.workload_sg]}
    vpc_required = {
        "no VPC at all": {"sagemaker:VpcSubnets": None, "sagemaker:VpcSecurityGroupIds": None},
        "no subnets": {"sagemaker:VpcSubnets": None},
    }
    broken = {
        **(vpc_required if p.in_vpc else {}),
        "a foreign subnet among the subnets": {**platform_vpc, "sagemaker:VpcSubnets": [*p.subnets, "subnet-foreign"]},
        "the endpoints' security group": {**platform_vpc,
                                          "sagemaker:VpcSecurityGroupIds": [p.workload_sg, p.endpoint_sg]},
        "a foreign security group": {**platform_vpc, "sagemaker:VpcSecurityGroupIds": ["sg-foreign"]},
        "network isolation off": {"sagemaker:NetworkIsolation": False},
        "no network isolation key": {"sagemaker:NetworkIsolation": None},
        "inter-container encryption off": {"sagemaker:InterContainerTrafficEncryption": False},
        "a foreign volume key": {"sagemaker:VolumeKmsKeyArn": p.foreign_key},
        "no volume key": {"sagemaker:VolumeKmsKeyArn": None},
        "a foreign output key": {"sagemaker:OutputKmsKeyArn": p.foreign_key},
        "the logs key as output key": {"sagemaker:OutputKmsKeyArn": p.logs_key},
        "no output key": {"sagemaker:OutputKmsKeyArn": None},
    }
    # Outside the VPC (dev) a job may still name the platform's VPC, and only that one.
    in_platform_vpc = [] if p.in_vpc else [
        Case(who, action, resource, {**ok, **platform_vpc}, ALLOW, f"{short} in the platform's VPC")]
    return [
        Case(who, action, resource, ok, ALLOW, f"{short} within the guardrails"),
        *in_platform_vpc,
        *(Case(who, action, resource, {**ok, **change}, DENY, f"{short} with {why}") for why, change in broken.items()),
    ]


def _pipeline(p: _Platform) -> list[Case]:
    who = "pipeline"
    training_job = p.sagemaker(f"training-job/{PIPELINE_JOB_PREFIX}abc123-trainmodel-x1")
    processing_job = p.sagemaker(f"processing-job/{PIPELINE_JOB_PREFIX}abc123-preprocess-x1")
    tuning_job = p.sagemaker("hyper-parameter-tuning-job/0123456789abcdef0123456789abcdef")
    version = p.sagemaker(f"model-package/{p.group}/3")
    pending = {"sagemaker:ModelApprovalStatus": PENDING_APPROVAL}
    approved = {"sagemaker:ModelApprovalStatus": "Approved"}
    to_sagemaker = {"iam:PassedToService": SAGEMAKER}
    return [
        *_launch_cases(p, who, "sagemaker:CreateTrainingJob", training_job),
        *_launch_cases(p, who, "sagemaker:CreateHyperParameterTuningJob", tuning_job),
        *_launch_cases(p, who, "sagemaker:CreateProcessingJob", processing_job, output_key=p.data_key),
        Case(who, "sagemaker:CreateProcessingJob", processing_job, p.job_context(), ALLOW,
             "CreateProcessingJob writing with the model key (evaluation)"),
        Case(who, "sagemaker:CreateTrainingJob", training_job, p.job_context(output_key=p.data_key), DENY,
             "CreateTrainingJob writing models with the data key"),
        Case(who, "sagemaker:CreateTrainingJob", p.sagemaker("training-job/adhoc-job"), p.job_context(), DENY,
             "CreateTrainingJob not named by the pipeline"),
        Case(who, "sagemaker:DescribeTrainingJob", training_job, {}, ALLOW, "watch its training jobs"),
        Case(who, "sagemaker:StopProcessingJob", processing_job, {}, ALLOW, "stop its processing jobs"),
        Case(who, "sagemaker:CreateModelPackage", version, pending, ALLOW, "register a version pending approval"),
        Case(who, "sagemaker:CreateModelPackage", version, approved, DENY, "register a version as approved"),
        Case(who, "sagemaker:CreateModelPackage", version, {}, DENY, "register without an approval status"),
        Case(who, "sagemaker:CreateModelPackage", p.sagemaker("model-package/other-group/1"), pending, DENY,
             "register into another group"),
        Case(who, "sagemaker:UpdateModelPackage", version, approved, DENY, "approve a version (self-approval)"),
        Case(who, "sagemaker:DescribeModelPackage", version, {}, ALLOW, "read a registered version"),
        Case(who, "iam:PassRole", p.roles["training"], to_sagemaker, ALLOW, "pass the training role to SageMaker"),
        Case(who, "iam:PassRole", p.roles["processing"], to_sagemaker, ALLOW,
             "pass the processing role to SageMaker"),
        Case(who, "iam:PassRole", p.roles["hosting"], to_sagemaker, DENY, "pass the hosting role"),
        Case(who, "iam:PassRole", p.roles["notebook"], to_sagemaker, DENY, "pass the notebook role"),
        Case(who, "iam:PassRole", p.roles["pipeline"], to_sagemaker, DENY, "pass itself"),
        Case(who, "iam:PassRole", p.config.arn("iam", "role/Admin"), to_sagemaker, DENY, "pass an admin role"),
        Case(who, "iam:PassRole", p.roles["training"], {"iam:PassedToService": "ec2.amazonaws.com"}, DENY,
             "pass the training role to EC2"),
        Case(who, "iam:PassRole", p.roles["training"], {}, DENY, "pass the training role to no named service"),
        Case(who, "kms:CreateGrant", p.model_key, {"kms:GrantIsForAWSResource": True}, ALLOW,
             "let SageMaker encrypt job volumes"),
        Case(who, "kms:CreateGrant", p.model_key, {"kms:GrantIsForAWSResource": False}, DENY,
             "grant the model key to a non-AWS resource"),
        Case(who, "kms:DescribeKey", p.model_key, {}, ALLOW, "describe the volume key"),
        Case(who, "kms:CreateGrant", p.data_key, {"kms:GrantIsForAWSResource": True}, DENY,
             "grant the data key"),
        Case(who, "sagemaker:CreateTransformJob", p.sagemaker(f"transform-job/{PIPELINE_JOB_PREFIX}abc123-s-x1"),
             {"sagemaker:VolumeKmsKeyArn": p.model_key, "sagemaker:OutputKmsKeyArn": p.model_key}, DENY,
             "launch transform jobs (batch scoring has its own role)"),
        Case(who, "iam:PassRole", p.roles["batch"], to_sagemaker, DENY, "pass the batch-scoring role"),
        *_data_cases(
            p,
            who,
            reads=[("models", EVALUATION_PREFIX, p.model_key)],
            writes=[],
            denied=[
                ("s3:GetObject", f"{p.bucket('raw')}/{p.raw}part-0.csv", "read raw data"),
                ("s3:PutObject", f"{p.bucket('models')}/{EVALUATION_PREFIX}report.json", "write evaluations"),
                ("s3:GetObject", f"{p.foreign_bucket('models')}/{EVALUATION_PREFIX}report.json",
                 "read another project's bucket"),
            ],
        ),
    ]


def _notebook(p: _Platform) -> list[Case]:
    who = "notebook"
    pipeline = p.sagemaker(f"pipeline/{p.config.pipeline_name}")
    experiment = p.sagemaker(f"training-job/{p.config.prefix}-experiment-1")
    version = p.sagemaker(f"model-package/{p.group}/3")
    to_sagemaker = {"iam:PassedToService": SAGEMAKER}
    return [
        *_data_cases(
            p,
            who,
            reads=[("raw", p.raw, p.data_key), ("processed", CHANNELS_PREFIX, p.data_key),
                   ("models", EVALUATION_PREFIX, p.model_key)],
            writes=[("raw", p.raw, p.data_key)],
            denied=[
                ("s3:PutObject", f"{p.bucket('processed')}/{CHANNELS_PREFIX}part-0.csv", "write data channels"),
                ("s3:GetObject", f"{p.bucket('models')}/{TRAINING_PREFIX}model.tar.gz", "download a model"),
                ("s3:PutObject", f"{p.bucket('models')}/{EVALUATION_PREFIX}report.json", "forge an evaluation"),
                ("s3:GetObject", f"{p.foreign_bucket('raw')}/{p.raw}part-0.csv", "read another project's bucket"),
            ],
        ),
        Case(who, "kms:GenerateDataKey", p.model_key, p.via_s3, DENY, "encrypt with the model key"),
        Case(who, "sagemaker:StartPipelineExecution", pipeline, {}, ALLOW, "start the pipeline"),
        Case(who, "sagemaker:StartPipelineExecution", p.sagemaker("pipeline/another-pipeline"), {}, DENY,
             "start another pipeline"),
        Case(who, "sagemaker:DescribePipelineExecution", f"{pipeline}/execution/abc123", {}, ALLOW,
             "watch an execution"),
        *_launch_cases(p, who, "sagemaker:CreateTrainingJob", experiment),
        Case(who, "sagemaker:CreateTrainingJob", p.sagemaker(f"training-job/{PIPELINE_JOB_PREFIX}fake-1"),
             p.job_context(), DENY, "CreateTrainingJob named like the pipeline's"),
        Case(who, "sagemaker:CreateTrainingJob", p.sagemaker("training-job/other-dev-experiment-1"),
             p.job_context(), DENY, "CreateTrainingJob named for another project"),
        Case(who, "sagemaker:CreateProcessingJob", p.sagemaker(f"processing-job/{p.config.prefix}-x"),
             p.job_context(), DENY, "CreateProcessingJob"),
        Case(who, "sagemaker:DescribeModelPackage", version, {}, ALLOW, "read a registered version"),
        Case(who, "sagemaker:UpdateModelPackage", version, {"sagemaker:ModelApprovalStatus": "Approved"}, DENY,
             "approve a version (self-approval)"),
        Case(who, "sagemaker:CreateModelPackage", version, {"sagemaker:ModelApprovalStatus": PENDING_APPROVAL},
             DENY, "register a version"),
        Case(who, "iam:PassRole", p.roles["training"], to_sagemaker, ALLOW, "pass the training role to SageMaker"),
        Case(who, "iam:PassRole", p.roles["processing"], to_sagemaker, DENY, "pass the processing role"),
        Case(who, "iam:PassRole", p.roles["pipeline"], to_sagemaker, DENY, "pass the pipeline role"),
        Case(who, "iam:PassRole", p.roles["batch"], to_sagemaker, DENY, "pass the batch-scoring role"),
        Case(who, "iam:PassRole", p.roles["training"], {"iam:PassedToService": "lambda.amazonaws.com"}, DENY,
             "pass the training role to Lambda"),
    ]


def _monitoring(p: _Platform) -> list[Case]:
    """The schedule, the rules and the retraining guard: each starts one thing."""
    monitoring = p.sagemaker(f"pipeline/{p.config.monitoring_pipeline_name}")
    training = p.sagemaker(f"pipeline/{p.config.pipeline_name}")
    guard = p.config.arn("states", f"stateMachine:{p.config.prefix}-retrain-guard")
    table = p.config.arn("dynamodb", f"table/{p.config.prefix}-retrain-lock")
    via_sns = {"kms:ViaService": f"sns.{p.region}.amazonaws.com"}
    return [
        Case("monitoring-schedule", "sagemaker:StartPipelineExecution", monitoring, {}, ALLOW,
             "start the monitoring pipeline"),
        Case("monitoring-schedule", "sagemaker:StartPipelineExecution", training, {}, DENY,
             "start the training pipeline"),
        Case("monitoring-schedule", "sagemaker:StopPipelineExecution", f"{monitoring}/execution/abc", {}, DENY,
             "stop a monitoring run"),
        Case("retrain-trigger", "states:StartExecution", guard, {}, ALLOW, "start the retraining guard"),
        Case("retrain-trigger", "states:StartExecution", p.config.arn("states", "stateMachine:other"), {}, DENY,
             "start another state machine"),
        Case("retrain-trigger", "sagemaker:StartPipelineExecution", training, {}, DENY,
             "start training around the guard"),
        Case("retrain-guard", "dynamodb:PutItem", table, {}, ALLOW, "take the retraining lock"),
        Case("retrain-guard", "dynamodb:DeleteItem", table, {}, ALLOW, "release the lock after a failed start"),
        Case("retrain-guard", "dynamodb:PutItem", p.config.arn("dynamodb", "table/other"), {}, DENY,
             "write another table"),
        Case("retrain-guard", "dynamodb:DeleteTable", table, {}, DENY, "delete the lock table"),
        Case("retrain-guard", "sagemaker:StartPipelineExecution", training, {}, ALLOW, "start the training pipeline"),
        Case("retrain-guard", "sagemaker:StartPipelineExecution", monitoring, {}, DENY,
             "start the monitoring pipeline"),
        Case("retrain-guard", "sns:Publish", p.topic, {}, ALLOW, "tell the alert topic"),
        Case("retrain-guard", "sns:Publish", p.config.arn("sns", "other-topic"), {}, DENY, "publish elsewhere"),
        Case("retrain-guard", "kms:GenerateDataKey", p.logs_key, via_sns, ALLOW,
             "encrypt a message to the alert topic"),
        Case("retrain-guard", "kms:Decrypt", p.logs_key, p.via_s3, DENY, "use the logs key through S3"),
        Case("retrain-guard", "kms:GenerateDataKey", p.data_key, via_sns, DENY, "use the data key"),
    ]


def _trust(p: _Platform) -> list[Case]:
    """Resource policies that grant services: the roles' trust policies."""
    cases = []
    for name, service in SERVICE_ROLES.items():
        arn = p.roles[name]
        cases += [
            Case(service, "sts:AssumeRole", arn, {"aws:SourceAccount": p.account}, ALLOW,
                 f"{service.split('.')[0]} assumes the {name} role for this account"),
            Case(service, "sts:AssumeRole", arn, {"aws:SourceAccount": FOREIGN_ACCOUNT}, DENY,
                 f"{service.split('.')[0]} assumes the {name} role for another account (confused deputy)"),
            Case(SAGEMAKER, "sts:AssumeRole", arn, {"aws:SourceAccount": p.account}, DENY,
                 f"SageMaker assumes the {name} role"),
        ]
    for name, arn in p.roles.items():
        if name in SERVICE_ROLES:
            continue
        cases += [
            Case(SAGEMAKER, "sts:AssumeRole", arn, {"aws:SourceAccount": p.account}, ALLOW,
                 f"SageMaker assumes the {name} role for this account"),
            Case(SAGEMAKER, "sts:AssumeRole", arn, {"aws:SourceAccount": FOREIGN_ACCOUNT}, DENY,
                 f"SageMaker assumes the {name} role for another account (confused deputy)"),
            Case("ec2.amazonaws.com", "sts:AssumeRole", arn, {"aws:SourceAccount": p.account}, DENY,
                 f"EC2 assumes the {name} role"),
        ]
    return cases


def _services(p: _Platform) -> list[Case]:
    """Services acting on the alert topic and the logs key, held to this account's named sources."""

    def source(arn: str, account: str | None = None) -> dict[str, ContextValue]:
        return {"aws:SourceArn": arn, "aws:SourceAccount": account or p.account}

    alarm = p.config.arn("cloudwatch", f"alarm:{p.config.prefix}-endpoint-latency")
    rule = p.config.arn("events", f"rule/{p.config.prefix}-model-approved")
    logs = f"logs.{p.region}.amazonaws.com"
    return [
        Case("cloudwatch.amazonaws.com", "sns:Publish", p.topic, source(alarm), ALLOW, "an alarm of the platform"),
        Case("cloudwatch.amazonaws.com", "sns:Publish", p.topic,
             source(p.config.arn("cloudwatch", "alarm:other-project-alarm")), DENY, "an alarm of another project"),
        Case("cloudwatch.amazonaws.com", "sns:Publish", p.topic,
             {**source(alarm), "aws:SecureTransport": False}, DENY, "an alarm without TLS"),
        Case("events.amazonaws.com", "sns:Publish", p.topic, source(rule), ALLOW, "the model-approved rule"),
        Case("events.amazonaws.com", "sns:Publish", p.topic,
             source(p.config.arn("events", f"rule/{p.config.prefix}-privileged-role-assumed")), ALLOW,
             "the privileged-use alert rule"),
        Case("events.amazonaws.com", "sns:Publish", p.topic,
             source(rule.replace(p.account, FOREIGN_ACCOUNT), FOREIGN_ACCOUNT), DENY, "a rule of another account"),
        # CloudWatch Logs binds its key use to a log group by encryption context
        # (kms:EncryptionContext:aws:logs:arn). iam-simulate 0.1.173 matches
        # variable keys only after a "/", not after "EncryptionContext:", so the
        # allowed use is checked on the statement (tests/infra/test_data_perimeter.py)
        # and the evaluator proves what is refused without it.
        Case(logs, "kms:GenerateDataKey", p.logs_key, {}, DENY, "use the logs key without naming a log group"),
        Case(logs, "kms:GenerateDataKey", p.data_key, {}, DENY, "encrypt with the data key"),
    ]


def _sources(p: _Platform) -> list[Case]:
    """The preprocessing source (``SourceConfig``): allowed with the configured one, denied otherwise."""
    c, source = p.config, p.config.pipeline.source
    athena, redshift = source.kind == "athena", source.kind == "redshift"

    def on(flag: bool) -> str:
        return ALLOW if flag else DENY

    workgroup = c.arn("athena", f"workgroup/{c.athena_workgroup_name}")
    database = c.arn("glue", f"database/{c.glue_database_name}")
    table = c.arn("glue", f"table/{c.glue_database_name}/{GLUE_TABLE_NAME}")
    results = f"{p.bucket('processed')}/{ATHENA_RESULTS_PREFIX}exec/0-result"
    cluster = source.redshift_cluster_id or "analytics"
    user, dbname = source.redshift_db_user or "sagemaker", source.redshift_database or "dev"
    unloaded = f"{p.bucket('processed')}/{REDSHIFT_UNLOAD_PREFIX}exec/0000_part_00.parquet"
    unload_role = c.role_arn("redshift-unload")
    own = {"aws:userid": JOB_USERID, "redshift-data:statement-owner-iam-userid": JOB_USERID}
    cases = [
        Case("processing", "athena:StartQueryExecution", workgroup, {}, on(athena),
             "query in the platform's workgroup"),
        Case("processing", "athena:GetQueryResults", workgroup, {}, on(athena), "follow a query of the workgroup"),
        Case("processing", "athena:StartQueryExecution", c.arn("athena", "workgroup/primary"), {}, DENY,
             "query in the primary workgroup (no enforced results, key or scan limit)"),
        Case("processing", "athena:UpdateWorkGroup", workgroup, {}, DENY, "change the workgroup's limits"),
        Case("processing", "glue:GetTable", c.arn("glue", "catalog"), {}, on(athena), "read the catalog"),
        Case("processing", "glue:GetDatabase", database, {}, on(athena), "read the raw database"),
        Case("processing", "glue:GetTable", table, {}, on(athena), "read the raw table's definition"),
        Case("processing", "glue:GetPartitions", table, {}, on(athena), "read the raw table's partitions"),
        Case("processing", "glue:GetTable", c.arn("glue", f"table/{c.glue_database_name}/other"), {}, DENY,
             "read another table of the database"),
        Case("processing", "glue:GetTable", c.arn("glue", "table/other_db/raw_data"), {}, DENY,
             "read a table of another database"),
        Case("processing", "glue:UpdateTable", table, {}, DENY, "change the raw table"),
        Case("processing", "s3:PutObject", results, {}, on(athena), "write Athena results"),
        Case("processing", "s3:GetObject", results, {}, on(athena), "read Athena results"),
        Case("processing", "s3:GetBucketLocation", p.bucket("processed"), {}, on(athena),
             "locate the results bucket for Athena"),
        Case("training", "athena:StartQueryExecution", workgroup, {}, DENY, "query the raw table"),
        Case("notebook", "glue:GetTable", table, {}, DENY, "read the raw table's definition"),
        Case("processing", "redshift-data:ExecuteStatement", c.arn("redshift", f"cluster:{cluster}"), {},
             on(redshift), "query the configured Redshift cluster"),
        Case("processing", "redshift-data:ExecuteStatement", c.arn("redshift", "cluster:other-cluster"), {}, DENY,
             "query another Redshift cluster"),
        Case("processing", "redshift:GetClusterCredentials", c.arn("redshift", f"dbuser:{cluster}/{user}"), {},
             on(redshift), "credentials of the configured database user"),
        Case("processing", "redshift:GetClusterCredentials", c.arn("redshift", f"dbname:{cluster}/{dbname}"), {},
             on(redshift), "credentials for the configured database"),
        Case("processing", "redshift:GetClusterCredentials", c.arn("redshift", f"dbuser:{cluster}/admin"), {}, DENY,
             "credentials of another database user"),
        Case("processing", "redshift-data:GetStatementResult", "*", own, on(redshift),
             "read its own statement's result"),
        Case("processing", "redshift-data:GetStatementResult", "*",
             {**own, "redshift-data:statement-owner-iam-userid": "AROAOTHERROLEID:someone"}, DENY,
             "read another principal's statement"),
        Case("processing", "iam:PassRole", unload_role, {"iam:PassedToService": REDSHIFT}, on(redshift),
             "pass the UNLOAD role to Redshift"),
        Case("processing", "iam:PassRole", unload_role, {"iam:PassedToService": SAGEMAKER}, DENY,
             "pass the UNLOAD role to SageMaker"),
        Case("processing", "s3:GetObject", unloaded, {}, on(redshift), "read the UNLOAD result"),
        Case("training", "redshift-data:ExecuteStatement", c.arn("redshift", f"cluster:{cluster}"), {}, DENY,
             "query the Redshift cluster"),
    ]
    if redshift:
        who = "redshift-unload"
        cases += [
            *_data_cases(
                p, who, reads=[], writes=[("processed", REDSHIFT_UNLOAD_PREFIX, p.data_key)],
                denied=[
                    ("s3:PutObject", f"{p.bucket('processed')}/{CHANNELS_PREFIX}part-0.csv", "write data channels"),
                    ("s3:GetObject", f"{p.bucket('raw')}/{p.raw}part-0.csv", "read raw data"),
                    ("s3:GetObject", unloaded, "read back what it unloaded"),
                    ("s3:PutObject", f"{p.foreign_bucket('processed')}/{REDSHIFT_UNLOAD_PREFIX}x.parquet",
                     "write another project's bucket"),
                ],
            ),
            Case(who, "kms:GenerateDataKey", p.model_key, p.via_s3, DENY, "encrypt with the model key"),
            Case(who, "kms:GenerateDataKey", p.data_key, {}, DENY, "use the data key directly, not through S3"),
            Case(REDSHIFT, "sts:AssumeRole", unload_role, {"aws:SourceAccount": p.account}, ALLOW,
                 "redshift assumes the UNLOAD role for this account"),
            Case(REDSHIFT, "sts:AssumeRole", unload_role, {"aws:SourceAccount": FOREIGN_ACCOUNT}, DENY,
                 "redshift assumes the UNLOAD role for another account (confused deputy)"),
            Case(SAGEMAKER, "sts:AssumeRole", unload_role, {"aws:SourceAccount": p.account}, DENY,
                 "SageMaker assumes the UNLOAD role"),
        ]
    return cases


def platform_cases(policies: PlatformPolicies, config: PlatformConfig) -> list[Case]:
    """The whole contract of one environment."""
    p = _Platform(policies, config)
    return [*_processing(p), *_sources(p), *_training(p), *_hosting(p), *_batch(p), *_pipeline(p),
            *_batch_launch_cases(p), *_notebook(p), *_monitoring(p), *_trust(p), *_services(p),
            *perimeter_cases(p, Case, ALLOW, DENY, FOREIGN_ACCOUNT),
            *persona_cases(p, Case, ALLOW, DENY, policies.groups)]


def getting_in_cases(policies: PlatformPolicies, config: PlatformConfig) -> list[Case]:
    """Only the rows of how people get into the personas (groups with MFA, or the federated source)."""
    p = _Platform(policies, config)
    return getting_in(p, Case, ALLOW, DENY, policies.groups)


def image_repository_policy(repository: str) -> NamedPolicy:
    """Stand-in for the policy of AWS's SageMaker image repository (another account), which lets
    any account pull; without it a cross-account pull is denied, as in AWS."""
    return NamedPolicy(
        f"{repository} (AWS-owned; stand-in)",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    "Resource": repository,
                }
            ],
        },
    )


def check_contract(policies: PlatformPolicies, cases: list[Case]) -> list[Outcome]:
    """Every case decided by iam-simulate in one batch."""
    roles = {**PRINCIPALS, **PEOPLE, **SOURCE_PRINCIPALS}
    requests = [
        Request(policies.role(roles[c.principal]).arn if c.principal in roles else c.principal,
                c.action, c.resource, c.context, identity_policies=c.identity_policies)
        for c in cases
    ]
    images = {repository_arn(xgboost_image_uri(policies.region)),
              repository_arn(spark_processing_image_uri(policies.region))}

    def resource_policy_of(resource: str) -> NamedPolicy | None:
        return image_repository_policy(resource) if resource in images else policies.resource_policy_of(resource)

    decisions = decide_all(policies, requests, resource_policy_of=resource_policy_of)
    return [Outcome(c, d) for c, d in zip(cases, decisions, strict=True)]


def summary(outcomes: list[Outcome]) -> dict[str, dict[str, int]]:
    """Per principal: allowed and denied decisions, and mismatches with the contract."""
    counts: dict[str, Counter] = {}
    for outcome in outcomes:
        count = counts.setdefault(outcome.case.principal, Counter())
        count["allowed" if outcome.decision.allowed else "denied"] += 1
        count["mismatches"] += not outcome.matches
    return {who: {k: c[k] for k in ("allowed", "denied", "mismatches")} for who, c in counts.items()}
