"""IAM: one least-privilege role per platform principal, and the guardrails they launch under."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct
from constructs.execution_role import ExecutionRole
from constructs.sagemaker_guardrails import Guardrails, job_conditions, model_conditions

from stacks.config import (
    ATHENA_RESULTS_PREFIX,
    BATCH_SCORING_PREFIX,
    DATA_CAPTURE_PREFIX,
    REDSHIFT_UNLOAD_PREFIX,
    PlatformConfig,
)
from stacks.data_stack import DataStack
from stacks.images import repository_arn, spark_processing_image_uri, xgboost_image_uri
from stacks.network_stack import NetworkStack

#: S3 layout of the platform, shared by the roles and the pipeline.
CHANNELS_PREFIX = "channels/"
TRAINING_PREFIX = "training/"
CHECKPOINTS_PREFIX = "checkpoints/"
EVALUATION_PREFIX = "evaluation/"
#: SageMaker Pipelines names the jobs it starts ``pipelines-<execution>-<step>-<id>``.
PIPELINE_JOB_PREFIX = "pipelines-"
#: The approval status the pipeline registers model versions with (a person approves).
PENDING_APPROVAL = "PendingManualApproval"

JOB_LOG_GROUPS = {
    "processing": "/aws/sagemaker/ProcessingJobs",
    "training": "/aws/sagemaker/TrainingJobs",
    "hosting": "/aws/sagemaker/Endpoints",
    "batch": "/aws/sagemaker/TransformJobs",
    "notebook": "/aws/sagemaker/NotebookInstances",
}


class AccessStack(cdk.Stack):
    """Roles for the notebook user, processing jobs, training jobs, the pipeline and model hosting."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: PlatformConfig,
        data: DataStack,
        network: NetworkStack,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.config = config
        raw, processed, models = (config.arn("s3", config.bucket_name(p)) for p in ("raw", "processed", "models"))
        data_key, model_key = data.data_key.key_arn, data.model_key.key_arn
        subnets = [s.subnet_id for s in network.vpc.isolated_subnets]
        security_groups = [network.workload_security_group.security_group_id]
        self.guardrails = Guardrails(
            subnet_ids=subnets,
            security_group_ids=security_groups,
            volume_key_arn=model_key,
            output_key_arn=model_key,
            data_key_arn=data_key,
            jobs_in_vpc=config.network.jobs_in_vpc,
        )
        image_repos = [repository_arn(xgboost_image_uri(config.region))]

        # Only the processing role runs the Spark image, and only when the pipeline uses it.
        spark_repos = ([repository_arn(spark_processing_image_uri(config.region))]
                       if config.pipeline.preprocess_engine == "spark" else [])

        def job_role(id: str, description: str, log_group: str, purpose: str, extra_repos=()) -> ExecutionRole:
            role = ExecutionRole(self, id, description=description, role_name=config.role_name(purpose))
            role.grant_logs(log_group)
            role.grant_metrics(log_group)
            role.grant_image_pull([*image_repos, *extra_repos])
            if config.network.jobs_in_vpc:
                role.grant_vpc_access(network.vpc.vpc_id, subnets, security_groups)
            return role

        self.processing_role = job_role(
            "ProcessingJobRole",
            "ML platform: processing jobs (preprocess, evaluate)",
            JOB_LOG_GROUPS["processing"],
            "processing",
            spark_repos,
        )
        self.processing_role.grant_read(raw, data_key)
        self.processing_role.grant_write(processed, data_key, prefix=CHANNELS_PREFIX)
        # Evaluation reads the test channel the preprocessing step wrote.
        self.processing_role.grant_read(processed, data_key, prefix=CHANNELS_PREFIX)
        self.processing_role.grant_read(models, model_key, prefix=TRAINING_PREFIX)
        self.processing_role.grant_write(models, model_key, prefix=EVALUATION_PREFIX)

        self.redshift_unload_role: ExecutionRole | None = None
        self._grant_preprocess_source(data, processed, data_key)

        self.training_role = job_role(
            "TrainingJobRole", "ML platform: XGBoost training and tuning jobs", JOB_LOG_GROUPS["training"], "training"
        )
        self.training_role.grant_read(processed, data_key, prefix=CHANNELS_PREFIX)
        self.training_role.grant_write(models, model_key, prefix=TRAINING_PREFIX)
        self.training_role.grant_read_write(models, model_key, prefix=CHECKPOINTS_PREFIX)

        self.hosting_role = job_role(
            "HostingRole", "ML platform: models behind real-time endpoints", JOB_LOG_GROUPS["hosting"], "hosting"
        )
        self.hosting_role.grant_read(models, model_key, prefix=TRAINING_PREFIX)
        self.hosting_role.grant_write(models, model_key, prefix=DATA_CAPTURE_PREFIX)

        # A transform job runs under its model's execution role: it reads the input
        # and the artifact and writes the scored lines with it.
        self.batch_role = job_role(
            "BatchScoringRole", "ML platform: batch scoring (transform jobs)", JOB_LOG_GROUPS["batch"], "batch"
        )
        scoring = f"{BATCH_SCORING_PREFIX}/"
        self.batch_role.grant_read(raw, data_key, prefix=scoring)
        self.batch_role.grant_read(models, model_key, prefix=TRAINING_PREFIX)
        self.batch_role.grant_write(models, model_key, prefix=scoring)

        self.pipeline_role = ExecutionRole(
            self,
            "PipelineExecutionRole",
            description="ML platform: SageMaker Pipelines execution",
            role_name=config.role_name("pipeline"),
        )
        self._grant_pipeline_jobs(self.pipeline_role)
        self.pipeline_role.grant_read(models, model_key, prefix=EVALUATION_PREFIX)

        # Its own pipeline role: the training pipeline cannot create models or
        # transform jobs, and batch scoring cannot train or register.
        self.batch_pipeline_role = ExecutionRole(
            self,
            "BatchPipelineRole",
            description="ML platform: SageMaker Pipelines execution of batch scoring",
            role_name=config.role_name("batch-pipeline"),
        )
        self._grant_pipeline_batch_scoring(self.batch_pipeline_role)

        self.notebook_role = ExecutionRole(
            self, "NotebookRole", description="ML platform: notebook user", role_name=config.role_name("notebook")
        )
        self.notebook_role.grant_read_write(raw, data_key)
        self.notebook_role.grant_read(processed, data_key, prefix=CHANNELS_PREFIX)
        self.notebook_role.grant_read(models, model_key, prefix=EVALUATION_PREFIX)
        self.notebook_role.grant_logs(JOB_LOG_GROUPS["notebook"])
        self._grant_notebook_workflow(self.notebook_role)

    def _grant_preprocess_source(self, data: DataStack, processed: str, data_key: str) -> None:
        """What the configured source (``SourceConfig.kind``) needs of the processing role; nothing for ``s3``.

        SageMaker runs a DatasetDefinition's query with the job's role: Athena reads the table
        and writes the result with its caller's credentials, the Data API asks Redshift to UNLOAD
        with the cluster's role; SageMaker then downloads the result with the job's role.
        """
        config, role = self.config, self.processing_role
        source = config.pipeline.source
        if source.kind == "athena":
            data.catalog.grant_query(role)
            # Athena checks both buckets' regions before it reads the table and writes the result.
            role.allow("AthenaBucketLocation", ["s3:GetBucketLocation"],
                       [config.arn("s3", config.bucket_name(p)) for p in ("raw", "processed")])
            role.grant_read_write(processed, data_key, prefix=ATHENA_RESULTS_PREFIX)
        elif source.kind == "redshift":
            cluster = source.redshift_cluster_id
            # Redshift assumes this role to UNLOAD the result: it writes the unload prefix, with the data key.
            unload = ExecutionRole(self, "RedshiftUnloadRole", description="ML platform: Redshift UNLOAD of the"
                                   " preprocessing query", role_name=config.role_name("redshift-unload"),
                                   assumed_by="redshift.amazonaws.com")
            unload.grant_write(processed, data_key, prefix=REDSHIFT_UNLOAD_PREFIX)
            unload.allow("UnloadBucketLocation", ["s3:GetBucketLocation"], [processed])
            self.redshift_unload_role = unload
            role.allow("RedshiftQuery", ["redshift-data:ExecuteStatement"],
                       [config.arn("redshift", f"cluster:{cluster}")])
            role.allow("RedshiftStatements",
                       ["redshift-data:CancelStatement", "redshift-data:DescribeStatement",
                        "redshift-data:GetStatementResult"], ["*"],
                       conditions={"StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}})
            role.allow("RedshiftCredentials", ["redshift:GetClusterCredentials"],
                       [config.arn("redshift", f"dbuser:{cluster}/{source.redshift_db_user}"),
                        config.arn("redshift", f"dbname:{cluster}/{source.redshift_database}")])
            role.grant_pass_role([unload], service="redshift.amazonaws.com")
            role.grant_read(processed, data_key, prefix=REDSHIFT_UNLOAD_PREFIX)

    def _sagemaker(self, resource: str) -> str:
        return self.config.arn("sagemaker", resource)

    def _grant_pipeline_jobs(self, role: ExecutionRole) -> None:
        g = self.guardrails
        jobs = {
            "processing-job": "Processing",
            "training-job": "Training",
        }
        for kind, name in jobs.items():
            arn = self._sagemaker(f"{kind}/{PIPELINE_JOB_PREFIX}*")
            role.allow(
                f"Create{name}Job",
                [f"sagemaker:Create{name}Job"],
                [arn],
                # Preprocessing writes data channels under the data key; all else writes models.
                conditions=job_conditions(g, data_outputs=kind == "processing-job"),
                wildcard_reason=f"SageMaker Pipelines names {kind}s '{PIPELINE_JOB_PREFIX}<execution>-<step>-<id>'"
                " at run time; the guardrail conditions pin VPC, KMS keys and network isolation",
            )
            role.allow(
                f"Watch{name}Job",
                [f"sagemaker:Describe{name}Job", f"sagemaker:Stop{name}Job", "sagemaker:AddTags"],
                [arn],
                wildcard_reason=f"The same run-time named {kind}s the pipeline started",
            )
        tuning = self._sagemaker("hyper-parameter-tuning-job/*")
        role.allow(
            "CreateTuningJob",
            ["sagemaker:CreateHyperParameterTuningJob"],
            [tuning],
            conditions=job_conditions(g),
            wildcard_reason="Pipelines give tuning jobs a random 32-character name at run time; the guardrail"
            " conditions pin VPC, KMS keys, network isolation and inter-container encryption",
        )
        role.allow(
            "WatchTuningJob",
            [
                "sagemaker:DescribeHyperParameterTuningJob",
                "sagemaker:StopHyperParameterTuningJob",
                "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
                "sagemaker:AddTags",
            ],
            [tuning],
            wildcard_reason="The same run-time named tuning jobs the pipeline started",
        )
        group = self.config.model_package_group_name
        versions = [self._sagemaker(f"model-package/{group}/*"), self._sagemaker(f"model-package-group/{group}")]
        versions_reason = f"Model package versions of the group {group} are numbered at registration"
        # Registered versions wait for a person's approval: the pipeline cannot
        # register one as Approved (nor approve one later: no UpdateModelPackage).
        role.allow(
            "RegisterModel",
            ["sagemaker:CreateModelPackage"],
            versions,
            conditions={"StringEquals": {"sagemaker:ModelApprovalStatus": PENDING_APPROVAL}},
            wildcard_reason=versions_reason,
        )
        role.allow(
            "ReadRegisteredModel",
            ["sagemaker:DescribeModelPackage", "sagemaker:AddTags"],
            versions,
            wildcard_reason=versions_reason,
        )
        role.grant_pass_role([self.processing_role, self.training_role])
        role.grant_volume_key(self.guardrails.volume_key_arn)

    def _grant_pipeline_batch_scoring(self, role: ExecutionRole) -> None:
        """The batch-scoring pipeline: an isolated model from a version, then a transform job with it.

        Which versions: the definition builds the version's ARN from this group's
        (stacks/pipeline_definition/batch_scoring.py); IAM has no model-package
        resource or condition key for CreateModel. The transform job may only use
        models the pipeline created, so it runs isolated and in the VPC too.
        """
        g = self.guardrails
        models = self._sagemaker(f"model/{PIPELINE_JOB_PREFIX}*")
        transforms = self._sagemaker(f"transform-job/{PIPELINE_JOB_PREFIX}*")
        role.allow(
            "CreateScoringModel",
            ["sagemaker:CreateModel"],
            [models],
            conditions=model_conditions(g),
            wildcard_reason=f"SageMaker Pipelines names models '{PIPELINE_JOB_PREFIX}<execution>-<step>-<id>' at"
            " run time; the conditions pin network isolation and the platform's VPC",
        )
        role.allow(
            "WatchScoringModel",
            ["sagemaker:DescribeModel", "sagemaker:AddTags"],
            [models],
            wildcard_reason="The same run-time named models the pipeline created",
        )
        role.grant_pass_role([self.batch_role])
        role.grant_volume_key(g.volume_key_arn)
        role.allow(
            "CreateTransformJob",
            ["sagemaker:CreateTransformJob"],
            [transforms],
            conditions={
                "ArnEquals": {
                    "sagemaker:VolumeKmsKeyArn": g.volume_key_arn,
                    "sagemaker:OutputKmsKeyArn": g.output_key_arn,
                },
                "ArnLike": {"sagemaker:ModelArn": models},
            },
            wildcard_reason=f"SageMaker Pipelines names transform jobs '{PIPELINE_JOB_PREFIX}<execution>-<step>-<id>'"
            " at run time; the conditions pin the KMS keys and the pipeline's own models",
        )
        role.allow(
            "WatchTransformJob",
            ["sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob", "sagemaker:AddTags"],
            [transforms],
            wildcard_reason="The same run-time named transform jobs the pipeline started",
        )

    def _grant_notebook_workflow(self, role: ExecutionRole) -> None:
        pipeline = self._sagemaker(f"pipeline/{self.config.pipeline_name}")
        role.allow(
            "RunPipeline",
            [
                "sagemaker:StartPipelineExecution",
                "sagemaker:DescribePipeline",
                "sagemaker:ListPipelineExecutions",
            ],
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
        prefix = f"{self.config.prefix}-*"
        role.allow(
            "ExperimentTraining",
            ["sagemaker:CreateTrainingJob"],
            [self._sagemaker(f"training-job/{prefix}")],
            conditions=job_conditions(self.guardrails),
            wildcard_reason=f"Ad-hoc jobs must be named '{prefix}'; the guardrail conditions pin VPC, KMS"
            " keys, network isolation and inter-container encryption",
        )
        role.allow(
            "ExperimentWatch",
            ["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"],
            [
                self._sagemaker(f"training-job/{prefix}"),
                self._sagemaker(f"training-job/{PIPELINE_JOB_PREFIX}*"),
            ],
            wildcard_reason="Jobs the notebook user or the pipeline started, named at run time",
        )
        group = self.config.model_package_group_name
        role.allow(
            "ReadRegistry",
            ["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"],
            [self._sagemaker(f"model-package/{group}/*"), self._sagemaker(f"model-package-group/{group}")],
            wildcard_reason=f"Model package versions of the group {group} are numbered at registration",
        )
        role.grant_pass_role([self.training_role])
        role.grant_volume_key(self.guardrails.volume_key_arn)
        self.model_create_conditions = model_conditions(self.guardrails)
