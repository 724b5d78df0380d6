"""A SageMaker Studio domain for the workbench: VPC only, KMS on its storage, JupyterLab that stops when idle.

One user profile per data scientist, each named after the person (their IAM
user name or the source identity their identity provider sets) and tagged
``owner=<person>``, so that the data scientist persona may open only their own
(``sagemaker:CreatePresignedDomainUrl`` on ``user-profile/*/${aws:SourceIdentity}``).

No direct internet: ``AppNetworkAccessType=VpcOnly`` sends every app's traffic
through the VPC's isolated subnets, which have no route out; the SageMaker API,
runtime, STS and Logs are reached through interface endpoints, S3 through the
gateway endpoint. Users' files live on the domain's EFS volume, encrypted with
``kms_key_arn``; the domain is retained when the stack is deleted, so no home
directory is ever lost with it (deleting it by hand keeps the EFS volume too:
``DeleteDomain``'s ``RetentionPolicy.HomeEfsFileSystem`` defaults to ``Retain``).
Idle JupyterLab apps are shut down by SageMaker's own idle check
(``AppLifecycleManagement.IdleSettings``); a stopped app costs nothing, the
EFS volume costs its stored bytes.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

#: SageMaker's bounds on ``IdleTimeoutInMinutes`` (botocore's service model).
IDLE_MINUTES_RANGE = (60, 525600)


class StudioDomain(Construct):
    """A VPC-only Studio domain with one user profile per person.

    :param domain_name: the domain's name.
    :param execution_role_arn: the role every user's apps run as (the data scientist's workbench role).
    :param vpc_id: the VPC; ``subnet_ids``: its isolated subnets; ``security_group_ids``: the apps' groups.
    :param kms_key_arn: encrypts the domain's EFS volume (users' home directories).
    :param idle_minutes: JupyterLab apps idle this long are shut down (60-525600).
    :param users: the people with a user profile, each tagged ``<owner_tag>=<person>``.
    :param owner_tag: the tag naming a profile's person.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        domain_name: str,
        execution_role_arn: str,
        vpc_id: str,
        subnet_ids: list[str],
        security_group_ids: list[str],
        kms_key_arn: str,
        idle_minutes: int,
        users: tuple[str, ...],
        owner_tag: str,
    ) -> None:
        super().__init__(scope, id)
        low, high = IDLE_MINUTES_RANGE
        if not low <= idle_minutes <= high:
            raise ValueError(f"Studio idle_minutes={idle_minutes} must be {low}-{high} (SageMaker's idle shutdown"
                             " bounds); raise WorkloadConfig.notebook_idle_minutes")
        if not users:
            raise ValueError("a Studio domain needs at least one user: name the data scientists in"
                             " PeopleConfig.data_scientists")
        idle = sagemaker.CfnDomain.IdleSettingsProperty(lifecycle_management="ENABLED",
                                                        idle_timeout_in_minutes=idle_minutes)
        self.domain = sagemaker.CfnDomain(
            self,
            "Domain",
            domain_name=domain_name,
            auth_mode="IAM",
            app_network_access_type="VpcOnly",
            vpc_id=vpc_id,
            subnet_ids=subnet_ids,
            kms_key_id=kms_key_arn,
            # Apps, spaces and their EFS carry the domain's cost-allocation tags.
            tag_propagation="ENABLED",
            default_user_settings=sagemaker.CfnDomain.UserSettingsProperty(
                execution_role=execution_role_arn,
                security_groups=security_group_ids,
                jupyter_lab_app_settings=sagemaker.CfnDomain.JupyterLabAppSettingsProperty(
                    app_lifecycle_management=sagemaker.CfnDomain.AppLifecycleManagementProperty(idle_settings=idle),
                ),
            ),
        )
        # Users' home directories live on the domain's EFS volume: never deleted with the stack.
        self.domain.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        self.profiles: dict[str, sagemaker.CfnUserProfile] = {}
        for person in users:
            profile = sagemaker.CfnUserProfile(
                self,
                f"User{''.join(part.capitalize() for part in _words(person))}",
                domain_id=self.domain.attr_domain_id,
                user_profile_name=person,
                user_settings=sagemaker.CfnUserProfile.UserSettingsProperty(
                    execution_role=execution_role_arn, security_groups=security_group_ids),
                tags=[cdk.CfnTag(key=owner_tag, value=person)],
            )
            # A profile deleted with the stack would leave its files on the retained volume, unreachable
            # until a profile of the same name comes back; keep it with the domain.
            profile.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
            self.profiles[person] = profile


def _words(person: str) -> list[str]:
    """A construct ID's parts from a person's name (profile names are letters, digits and hyphens)."""
    return person.split("-")
