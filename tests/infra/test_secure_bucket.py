"""SecureBucket: the platform's S3 baseline, and what it refuses."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from constructs.secure_bucket import SecureBucket

from tests.infra.conftest import new_stack


def _data_bucket() -> Template:
    stack = new_stack()
    logs = SecureBucket(stack, "Logs", encryption_key=None, access_logs=None, expiration_days=30).bucket
    SecureBucket(
        stack,
        "Data",
        bucket_name="mlp-test-data",
        encryption_key=kms.Key(stack, "Key", enable_key_rotation=True),
        access_logs=logs,
        transitions=[s3.Transition(storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                                   transition_after=cdk.Duration.days(30))],
        noncurrent_version_expiration_days=14,
    )
    return Template.from_stack(stack)


def test_data_bucket_is_private_encrypted_versioned_logged_and_retained() -> None:
    # GIVEN a data bucket WHEN synthesized
    template = _data_bucket()
    # THEN SSE-KMS with a bucket key, all public access blocked, versioned, logged, retained
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": Match.object_like({
                "BucketName": "mlp-test-data",
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [Match.object_like({
                    "BucketKeyEnabled": True,
                    "ServerSideEncryptionByDefault": Match.object_like({"SSEAlgorithm": "aws:kms"}),
                })]},
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                   "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                "VersioningConfiguration": {"Status": "Enabled"},
                "LoggingConfiguration": Match.object_like({"LogFilePrefix": "data/"}),
            }),
        },
    )


def test_lifecycle_expires_old_versions_aborts_uploads_and_tiers_data() -> None:
    template = _data_bucket()
    template.has_resource_properties("AWS::S3::Bucket", {
        "BucketName": "mlp-test-data",
        "LifecycleConfiguration": {"Rules": [Match.object_like({
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 14},
            "Transitions": [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30}],
            "Status": "Enabled",
        })]},
    })


def test_bucket_policy_denies_plain_http_and_old_tls() -> None:
    template = _data_bucket()
    policies = template.find_resources("AWS::S3::BucketPolicy")
    denies = [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]
              if s["Effect"] == "Deny"]
    conditions = [s["Condition"] for s in denies]
    assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
    assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions


def test_refuses_sse_s3_for_a_data_bucket() -> None:
    # GIVEN a bucket that logs elsewhere (so it holds data) WHEN no key is given THEN it is refused
    stack = new_stack()
    logs = SecureBucket(stack, "Logs", encryption_key=None, access_logs=None).bucket
    with pytest.raises(ValueError, match=r"SSE-S3 is reserved for the access-log bucket; pass encryption_key"):
        SecureBucket(stack, "Data", encryption_key=None, access_logs=logs)


def _perimeter_statement(admitted: list[str]) -> dict:
    stack = new_stack()
    logs = SecureBucket(stack, "Logs", encryption_key=None, access_logs=None, expiration_days=30).bucket
    SecureBucket(stack, "Data", encryption_key=kms.Key(stack, "Key", enable_key_rotation=True),
                 access_logs=logs, admitted_principals=admitted)
    policies = Template.from_stack(stack).find_resources("AWS::S3::BucketPolicy")
    statements = [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    return next(s for s in statements if s.get("Sid") == "DenyDataOutsidePerimeter")


def test_bucket_denies_its_data_to_principals_outside_the_perimeter() -> None:
    # GIVEN a data bucket admitting two roles
    roles = ["arn:aws:iam::111122223333:role/b", "arn:aws:iam::111122223333:role/a"]
    statement = _perimeter_statement(roles)
    # THEN everybody else is denied reads, writes and listings of bucket and objects
    assert statement["Effect"] == "Deny" and statement["Principal"] == {"AWS": "*"}
    assert {"s3:GetObject*", "s3:PutObject*", "s3:ListBucket*", "s3:DeleteObject*"} <= set(statement["Action"])
    assert statement["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": sorted(roles)}}
    assert len(statement["Resource"]) == 2


def test_an_empty_perimeter_is_refused() -> None:
    with pytest.raises(ValueError, match="admitted_principals is empty"):
        _perimeter_statement([])
