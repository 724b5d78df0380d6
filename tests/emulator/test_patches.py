"""Fast tests of each moto patch and of the unemulated-resources report, through the server's APIs."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.emulator.conftest import deploy_template
from tools.emulator import unemulated_resources
from tools.emulator.patches import MOTO_VERSION, PATCHES

RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": {"Fn::Join": ["", ["arn:aws:iam::", {"Ref": "AWS::AccountId"}, ":root"]]}},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}


def key(**props) -> dict:
    return {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": KEY_POLICY, **props}, **RETAIN}


def bucket(**props) -> dict:
    return {"Type": "AWS::S3::Bucket", "Properties": props, **RETAIN}


def outputs(emu, stack: str) -> dict[str, str]:
    described = emu.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def test_patches_are_small_documented_functions():
    for patch in PATCHES:
        assert patch.__doc__ and f"moto {MOTO_VERSION}" in patch.__doc__, patch.__name__


def test_change_set_stacks_have_outputs_and_exports_for_import_value(emulator):
    deploy_template(
        emulator,
        "exporter",
        {
            "Resources": {"Key": key()},
            "Outputs": {"KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}, "Export": {"Name": "shared-key-arn"}}},
        },
    )
    arn = outputs(emulator, "exporter")["KeyArn"]
    exports = {e["Name"]: e["Value"] for e in emulator.client("cloudformation").list_exports()["Exports"]}
    assert exports["shared-key-arn"] == arn
    deploy_template(
        emulator,
        "importer",
        {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {}}},
            "Outputs": {"Imported": {"Value": {"Fn::ImportValue": "shared-key-arn"}}},
        },
    )
    assert outputs(emulator, "importer")["Imported"] == arn


def test_missing_change_set_is_change_set_not_found_and_deleting_it_is_a_no_op(emulator):
    cfn = emulator.client("cloudformation")
    cfn.delete_change_set(StackName="exporter", ChangeSetName="cdk-deploy-change-set")
    with pytest.raises(ClientError) as err:
        cfn.describe_change_set(StackName="exporter", ChangeSetName="cdk-deploy-change-set")
    assert err.value.response["Error"]["Code"] == "ChangeSetNotFound"


def test_failing_change_set_fails_loudly_instead_of_reporting_success(emulator):
    broken = {"Type": "AWS::SageMaker::EndpointConfig", "Properties": {}}  # ProductionVariants is required
    with pytest.raises(ClientError, match="emulator \\(moto\\) failed to apply the change set") as err:
        deploy_template(emulator, "broken", {"Resources": {"Config": broken}})
    assert err.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    status = emulator.client("cloudformation").describe_stacks(StackName="broken")["Stacks"][0]["StackStatus"]
    assert status == "CREATE_FAILED"


def test_ssm_typed_parameter_keeps_its_previous_value(emulator):
    emulator.client("ssm").put_parameter(Name="/cdk-bootstrap/test/version", Value="30", Type="String")
    template = {
        "Parameters": {
            "BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/cdk-bootstrap/test/version"}
        },
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {}}},
        "Outputs": {"Version": {"Value": {"Ref": "BootstrapVersion"}}},
    }
    deploy_template(emulator, "ssm-param", template)
    template["Resources"]["Other"] = {"Type": "AWS::SNS::Topic", "Properties": {}}
    cfn = emulator.client("cloudformation")
    cfn.create_change_set(
        StackName="ssm-param",
        ChangeSetName="again",
        TemplateBody=json.dumps(template),
        ChangeSetType="UPDATE",
        Parameters=[{"ParameterKey": "BootstrapVersion", "UsePreviousValue": True}],
    )
    cfn.execute_change_set(StackName="ssm-param", ChangeSetName="again")
    assert outputs(emulator, "ssm-param")["Version"] == "30"


def test_kms_key_from_template_is_tagged_and_usable(emulator):
    tags = [{"Key": "revision", "Value": "1"}]
    deploy_template(
        emulator,
        "kms",
        {
            "Resources": {"Key": key(EnableKeyRotation=True, Tags=tags)},
            "Outputs": {"Id": {"Value": {"Ref": "Key"}}},
        },
    )
    kms = emulator.client("kms")
    key_id = outputs(emulator, "kms")["Id"]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "revision", "TagValue": "1"}]
    assert json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])["Statement"]


def lifecycle(days: int) -> dict:
    return {
        "Rules": [{"Id": "noncurrent", "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": days}}]
    }


def test_s3_bucket_settings_on_create_and_update(emulator):
    props = {
        "VersioningConfiguration": {"Status": "Enabled"},
        "PublicAccessBlockConfiguration": dict.fromkeys(
            ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
        ),
        "LifecycleConfiguration": lifecycle(30),
        "Tags": [{"Key": "revision", "Value": "1"}],
    }
    template = {"Resources": {"Data": bucket(**props)}, "Outputs": {"Name": {"Value": {"Ref": "Data"}}}}
    deploy_template(emulator, "s3", template)
    s3 = emulator.client("s3")
    name = outputs(emulator, "s3")["Name"]
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    assert all(s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"].values())
    assert s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"][0]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 30
    }

    template["Resources"]["Data"]["Properties"].update(
        LifecycleConfiguration=lifecycle(60), Tags=[{"Key": "revision", "Value": "2"}]
    )
    deploy_template(emulator, "s3", template, update=True)
    assert outputs(emulator, "s3")["Name"] == name, "an update without BucketName must keep the bucket"
    rules = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    assert rules[0]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 60}
    assert s3.get_bucket_tagging(Bucket=name)["TagSet"] == [{"Key": "revision", "Value": "2"}]


def test_retained_resources_survive_stack_deletion(emulator):
    template = {
        "Resources": {"Key": key(), "Data": bucket(), "Scratch": {"Type": "AWS::S3::Bucket", "Properties": {}}},
        "Outputs": {
            "Key": {"Value": {"Ref": "Key"}},
            "Data": {"Value": {"Ref": "Data"}},
            "Scratch": {"Value": {"Ref": "Scratch"}},
        },
    }
    deploy_template(emulator, "retain", template)
    out = outputs(emulator, "retain")
    emulator.client("cloudformation").delete_stack(StackName="retain")
    buckets = {b["Name"] for b in emulator.client("s3").list_buckets()["Buckets"]}
    assert out["Data"] in buckets
    assert out["Scratch"] not in buckets
    assert emulator.client("kms").describe_key(KeyId=out["Key"])["KeyMetadata"]["KeyState"] == "Enabled"


def test_report_names_skipped_types_ignored_properties_and_unapplied_updates(emulator):
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
        },
    }
    template = {
        "Conditions": {"Never": {"Fn::Equals": ["a", "b"]}},
        "Resources": {
            "Key": key(Description="v1"),
            "Role": role,
            "Pipeline": {"Type": "AWS::SageMaker::Pipeline", "Properties": {"PipelineName": "p"}},
            "Skipped": {"Type": "AWS::SageMaker::Pipeline", "Condition": "Never", "Properties": {}},
            "CDKMetadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2"}},
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        },
    }
    deploy_template(emulator, "report", template)
    assert unemulated_resources("report", emulator=emulator) == [
        ("Role", "AWS::IAM::Role", "moto ignored properties: ManagedPolicyArns"),
        (
            "Pipeline",
            "AWS::SageMaker::Pipeline",
            f"moto {MOTO_VERSION} has no CloudFormation model for this type: skipped",
        ),
    ]

    template["Resources"]["Key"]["Properties"]["Description"] = "v2"
    deploy_template(emulator, "report", template, update=True)
    gaps = unemulated_resources("report", emulator=emulator)
    assert (
        "Key",
        "AWS::KMS::Key",
        "template changed but moto cannot update this type; it keeps its old properties",
    ) in gaps


def test_direct_update_keeps_a_defaulted_parameter(emulator):
    emulator.client("ssm").put_parameter(Name="/cdk-bootstrap/direct/version", Value="31", Type="String")
    template = {
        "Parameters": {
            "BootstrapVersion": {
                "Type": "AWS::SSM::Parameter::Value<String>",
                "Default": "/cdk-bootstrap/direct/version",
            }
        },
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {}}},
        "Outputs": {"Version": {"Value": {"Ref": "BootstrapVersion"}}},
    }
    cfn = emulator.client("cloudformation")
    cfn.create_stack(StackName="direct", TemplateBody=json.dumps(template))
    template["Resources"]["Other"] = {"Type": "AWS::SNS::Topic", "Properties": {}}
    cfn.update_stack(
        StackName="direct",
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": "BootstrapVersion", "UsePreviousValue": True}],
    )
    assert outputs(emulator, "direct")["Version"] == "31"


def test_notebook_instance_keeps_its_names_and_security_settings(emulator):
    key_arn = emulator.client("kms").create_key()["KeyMetadata"]["Arn"]
    template = {
        "Resources": {
            "Lifecycle": {
                "Type": "AWS::SageMaker::NotebookInstanceLifecycleConfig",
                "Properties": {
                    "NotebookInstanceLifecycleConfigName": "idle-stop",
                    "OnStart": [{"Content": "ZWNobw=="}],
                },
            },
            "Notebook": {
                "Type": "AWS::SageMaker::NotebookInstance",
                "Properties": {
                    "NotebookInstanceName": "workbench",
                    "InstanceType": "ml.t3.medium",
                    "RoleArn": "arn:aws:iam::123456789012:role/notebook",
                    "KmsKeyId": key_arn,
                    "LifecycleConfigName": {"Fn::GetAtt": ["Lifecycle", "NotebookInstanceLifecycleConfigName"]},
                    "DirectInternetAccess": "Disabled",
                    "RootAccess": "Disabled",
                    "VolumeSizeInGB": 20,
                },
            },
        }
    }
    deploy_template(emulator, "notebook", template)
    notebook = emulator.client("sagemaker").describe_notebook_instance(NotebookInstanceName="workbench")
    assert notebook["KmsKeyId"] == key_arn
    assert notebook["NotebookInstanceLifecycleConfigName"] == "idle-stop"
    assert notebook["DirectInternetAccess"] == "Disabled"
    assert notebook["RootAccess"] == "Disabled"
    assert notebook["VolumeSizeInGB"] == 20
    assert unemulated_resources("notebook", emulator=emulator) == []


def test_failed_stack_delete_keeps_the_stack_for_a_retry(emulator):
    template = {
        "Resources": {"Scratch": {"Type": "AWS::S3::Bucket", "Properties": {}}, "Key": key()},
        "Outputs": {"Scratch": {"Value": {"Ref": "Scratch"}}},
    }
    deploy_template(emulator, "undeletable", template)
    s3, cfn = emulator.client("s3"), emulator.client("cloudformation")
    name = outputs(emulator, "undeletable")["Scratch"]
    s3.put_object(Bucket=name, Key="left-behind", Body=b"x")

    cfn.delete_stack(StackName="undeletable")
    stack = cfn.describe_stacks(StackName="undeletable")["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_FAILED"
    reason = cfn.describe_stack_events(StackName="undeletable")["StackEvents"][0]["ResourceStatusReason"]
    assert reason.startswith("BucketNotEmpty: The bucket you tried to delete is not empty"), reason

    s3.delete_object(Bucket=name, Key="left-behind")
    cfn.delete_stack(StackName="undeletable")
    assert "undeletable" not in {s["StackName"] for s in cfn.describe_stacks()["Stacks"]}
    assert name not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_report_finds_the_emulator_from_the_environment(emulator, monkeypatch):
    deploy_template(emulator, "from-env", {"Resources": {"P": {"Type": "AWS::SageMaker::Pipeline", "Properties": {}}}})
    for key, value in emulator.env(base={}).items():
        monkeypatch.setenv(key, value)
    assert [gap[:2] for gap in unemulated_resources("from-env")] == [("P", "AWS::SageMaker::Pipeline")]


def test_wrap_keeps_the_kind_of_method():
    from tools.emulator.wrapping import wrap as _wrap

    class Target:
        def plain(self, x):
            return ("plain", x)

        @classmethod
        def klass(cls, x):
            return (cls.__name__, x)

        @staticmethod
        def static(x):
            return ("static", x)

    for name in ("plain", "klass", "static"):
        _wrap(Target, name, lambda original, *args: ("wrapped", original(*args)))
    assert Target().plain(1) == ("wrapped", ("plain", 1))
    assert Target.klass(2) == ("wrapped", ("Target", 2))
    assert Target().static(3) == ("wrapped", ("static", 3))


def test_retained_resources_survive_removal_from_the_template(emulator):
    template = {
        "Resources": {
            "Data": bucket(),
            "Staging": {"Type": "AWS::S3::Bucket", "Properties": {}, "DeletionPolicy": "RetainExceptOnCreate"},
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        },
        "Outputs": {"Data": {"Value": {"Ref": "Data"}}, "Staging": {"Value": {"Ref": "Staging"}}},
    }
    deploy_template(emulator, "refactor", template)
    out = outputs(emulator, "refactor")
    deploy_template(emulator, "refactor", {"Resources": {"Topic": template["Resources"]["Topic"]}}, update=True)
    buckets = {b["Name"] for b in emulator.client("s3").list_buckets()["Buckets"]}
    assert {out["Data"], out["Staging"]} <= buckets


def test_report_names_custom_resources_whose_handler_never_ran(emulator):
    template = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
            },
            "Handler": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "index.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"ZipFile": "def handler(event, context):\n    pass\n"},
                },
            },
            "Restrict": {
                "Type": "Custom::VpcRestrictDefaultSG",
                "Properties": {"ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]}},
            },
        }
    }
    deploy_template(emulator, "custom", template)
    gaps = unemulated_resources("custom", emulator=emulator)
    assert [(lid, rtype) for lid, rtype, _ in gaps] == [("Restrict", "Custom::VpcRestrictDefaultSG")]
    assert "handler never answered" in gaps[0][2]


def test_security_group_egress_replaces_the_default_allow_all(emulator):
    template = {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.20.0.0/16"}},
            "Endpoints": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {
                    "GroupDescription": "no egress",
                    "VpcId": {"Ref": "Vpc"},
                    "SecurityGroupEgress": [
                        {"CidrIp": "255.255.255.255/32", "IpProtocol": "icmp", "FromPort": 252, "ToPort": 86}
                    ],
                },
            },
            "Workload": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {
                    "GroupDescription": "https only",
                    "VpcId": {"Ref": "Vpc"},
                    "SecurityGroupEgress": [
                        {"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}
                    ],
                },
            },
            "AmongWorkloads": {
                "Type": "AWS::EC2::SecurityGroupEgress",
                "Properties": {
                    "GroupId": {"Fn::GetAtt": ["Workload", "GroupId"]},
                    "DestinationSecurityGroupId": {"Fn::GetAtt": ["Workload", "GroupId"]},
                    "IpProtocol": "tcp",
                    "FromPort": 0,
                    "ToPort": 65535,
                },
            },
        },
        "Outputs": {
            "Endpoints": {"Value": {"Fn::GetAtt": ["Endpoints", "GroupId"]}},
            "Workload": {"Value": {"Fn::GetAtt": ["Workload", "GroupId"]}},
        },
    }
    deploy_template(emulator, "egress", template)
    out = outputs(emulator, "egress")
    ec2 = emulator.client("ec2")

    def egress(group_id: str) -> list[tuple]:
        group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
        return sorted(
            (
                p["IpProtocol"],
                p.get("FromPort"),
                p.get("ToPort"),
                tuple(r["CidrIp"] for r in p.get("IpRanges", [])),
                tuple(g["GroupId"] for g in p.get("UserIdGroupPairs", [])),
            )
            for p in group["IpPermissionsEgress"]
        )

    assert egress(out["Endpoints"]) == [("icmp", 252, 86, ("255.255.255.255/32",), ())]
    assert egress(out["Workload"]) == [
        ("tcp", 0, 65535, (), (out["Workload"],)),
        ("tcp", 443, 443, ("0.0.0.0/0",), ()),
    ]
    assert unemulated_resources("egress", emulator=emulator) == []
    emulator.client("cloudformation").delete_stack(StackName="egress")
    assert "egress" not in {s["StackName"] for s in emulator.client("cloudformation").describe_stacks()["Stacks"]}
    assert not ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": [out["Workload"]]}])[
        "SecurityGroups"
    ]


def test_a_model_package_keeps_its_model_card(emulator):
    # GIVEN a model package created with a model card, as the pipeline's RegisterModel step sends it
    sm = emulator.client("sagemaker")
    sm.create_model_package_group(ModelPackageGroupName="cards")
    card = {"ModelCardContent": '{"intended_uses": {"risk_rating": "Low"}}', "ModelCardStatus": "PendingReview"}
    arn = sm.create_model_package(
        ModelPackageGroupName="cards", ModelCard=card,
        InferenceSpecification={"Containers": [{"Image": "image:1"}], "SupportedContentTypes": ["text/csv"],
                                "SupportedResponseMIMETypes": ["text/csv"]})["ModelPackageArn"]
    # THEN DescribeModelPackage returns it, as SageMaker does; a package without one has none
    assert sm.describe_model_package(ModelPackageName=arn)["ModelCard"] == card
    other = sm.create_model_package(ModelPackageGroupName="cards", InferenceSpecification={
        "Containers": [{"Image": "image:1"}], "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"]})["ModelPackageArn"]
    assert "ModelCard" not in sm.describe_model_package(ModelPackageName=other)


def test_iam_group_is_created_and_its_managed_policy_attached(emulator):
    # GIVEN a group and a customer-managed policy naming it in Groups, as the people stack has them
    template = {
        "Resources": {
            "Group": {"Type": "AWS::IAM::Group", "Properties": {"GroupName": "mlp-dev-auditor"}},
            "GroupPolicy": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "Groups": [{"Ref": "Group"}],
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Action": "sts:AssumeRole",
                         "Resource": "arn:aws:iam::123456789012:role/mlp-dev-auditor"}]},
                },
            },
        },
        "Outputs": {"GroupArn": {"Value": {"Fn::GetAtt": ["Group", "Arn"]}}},
    }
    # WHEN the stack deploys THEN the group exists with the policy attached, and the report has no gap
    deploy_template(emulator, "groups", template)
    iam = emulator.client("iam")
    assert iam.get_group(GroupName="mlp-dev-auditor")["Group"]["Arn"] == outputs(emulator, "groups")["GroupArn"]
    attached = iam.list_attached_group_policies(GroupName="mlp-dev-auditor")["AttachedPolicies"]
    assert len(attached) == 1
    assert unemulated_resources("groups", emulator=emulator) == []
    # AND deleting the stack removes the group
    emulator.client("cloudformation").delete_stack(StackName="groups")
    assert "mlp-dev-auditor" not in {g["GroupName"] for g in iam.list_groups()["Groups"]}


def test_glue_database_table_and_athena_workgroup_are_created_from_the_template(emulator):
    # GIVEN the raw-data catalog as the data stack renders it with the athena source (constructs/raw_data_catalog.py)
    table_input = {
        "Name": "raw_data", "TableType": "EXTERNAL_TABLE", "Parameters": {"skip.header.line.count": "1"},
        "StorageDescriptor": {"Location": "s3://raw-bucket/input/", "Columns": [{"Name": "x", "Type": "double"}],
                              "SerdeInfo": {"SerializationLibrary":
                                            "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"}},
    }
    settings = {"EnforceWorkGroupConfiguration": True, "BytesScannedCutoffPerQuery": 10_000_000_000,
                "ResultConfiguration": {"OutputLocation": "s3://processed/athena-results/",
                                        "EncryptionConfiguration": {"EncryptionOption": "SSE_KMS",
                                                                    "KmsKey": "arn:aws:kms:us-east-1:1:key/k"}}}
    template = {"Resources": {
        "Database": {"Type": "AWS::Glue::Database",
                     "Properties": {"CatalogId": {"Ref": "AWS::AccountId"}, "DatabaseInput": {"Name": "mlp_dev_raw"}}},
        "Table": {"Type": "AWS::Glue::Table", "DependsOn": "Database",
                  "Properties": {"CatalogId": {"Ref": "AWS::AccountId"}, "DatabaseName": "mlp_dev_raw",
                                 "TableInput": table_input}},
        "WorkGroup": {"Type": "AWS::Athena::WorkGroup",
                      "Properties": {"Name": "mlp-dev-preprocess", "RecursiveDeleteOption": True,
                                     "WorkGroupConfiguration": settings}},
    }}
    # WHEN it deploys THEN the table reads its location, the workgroup keeps its settings, nothing is skipped
    deploy_template(emulator, "catalog", template)
    table = emulator.client("glue").get_table(DatabaseName="mlp_dev_raw", Name="raw_data")["Table"]
    assert table["StorageDescriptor"]["Location"] == "s3://raw-bucket/input/"
    workgroup = emulator.client("athena").get_work_group(WorkGroup="mlp-dev-preprocess")["WorkGroup"]
    assert workgroup["Configuration"]["EnforceWorkGroupConfiguration"] is True
    assert workgroup["Configuration"]["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    assert unemulated_resources("catalog", emulator=emulator) == []
    # AND deleting the stack removes all three
    emulator.client("cloudformation").delete_stack(StackName="catalog")
    assert emulator.client("glue").get_databases()["DatabaseList"] == []
    assert "mlp-dev-preprocess" not in {w["Name"] for w in emulator.client("athena").list_work_groups()["WorkGroups"]}
