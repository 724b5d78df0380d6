"""Request fragments every job of the pipeline shares: network, encryption, code."""

from __future__ import annotations

import shlex

from stacks.pipeline_definition import contract
from stacks.pipeline_definition.expressions import EXECUTION_ID, join
from stacks.pipeline_definition.resources import PipelineResources

CODE_CHANNEL = "code"
#: Where a training job's ``code`` channel lands; with network isolation the
#: container cannot fetch its code from S3, so script mode reads it from here.
TRAINING_CODE_DIR = f"/opt/ml/input/data/{CODE_CHANNEL}"
PROCESSING_CODE_DIR = f"{contract.PROCESSING_ROOT}/input/{CODE_CHANNEL}"
#: Processing images have no script-mode launcher: the entrypoint unpacks the
#: tarball (its input directory may be read-only) and runs the script with the job's arguments.
PROCESSING_WORK_DIR = "/opt/ml/code"


def vpc_config(r: PipelineResources) -> dict:
    """``{"VpcConfig": ...}`` to merge into a request, or nothing for jobs outside the VPC."""
    if not r.subnet_ids:
        return {}
    return {"VpcConfig": {"SecurityGroupIds": list(r.security_group_ids), "Subnets": list(r.subnet_ids)}}


def processing_network(r: PipelineResources) -> dict:
    return {
        "EnableInterContainerTrafficEncryption": True,
        "EnableNetworkIsolation": True,
        **vpc_config(r),
    }


def s3_uri(bucket: str, *parts) -> dict:
    """``s3://bucket/part/...`` with run-time parts; ``prefix/`` parts lose their slash."""
    return join("s3:/", bucket, *(p.rstrip("/") if isinstance(p, str) else p for p in parts))


def run_scoped_uri(bucket: str, prefix: str, *parts) -> dict:
    """Every execution writes under its own ID, so runs never overwrite each other's data."""
    return s3_uri(bucket, prefix, EXECUTION_ID, *parts)


def processing_code_input(r: PipelineResources) -> dict:
    return {
        "InputName": CODE_CHANNEL,
        "AppManaged": False,
        "S3Input": {
            "S3Uri": r.code_s3_uri,
            "LocalPath": PROCESSING_CODE_DIR,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


def processing_entrypoint(r: PipelineResources, script: str) -> list[str]:
    tarball = f"{PROCESSING_CODE_DIR}/{r.code_file_name}"
    command = (
        f"mkdir -p {PROCESSING_WORK_DIR} && tar -xzf {shlex.quote(tarball)} -C {PROCESSING_WORK_DIR}"
        f' && cd {PROCESSING_WORK_DIR} && exec python3 {script} "$@"'
    )
    # "$0" of sh -c is the first argument after the command; the job's ContainerArguments follow.
    return ["/bin/sh", "-c", command, script]


#: The Spark image's own launcher: on the first instance it starts YARN's resource manager and
#: runs spark-submit; on the others a node manager that joins it. The sh -c wrapper unpacks the
#: code on every instance first, so the driver imports ``smxgb`` from the script's directory.
SPARK_SUBMIT = "smspark-submit"


def spark_processing_entrypoint(r: PipelineResources, script: str) -> list[str]:
    tarball = f"{PROCESSING_CODE_DIR}/{r.code_file_name}"
    command = (
        f"mkdir -p {PROCESSING_WORK_DIR} && tar -xzf {shlex.quote(tarball)} -C {PROCESSING_WORK_DIR}"
        f' && cd {PROCESSING_WORK_DIR} && exec {SPARK_SUBMIT} {PROCESSING_WORK_DIR}/{script} "$@"'
    )
    return ["/bin/sh", "-c", command, script]


def training_code_channel(r: PipelineResources) -> dict:
    return {
        "ChannelName": CODE_CHANNEL,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": r.code_s3_uri,
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "CompressionType": "None",
        "InputMode": "File",
    }


def script_mode_hyperparameters(r: PipelineResources) -> dict[str, str]:
    """The toolkit's own hyperparameters; it extracts ``sagemaker_submit_directory`` when it is a local tarball."""
    return {
        "sagemaker_program": contract.TRAIN_SCRIPT,
        "sagemaker_submit_directory": f"{TRAINING_CODE_DIR}/{r.code_file_name}",
        "sagemaker_region": r.region,
        "sagemaker_container_log_level": "20",
    }
