"""A VPC-only, encrypted SageMaker notebook instance that stops itself when idle."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

LIFECYCLE_DIR = Path(__file__).parent / "notebook_lifecycle"
#: cron runs the idle check every 5 minutes; a shorter idle time could not be honoured.
MIN_IDLE_MINUTES = 5
#: SageMaker's limit on one lifecycle script, after base64 encoding.
MAX_SCRIPT_BYTES = 16384
#: An Amazon Linux 2023 notebook platform (the AL1 and AL2 ones are past or near
#: their end of support). botocore 1.44 also lists ``notebook-al2023-v2``, but the
#: CloudFormation schema of the pinned aws-cdk-lib still refuses it at synth; move
#: when it accepts it (tests/infra/test_notebook_stack.py names the newest).
PLATFORM_IDENTIFIER = "notebook-al2023-v1"


def render_on_start(idle_minutes: int, workspace_s3_uri: str = "", package_index: tuple[str, ...] = ()) -> str:
    """The on-start script exactly as the instance runs it: the files under version control, filled in.

    ``package_index`` is ``(domain, domain owner, repository)`` of a CodeArtifact PyPI mirror that pip
    is pointed at (``pip-index.sh``); empty leaves pip alone.
    """
    if idle_minutes < MIN_IDLE_MINUTES:
        raise ValueError(
            f"idle_minutes={idle_minutes}: the idle check runs every {MIN_IDLE_MINUTES} minutes, so the"
            f" idle time must be at least {MIN_IDLE_MINUTES}"
        )
    template = (LIFECYCLE_DIR / "on-start.sh").read_text()
    autostop = (LIFECYCLE_DIR / "autostop.py").read_text()
    if workspace_s3_uri and not re.fullmatch(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[\w./-]*/", workspace_s3_uri):
        # It is pasted into a shell script: only a plain s3://bucket/prefix/ is accepted.
        raise ValueError(
            f"workspace_s3_uri {workspace_s3_uri!r} must be s3://<bucket>/<prefix>/ (letters, digits, ./-_)"
        )
    pip_index = (LIFECYCLE_DIR / "pip-index.sh").read_text()
    if package_index and (len(package_index) != 3 or not all(re.fullmatch(r"[\w.-]+", p) for p in package_index)):
        # Pasted into a shell command line: plain names only.
        raise ValueError(f"package_index {package_index!r} must be (domain, owner account, repository), plain names")
    markers = ("AUTOSTOP_PY_EOF", "PIP_INDEX_EOF", "@IDLE_MINUTES@", "@AUTOSTOP_PY@", "@WORKSPACE_URI@",
               "@PACKAGE_INDEX@", "@PIP_INDEX_SH@")
    if any(m in embedded for m in markers for embedded in (autostop, pip_index)):
        # The scripts are embedded in quoted heredocs; a terminator or a
        # placeholder inside one would corrupt the rendered file.
        raise ValueError("autostop.py and pip-index.sh must not contain heredoc terminators or @-placeholders")
    return (
        template.replace("@IDLE_MINUTES@", str(idle_minutes))
        .replace("@WORKSPACE_URI@", workspace_s3_uri)
        .replace("@PACKAGE_INDEX@", " ".join(package_index))
        .replace("@AUTOSTOP_PY@", autostop.rstrip("\n"))
        .replace("@PIP_INDEX_SH@", pip_index.rstrip("\n"))
    )


class IdleNotebook(Construct):
    """A notebook instance with no internet, no root, IMDSv2 only, and an idle auto-stop.

    :param notebook_name: the instance name; IAM grants for stopping it name it exactly.
    :param role_arn: execution role of the notebook user.
    :param subnet_id: an isolated subnet; the instance reaches AWS through VPC endpoints only.
    :param security_group_ids: the platform's workload security group.
    :param kms_key_id: key encrypting the ML storage volume.
    :param instance_type: default ``ml.t3.medium`` (the cheapest general-purpose type).
    :param idle_minutes: idle time before the instance stops itself; default 60, at least 5.
    :param volume_size_gb: ML storage volume size; default 10.
    :param workspace_s3_uri: ``s3://bucket/prefix/`` the user's files are copied to
        every 5 minutes and before an idle stop, and restored from at start, so
        they outlive the instance; empty keeps them on the volume only.
    :param package_index: ``(domain, owner account, repository)`` of a CodeArtifact
        PyPI mirror the notebook user's pip reads from; empty leaves pip alone.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        notebook_name: str,
        role_arn: str,
        subnet_id: str,
        security_group_ids: Sequence[str],
        kms_key_id: str,
        instance_type: str = "ml.t3.medium",
        idle_minutes: int = 60,
        volume_size_gb: int = 10,
        workspace_s3_uri: str = "",
        package_index: tuple[str, ...] = (),
    ) -> None:
        super().__init__(scope, id)
        on_start = render_on_start(idle_minutes, workspace_s3_uri, package_index)
        encoded = base64.b64encode(on_start.encode()).decode()
        if len(encoded) > MAX_SCRIPT_BYTES:
            raise ValueError(
                f"on-start script is {len(encoded)} bytes base64-encoded; SageMaker allows {MAX_SCRIPT_BYTES}"
            )
        self.lifecycle_config = sagemaker.CfnNotebookInstanceLifecycleConfig(
            self,
            "LifecycleConfig",
            notebook_instance_lifecycle_config_name=f"{notebook_name}-autostop",
            on_start=[
                sagemaker.CfnNotebookInstanceLifecycleConfig.NotebookInstanceLifecycleHookProperty(content=encoded)
            ],
        )
        self.notebook = sagemaker.CfnNotebookInstance(
            self,
            "Notebook",
            notebook_instance_name=notebook_name,
            instance_type=instance_type,
            role_arn=role_arn,
            subnet_id=subnet_id,
            security_group_ids=list(security_group_ids),
            direct_internet_access="Disabled",
            root_access="Disabled",
            kms_key_id=kms_key_id,
            volume_size_in_gb=volume_size_gb,
            platform_identifier=PLATFORM_IDENTIFIER,
            instance_metadata_service_configuration=sagemaker.CfnNotebookInstance.InstanceMetadataServiceConfigurationProperty(
                minimum_instance_metadata_service_version="2"
            ),
            lifecycle_config_name=self.lifecycle_config.attr_notebook_instance_lifecycle_config_name,
        )
        self.notebook_name = notebook_name
