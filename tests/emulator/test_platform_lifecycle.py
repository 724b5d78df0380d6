"""The real platform on the local emulator: bootstrap, deploy every stack, update, destroy, data survives.

This is `cdk deploy` as a user runs it, through the pinned CLI, against moto on
127.0.0.1. What the emulator cannot prove (IAM enforcement, skipped types) is
listed by the deploy's own report and in the README.
"""

from __future__ import annotations

import pytest

from stacks.config import ENVIRONMENTS
from tests.conftest import REPO_ROOT
from tools.emulator import Emulator

pytestmark = pytest.mark.slow

CONFIG = ENVIRONMENTS["dev"]
STACKS = [CONFIG.stack_name(unit) for unit in ("data", "network", "access", "registry", "notebook", "pipeline",
                                               "endpoint", "monitoring", "people")]


@pytest.fixture(scope="module")
def deployed():
    with Emulator(account_id=CONFIG.account, region=CONFIG.region) as emu:
        emu.bootstrap()
        result = emu.deploy(REPO_ROOT, stacks=STACKS)
        yield emu, result


def test_every_stack_deploys(deployed) -> None:
    emu, result = deployed
    statuses = {s["StackName"]: s["StackStatus"] for s in emu.client("cloudformation").describe_stacks()["Stacks"]}
    assert {name: statuses.get(name) for name in STACKS} == dict.fromkeys(STACKS, "CREATE_COMPLETE")
    # the emulator's own account of what it only pretended to create is there for every stack
    assert set(result.unemulated) == set(STACKS)


def test_buckets_keys_and_network_exist_with_their_settings(deployed) -> None:
    emu, _ = deployed
    s3, kms, ec2 = emu.client("s3"), emu.client("kms"), emu.client("ec2")
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    for purpose in ("raw", "processed", "models", "access-logs"):
        bucket = CONFIG.bucket_name(purpose)
        assert bucket in names
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    encryption = s3.get_bucket_encryption(Bucket=CONFIG.bucket_name("raw"))["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    for alias in ("data", "models", "logs"):
        key_id = aliases[f"alias/{CONFIG.prefix}/{alias}"]
        assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True

    vpcs = [v for v in ec2.describe_vpcs()["Vpcs"] if v["CidrBlock"] == CONFIG.network.cidr]
    assert len(vpcs) == 1
    vpc_id = vpcs[0]["VpcId"]
    assert ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])[
        "InternetGateways"] == []
    assert len(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]) == 2
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
    # dev: the S3 gateway endpoint, and the workbench's own interface endpoints (none always on)
    from stacks.notebook_stack import WORKBENCH_ENDPOINTS

    assert len(endpoints) == 1 + len(WORKBENCH_ENDPOINTS)


def test_the_guard_decides_on_the_deployed_lock_table(deployed) -> None:
    # GIVEN the monitoring stack's lock table and state machine as CloudFormation created them
    from stacks.retrain_guard import LOCK_CONDITION
    from tools.retrain_guard import decide

    emu, _ = deployed
    dynamodb = emu.client("dynamodb")
    table = f"{CONFIG.prefix}-retrain-lock"
    assert dynamodb.describe_table(TableName=table)["Table"]["KeySchema"] == [
        {"AttributeName": "LockId", "KeyType": "HASH"}]
    machines = emu.client("stepfunctions").list_state_machines()["stateMachines"]
    (machine,) = [m for m in machines if m["name"] == f"{CONFIG.prefix}-retrain-guard"]
    definition = emu.client("stepfunctions").describe_state_machine(stateMachineArn=machine["stateMachineArn"])
    assert LOCK_CONDITION in definition["definition"]
    # WHEN two alarms come an hour apart THEN the second is suppressed by the deployed table
    started: list = []

    def alarm(now: int):
        return decide(dynamodb, table, reason="drift", alarm="a", now=now, interval_hours=24, holder=str(now),
                      pipeline=CONFIG.pipeline_name, start=started.append, notify=lambda _: None).verdict

    assert [alarm(1_796_000_000), alarm(1_796_003_600)] == ["started", "suppressed"]
    assert started == ["drift"]


def test_roles_have_only_their_own_customer_managed_policies(deployed) -> None:
    emu, _ = deployed
    iam = emu.client("iam")
    # Platform roles have fixed names (the data perimeter names them): the five
    # machine roles, the two batch-scoring roles, the monitoring stack's schedule,
    # rule and guard roles, the key administrator, the break-glass role and the five personas.
    roles = [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(f"{CONFIG.prefix}-")]
    assert len(roles) == 17
    spilled = {}  # roles whose grants fill IAM's 6,144 characters take a second policy of their own
    for role in roles:
        attached = iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
        assert 1 <= len(attached) <= 2
        if len(attached) == 2:
            spilled[role["RoleName"]] = attached
        assert all(":aws:policy/" not in a["PolicyArn"] for a in attached), "no AWS managed policies"
        assert iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"] == []
        # every one under the permissions boundary, which exists
        boundary = iam.get_role(RoleName=role["RoleName"])["Role"]["PermissionsBoundary"]
        assert boundary["PermissionsBoundaryArn"] == CONFIG.permissions_boundary_arn
    assert iam.get_policy(PolicyArn=CONFIG.permissions_boundary_arn)["Policy"]["AttachmentCount"] == 0
    assert sorted(spilled) == [CONFIG.role_name(r) for r in ("data-scientist", "pipeline", "processing")]


def test_each_persona_has_a_group_with_one_policy_and_no_member(deployed) -> None:
    from stacks.config import PERSONAS

    emu, _ = deployed
    iam = emu.client("iam")
    for persona in PERSONAS:
        group = iam.get_group(GroupName=CONFIG.role_name(persona))
        assert group["Users"] == []
        assert len(iam.list_attached_group_policies(GroupName=CONFIG.role_name(persona))["AttachedPolicies"]) == 1
    assert iam.list_users()["Users"] == []


def test_every_privileged_role_use_is_routed_to_the_alert_topic(deployed) -> None:
    emu, _ = deployed
    events = emu.client("events")
    rules = events.list_rules(NamePrefix=f"{CONFIG.prefix}-privileged-role-")["Rules"]
    assert sorted(r["Name"] for r in rules) == [f"{CONFIG.prefix}-privileged-role-assumed",
                                                 f"{CONFIG.prefix}-privileged-role-console-switch"]
    for rule in rules:
        (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        assert target["Arn"] == CONFIG.alert_topic_arn
        assert "InputTransformer" in target


def test_sagemaker_resources_exist(deployed) -> None:
    emu, _ = deployed
    sm = emu.client("sagemaker")
    groups = [g["ModelPackageGroupName"] for g in sm.list_model_package_groups()["ModelPackageGroupSummaryList"]]
    assert CONFIG.model_package_group_name in groups
    assert [n["NotebookInstanceName"] for n in sm.list_notebook_instances()["NotebookInstances"]]
    endpoints = sm.list_endpoints()["Endpoints"]
    assert len(endpoints) == 1


def test_update_then_destroy_keeps_data_buckets_objects_and_keys(deployed) -> None:
    emu, _ = deployed
    s3, kms, sm = emu.client("s3"), emu.client("kms"), emu.client("sagemaker")
    raw = CONFIG.bucket_name("raw")
    s3.put_object(Bucket=raw, Key="input/keep-me.csv", Body=b"label,x\n1,2\n")

    # WHEN a changed configuration is deployed (another approved model version)
    emu.deploy(REPO_ROOT, stacks=[CONFIG.stack_name("endpoint")], context={"model_package_version": "2"},
               report=False)
    models = [sm.describe_model(ModelName=m["ModelName"]) for m in sm.list_models()["Models"]]
    packages = [m["PrimaryContainer"].get("ModelPackageName", "") for m in models]
    # THEN the endpoint stack's model follows it
    assert any(p.endswith(f"model-package/{CONFIG.model_package_group_name}/2") for p in packages), packages

    # WHEN everything is destroyed
    emu.destroy(REPO_ROOT)
    assert emu.client("cloudformation").describe_stacks()["Stacks"] == [] or all(
        s["StackName"] not in STACKS for s in emu.client("cloudformation").describe_stacks()["Stacks"]
    )
    # THEN the data and the keys that encrypt it are still there
    assert s3.get_object(Bucket=raw, Key="input/keep-me.csv")["Body"].read() == b"label,x\n1,2\n"
    for purpose in ("raw", "processed", "models", "access-logs"):
        s3.head_bucket(Bucket=CONFIG.bucket_name(purpose))
    keys = [kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"] for k in kms.list_keys()["Keys"]]
    platform_keys = [k for k in keys if k.get("Description", "").startswith("ML platform")]
    assert len(platform_keys) == 3
    assert all(k["KeyState"] == "Enabled" for k in platform_keys)

