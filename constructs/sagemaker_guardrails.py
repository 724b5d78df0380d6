"""IAM conditions that deny SageMaker work launched outside the platform's guardrails.

A principal allowed ``sagemaker:CreateTrainingJob`` with these conditions can
only start jobs that run in the platform's subnets and security group, encrypt
their volumes and outputs with the platform's key, isolate the container from
the network and encrypt traffic between instances. Each condition key is one
the Service Authorization Reference lists for the action it is attached to
(tests/infra/test_iam_evaluator.py checks them against iam-data): the job
actions take ``sagemaker:VolumeKmsKeyArn``/``OutputKmsKeyArn``, not the
deprecated ``VolumeKmsKey``/``OutputKmsKey`` that SageMaker no longer sends for
them, on which an Allow would never match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Guardrails:
    """What every job, model and notebook of the platform must use."""

    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str]
    volume_key_arn: str
    #: The key of what jobs write by default (model artifacts).
    output_key_arn: str
    #: The key of data outputs (processed channels); processing jobs may use either.
    data_key_arn: str
    #: Jobs and models must run in the platform's VPC. False (a dev choice that
    #: needs no interface endpoints): they may also run network-isolated with
    #: no VPC at all, but any VPC they name must still be the platform's.
    jobs_in_vpc: bool = True


def _vpc_conditions(g: Guardrails, *, required: bool) -> dict:
    # ForAllValues alone also matches a request with no VPC at all; the Null
    # check makes the VPC mandatory.
    conditions = {
        "ForAllValues:StringEquals": {
            "sagemaker:VpcSubnets": list(g.subnet_ids),
            "sagemaker:VpcSecurityGroupIds": list(g.security_group_ids),
        },
    }
    if required:
        conditions["Null"] = {"sagemaker:VpcSubnets": "false", "sagemaker:VpcSecurityGroupIds": "false"}
    return conditions


def job_conditions(g: Guardrails, *, inter_container_encryption: bool = True, data_outputs: bool = False) -> dict:
    """Conditions for CreateTrainingJob, CreateProcessingJob and CreateHyperParameterTuningJob.

    :param data_outputs: also accept the data key as output key (processing jobs
        that write data channels rather than models).
    """
    conditions = _vpc_conditions(g, required=g.jobs_in_vpc)
    conditions["Bool"] = {"sagemaker:NetworkIsolation": "true"}
    if inter_container_encryption:
        conditions["Bool"]["sagemaker:InterContainerTrafficEncryption"] = "true"
    conditions["ArnEquals"] = {
        "sagemaker:VolumeKmsKeyArn": g.volume_key_arn,
        "sagemaker:OutputKmsKeyArn": [g.output_key_arn, g.data_key_arn] if data_outputs else g.output_key_arn,
    }
    return conditions


def model_conditions(g: Guardrails) -> dict:
    """Conditions for CreateModel: isolated containers in the platform's VPC."""
    conditions = _vpc_conditions(g, required=g.jobs_in_vpc)
    conditions["Bool"] = {"sagemaker:NetworkIsolation": "true"}
    return conditions


def endpoint_config_conditions(g: Guardrails) -> dict:
    return {"ArnEquals": {"sagemaker:VolumeKmsKeyArn": g.volume_key_arn}}


def notebook_conditions(g: Guardrails) -> dict:
    """Conditions for CreateNotebookInstance: no root, no direct internet, encrypted, in the VPC."""
    # A notebook without direct internet only exists in a VPC: always required.
    conditions = _vpc_conditions(g, required=True)
    conditions["StringEquals"] = {
        "sagemaker:RootAccess": "Disabled",
        "sagemaker:DirectInternetAccess": "Disabled",
    }
    conditions["ArnEquals"] = {"sagemaker:VolumeKmsKeyArn": g.volume_key_arn}
    return conditions
