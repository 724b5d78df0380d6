"""Environment configuration: typed, validated, with clear errors."""

from __future__ import annotations

import re

import pytest

from stacks.config import ENVIRONMENTS, ConfigError, NetworkConfig, PlatformConfig, load


def test_dev_and_prod_exist_and_differ_in_cost_knobs() -> None:
    dev, prod = ENVIRONMENTS["dev"], ENVIRONMENTS["prod"]
    assert len(dev.network.availability_zones) < len(prod.network.availability_zones)
    assert dev.network.flow_log_retention_days < prod.network.flow_log_retention_days


def test_unknown_environment_names_the_choices() -> None:
    with pytest.raises(ConfigError, match=re.escape("unknown environment 'staging'") + ".*dev.*prod.*-c env="):
        load("staging")


def test_region_override_renames_the_availability_zones() -> None:
    config = load("dev", region="eu-west-1", account="123456789012")
    assert config.region == "eu-west-1"
    assert config.account == "123456789012"
    assert config.network.availability_zones == ("eu-west-1a", "eu-west-1b")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"project": "My_Project"}, r"project 'My_Project' must be 2-10 lowercase"),
        ({"account": "12345"}, r"account '12345' must be a 12-digit AWS account ID"),
        ({"network": NetworkConfig(availability_zones=("eu-west-1a", "eu-west-1b"))},
         r"must be named and belong to region us-east-1"),
    ],
)
def test_invalid_values_are_refused_with_the_fix(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PlatformConfig(name="dev", **kwargs)


def test_config_is_immutable() -> None:
    with pytest.raises(AttributeError):
        ENVIRONMENTS["dev"].region = "eu-west-1"  # type: ignore[misc]


def test_names_are_prefixed_and_deterministic() -> None:
    config = ENVIRONMENTS["dev"]
    assert config.bucket_name("raw") == "mlp-dev-raw-111122223333-us-east-1"
    assert config.pipeline_name.startswith(config.prefix)
    assert config.arn("sagemaker", "pipeline/x") == "arn:aws:sagemaker:us-east-1:111122223333:pipeline/x"


def test_flow_logs_expire_after_the_configured_days(platform_templates: dict[str, dict]) -> None:
    # GIVEN the dev platform WHEN its access-log bucket is synthesized THEN flow logs expire per config
    (bucket,) = [r for r in platform_templates["data"]["Resources"].values() if r["Type"] == "AWS::S3::Bucket"
                 and r["Properties"]["BucketName"] == ENVIRONMENTS["dev"].bucket_name("access-logs")]
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["flow-logs"]["Prefix"] == "vpc-flow-logs/"
    assert rules["flow-logs"]["ExpirationInDays"] == ENVIRONMENTS["dev"].network.flow_log_retention_days


def test_perimeter_roles_must_belong_to_the_account() -> None:
    # GIVEN a break-glass role of another account WHEN the environment is built THEN it is refused
    from stacks.config import PerimeterConfig

    foreign = PerimeterConfig(break_glass_role_arn="arn:aws:iam::999999999999:role/admin")
    with pytest.raises(ConfigError, match=r"perimeter role .*999999999999.* must be an IAM role ARN of account"):
        PlatformConfig(name="dev", perimeter=foreign)
