"""The data perimeter's rows: the keys and data buckets refuse every principal the platform does not name.

The principals here are not the platform's machine roles: an account
administrator whose identity policy allows ``*`` on ``*``, the CDK deployer,
another account, and the two roles people assume (key administrator,
break-glass). Each row is decided by the real evaluator with the resource's
own policy (key policy, bucket policy, trust policy).
"""

from __future__ import annotations

from tools.iam_evaluator.decide import ContextValue
from tools.iam_evaluator.personas import PERSONA_ROLES

#: Construct IDs (logical ID prefixes) of the roles people assume: the data stack's
#: key administrator and break-glass roles, and the people stack's personas.
PEOPLE = {
    "break-glass": "BreakGlassRole",
    "key-admin": "KeyAdministratorRole",
    **PERSONA_ROLES,
}
#: What an account administrator (or a role with AdministratorAccess) holds.
ADMIN_STAR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def perimeter_cases(p, case, allow: str, deny: str, foreign_account: str) -> list:
    """``p`` is the contract's platform view, ``case`` its row type."""
    admin = p.config.arn("iam", "role/Admin")
    outsider = f"arn:aws:iam::{foreign_account}:role/Admin"
    deployer = p.config.deployer_role_arn
    star = (ADMIN_STAR,)
    raw_object = f"{p.bucket('raw')}/{p.raw}data.csv"
    model_object = f"{p.bucket('models')}/training/run-1/model.tar.gz"
    via_s3: dict[str, ContextValue] = p.via_s3
    grant_for_resource: dict[str, ContextValue] = {"kms:GrantIsForAWSResource": True}
    break_glass = p.people["break-glass"]
    return [
        # An administrator of the account, with * on *: stopped by the resources themselves.
        case(admin, "s3:GetObject", raw_object, {}, deny, "an account admin with * reads raw data",
             identity_policies=star),
        case(admin, "s3:PutObject", model_object, {}, deny, "an account admin with * overwrites a model",
             identity_policies=star),
        case(admin, "s3:ListBucket", p.bucket("processed"), {}, deny, "an account admin with * lists channels",
             identity_policies=star),
        case(admin, "kms:Decrypt", p.data_key, via_s3, deny, "an account admin with * decrypts with the data key",
             identity_policies=star),
        case(admin, "kms:Decrypt", p.model_key, {}, deny, "an account admin with * decrypts with the model key",
             identity_policies=star),
        case(admin, "kms:ScheduleKeyDeletion", p.data_key, {}, deny, "an account admin with * deletes the data key",
             identity_policies=star),
        case(admin, "kms:PutKeyPolicy", p.model_key, {}, deny, "an account admin with * rewrites a key policy",
             identity_policies=star),
        case(admin, "sagemaker:ListModelPackageGroups", "*", {}, allow,
             "control: the same admin is allowed what the perimeter does not guard", identity_policies=star),
        case(outsider, "s3:GetObject", raw_object, {}, deny, "another account's admin reads raw data",
             identity_policies=star),
        # The deployer keeps keys as the template says, and never reads data or deletes a key.
        case(deployer, "kms:PutKeyPolicy", p.data_key, {}, allow, "CloudFormation updates a key policy",
             identity_policies=star),
        case(deployer, "kms:CreateGrant", p.model_key, grant_for_resource, allow,
             "CloudFormation creates the endpoint's volume grant", identity_policies=star),
        case(deployer, "kms:ScheduleKeyDeletion", p.data_key, {}, deny, "the deployer deletes a key",
             identity_policies=star),
        case(deployer, "kms:Decrypt", p.data_key, via_s3, deny, "the deployer decrypts data",
             identity_policies=star),
        case(deployer, "s3:GetObject", raw_object, {}, deny, "the deployer reads raw data", identity_policies=star),
        # The key administrator manages keys and reads nothing.
        case("key-admin", "kms:ScheduleKeyDeletion", p.data_key, {}, allow, "schedule a key's deletion"),
        case("key-admin", "kms:DisableKeyRotation", p.model_key, {}, allow, "switch rotation off"),
        case("key-admin", "kms:Decrypt", p.data_key, via_s3, deny, "decrypt data"),
        case("key-admin", "s3:GetObject", raw_object, {}, deny, "read raw data"),
        # Break-glass reads everything, writes nothing, only through S3.
        case("break-glass", "s3:GetObject", raw_object, {}, allow, "read raw data in an emergency"),
        case("break-glass", "s3:GetObject", model_object, {}, allow, "read a model in an emergency"),
        case("break-glass", "kms:Decrypt", p.data_key, via_s3, allow, "decrypt data through S3"),
        case("break-glass", "s3:PutObject", raw_object, {}, deny, "write raw data"),
        case("break-glass", "kms:Decrypt", p.data_key, {}, deny, "decrypt outside S3"),
        # People assume these roles only with MFA.
        case(admin, "sts:AssumeRole", break_glass, {"aws:MultiFactorAuthPresent": True}, allow,
             "assume break-glass with MFA", identity_policies=star),
        case(admin, "sts:AssumeRole", break_glass, {"aws:MultiFactorAuthPresent": False}, deny,
             "assume break-glass without MFA", identity_policies=star),
    ]
