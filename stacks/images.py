"""SageMaker framework image URIs, resolved offline from the tables the SDKs ship.

The registry accounts come from the sagemaker SDK's own JSON table and the DNS
suffix from botocore's endpoint table, read as files: importing the SDK costs
about 1.5 s of every synth for one dictionary look-up. A test compares the
result with the SDK's ``image_uris.retrieve`` for every region of the table.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import metadata

#: The XGBoost framework container matching the pinned xgboost (3.2.0).
XGBOOST_CONTAINER_VERSION = "3.2-0"
_XGBOOST_TABLE = ("sagemaker-core", "sagemaker/core/image_uri_config/xgboost.json")
_ENDPOINTS_TABLE = ("botocore", "botocore/data/endpoints.json")
#: SageMaker's Spark processing container; its 3.5 image installs EMR 7.0.0's Spark 3.5.0, which is the
#: pyspark pinned in requirements.txt (the local engine of the same step).
SPARK_CONTAINER_VERSION = "3.5"
_SPARK_TABLE = ("sagemaker-core", "sagemaker/core/image_uri_config/spark.json")


class UnknownImageError(ValueError):
    """No SageMaker image of that framework version in that region."""


@cache
def _table(distribution: str, path: str) -> dict:
    return json.loads(metadata.distribution(distribution).locate_file(path).read_text())


def _dns_suffix(region: str) -> str:
    """The partition's DNS suffix, as botocore resolves it (listed regions first, then the pattern)."""
    partitions = _table(*_ENDPOINTS_TABLE)["partitions"]
    for partition in partitions:
        if region in partition["regions"]:
            return partition["dnsSuffix"]
    for partition in partitions:
        if re.match(partition["regionRegex"], region):
            return partition["dnsSuffix"]
    raise UnknownImageError(f"region {region!r} belongs to no AWS partition botocore knows")


@cache
def xgboost_image_uri(region: str, version: str = XGBOOST_CONTAINER_VERSION) -> str:
    versions = _table(*_XGBOOST_TABLE)["training"]["versions"]
    if version not in versions:
        raise UnknownImageError(f"XGBoost container {version!r} is not in the SDK's table; known: {sorted(versions)}")
    config = versions[version]
    account = config["registries"].get(region)
    if account is None:
        raise UnknownImageError(
            f"the XGBoost {version} image is not published in {region}; choose one of {sorted(config['registries'])}"
        )
    return f"{account}.dkr.ecr.{region}.{_dns_suffix(region)}/{config['repository']}:{version}"


@cache
def spark_processing_image_uri(region: str, version: str = SPARK_CONTAINER_VERSION) -> str:
    """``<account>.dkr.ecr.<region>.<suffix>/sagemaker-spark-processing:<version>-cpu``, the tag the SDK's
    ``image_uris.retrieve("spark", region, version)`` gives (its entry point is ``smspark-submit``)."""
    table = _table(*_SPARK_TABLE)["processing"]
    versions = table["versions"]
    if version not in versions:
        raise UnknownImageError(f"Spark processing container {version!r} is not in the SDK's table; known:"
                                f" {sorted(versions)}")
    config = versions[version]
    account = config["registries"].get(region)
    if account is None:
        raise UnknownImageError(
            f"the Spark {version} processing image is not published in {region}; choose one of"
            f" {sorted(config['registries'])}"
        )
    processor = table["processors"][0]
    return f"{account}.dkr.ecr.{region}.{_dns_suffix(region)}/{config['repository']}:{version}-{processor}"


def repository_arn(image_uri: str) -> str:
    """``<acct>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>`` -> the repository's ARN."""
    registry, _, repo_and_tag = image_uri.partition("/")
    account, _, rest = registry.partition(".dkr.ecr.")
    region = rest.split(".", 1)[0]
    repository = repo_and_tag.split(":", 1)[0].split("@", 1)[0]
    return f"arn:aws:ecr:{region}:{account}:repository/{repository}"
