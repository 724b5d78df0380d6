"""Environment configuration: frozen dataclasses, chosen in ``app.py`` only.

Every knob that changes what the platform costs or exposes is a field here
with a documented default; stacks receive these objects and never read CDK
context themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

# AWS's documentation placeholder account: synth needs a concrete account and
# region (no lookups), and nothing can be deployed to this one by accident.
PLACEHOLDER_ACCOUNT = "111122223333"


class ConfigError(ValueError):
    """A configuration value that cannot work; the message names the fix."""


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """The VPC: private isolated subnets only, no NAT, no internet gateway."""

    #: CIDR of the VPC; two /20 isolated subnets are carved per AZ count.
    cidr: str = "10.40.0.0/16"
    #: AZs are named, not looked up, to keep synth hermetic. Each extra AZ
    #: multiplies the interface endpoints' hourly cost.
    availability_zones: tuple[str, ...] = ("us-east-1a", "us-east-1b")
    #: Interface endpoints for VPC-only SageMaker (about $7.30/month each per
    #: AZ). Off means jobs in the VPC cannot reach SageMaker, STS, ECR, Logs...
    #: so only turn it off for a stack set that never runs jobs.
    interface_endpoints: bool = True
    #: Days before VPC flow log objects expire from the log bucket.
    flow_log_retention_days: int = 90


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    """Buckets and keys. Data buckets and keys always survive ``cdk destroy``."""

    #: Days before noncurrent object versions expire (undo window for overwrites).
    noncurrent_version_expiration_days: int = 30
    #: Days before raw data moves to S3 Standard-IA.
    raw_infrequent_access_days: int = 30
    #: Days before raw data moves to Glacier Instant Retrieval.
    raw_glacier_ir_days: int = 180
    #: Days before processed channels and model artifacts move to Intelligent-Tiering.
    intelligent_tiering_days: int = 30
    #: Days S3 server access logs are kept.
    access_log_retention_days: int = 365
    #: Days incomplete multipart uploads are kept before S3 aborts them.
    abort_incomplete_upload_days: int = 7


@dataclass(frozen=True, kw_only=True)
class PlatformConfig:
    """One deployment environment of the platform."""

    #: Environment name, also the suffix of stack names (``MlPlatform-dev-...``).
    name: str
    #: Short project prefix of every SageMaker resource name; IAM policies
    #: scope the platform's permissions to names starting with it.
    project: str = "mlp"
    account: str = PLACEHOLDER_ACCOUNT
    region: str = "us-east-1"
    network: NetworkConfig = field(default_factory=NetworkConfig)
    data: DataConfig = field(default_factory=DataConfig)
    #: Days CloudWatch log groups created by the platform keep their events.
    log_retention_days: int = 90
    #: Cost-allocation tags on every resource.
    tags: tuple[tuple[str, str], ...] = (("CostCenter", "ml-platform"),)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9]{1,9}", self.project):
            raise ConfigError(
                f"project {self.project!r} must be 2-10 lowercase letters or digits starting with a letter,"
                " because it prefixes SageMaker and S3 names; pick a shorter name"
            )
        if not re.fullmatch(r"\d{12}", self.account):
            raise ConfigError(f"account {self.account!r} must be a 12-digit AWS account ID (-c account=...)")
        zones = self.network.availability_zones
        if not zones or any(not z.startswith(self.region) for z in zones):
            raise ConfigError(
                f"availability zones {list(zones)} must be named and belong to region {self.region};"
                " set NetworkConfig.availability_zones for that region"
            )

    @property
    def prefix(self) -> str:
        """Prefix of this environment's SageMaker resource names, e.g. ``mlp-dev``."""
        return f"{self.project}-{self.name}"

    @property
    def pipeline_name(self) -> str:
        return f"{self.prefix}-xgboost-training"

    @property
    def model_package_group_name(self) -> str:
        return f"{self.prefix}-xgboost"

    def bucket_name(self, purpose: str) -> str:
        """Deterministic bucket names let IAM policies name exact ARNs without cross-stack imports."""
        return f"{self.prefix}-{purpose}-{self.account}-{self.region}"

    def arn(self, service: str, resource: str) -> str:
        """An ARN in this environment's account and region (S3 and IAM ARNs have neither)."""
        if service == "s3":
            return f"arn:aws:s3:::{resource}"
        if service == "iam":
            return f"arn:aws:iam::{self.account}:{resource}"
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"

    def stack_name(self, unit: str) -> str:
        return f"MlPlatform-{self.name}-{unit}"


def _zones(region: str, count: int) -> tuple[str, ...]:
    return tuple(f"{region}{letter}" for letter in "abc"[:count])


ENVIRONMENTS: dict[str, PlatformConfig] = {
    # dev: one AZ's worth of endpoints would break SageMaker's two-subnet
    # minimum for some features, so two AZs; short retention; cheap.
    "dev": PlatformConfig(
        name="dev",
        network=NetworkConfig(availability_zones=_zones("us-east-1", 2)),
        log_retention_days=30,
        tags=(("CostCenter", "ml-platform"), ("Environment", "dev")),
    ),
    "prod": PlatformConfig(
        name="prod",
        network=NetworkConfig(cidr="10.41.0.0/16", availability_zones=_zones("us-east-1", 3)),
        data=DataConfig(noncurrent_version_expiration_days=90),
        log_retention_days=365,
        tags=(("CostCenter", "ml-platform"), ("Environment", "prod")),
    ),
}


def load(env_name: str, *, account: str | None = None, region: str | None = None) -> PlatformConfig:
    """The named environment, with account/region overrides from the command line."""
    try:
        config = ENVIRONMENTS[env_name]
    except KeyError:
        raise ConfigError(
            f"unknown environment {env_name!r}; choose one of {sorted(ENVIRONMENTS)} with -c env=NAME"
        ) from None
    if region and region != config.region:
        zones = _zones(region, len(config.network.availability_zones))
        config = replace(config, region=region, network=replace(config.network, availability_zones=zones))
    if account:
        config = replace(config, account=account)
    return config
