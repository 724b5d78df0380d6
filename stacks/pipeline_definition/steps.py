"""The steps: preprocess -> tune -> evaluate -> AUC gate -> register (or fail)."""

from __future__ import annotations

from stacks.config import ATHENA_RESULTS_PREFIX, REDSHIFT_UNLOAD_PREFIX, ApproachConfig
from stacks.pipeline_definition import contract
from stacks.pipeline_definition import parameters as p
from stacks.pipeline_definition.expressions import (
    EXECUTION_ID,
    join,
    json_get,
    param,
    processing_output_uri,
    step_property,
)
from stacks.pipeline_definition.jobs import (
    processing_code_input,
    processing_entrypoint,
    processing_network,
    run_scoped_uri,
    script_mode_hyperparameters,
    spark_processing_entrypoint,
    training_code_channel,
    vpc_config,
)
from stacks.pipeline_definition.resources import PipelineResources

PREPROCESS = "Preprocess"
TUNE = "Tune"
EVALUATE = "Evaluate"
CHECK = "CheckAuc"
REGISTER = "RegisterModel"
FAIL = "AucBelowThreshold"
EVALUATION_OUTPUT = "evaluation"
SCHEMA_OUTPUT = "schema"
EVALUATION_PROPERTY_FILE = "EvaluationReport"
MODEL_CARD_PROPERTY_FILE = "ModelCard"
ROOT = contract.PROCESSING_ROOT


def _processing_resources(r: PipelineResources) -> dict:
    return {
        "ClusterConfig": {
            "InstanceCount": param(p.PROCESSING_INSTANCE_COUNT),
            "InstanceType": param(p.PROCESSING_INSTANCE_TYPE),
            "VolumeSizeInGB": r.config.volume_size_gb,
            "VolumeKmsKeyId": r.model_key_arn,
        }
    }


def _s3_input(name: str, uri, local_path: str) -> dict:
    return {
        "InputName": name,
        "AppManaged": False,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
            "S3CompressionType": "None",
        },
    }


def _s3_output(name: str, uri, local_path: str) -> dict:
    return {
        "OutputName": name,
        "AppManaged": False,
        "S3Output": {"S3Uri": uri, "LocalPath": local_path, "S3UploadMode": "EndOfJob"},
    }


def _processing_job(
    r: PipelineResources, script: str, inputs: list, outputs: list, arguments: list, *, output_key_arn: str
) -> dict:
    """A CreateProcessingJob request (Pipelines names the job). Processing has no spot capacity."""
    return {
        "ProcessingResources": _processing_resources(r),
        "AppSpecification": {
            "ImageUri": r.image_uri,
            "ContainerEntrypoint": processing_entrypoint(r, script),
            "ContainerArguments": arguments,
        },
        "RoleArn": r.processing_role_arn,
        "ProcessingInputs": [processing_code_input(r), *inputs],
        "ProcessingOutputConfig": {"Outputs": outputs, "KmsKeyId": output_key_arn},
        "NetworkConfig": processing_network(r),
        "StoppingCondition": {"MaxRuntimeInSeconds": r.config.processing_max_runtime_seconds},
        "Environment": {"PYTHONUNBUFFERED": "1"},
    }


def spark_preprocessing(r: PipelineResources) -> bool:
    return r.config.preprocess_engine == "spark"


#: The training channels' ContentType per ``PipelineConfig.channel_format``.
CONTENT_TYPES = {"csv": "text/csv", "parquet": "application/x-parquet",
                 "recordio": "application/x-recordio-protobuf"}


def channel_format(r: PipelineResources) -> str:
    """What the Preprocess step writes: the configured format, else CSV from pandas and Parquet shards from Spark."""
    return r.config.channel_format or ("parquet" if spark_preprocessing(r) else "csv")


def channel_content_type(r: PipelineResources) -> str:
    return CONTENT_TYPES[channel_format(r)]


def _spark_job(r: PipelineResources, job: dict) -> dict:
    """The Preprocess job on SageMaker's Spark image and a cluster of ``SparkInstanceCount`` instances.

    The guardrails stay: network isolation (Spark reads and writes the job's local
    ProcessingInputs/Outputs, never S3 itself, and its instances talk over the job's
    own inter-container network, which isolation leaves open), inter-container
    encryption (YARN's and Spark's traffic between instances), the model key on the
    volumes and the data key on the outputs. Every instance gets all the raw data
    (FullyReplicated: Spark's tasks read their byte ranges of the same local files),
    and every instance uploads the shards its executors wrote under one prefix.
    """
    job["ProcessingResources"]["ClusterConfig"]["InstanceCount"] = param(p.SPARK_INSTANCE_COUNT)
    job["AppSpecification"] = {
        "ImageUri": r.spark_image_uri,
        "ContainerEntrypoint": spark_processing_entrypoint(r, contract.SPARK_PREPROCESS_SCRIPT),
        "ContainerArguments": job["AppSpecification"]["ContainerArguments"],
    }
    return job


#: Athena's catalog of Glue databases in this account and region.
ATHENA_CATALOG = "AwsDataCatalog"


def athena_query(r: PipelineResources) -> str:
    # Athena's dialect (Trino): identifiers in double quotes.
    return r.config.source.athena_query or f'SELECT * FROM "{r.athena_table}"'  # noqa: S608 - our table's name


def _raw_input(r: PipelineResources) -> dict:
    """Files under ``InputDataUri`` (the s3 source), or the Parquet result of a query that SageMaker runs
    before the job starts and downloads to the same local path, so the script reads it like files."""
    source = r.config.source
    if source.kind == "s3":
        return _s3_input("raw", param(p.INPUT_DATA), f"{ROOT}/input")
    if source.kind == "athena":
        query = {"AthenaDatasetDefinition": {
            "Catalog": ATHENA_CATALOG,
            "Database": r.athena_database,
            "QueryString": athena_query(r),
            "WorkGroup": r.athena_workgroup,
            # Each execution's result under its own ID, in the prefix the workgroup enforces.
            "OutputS3Uri": run_scoped_uri(r.processed_bucket, ATHENA_RESULTS_PREFIX),
            "KmsKeyId": r.data_key_arn,
            "OutputFormat": "PARQUET",
        }}
    else:
        query = {"RedshiftDatasetDefinition": {
            "ClusterId": source.redshift_cluster_id,
            "Database": source.redshift_database,
            "DbUser": source.redshift_db_user,
            "QueryString": source.redshift_query,
            "ClusterRoleArn": r.redshift_role_arn,
            "OutputS3Uri": run_scoped_uri(r.processed_bucket, REDSHIFT_UNLOAD_PREFIX),
            "KmsKeyId": r.data_key_arn,
            "OutputFormat": "PARQUET",
        }}
    return {
        "InputName": "raw",
        "AppManaged": False,
        "DatasetDefinition": {**query, "LocalPath": f"{ROOT}/input", "DataDistributionType": "FullyReplicated",
                              "InputMode": "File"},
    }


def preprocess_step(r: PipelineResources) -> dict:
    outputs = [
        _s3_output(split, run_scoped_uri(r.processed_bucket, r.channels_prefix, split), f"{ROOT}/{split}")
        for split in contract.SPLITS
    ]
    schema_uri = run_scoped_uri(r.processed_bucket, r.channels_prefix, SCHEMA_OUTPUT)
    outputs.append(_s3_output(SCHEMA_OUTPUT, schema_uri, f"{ROOT}/schema"))
    arguments = ["--input-dir", f"{ROOT}/input"]
    for split in contract.SPLITS:
        arguments += [f"--{split}-dir", f"{ROOT}/{split}"]
    arguments += ["--schema-dir", f"{ROOT}/schema", "--label-column", param(p.LABEL_COLUMN)]
    if r.config.channel_format:
        arguments += ["--output-format", r.config.channel_format]
    # One file per split for each training instance: the trials read the channels ShardedByS3Key.
    arguments += ["--shards", join(param(p.TRAINING_INSTANCE_COUNT), on="")]
    job = _processing_job(
        r,
        contract.PREPROCESS_SCRIPT,
        [_raw_input(r)],
        outputs,
        arguments,
        output_key_arn=r.data_key_arn,
    )
    engine = "pandas, one instance"
    if spark_preprocessing(r):
        job, engine = _spark_job(r, job), "Spark cluster, Parquet shards"
    return {
        "Name": PREPROCESS,
        "Type": "Processing",
        "Description": f"Split raw data into label-first train/validation/test channels ({engine})",
        "Arguments": job,
    }


def _data_channel(r: PipelineResources, name: str) -> dict:
    """A data channel of a trial. ShardedByS3Key: with TrainingInstanceCount N, Preprocess writes N files per
    split and each instance gets its own (with one instance, all of them, as FullyReplicated would)."""
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": processing_output_uri(PREPROCESS, name),
                "S3DataDistributionType": "ShardedByS3Key",
            }
        },
        "ContentType": channel_content_type(r),
        "CompressionType": "None",
        "InputMode": "File",
    }


def _parameter_ranges(approach: ApproachConfig) -> dict:
    integers, continuous = [], []
    for rng in approach.tuning_ranges:
        low, high = (int(rng.min_value), int(rng.max_value)) if rng.integer else (rng.min_value, rng.max_value)
        entry = {"Name": rng.name, "MinValue": str(low), "MaxValue": str(high), "ScalingType": rng.scaling}
        (integers if rng.integer else continuous).append(entry)
    return {"IntegerParameterRanges": integers, "ContinuousParameterRanges": continuous}


def _stopping_condition(r: PipelineResources) -> dict:
    condition = {"MaxRuntimeInSeconds": r.config.max_runtime_seconds}
    if r.config.use_spot_training:
        condition["MaxWaitTimeInSeconds"] = r.config.max_wait_seconds
    return condition


def objective() -> dict:
    return {"Type": "Maximize", "MetricName": contract.OBJECTIVE_METRIC}


def _training_job_definition(r: PipelineResources, approach: ApproachConfig) -> dict:
    """One approach: the same job (code, data, security, spot) with its own fixed settings and ranges."""
    static = {**dict(r.config.static_hyperparameters), **dict(approach.static_hyperparameters)}
    return {
        "DefinitionName": approach.name,
        "TuningObjective": objective(),
        "HyperParameterRanges": _parameter_ranges(approach),
        "StaticHyperParameters": {**static, **script_mode_hyperparameters(r)},
        "AlgorithmSpecification": {
            "TrainingImage": r.image_uri,
            "TrainingInputMode": "File",
            "MetricDefinitions": contract.metric_definitions(),
        },
        "RoleArn": r.training_role_arn,
        "InputDataConfig": [*(_data_channel(r, c) for c in contract.TRAINING_CHANNELS), training_code_channel(r)],
        **vpc_config(r),
        "OutputDataConfig": {
            "S3OutputPath": run_scoped_uri(r.model_bucket, r.training_prefix),
            "KmsKeyId": r.model_key_arn,
        },
        "ResourceConfig": {
            "InstanceType": param(p.TRAINING_INSTANCE_TYPE),
            "InstanceCount": param(p.TRAINING_INSTANCE_COUNT),
            "VolumeSizeInGB": r.config.volume_size_gb,
            "VolumeKmsKeyId": r.model_key_arn,
        },
        "StoppingCondition": _stopping_condition(r),
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": True,
        "EnableManagedSpotTraining": r.config.use_spot_training,
        # SageMaker keeps each trial's checkpoints apart under this URI; a spot
        # interruption resumes the trial from them instead of from round 0.
        "CheckpointConfig": {
            "S3Uri": run_scoped_uri(r.model_bucket, r.checkpoints_prefix),
            "LocalPath": contract.DEFAULT_CHECKPOINT_DIR,
        },
        "RetryStrategy": {"MaximumRetryAttempts": 2},
        # The toolkit pip-installs the code channel; see smxgb.env.OFFLINE_INSTALL_ENVIRONMENT.
        "Environment": dict(contract.TRAINING_ENVIRONMENT),
    }


def tune_step(r: PipelineResources) -> dict:
    arguments = {
        "HyperParameterTuningJobConfig": {
            "Strategy": param(p.TUNING_STRATEGY),
            # With several definitions the objective and the ranges belong to each definition.
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": param(p.MAX_TRAINING_JOBS),
                "MaxParallelTrainingJobs": param(p.MAX_PARALLEL_TRAINING_JOBS),
            },
            "TrainingJobEarlyStoppingType": "Auto",
        },
        # Boosting and bagging in one search: the tuner compares their trials on the same objective.
        "TrainingJobDefinitions": [_training_job_definition(r, a) for a in r.config.approaches],
    }
    if r.config.warm_start_parent_tuning_job:
        arguments["WarmStartConfig"] = {
            "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": param(p.WARM_START_PARENT)}],
            "WarmStartType": r.config.warm_start_type,
        }
    return {
        "Name": TUNE,
        "Type": "Tuning",
        "Description": f"Tune train.py's approaches on {contract.OBJECTIVE_METRIC} with managed spot trials",
        "Arguments": arguments,
    }


def best_model_uri(r: PipelineResources) -> dict:
    """The best trial's model artifact: ``<S3OutputPath>/<job name>/output/model.tar.gz``.

    Pipelines sorts a tuning step's ``TrainingJobSummaries`` by the objective,
    so index 0 is the best trial (the SDK's ``get_top_model_s3_uri(top_k=0)``).
    """
    return run_scoped_uri(
        r.model_bucket,
        r.training_prefix,
        step_property(TUNE, "TrainingJobSummaries[0].TrainingJobName"),
        "output",
        "model.tar.gz",
    )


def evaluate_step(r: PipelineResources) -> dict:
    """The best trial on the test set, and beside it the best of each approach and a trivial baseline:
    every trial's artifact (the tuning job's output prefix) and the three channels come in."""
    out_dir = f"{ROOT}/{EVALUATION_OUTPUT}"
    model_dir, candidates_dir = f"{ROOT}/model", f"{ROOT}/candidates"
    inputs = [
        _s3_input("model", best_model_uri(r), model_dir),
        _s3_input("candidates", run_scoped_uri(r.model_bucket, r.training_prefix), candidates_dir),
        *(_s3_input(split, processing_output_uri(PREPROCESS, split), f"{ROOT}/{split}") for split in contract.SPLITS),
    ]
    outputs = [_s3_output(EVALUATION_OUTPUT, run_scoped_uri(r.model_bucket, r.evaluation_prefix), out_dir)]
    arguments = ["--model", model_dir, "--candidates", candidates_dir, "--test-dir", f"{ROOT}/test",
                 "--train-dir", f"{ROOT}/train", "--validation-dir", f"{ROOT}/validation", "--output-dir", out_dir,
                 # What the model card names: where the model and its data live, and the label.
                 "--model-uri", best_model_uri(r), "--label-column", param(p.LABEL_COLUMN),
                 *(a for split in contract.SPLITS
                   for a in (f"--{split}-uri", processing_output_uri(PREPROCESS, split))),
                 "--creator", join("pipeline execution", EXECUTION_ID, on=" ")]
    return {
        "Name": EVALUATE,
        "Type": "Processing",
        "Description": "Score the best trial, the best of each approach and a baseline on the test channel",
        "Arguments": _processing_job(
            r, contract.EVALUATE_SCRIPT, inputs, outputs, arguments, output_key_arn=r.model_key_arn
        ),
        "PropertyFiles": [
            {
                "PropertyFileName": EVALUATION_PROPERTY_FILE,
                "OutputName": EVALUATION_OUTPUT,
                "FilePath": contract.EVALUATION_FILE_NAME,
            },
            {
                "PropertyFileName": MODEL_CARD_PROPERTY_FILE,
                "OutputName": EVALUATION_OUTPUT,
                "FilePath": contract.MODEL_CARD_FILE_NAME,
            },
        ],
    }


def auc() -> dict:
    return json_get(EVALUATE, EVALUATION_PROPERTY_FILE, contract.AUC_JSON_PATH)


def register_step(r: PipelineResources) -> dict:
    report_uri = join(processing_output_uri(EVALUATE, EVALUATION_OUTPUT), contract.EVALUATION_FILE_NAME)
    baseline_uri = join(processing_output_uri(PREPROCESS, SCHEMA_OUTPUT), contract.DRIFT_BASELINE_FILE_NAME)
    return {
        "Name": REGISTER,
        "Type": "RegisterModel",
        "Description": "Register the best model for manual approval",
        "Arguments": {
            "ModelPackageGroupName": r.model_package_group_name,
            "ModelPackageDescription": "XGBoost model from the training pipeline",
            "ModelApprovalStatus": "PendingManualApproval",
            "InferenceSpecification": {
                # The handlers ride in the artifact's code/ folder (see smxgb.outputs).
                "Containers": [
                    {
                        "Image": r.image_uri,
                        "ModelDataUrl": best_model_uri(r),
                        "Environment": dict(contract.SERVING_ENVIRONMENT),
                    }
                ],
                # What the handlers read and write, so a client of the registry knows every choice.
                "SupportedContentTypes": list(contract.SERVING_REQUEST_CONTENT_TYPES),
                "SupportedResponseMIMETypes": list(contract.SERVING_RESPONSE_CONTENT_TYPES),
                "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large", "ml.m5.xlarge"],
                "SupportedTransformInstanceTypes": ["ml.m5.large", "ml.m5.xlarge"],
            },
            "ModelMetrics": {
                "ModelQuality": {"Statistics": {"ContentType": contract.EVALUATION_CONTENT_TYPE, "S3Uri": report_uri}}
            },
            # Which run made this version, and why it ran (a person, the schedule, drift, quality).
            "CustomerMetadataProperties": {
                "PipelineExecutionId": EXECUTION_ID,
                p.RETRAIN_REASON: param(p.RETRAIN_REASON),
            },
            # Why this model: the approach chosen and its figures against the others, for the approver.
            "ModelCard": {
                "ModelCardContent": json_get(EVALUATE, MODEL_CARD_PROPERTY_FILE, contract.MODEL_CARD_CONTENT_PATH),
                "ModelCardStatus": contract.MODEL_CARD_STATUS,
            },
            # What production is compared with: the training split's per-feature statistics.
            "DriftCheckBaselines": {
                "ModelDataQuality": {
                    "Statistics": {"ContentType": contract.DRIFT_BASELINE_CONTENT_TYPE, "S3Uri": baseline_uri}
                }
            },
        },
    }


def fail_step() -> dict:
    return {
        "Name": FAIL,
        "Type": "Fail",
        "Arguments": {
            "ErrorMessage": join("Test AUC", auc(), "is below the threshold", param(p.AUC_THRESHOLD), on=" ")
        },
    }


def check_step(r: PipelineResources) -> dict:
    return {
        "Name": CHECK,
        "Type": "Condition",
        "Description": "Register only models whose test AUC reaches the threshold",
        "Arguments": {
            "Conditions": [{"Type": "GreaterThanOrEqualTo", "LeftValue": auc(), "RightValue": param(p.AUC_THRESHOLD)}],
            "IfSteps": [register_step(r)],
            "ElseSteps": [fail_step()],
        },
    }
