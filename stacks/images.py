"""SageMaker framework image URIs, resolved offline from the sagemaker SDK's bundled tables."""

from __future__ import annotations

from functools import cache

#: The XGBoost framework container matching the pinned xgboost (3.2.0).
XGBOOST_CONTAINER_VERSION = "3.2-0"


@cache
def xgboost_image_uri(region: str, version: str = XGBOOST_CONTAINER_VERSION) -> str:
    # Imported here: the SDK takes ~1.5 s to import and only this function needs it.
    from sagemaker.core import image_uris

    return image_uris.retrieve("xgboost", region=region, version=version)


def repository_arn(image_uri: str) -> str:
    """``<acct>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>`` -> the repository's ARN."""
    registry, _, repo_and_tag = image_uri.partition("/")
    account, _, rest = registry.partition(".dkr.ecr.")
    region = rest.split(".", 1)[0]
    repository = repo_and_tag.split(":", 1)[0].split("@", 1)[0]
    return f"arn:aws:ecr:{region}:{account}:repository/{repository}"
