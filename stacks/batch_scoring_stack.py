"""Batch scoring: a pipeline that scores a data set in S3 with an approved model version."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from stacks.access_stack import AccessStack
from stacks.config import BATCH_SCORING_PREFIX, PlatformConfig
from stacks.pipeline_definition.batch_scoring import BatchScoringResources, build_batch_scoring_definition


class BatchScoringStack(cdk.Stack):
    """``AWS::SageMaker::Pipeline`` "batch-scoring" run by its own pipeline role, its jobs under the batch role.

    Parameters of each execution: ``ModelPackageVersion`` (required: the number
    of an approved version of the environment's group), ``InputDataUri`` (default ``s3://<raw bucket>/batch-scoring/``),
    the transform instance type and count. Output:
    ``s3://<model bucket>/batch-scoring/<execution id>/<input file>.out``.
    """

    def __init__(self, scope: Construct, id: str, *, config: PlatformConfig, access: AccessStack, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        g = access.guardrails
        self.resources = BatchScoringResources(
            config=config.batch_scoring,
            role_arn=access.batch_role.role_arn,
            subnet_ids=g.subnet_ids if g.jobs_in_vpc else (),
            security_group_ids=g.security_group_ids if g.jobs_in_vpc else (),
            model_key_arn=g.output_key_arn,
            model_package_group_version_prefix=config.arn(
                "sagemaker", f"model-package/{config.model_package_group_name}"
            ),
            raw_bucket=config.bucket_name("raw"),
            model_bucket=config.bucket_name("models"),
            prefix=BATCH_SCORING_PREFIX,
        )
        self.definition = build_batch_scoring_definition(self.resources)
        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=config.batch_scoring_pipeline_name,
            pipeline_display_name=config.batch_scoring_pipeline_name,
            pipeline_description="Score a CSV data set in S3 with an approved model version; row ids kept",
            role_arn=access.batch_pipeline_role.role_arn,
            pipeline_definition={"PipelineDefinitionBody": self.to_json_string(self.definition)},
        )
