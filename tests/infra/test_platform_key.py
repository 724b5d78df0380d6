"""PlatformKey: rotation on, alias set, never deleted with the stack."""

from __future__ import annotations

from aws_cdk.assertions import Match, Template
from constructs.platform_key import PlatformKey

from tests.infra.conftest import new_stack


def test_key_rotates_yearly_and_is_retained() -> None:
    stack = new_stack()
    PlatformKey(stack, "Key", alias="mlp-test/data", description="test")
    template = Template.from_stack(stack)
    template.has_resource("AWS::KMS::Key", {
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": Match.object_like({"EnableKeyRotation": True, "RotationPeriodInDays": 365,
                                         "Description": "test"}),
    })
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/mlp-test/data"})


def test_service_grant_is_limited_by_source_arn() -> None:
    stack = new_stack()
    key = PlatformKey(stack, "Key", alias="a/b", description="test")
    key.allow_service("logs.us-east-1.amazonaws.com", source_arn_like="arn:aws:logs:us-east-1:111122223333:*")
    statements = next(iter(Template.from_stack(stack).find_resources("AWS::KMS::Key").values()))[
        "Properties"]["KeyPolicy"]["Statement"]
    logs = [s for s in statements if s.get("Principal", {}).get("Service") == "logs.us-east-1.amazonaws.com"]
    assert len(logs) == 1
    assert logs[0]["Condition"] == {"ArnLike": {"aws:SourceArn": "arn:aws:logs:us-east-1:111122223333:*"}}
    assert not any(a.endswith("*") for a in logs[0]["Action"])
