"""Smallest corrections to moto 5.2.5 that CDK deploys need; applied inside the server process only.

Each patch is one function whose docstring names the moto behaviour it corrects. They wrap moto's
own functions rather than copy them, so a moto upgrade keeps its fixes; `apply_all` refuses to
run against another moto version, because every patch was checked against 5.2.5's source.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from typing import Any

from tools.emulator.tracking import UPDATES_NOT_APPLIED, track_property_reads
from tools.emulator.wrapping import wrap as _wrap

MOTO_VERSION = "5.2.5"
_APPLIED: list[str] = []


def apply_all() -> list[str]:
    """Apply every patch once; returns the names of the applied patches."""
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"tools.emulator patches were written for moto {MOTO_VERSION}, found {moto.__version__}: "
            "re-check each patch in tools/emulator/patches.py against the new moto and update MOTO_VERSION"
        )
    if not _APPLIED:
        for patch in PATCHES:
            patch()
            _APPLIED.append(patch.__name__)
        from moto.cloudformation import parsing

        # The model map is cached on first use; new models must be visible to it.
        parsing.get_model_list.cache_clear()
        parsing.get_model_map.cache_clear()
        parsing.get_name_type_map.cache_clear()
    return list(_APPLIED)


def _find_change_set(backend: Any, name: str, stack_name: str | None = None) -> Any:
    """A change set by ARN, or by name within the stack when the caller names one."""
    if name in backend.change_sets:
        return backend.change_sets[name]
    matches = [
        c
        for c in backend.change_sets.values()
        if c.change_set_name == name and stack_name in (None, c.stack_name, c.stack_id)
    ]
    return matches[-1] if matches else None


# -- CloudFormation engine -----------------------------------------------------------------------


def fail_change_set_execution_loudly() -> None:
    """moto 5.2.5: an exception while executing a change set becomes an HTTP 500.

    The SDK retries a 500; on the retry moto's ResourceMap already holds the new template, sees no
    difference and reports success, so resources after the failing one are silently never built.
    Turn the exception into a 400 ValidationError (not retried) that names the resource's error,
    and mark the stack failed, as CloudFormation would.
    """
    from moto.cloudformation.exceptions import CloudFormationError, ValidationError
    from moto.cloudformation.models import CloudFormationBackend

    def execute(original: Callable[..., Any], self: Any, change_set_name: str, stack_name: str | None = None) -> Any:
        try:
            return original(self, change_set_name, stack_name)
        except CloudFormationError:
            raise
        except Exception as exc:
            traceback.print_exc()  # the server log keeps moto's own stack for the patch author
            change_set = _find_change_set(self, change_set_name, stack_name)
            if change_set is not None:
                change_set.stack.status = f"{change_set.change_set_type}_FAILED"
                change_set.execution_status = "EXECUTE_FAILED"
            raise ValidationError(
                stack_name, message=f"emulator (moto) failed to apply the change set: {type(exc).__name__}: {exc}"
            ) from exc

    _wrap(CloudFormationBackend, "execute_change_set", execute)


def change_set_outputs_and_exports() -> None:
    """moto 5.2.5: a stack created through a change set (how the CDK CLI deploys) never gets
    its Outputs (its output map is built from the empty template it was created with) nor its
    Exports, and its resources cannot resolve Fn::ImportValue (it has no view of the exports).

    So the CLI finds no BootstrapVersion output on CDKToolkit, and cross-stack references fail.
    Give the stack the backend's exports before executing, and afterwards rebuild its outputs
    and register its exports as CreateStack/UpdateStack do. Also find the change set within the
    named stack, and drop the stack's change sets after execution, as CloudFormation does.
    """
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import CloudFormationBackend

    def execute(original: Callable[..., Any], self: Any, change_set_name: str, stack_name: str | None = None) -> Any:
        change_set = _find_change_set(self, change_set_name, stack_name)
        if change_set is None:
            return original(self, change_set_name, stack_name)
        stack = change_set.stack
        stack.resource_map.cross_stack_resources = self.exports
        result = original(self, change_set.change_set_id, stack_name)
        for name in [n for n, e in self.exports.items() if e.exporting_stack_id == stack.stack_id]:
            del self.exports[name]
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.output_map = stack._create_output_map()
        for export in stack.exports:
            if export.name in self.exports:
                raise ValidationError(
                    stack.stack_id, message=f"Export {export.name} is already exported by another stack"
                )
            self.exports[export.name] = export
        # CloudFormation removes a stack's change sets once one is executed. moto keeps them, and
        # since the CLI names every stack's change set `cdk-deploy-change-set`, moto's by-name
        # lookups (first or last match across all stacks) then pick another stack's change set.
        for change_set_id in [i for i, c in self.change_sets.items() if c.stack_id == stack.stack_id]:
            del self.change_sets[change_set_id]
        return result

    _wrap(CloudFormationBackend, "execute_change_set", execute)


def failed_stack_delete_keeps_the_stack() -> None:
    """moto 5.2.5: DeleteStack removes the stack from the stack list before deleting its
    resources; when one cannot be deleted (a non-empty bucket, a VPC with dependents) the API
    call fails, the stack is gone and its remaining resources are orphaned, so `cdk destroy`
    cannot be retried. Keep the stack in DELETE_FAILED with the reason, as CloudFormation does.
    """
    from moto.cloudformation.models import CloudFormationBackend

    def delete(original: Callable[..., Any], self: Any, name_or_stack_id: str) -> None:
        stack = self.stacks.get(name_or_stack_id)
        try:
            original(self, name_or_stack_id)
        except Exception as exc:
            if stack is None:  # deleted by name: the inner call by stack id already handled it
                raise
            self.stacks[stack.stack_id] = stack
            stack.status = "DELETE_FAILED"
            reason = str(exc) if str(exc).startswith(type(exc).__name__) else f"{type(exc).__name__}: {exc}"
            stack._add_stack_event("DELETE_FAILED", resource_status_reason=reason)

    _wrap(CloudFormationBackend, "delete_stack", delete)


RETAINING_POLICIES = ("Retain", "RetainExceptOnCreate")


def deletion_policy_retain_everywhere() -> None:
    """moto 5.2.5 honours DeletionPolicy only on stack deletion and only the exact value
    "Retain": a retained resource dropped from the template by an update is deleted, and
    "RetainExceptOnCreate" is ignored. CloudFormation keeps both; a data bucket must survive
    a refactoring that removes it from the stack.
    """
    from moto.cloudformation.parsing import ResourceMap

    def delete_resource(original: Callable[..., Any], self: Any, parsed_resource: Any, resource_json: Any) -> Any:
        if resource_json.get("DeletionPolicy") in RETAINING_POLICIES:
            return None
        return original(self, parsed_resource, resource_json)

    _wrap(ResourceMap, "_delete_resource", delete_resource)


def change_set_not_found() -> None:
    """moto 5.2.5: DescribeChangeSet of an unknown change set raises a ValidationError ("Stack
    with id ... does not exist") and DeleteChangeSet an UnboundLocalError (HTTP 500).

    Before each deploy the CDK CLI deletes `cdk-deploy-change-set` (which CloudFormation accepts
    when there is none) and polls DescribeChangeSet until ChangeSetNotFoundException, so the
    second `cdk deploy` of a stack failed. Do the same: a no-op delete, a ChangeSetNotFound describe.
    """
    from moto.cloudformation.exceptions import CloudFormationError
    from moto.cloudformation.models import CloudFormationBackend

    class ChangeSetNotFound(CloudFormationError):
        code = "ChangeSetNotFound"

    def describe(original: Callable[..., Any], self: Any, change_set_name: str) -> Any:
        if _find_change_set(self, change_set_name) is None:
            raise ChangeSetNotFound(f"ChangeSet [{change_set_name}] does not exist")
        return original(self, change_set_name)

    def delete(original: Callable[..., Any], self: Any, change_set_name: str) -> None:
        if _find_change_set(self, change_set_name) is not None:
            original(self, change_set_name)

    _wrap(CloudFormationBackend, "describe_change_set", describe)
    _wrap(CloudFormationBackend, "delete_change_set", delete)


def ssm_parameter_previous_value() -> None:
    """moto 5.2.5: for UsePreviousValue (which the CDK CLI sends for `BootstrapVersion` on every
    update) moto passes the previously *resolved* value ("30") where an SSM-typed parameter
    expects the parameter name, looks "30" up in SSM and crashes with AttributeError on None.

    CloudFormation re-resolves the stored name; moto has lost it, so keep the previous resolved
    value. A name that is really missing gets CloudFormation's ValidationError, not a crash.
    """
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.parsing import ResourceMap
    from moto.ssm.models import ssm_backends

    def parse(original: Callable[..., Any], self: Any, value: str, value_type: str) -> Any:
        if ssm_backends[self._account_id][self._region_name].get_parameter(value) is not None:
            return original(self, value, value_type)
        if value in self.resolved_parameters.values() or value in self.input_parameters.values():
            return value
        raise ValidationError(message=f"Unable to fetch parameters [{value}] from parameter store for this account.")

    _wrap(ResourceMap, "parse_ssm_parameter", parse)


def use_previous_value_of_defaulted_parameter() -> None:
    """moto 5.2.5: UpdateStack (`cdk deploy --method direct`) resolves UsePreviousValue from the
    parameters passed when the stack was created; the CLI never passes `BootstrapVersion`, which
    took its template default, so every second direct deploy fails with KeyError (HTTP 500).
    Fall back to the value the stack resolved, as CloudFormation does.
    """
    from moto.cloudformation.models import CloudFormationBackend

    def resolve(original: Callable[..., Any], self: Any, instance: Any, incoming_params: list[dict[str, Any]]) -> Any:
        known = {**getattr(instance, "stack_parameters", {}), **instance.parameters}
        for param in incoming_params:
            key = param["ParameterKey"]
            if param.get("UsePreviousValue") and key not in instance.parameters and key in known:
                instance.parameters[key] = known[key]
        return original(self, instance, incoming_params)

    _wrap(CloudFormationBackend, "_resolve_update_parameters", resolve)


def keep_resources_moto_cannot_update() -> None:
    """moto 5.2.5: when a resource's properties change and its model has no
    update_from_cloudformation_json (e.g. AWS::KMS::Key, the SageMaker models), ResourceMap.update
    stores None for it: the resource drops out of the stack, later Ref/GetAtt fail with "references
    undefined resource" and stack deletion never deletes it. Keep the existing resource unchanged
    and remember that the update was not applied, for the unemulated-resources report.
    """
    from moto.cloudformation import parsing

    def update(
        original: Callable[..., Any], logical_id: str, resource_json: Any, resources_map: Any, *args: Any, **kw: Any
    ) -> Any:
        updated = original(logical_id, resource_json, resources_map, *args, **kw)
        if updated is not None:
            return updated
        previous = resources_map._parsed_resources.get(logical_id)
        if previous is not None:
            UPDATES_NOT_APPLIED.setdefault(resources_map.stack_id, set()).add(logical_id)
        return previous

    _wrap(parsing, "parse_and_update_resource", update)


def get_stack_output_intrinsic() -> None:
    """moto 5.2.5's ``clean_json`` does not know ``Fn::GetStackOutput``.

    CDK's weak cross-stack references (``@aws-cdk/core:defaultCrossStackReferences``
    = "weak", what ``cdk init`` recommends) read a producer stack's output with it;
    moto passes the object through unresolved, so a consumer gets a dict where a
    subnet ID or key ARN belongs. Resolve it from the producer stack's outputs.
    """
    from moto.cloudformation import parsing
    from moto.cloudformation.models import cloudformation_backends

    def clean_json(original: Callable[..., Any], resource_json: Any, resources_map: Any) -> Any:
        if not (isinstance(resource_json, dict) and "Fn::GetStackOutput" in resource_json):
            return original(resource_json, resources_map)
        spec = original(resource_json["Fn::GetStackOutput"], resources_map)
        region = spec.get("Region") or resources_map._region_name
        stack = cloudformation_backends[resources_map._account_id][region].get_stack(spec["StackName"])
        for output in stack.outputs or []:
            if output["OutputKey"] == spec["OutputName"]:
                return output["OutputValue"]
        raise parsing.ValidationError(
            message=f"Fn::GetStackOutput: stack {spec['StackName']} has no output {spec['OutputName']}"
        )

    _wrap(parsing, "clean_json", clean_json)


# -- KMS -----------------------------------------------------------------------------------------


def kms_key_tags_from_template() -> None:
    """moto 5.2.5: AWS::KMS::Key passes template Tags ({Key, Value}) to a tagger expecting
    {TagKey, TagValue}, so any tagged key (CDK tags every resource with stack tags) fails with
    KeyError 'TagKey'. Convert the tag shape before moto creates the key.
    """
    from moto.kms.models import Key

    def create(
        original: Callable[..., Any], resource_name: str, cloudformation_json: Any, *args: Any, **kw: Any
    ) -> Any:
        props = cloudformation_json.get("Properties", {})
        if props.get("Tags"):
            props["Tags"] = [_kms_tag(tag) for tag in props["Tags"]]
        return original(resource_name, cloudformation_json, *args, **kw)

    _wrap(Key, "create_from_cloudformation_json", create)


def kms_key_policy_from_template() -> None:
    """moto 5.2.5: AWS::KMS::Key stores the template's KeyPolicy object as is, while moto's KMS
    policy check json.loads() it, so every later call on the key (DescribeKey, Encrypt,
    GetKeyPolicy) fails with TypeError (HTTP 500). Store the policy as the JSON string the
    CreateKey API would have received.
    """
    from moto.kms.models import Key

    def create(
        original: Callable[..., Any], resource_name: str, cloudformation_json: Any, *args: Any, **kw: Any
    ) -> Any:
        props = cloudformation_json.get("Properties", {})
        if isinstance(props.get("KeyPolicy"), dict):
            props["KeyPolicy"] = json.dumps(props["KeyPolicy"])
        return original(resource_name, cloudformation_json, *args, **kw)

    _wrap(Key, "create_from_cloudformation_json", create)


def _kms_tag(tag: dict[str, str]) -> dict[str, str]:
    if "TagKey" in tag:
        return tag
    return {"TagKey": tag["Key"], "TagValue": tag["Value"]}


# -- S3 ------------------------------------------------------------------------------------------


def s3_bucket_update_without_bucket_name() -> None:
    """moto 5.2.5: updating an AWS::S3::Bucket without a BucketName property (CDK's default,
    a generated name) reads properties["BucketName"] and fails with KeyError. CloudFormation
    keeps the physical name in that case; pass it explicitly.
    """
    from moto.s3.models import FakeBucket

    def update(
        original: Callable[..., Any],
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        props = cloudformation_json.setdefault("Properties", {})
        props.setdefault("BucketName", original_resource.name)
        bucket = original(original_resource, new_resource_name, cloudformation_json, account_id, region_name)
        _apply_bucket_settings(bucket, props, account_id, region_name)
        return bucket

    _wrap(FakeBucket, "update_from_cloudformation_json", update)


def s3_bucket_settings_from_template() -> None:
    """moto 5.2.5: AWS::S3::Bucket honours only BucketEncryption and Tags; it ignores
    VersioningConfiguration, PublicAccessBlockConfiguration and LifecycleConfiguration, the
    settings a data platform's tests check first. Apply them through moto's own S3 backend.
    """
    from moto.s3.models import FakeBucket

    def create(
        original: Callable[..., Any],
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> Any:
        bucket = original(resource_name, cloudformation_json, account_id, region_name, **kw)
        _apply_bucket_settings(bucket, cloudformation_json.get("Properties", {}), account_id, region_name)
        return bucket

    _wrap(FakeBucket, "create_from_cloudformation_json", create)


def s3_bucket_delete_refuses_when_not_empty() -> None:
    """moto 5.2.5: deleting a stack's AWS::S3::Bucket that still holds objects silently keeps the
    bucket (moto's delete_bucket returns None) and reports DELETE_COMPLETE, so an orphaned bucket
    looks like a retained one. CloudFormation fails with BucketNotEmpty; do the same.
    """
    from moto.s3.exceptions import BucketNotEmpty
    from moto.s3.models import FakeBucket, s3_backends
    from moto.utilities.utils import get_partition

    def delete(
        original: Callable[..., Any], resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        bucket = s3_backends[account_id][get_partition(region_name)].buckets.get(resource_name)
        if bucket is not None and bucket.keys:
            raise BucketNotEmpty(resource_name)
        return original(resource_name, cloudformation_json, account_id, region_name)

    _wrap(FakeBucket, "delete_from_cloudformation_json", delete)


S3_BUCKET_PROPERTIES_APPLIED = ("VersioningConfiguration", "PublicAccessBlockConfiguration", "LifecycleConfiguration")


def _apply_bucket_settings(bucket: Any, props: dict[str, Any], account_id: str, region_name: str) -> None:
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    backend = s3_backends[account_id][get_partition(region_name)]
    if "VersioningConfiguration" in props:
        backend.put_bucket_versioning(bucket.name, props["VersioningConfiguration"]["Status"])
    if "PublicAccessBlockConfiguration" in props:
        backend.put_public_access_block(bucket.name, props["PublicAccessBlockConfiguration"])
    if "LifecycleConfiguration" in props:
        rules = [_lifecycle_rule(rule) for rule in props["LifecycleConfiguration"].get("Rules", [])]
        backend.put_bucket_lifecycle_configuration(bucket.name, rules)
    elif bucket.rules:
        backend.delete_bucket_lifecycle(bucket.name)


def _lifecycle_rule(cfn: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's lifecycle rule shape to the S3 API's, for the fields CDK emits most."""
    rule: dict[str, Any] = {"ID": cfn.get("Id"), "Status": cfn.get("Status", "Enabled")}
    rule["Filter"] = {"Prefix": cfn.get("Prefix", "")}
    if "ExpirationInDays" in cfn:
        rule["Expiration"] = {"Days": cfn["ExpirationInDays"]}
    if "NoncurrentVersionExpiration" in cfn:
        rule["NoncurrentVersionExpiration"] = {"NoncurrentDays": cfn["NoncurrentVersionExpiration"]["NoncurrentDays"]}
    elif "NoncurrentVersionExpirationInDays" in cfn:
        rule["NoncurrentVersionExpiration"] = {"NoncurrentDays": cfn["NoncurrentVersionExpirationInDays"]}
    if "AbortIncompleteMultipartUpload" in cfn:
        rule["AbortIncompleteMultipartUpload"] = cfn["AbortIncompleteMultipartUpload"]
    transitions = [
        {"Days": t.get("TransitionInDays"), "StorageClass": t["StorageClass"]} for t in cfn.get("Transitions", [])
    ]
    if transitions:
        rule["Transition"] = transitions
    return rule


# -- EC2 and IAM ---------------------------------------------------------------------------------


def flow_log_s3_destination_with_prefix() -> None:
    """moto 5.2.5 looks up an S3 flow-log destination ``arn:aws:s3:::bucket/prefix/`` as a bucket
    named ``bucket/prefix/``, reports it missing, creates no flow log and then fails CloudFormation
    with an IndexError. Validate the bucket alone and keep the full destination on the flow log.
    """
    from moto.ec2.models.flow_logs import FlowLogsBackend

    def create_flow_logs(original: Callable[..., Any], self: Any, *args: Any) -> Any:
        args = list(args)
        # (resource_type, resource_ids, traffic_type, permission_arn, destination_type, destination, ...)
        destination_type, destination = args[4], args[5]
        if destination_type != "s3" or not destination or "/" not in destination.split(":", 5)[-1]:
            return original(self, *args)
        args[5] = destination.split("/", 1)[0]
        flow_logs, unsuccessful = original(self, *args)
        for flow_log in flow_logs:
            flow_log.log_destination = destination
        return flow_logs, unsuccessful

    _wrap(FlowLogsBackend, "create_flow_logs", create_flow_logs)


def delete_vpc_endpoints_flow_logs_route_tables() -> None:
    """moto 5.2.5's ``VPCEndPoint``, ``FlowLogs`` and ``RouteTable`` have no CloudFormation delete: a
    stack delete leaves them behind, and the VPC they belong to then fails with DependencyViolation.
    Delete them by physical ID, as CloudFormation does.
    """
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.flow_logs import FlowLogs
    from moto.ec2.models.route_tables import RouteTable
    from moto.ec2.models.vpcs import VPCEndPoint

    def deleter(method: str, *, one_id: bool = False) -> classmethod:
        def delete(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
            backend = ec2_backends[account_id][region_name]
            try:
                getattr(backend, method)(resource_name if one_id else [resource_name])
            except Exception as exc:  # noqa: BLE001 - already gone is what a delete wants
                # moto's other CloudFormation deletes (e.g. a subnet association, whose physical ID is
                # its route table's) may have removed it first; anything else is a real failure.
                if not str(getattr(exc, "code", "")).endswith("NotFound"):
                    raise

        return classmethod(delete)

    VPCEndPoint.delete_from_cloudformation_json = deleter("delete_vpc_endpoints")
    FlowLogs.delete_from_cloudformation_json = deleter("delete_flow_logs")
    RouteTable.delete_from_cloudformation_json = deleter("delete_route_table", one_id=True)


def security_group_egress_from_template() -> None:
    """moto 5.2.5: AWS::EC2::SecurityGroup ignores SecurityGroupEgress and keeps moto's default
    allow-all egress rule, and AWS::EC2::SecurityGroupEgress has no model, so a group meant to
    allow no or only some outbound traffic (an isolated VPC's) allows everything. As CloudFormation
    does, let the template's rules replace the default one, and build standalone egress rules.
    """
    from moto.core.common_models import CloudFormationModel
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.security_groups import SecurityGroup

    def create(
        original: Callable[..., Any],
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> Any:
        group = original(resource_name, cloudformation_json, account_id, region_name, **kw)
        rules = cloudformation_json["Properties"].get("SecurityGroupEgress")
        if rules is not None:
            group.egress_rules = []
            for rule in rules:
                _authorize_egress(ec2_backends[account_id][region_name], group.id, rule)
        return group

    _wrap(SecurityGroup, "create_from_cloudformation_json", create)

    class EmulatedSecurityGroupEgress(CloudFormationModel):
        def __init__(self, group_id: str, rule_ids: list[str]) -> None:
            self.group_id = group_id
            self.rule_ids = rule_ids

        @property
        def physical_resource_id(self) -> str:
            return ",".join(self.rule_ids)

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::EC2::SecurityGroupEgress"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return False

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> EmulatedSecurityGroupEgress:
            props = cloudformation_json["Properties"]
            rules = _authorize_egress(ec2_backends[account_id][region_name], props["GroupId"], props)
            return cls(props["GroupId"], [rule.id for rule in rules])

        def delete(self, account_id: str, region_name: str) -> None:
            backend = ec2_backends[account_id][region_name]
            if backend.get_security_group_from_id(self.group_id) is not None:
                backend.revoke_security_group_egress(self.group_id, "", "", "", [], security_rule_ids=self.rule_ids)


def _authorize_egress(backend: Any, group_id: str, rule: dict[str, Any]) -> list[Any]:
    """One CloudFormation egress rule (inline or standalone) through moto's EC2 API."""
    ip_ranges = [
        {key: rule[key], **({"Description": rule["Description"]} if "Description" in rule else {})}
        for key in ("CidrIp", "CidrIpv6")
        if key in rule
    ]
    destination = rule.get("DestinationSecurityGroupId")
    prefix_list = rule.get("DestinationPrefixListId")
    added, _ = backend.authorize_security_group_egress(
        group_id,
        str(rule["IpProtocol"]),
        rule.get("FromPort"),
        rule.get("ToPort"),
        ip_ranges,
        source_groups=[{"GroupId": destination}] if destination else [],
        prefix_list_ids=[{"PrefixListId": prefix_list}] if prefix_list else [],
    )
    return added


def detach_managed_policies_before_role_delete() -> None:
    """moto 5.2.5 deletes a stack's ``AWS::IAM::Role`` before the ``AWS::IAM::ManagedPolicy`` that
    lists it in ``Roles`` (CloudFormation deletes dependents first), and its own DeleteRole then
    refuses: "Cannot delete entity, must detach all policies first". Detach them as the policy's
    deletion would have.
    """
    from moto.iam.models import Role, iam_backends
    from moto.utilities.utils import get_partition

    def delete(
        original: Callable[..., Any], resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        backend = iam_backends[account_id][get_partition(region_name)]
        for role in backend.roles.values():
            if role.name == resource_name:
                for policy in list(role.managed_policies.values()):
                    policy.detach_from(role)
        return original(resource_name, cloudformation_json, account_id, region_name)

    _wrap(Role, "delete_from_cloudformation_json", delete)


def iam_group_resource() -> None:
    """moto 5.2.5 implements IAM groups (CreateGroup, AttachGroupPolicy, ...) but has no CloudFormation
    model for ``AWS::IAM::Group``, so the people stack's groups were skipped and the managed policies
    naming them in ``Groups`` failed to attach. Create the group through moto's own backend.
    """
    from moto.core.common_models import CloudFormationModel
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    class GroupResource(CloudFormationModel):
        def __init__(self, name: str, arn: str) -> None:
            self.name, self.arn = name, arn

        @property
        def physical_resource_id(self) -> str:
            return self.name  # Ref of AWS::IAM::Group is its name

        @staticmethod
        def cloudformation_name_type() -> str:
            return "GroupName"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::IAM::Group"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr == "Arn"

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return self.arn

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> GroupResource:
            props = cloudformation_json.get("Properties", {})
            backend = iam_backends[account_id][get_partition(region_name)]
            group = backend.create_group(props.get("GroupName", resource_name), props.get("Path", "/"))
            for policy_arn in props.get("ManagedPolicyArns", []):
                backend.attach_group_policy(policy_arn, group.name)
            return cls(group.name, group.arn)

        @classmethod
        def delete_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            backend = iam_backends[account_id][get_partition(region_name)]
            group = backend.groups.get(resource_name)
            if group is not None:
                for policy in list(group.managed_policies.values()):
                    backend.detach_group_policy(policy.arn, resource_name)
                backend.delete_group(resource_name)

    iam_group_resource.model = GroupResource  # type: ignore[attr-defined]


# -- Glue and Athena (the athena preprocessing source) -------------------------------------------


def glue_and_athena_resources() -> None:
    """moto 5.2.5 implements the Glue Data Catalog (CreateDatabase, CreateTable, GetTable...) and
    Athena workgroups (CreateWorkGroup, GetWorkGroup) but has no CloudFormation model for
    ``AWS::Glue::Database``, ``AWS::Glue::Table`` or ``AWS::Athena::WorkGroup``, so the data stack's
    raw-data catalog was skipped and the local pipeline run could not find the table its Athena query
    reads. Create them through moto's own backends (the workgroup's configuration is stored as given;
    moto enforces none of it, and runs no query).
    """
    from moto.athena.models import athena_backends
    from moto.core.common_models import CloudFormationModel
    from moto.glue.models import glue_backends

    class GlueDatabaseResource(CloudFormationModel):
        def __init__(self, name: str) -> None:
            self.name = name

        @property
        def physical_resource_id(self) -> str:
            return self.name  # Ref of AWS::Glue::Database is its name

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Glue::Database"

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> GlueDatabaseResource:
            props = cloudformation_json["Properties"]
            database_input = dict(props["DatabaseInput"])
            props.get("CatalogId")  # the account's catalog: moto's backend is already the account's
            glue_backends[account_id][region_name].create_database(database_input["Name"], database_input)
            return cls(database_input["Name"])

        @classmethod
        def delete_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            glue_backends[account_id][region_name].databases.pop(resource_name, None)

    class GlueTableResource(CloudFormationModel):
        def __init__(self, database: str, name: str) -> None:
            self.database, self.name = database, name

        @property
        def physical_resource_id(self) -> str:
            return f"{self.database}|{self.name}"

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Glue::Table"

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> GlueTableResource:
            props = cloudformation_json["Properties"]
            props.get("CatalogId")  # the account's catalog: moto's backend is already the account's
            table_input = dict(props["TableInput"])
            glue_backends[account_id][region_name].create_table(props["DatabaseName"], table_input["Name"],
                                                                table_input)
            return cls(props["DatabaseName"], table_input["Name"])

        @classmethod
        def delete_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            database, _, name = resource_name.partition("|")
            found = glue_backends[account_id][region_name].databases.get(database)
            if found is not None:
                found.tables.pop(name, None)

    class AthenaWorkGroupResource(CloudFormationModel):
        def __init__(self, name: str) -> None:
            self.name = name

        @property
        def physical_resource_id(self) -> str:
            return self.name  # Ref of AWS::Athena::WorkGroup is its name

        @staticmethod
        def cloudformation_name_type() -> str:
            return "Name"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Athena::WorkGroup"

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> AthenaWorkGroupResource:
            props = cloudformation_json["Properties"]
            name = props.get("Name", resource_name)
            props.get("RecursiveDeleteOption")  # deleting a moto workgroup never fails on its history
            athena_backends[account_id][region_name].create_work_group(
                name, dict(props.get("WorkGroupConfiguration", {})), props.get("Description", ""),
                props.get("Tags", []))
            return cls(name)

        @classmethod
        def delete_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            athena_backends[account_id][region_name].delete_work_group(resource_name)

    glue_and_athena_resources.models = (  # type: ignore[attr-defined]
        GlueDatabaseResource, GlueTableResource, AthenaWorkGroupResource)


# -- SageMaker -----------------------------------------------------------------------------------


def model_package_group_resource() -> None:
    """moto 5.2.5 implements the SageMaker model registry API but has no CloudFormation model for
    ``AWS::SageMaker::ModelPackageGroup``, so the registry stack deployed nothing and the local
    pipeline run had no group to register into. Create the group through moto's own backend.
    """
    from moto.core.common_models import CloudFormationModel
    from moto.sagemaker.models import sagemaker_backends

    class ModelPackageGroupResource(CloudFormationModel):
        def __init__(self, arn: str, name: str) -> None:
            self.arn, self.name = arn, name

        @property
        def physical_resource_id(self) -> str:
            return self.arn  # Ref of AWS::SageMaker::ModelPackageGroup is its ARN

        @staticmethod
        def cloudformation_name_type() -> str:
            return "ModelPackageGroupName"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::SageMaker::ModelPackageGroup"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("ModelPackageGroupArn", "ModelPackageGroupName")

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return self.arn if attribute_name == "ModelPackageGroupArn" else self.name

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> ModelPackageGroupResource:
            props = cloudformation_json["Properties"]
            name = props.get("ModelPackageGroupName", resource_name)
            arn = sagemaker_backends[account_id][region_name].create_model_package_group(
                name, props.get("ModelPackageGroupDescription", ""), props.get("Tags")
            )
            return cls(arn, name)

        @classmethod
        def delete_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            name = resource_name.rsplit("/", 1)[-1]
            sagemaker_backends[account_id][region_name].model_package_groups.pop(name, None)

    model_package_group_resource.model = ModelPackageGroupResource  # type: ignore[attr-defined]


def sagemaker_names_from_template() -> None:
    """moto 5.2.5: the SageMaker models (Model, EndpointConfig, Endpoint, NotebookInstance,
    NotebookInstanceLifecycleConfig) declare no name property, so an explicit ModelName,
    EndpointName, NotebookInstanceName... is ignored and a generated name used; anything that
    refers to the resource by its configured name (a notebook's LifecycleConfigName, a policy
    scoped to an endpoint ARN, a test) then misses it. Declare the name properties.
    """
    from moto.sagemaker import models

    names = {
        models.FakeSagemakerNotebookInstance: "NotebookInstanceName",
        models.FakeSageMakerNotebookInstanceLifecycleConfig: "NotebookInstanceLifecycleConfigName",
        models.FakeEndpoint: "EndpointName",
        models.FakeEndpointConfig: "EndpointConfigName",
        models.Model: "ModelName",
    }
    for model, name_property in names.items():
        model.cloudformation_name_type = staticmethod(lambda name=name_property: name)  # type: ignore[method-assign]


def model_package_model_card() -> None:
    """moto 5.2.5: CreateModelPackage drops ``ModelCard`` (``ModelCardContent`` and ``ModelCardStatus``,
    which the API accepts and DescribeModelPackage returns), so a registered version had no card. Keep
    the request's card on the model package and return it from DescribeModelPackage.
    """
    from moto.sagemaker.models import ModelPackage
    from moto.sagemaker.responses import SageMakerResponse

    def create(original: Callable[..., Any], self: Any) -> Any:
        result = original(self)
        card = self._get_param("ModelCard")
        if card:
            arn = result.result["ModelPackageArn"]
            self.sagemaker_backend.describe_model_package(model_package_name=arn).model_card = card
        return result

    def describe(original: Callable[..., Any], self: Any) -> dict[str, Any]:
        response = original(self)
        card = getattr(self, "model_card", None)
        if card:
            response["ModelCard"] = card
        return response

    _wrap(SageMakerResponse, "create_model_package", create)
    _wrap(ModelPackage, "gen_response_object", describe)


def notebook_instance_settings_from_template() -> None:
    """moto 5.2.5: AWS::SageMaker::NotebookInstance passes only InstanceType and RoleArn to its
    own CreateNotebookInstance, dropping KmsKeyId, LifecycleConfigName, DirectInternetAccess,
    SubnetId, SecurityGroupIds, RootAccess, VolumeSizeInGB, Tags..., which that API supports.
    Pass them through.
    """
    from moto.sagemaker.models import FakeSagemakerNotebookInstance, sagemaker_backends

    def create(
        original: Callable[..., Any],
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> Any:
        props = cloudformation_json["Properties"]
        return sagemaker_backends[account_id][region_name].create_notebook_instance(
            notebook_instance_name=resource_name,
            instance_type=props["InstanceType"],
            role_arn=props["RoleArn"],
            subnet_id=props.get("SubnetId"),
            security_group_ids=props.get("SecurityGroupIds"),
            kms_key_id=props.get("KmsKeyId"),
            tags=props.get("Tags"),
            lifecycle_config_name=props.get("LifecycleConfigName"),
            direct_internet_access=props.get("DirectInternetAccess", "Enabled"),
            volume_size_in_gb=props.get("VolumeSizeInGB", 5),
            accelerator_types=props.get("AcceleratorTypes"),
            default_code_repository=props.get("DefaultCodeRepository"),
            additional_code_repositories=props.get("AdditionalCodeRepositories"),
            root_access=props.get("RootAccess"),
        )

    _wrap(FakeSagemakerNotebookInstance, "create_from_cloudformation_json", create)


PATCHES: list[Callable[[], None]] = [
    get_stack_output_intrinsic,
    model_package_group_resource,
    iam_group_resource,
    glue_and_athena_resources,
    delete_vpc_endpoints_flow_logs_route_tables,
    detach_managed_policies_before_role_delete,
    flow_log_s3_destination_with_prefix,
    change_set_outputs_and_exports,
    fail_change_set_execution_loudly,
    change_set_not_found,
    failed_stack_delete_keeps_the_stack,
    deletion_policy_retain_everywhere,
    ssm_parameter_previous_value,
    use_previous_value_of_defaulted_parameter,
    track_property_reads,
    keep_resources_moto_cannot_update,
    kms_key_tags_from_template,
    kms_key_policy_from_template,
    s3_bucket_update_without_bucket_name,
    s3_bucket_settings_from_template,
    s3_bucket_delete_refuses_when_not_empty,
    sagemaker_names_from_template,
    model_package_model_card,
    notebook_instance_settings_from_template,
    security_group_egress_from_template,
]
