"""CD for the platform: a CDK Pipelines stack that tests, synthesizes and deploys every environment.

Source (CodeConnections, or CodeCommit as an option) -> Synth (the quick
tests, ``make synth`` of dev and prod under the four nag packs, then this
app with ``-c delivery=true``) -> self-mutation -> deploy ``dev`` -> manual
approval -> deploy ``prod``. Synthesized only under ``-c delivery=true``
(``make synth-delivery``), so the platform's own synth never pays for it.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import pipelines
from constructs import Construct
from constructs.compliance import COMPLIANCE_PACKS, MIN_REASON_LENGTH

from stacks.config import DeliveryConfig, PlatformConfig
from stacks.platform import build_platform


class PlatformStage(cdk.Stage):
    """One environment of the platform, as the pipeline deploys it."""

    def __init__(self, scope: Construct, construct_id: str, *, config: PlatformConfig) -> None:
        super().__init__(scope, construct_id, env=cdk.Environment(account=config.account, region=config.region))
        build_platform(self, config)


class DeliveryStack(cdk.Stack):
    """The pipeline. ``pipeline`` is the ``CodePipeline``; ``build_pipeline()`` has been called."""

    def __init__(self, scope: Construct, construct_id: str, *, delivery: DeliveryConfig, dev: PlatformConfig,
                 prod: PlatformConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name="mlp-platform-delivery",
            synth=pipelines.ShellStep("Synth", input=self._source(delivery), commands=synth_commands(prod),
                                      primary_output_directory="cdk.out"),
            # A KMS key for the artifact bucket, which the target accounts' deploy roles must read.
            cross_account_keys=True,
            enable_key_rotation=True,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(
                    build_image=codebuild.LinuxBuildImage.STANDARD_7_0, compute_type=codebuild.ComputeType.MEDIUM
                ),
                timeout=cdk.Duration.minutes(60),
            ),
        )
        self.pipeline.add_stage(PlatformStage(self, "Dev", config=dev))
        self.pipeline.add_stage(
            PlatformStage(self, "Prod", config=prod),
            pre=[pipelines.ManualApprovalStep("PromoteToProd", comment="dev is deployed: promote this to prod?")],
        )
        self.pipeline.build_pipeline()
        self._acknowledge(delivery)

    def _acknowledge(self, delivery: DeliveryConfig) -> None:
        """CDK Pipelines' own resources, each finding named exactly on the construct that has it.

        Every wildcard here is CDK Pipelines' generated grant (``BucketGrants``,
        ``KeyGrants``, CodeBuild's logging), never an action this file writes.
        """
        here = f"{delivery.region}:{delivery.account}"
        artifacts = ["Resource::<PipelineArtifactsBucketAEA9A052.Arn>/*"]
        read = ["Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*"]
        write = ["Action::s3:Abort*", "Action::s3:DeleteObject*"]
        key = ["Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"]

        def codebuild_run(project: str) -> list[str]:
            return [f"Resource::arn:aws:codebuild:{here}:report-group/<{project}>-*",
                    f"Resource::arn:aws:logs:{here}:log-group:/aws/codebuild/<{project}>:*"]

        source_role = "Pipeline/Pipeline/Source/" + _source_action_name(delivery) + "/CodePipelineActionRole"
        iam5 = {
            "Pipeline/Pipeline/Role": key + read + write + artifacts,
            source_role: key + read + write + artifacts,
            "Pipeline/Pipeline/Build/Synth/CdkBuildProject/Role":
                key + read + write + artifacts + codebuild_run("PipelineBuildSynthCdkBuildProject6BEFA8E6"),
            "Pipeline/UpdatePipeline/SelfMutation/Role":
                key + read + artifacts + codebuild_run("PipelineUpdatePipelineSelfMutationDAA41400")
                + ["Resource::*"]
                + sorted({f"Resource::arn:*:iam::{a}:role/*"
                          for a in (delivery.account, delivery.dev_account, delivery.prod_account)}),
            "Pipeline/Assets/FileRole": read + artifacts + [
                "Resource::*", f"Resource::arn:aws:codebuild:{here}:report-group/*",
                f"Resource::arn:aws:logs:{here}:log-group:/aws/codebuild/*"],
        }
        reasons = {
            "Action::kms:": "CDK Pipelines' generated grant on the pipeline's own artifact key only (the resource is"
                            " that key): the patterns are the data-key variants of one operation",
            "Action::s3:": "CDK Pipelines' generated grant (BucketGrants) scoped to the pipeline's own artifact"
                           " bucket and its objects: the action patterns are CDK's, not ours",
            "Resource::<Pipeline": "pipeline artifacts are objects of the pipeline's own bucket, keyed at run time",
            "Resource::arn:aws:codebuild": "CodeBuild creates its report groups at run time under the project's name",
            "Resource::arn:aws:logs": "CodeBuild creates its log streams at run time under /aws/codebuild/<project>",
            "Resource::arn:*:iam": "cdk-assets and self-mutation assume only the bootstrap's roles, held by the"
                                   " iam:ResourceTag/aws-cdk:bootstrap-role condition; their names carry a qualifier",
            "Resource::*": "cloudformation:DescribeStacks, s3:ListBucket and codebuild:StartBuild/BatchGetBuilds as"
                           " CDK Pipelines generates them for self-mutation and asset publishing",
        }
        for path, findings in iam5.items():
            role = self._child(path)
            policy = role.node.find_child("DefaultPolicy")
            _acknowledge(policy, [(f"AwsSolutions-IAM5[{f}]", next(r for p, r in reasons.items() if f.startswith(p)))
                                  for f in findings])
            _acknowledge(policy, [(f"{pack}-IAMNoInlinePolicy", "CDK Pipelines attaches its generated grants as"
                                   " the role's default inline policy; one policy per role, reviewed here")
                                  for pack in COMPLIANCE_PACKS])
        _acknowledge(self._child("Pipeline/CodeBuildActionRole").node.find_child("DefaultPolicy"), [
            (f"{pack}-IAMNoInlinePolicy", "CDK Pipelines' role that starts CodeBuild actions: one generated inline"
                                          " policy allowing codebuild:StartBuild on this pipeline's projects")
            for pack in COMPLIANCE_PACKS])
        bucket = self._child("Pipeline/Pipeline/ArtifactsBucket")
        _acknowledge(bucket, [
            ("AwsSolutions-S1", "transient build artifacts under KMS; their audit trail is CloudTrail's data"
                                " events and the pipeline's execution history, not server access logs"),
            *[(f"{pack}-{rule}", reason) for pack in COMPLIANCE_PACKS for rule, reason in (
                ("S3BucketLoggingEnabled", "transient build artifacts under KMS; CloudTrail and the pipeline's"
                                           " execution history record their use"),
                ("S3BucketReplicationEnabled", "artifacts are rebuilt from the source repository on every run:"
                                               " nothing here to recover from a replica"),
                ("S3BucketVersioningEnabled", "each pipeline execution writes new artifact keys; versions would"
                                              " only keep superseded builds"),
            )],
        ])
        for path in ("Assets/FileAsset1", "Pipeline/Build/Synth/CdkBuildProject", "UpdatePipeline/SelfMutation"):
            _acknowledge(self._child("Pipeline/" + path), [
                (f"{pack}-CodeBuildProjectSourceRepoUrl", "the project's source is the pipeline's artifact"
                                                          " (CODEPIPELINE), no repository URL or token")
                for pack in ("HIPAA.Security", "PCI.DSS.321")])

    def _child(self, path: str) -> Construct:
        node: Construct = self
        for part in path.split("/"):
            node = node.node.find_child(part)
        return node

    def _source(self, delivery: DeliveryConfig) -> pipelines.CodePipelineSource:
        if delivery.codecommit_repository:
            repository = codecommit.Repository.from_repository_name(self, "Repository", delivery.codecommit_repository)
            return pipelines.CodePipelineSource.code_commit(repository, delivery.branch)
        return pipelines.CodePipelineSource.connection(delivery.repository, delivery.branch,
                                                       connection_arn=delivery.connection_arn)


def _source_action_name(delivery: DeliveryConfig) -> str:
    """CDK Pipelines names the source action after the repository, ``/`` replaced."""
    return (delivery.codecommit_repository or delivery.repository).replace("/", "_")


def _acknowledge(scope: Construct, findings: list[tuple[str, str]]) -> None:
    """One jsii round trip for all of a construct's acknowledgements (synth time)."""
    short = [i for i, reason in findings if len(reason) < MIN_REASON_LENGTH]
    if short:
        raise ValueError(f"acknowledging {short[0]} needs a reason a security reviewer can check")
    cdk.Validations.of(scope).acknowledge(*(cdk.Acknowledgment(id=i, reason=r) for i, r in findings))


def synth_commands(prod: PlatformConfig) -> list[str]:
    """What the synth step runs: the README's commands, then this app's pipeline assembly into cdk.out."""
    return [
        "make test-quick",
        "make synth SYNTH_CONTEXT='env=dev'",
        f"make synth SYNTH_CONTEXT='env=prod account={prod.account}'",
        "make synth-delivery DELIVERY_OUT=cdk.out",
    ]
