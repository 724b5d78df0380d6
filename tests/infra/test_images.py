"""Image URIs resolved from the SDK's tables agree with the SDK itself, for every region."""

from __future__ import annotations

import json
from importlib import metadata

import pytest

from stacks.images import UnknownImageError, repository_arn, spark_processing_image_uri, xgboost_image_uri

TABLE = json.loads(
    metadata.distribution("sagemaker-core").locate_file("sagemaker/core/image_uri_config/xgboost.json").read_text()
)
REGIONS = sorted(TABLE["training"]["versions"]["3.2-0"]["registries"])


def test_every_region_of_the_table_matches_the_sdk() -> None:
    # GIVEN the SDK's own resolver (the reference) WHEN both resolve every region THEN they agree
    from sagemaker.core import image_uris

    assert len(REGIONS) > 30
    mismatches = {
        region: (ours, theirs)
        for region in REGIONS
        if (ours := xgboost_image_uri(region)) != (theirs := image_uris.retrieve("xgboost", region=region,
                                                                                  version="3.2-0"))
    }
    assert mismatches == {}


def test_a_region_without_the_image_names_the_choices() -> None:
    with pytest.raises(UnknownImageError, match=r"not published in xx-nowhere-1; choose one of \[.*us-east-1"):
        xgboost_image_uri("xx-nowhere-1")


def test_an_unknown_container_version_is_refused() -> None:
    with pytest.raises(UnknownImageError, match=r"'9.9-9' is not in the SDK's table"):
        xgboost_image_uri("us-east-1", "9.9-9")


def test_repository_arn_of_an_image() -> None:
    assert repository_arn(xgboost_image_uri("eu-west-1")) == (
        "arn:aws:ecr:eu-west-1:141502667606:repository/sagemaker-xgboost"
    )


SPARK_TABLE = json.loads(
    metadata.distribution("sagemaker-core").locate_file("sagemaker/core/image_uri_config/spark.json").read_text()
)


def test_the_spark_processing_image_matches_the_sdk_in_every_region() -> None:
    # GIVEN the SDK's resolver WHEN both resolve the Spark 3.5 processing image everywhere THEN they agree
    from sagemaker.core import image_uris

    regions = sorted(SPARK_TABLE["processing"]["versions"]["3.5"]["registries"])
    assert len(regions) > 30
    mismatches = {
        region: (ours, theirs)
        for region in regions
        if (ours := spark_processing_image_uri(region)) != (theirs := image_uris.retrieve("spark", region=region,
                                                                                           version="3.5"))
    }
    assert mismatches == {}
    assert spark_processing_image_uri("us-east-1").endswith("/sagemaker-spark-processing:3.5-cpu")


def test_an_unknown_spark_version_or_region_is_refused() -> None:
    with pytest.raises(UnknownImageError, match=r"Spark processing container '9.9' is not in the SDK's table"):
        spark_processing_image_uri("us-east-1", "9.9")
    with pytest.raises(UnknownImageError, match=r"Spark 3.5 processing image is not published in xx-nowhere-1"):
        spark_processing_image_uri("xx-nowhere-1")
