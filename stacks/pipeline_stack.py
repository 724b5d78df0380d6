"""The training pipeline: preprocess -> tune (spot) -> evaluate -> AUC gate -> register."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct
from constructs.training_code_asset import TrainingCodeAsset

from stacks.access_stack import (
    CHANNELS_PREFIX,
    CHECKPOINTS_PREFIX,
    EVALUATION_PREFIX,
    TRAINING_PREFIX,
    AccessStack,
)
from stacks.config import GLUE_TABLE_NAME, PlatformConfig
from stacks.images import spark_processing_image_uri, xgboost_image_uri
from stacks.pipeline_definition import PipelineResources, build_definition


class PipelineStack(cdk.Stack):
    """``AWS::SageMaker::Pipeline`` whose jobs run under the access stack's roles and guardrails.

    The definition body is rendered with ``to_json_string`` so that role ARNs,
    subnets and keys stay CloudFormation references; synth makes no AWS call.
    """

    def __init__(self, scope: Construct, id: str, *, config: PlatformConfig, access: AccessStack, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        self.code = TrainingCodeAsset(self, "TrainingCode")
        # The object ARN is a literal (hash-named key in the bootstrap bucket), so
        # granting it on the access stack's roles adds no cross-stack reference back here.
        access.processing_role.grant_read_object("ReadTrainingCode", self.code.object_arn)
        access.training_role.grant_read_object("ReadTrainingCode", self.code.object_arn)

        g = access.guardrails
        self.resources = PipelineResources(
            config=config.pipeline,
            region=config.region,
            image_uri=xgboost_image_uri(config.region),
            spark_image_uri=spark_processing_image_uri(config.region),
            processing_role_arn=access.processing_role.role_arn,
            training_role_arn=access.training_role.role_arn,
            subnet_ids=g.subnet_ids if g.jobs_in_vpc else (),
            security_group_ids=g.security_group_ids if g.jobs_in_vpc else (),
            model_key_arn=g.output_key_arn,
            data_key_arn=g.data_key_arn,
            raw_bucket=config.bucket_name("raw"),
            processed_bucket=config.bucket_name("processed"),
            model_bucket=config.bucket_name("models"),
            model_package_group_name=config.model_package_group_name,
            code_s3_uri=self.code.s3_url,
            code_file_name=self.code.object_key,
            channels_prefix=CHANNELS_PREFIX,
            training_prefix=TRAINING_PREFIX,
            checkpoints_prefix=CHECKPOINTS_PREFIX,
            evaluation_prefix=EVALUATION_PREFIX,
            athena_database=config.glue_database_name,
            athena_table=GLUE_TABLE_NAME,
            athena_workgroup=config.athena_workgroup_name,
            redshift_role_arn=config.role_arn("redshift-unload"),
        )
        self.definition = build_definition(self.resources)
        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=config.pipeline_name,
            pipeline_display_name=config.pipeline_name,
            pipeline_description="XGBoost: preprocess, tune on managed spot, evaluate, register above the AUC gate",
            role_arn=access.pipeline_role.role_arn,
            pipeline_definition={"PipelineDefinitionBody": self.to_json_string(self.definition)},
        )
