"""Turn synthesized CloudFormation templates into concrete values, with fake physical IDs.

A policy evaluator needs strings, but a template says ``{"Fn::GetAtt": ["DataKey", "Arn"]}``.
:class:`Resolver` replaces every intrinsic the platform's templates use with what
CloudFormation would produce, inventing deterministic physical IDs from logical
IDs (``arn:aws:kms:us-east-1:111122223333:key/DataKey2A0DE9E6``,
``subnet-VpcisolatedSubnet1Subnet4A864582``). The same resource gets the same ID
wherever it is referenced, in its own stack or through a cross-stack output, so
a role's policy and the key it names agree exactly, as they would once deployed.

Anything it cannot resolve raises :class:`UnresolvedIntrinsic` naming the stack,
the place and the fix; it never guesses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any


class UnresolvedIntrinsic(ValueError):
    """An intrinsic or resource type this resolver does not know; the message names the fix."""


#: (Ref value, {attribute: value}) of one resource from its logical ID and resolved name.
_Physical = tuple[str, dict[str, str]]


#: A resource's property, resolved on demand (None when absent): only the names
#: that physical IDs need are resolved, never the whole resource.
_Property = Callable[[str], Any]


def _named(props: _Property, key: str, logical_id: str) -> str:
    return props(key) or logical_id


def _role(logical_id: str, props: _Property, account: str, region: str) -> _Physical:
    name = _named(props, "RoleName", logical_id)
    path = props("Path") or "/"
    return name, {"Arn": f"arn:aws:iam::{account}:role{path}{name}", "RoleId": f"AROA{logical_id.upper()}"}


def _managed_policy(logical_id: str, props: _Property, account: str, region: str) -> _Physical:
    arn = f"arn:aws:iam::{account}:policy{props('Path') or '/'}{_named(props, 'ManagedPolicyName', logical_id)}"
    return arn, {"PolicyArn": arn}


def _key(logical_id: str, props: _Property, account: str, region: str) -> _Physical:
    return logical_id, {"Arn": f"arn:aws:kms:{region}:{account}:key/{logical_id}", "KeyId": logical_id}


def _bucket(logical_id: str, props: _Property, account: str, region: str) -> _Physical:
    name = props("BucketName") or logical_id.lower()
    return name, {
        "Arn": f"arn:aws:s3:::{name}",
        "DomainName": f"{name}.s3.amazonaws.com",
        "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
    }


def _topic(logical_id: str, props: _Property, account: str, region: str) -> _Physical:
    name = _named(props, "TopicName", logical_id)
    arn = f"arn:aws:sns:{region}:{account}:{name}"
    return arn, {"TopicArn": arn, "TopicName": name}


def _model_package_group(logical_id: str, props: _Property, account: str, region: str) -> _Physical:
    name = _named(props, "ModelPackageGroupName", logical_id)
    arn = f"arn:aws:sagemaker:{region}:{account}:model-package-group/{name}"
    return arn, {"ModelPackageGroupArn": arn}


def _events_rule(logical_id: str, props: _Property, account: str, region: str) -> _Physical:
    name = _named(props, "Name", logical_id)
    return name, {"Arn": f"arn:aws:events:{region}:{account}:rule/{name}"}


def _alarm(logical_id: str, props: _Property, account: str, region: str) -> _Physical:
    name = _named(props, "AlarmName", logical_id)
    return name, {"Arn": f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"}


def _log_group(logical_id: str, props: _Property, account: str, region: str) -> _Physical:
    name = _named(props, "LogGroupName", logical_id)
    return name, {"Arn": f"arn:aws:logs:{region}:{account}:log-group:{name}:*"}


def _ec2(prefix: str, id_attribute: str) -> Callable[[str, _Property, str, str], _Physical]:
    def physical(logical_id: str, props: _Property, account: str, region: str) -> _Physical:
        physical_id = f"{prefix}-{logical_id}"
        return physical_id, {id_attribute: physical_id}

    return physical


def _sagemaker(kind: str, name_property: str) -> Callable[[str, _Property, str, str], _Physical]:
    def physical(logical_id: str, props: _Property, account: str, region: str) -> _Physical:
        name = _named(props, name_property, logical_id)
        arn = f"arn:aws:sagemaker:{region}:{account}:{kind}/{name.lower()}"
        return arn, {"Arn": arn, "Name": name}

    return physical


#: What Ref and Fn::GetAtt return per resource type; extend it when a template
#: references a type that is not here (UnresolvedIntrinsic says which).
PHYSICAL_IDS: dict[str, Callable[[str, _Property, str, str], _Physical]] = {
    "AWS::IAM::Role": _role,
    "AWS::IAM::ManagedPolicy": _managed_policy,
    "AWS::IAM::Group": lambda logical_id, props, account, region: (
        _named(props, "GroupName", logical_id),
        {"Arn": f"arn:aws:iam::{account}:group{props('Path') or '/'}{_named(props, 'GroupName', logical_id)}"},
    ),
    "AWS::KMS::Key": _key,
    "AWS::KMS::Alias": lambda logical_id, props, account, region: (props("AliasName"), {}),
    "AWS::S3::Bucket": _bucket,
    "AWS::SNS::Topic": _topic,
    "AWS::SageMaker::ModelPackageGroup": _model_package_group,
    "AWS::SageMaker::Pipeline": _sagemaker("pipeline", "PipelineName"),
    "AWS::SageMaker::NotebookInstanceLifecycleConfig": _sagemaker(
        "notebook-instance-lifecycle-config", "NotebookInstanceLifecycleConfigName"
    ),
    "AWS::Events::Rule": _events_rule,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::EC2::VPC": _ec2("vpc", "VpcId"),
    "AWS::EC2::Subnet": _ec2("subnet", "SubnetId"),
    "AWS::EC2::SecurityGroup": _ec2("sg", "GroupId"),
    "AWS::EC2::RouteTable": _ec2("rtb", "RouteTableId"),
    "AWS::EC2::VPCEndpoint": _ec2("vpce", "Id"),
}

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class Resolver:
    """Resolves values of the given templates (``{stack: template}``) in one account and region.

    Stack keys may be full stack names (``MlPlatform-dev-data``) or the short
    unit names of ``platform_templates`` (``data``); cross-stack references find
    either.
    """

    def __init__(self, templates: Mapping[str, Mapping], *, account: str, region: str) -> None:
        self.templates = templates
        self.account = account
        self.region = region
        self._exports = {
            self.resolve(stack, output["Export"]["Name"], f"Outputs/{name}/Export"): (stack, name)
            for stack, template in templates.items()
            for name, output in template.get("Outputs", {}).items()
            if "Export" in output
        }

    # -- public -----------------------------------------------------------------------------
    def resolve(self, stack: str, value: Any, where: str = "") -> Any:
        """``value`` from ``stack``'s template with every intrinsic replaced by a concrete value."""
        if isinstance(value, list):
            return [self.resolve(stack, v, f"{where}[{i}]") for i, v in enumerate(value)]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (name, argument), = value.items()
            if name == "Ref" or name.startswith("Fn::"):
                return self._intrinsic(stack, name, argument, where)
        return {k: self.resolve(stack, v, f"{where}/{k}") for k, v in value.items()}

    def ref(self, stack: str, logical_id: str) -> str:
        return self._physical(stack, logical_id)[0]

    def attribute(self, stack: str, logical_id: str, attribute: str) -> str:
        attributes = self._physical(stack, logical_id)[1]
        if attribute not in attributes:
            kind = self.templates[stack]["Resources"][logical_id]["Type"]
            raise UnresolvedIntrinsic(
                f"{stack}: Fn::GetAtt {logical_id}.{attribute}: attribute unknown for {kind}; add it to"
                " PHYSICAL_IDS in tools/iam_evaluator/resolve.py"
            )
        return attributes[attribute]

    def stack_key(self, stack_name: str) -> str:
        """The key of ``stack_name`` in the templates (full name or its short unit suffix)."""
        matches = [k for k in self.templates if k == stack_name or stack_name.endswith(f"-{k}")]
        if len(matches) != 1:
            raise UnresolvedIntrinsic(
                f"stack {stack_name} is referenced but {'not among' if not matches else 'ambiguous in'} the"
                f" templates {sorted(self.templates)}; pass every stack of the environment"
            )
        return matches[0]

    # -- intrinsics -------------------------------------------------------------------------
    def _intrinsic(self, stack: str, name: str, argument: Any, where: str) -> Any:
        handlers = {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::Sub": self._sub,
            "Fn::ImportValue": self._import_value,
            "Fn::GetStackOutput": self._get_stack_output,
        }
        if name not in handlers:
            raise UnresolvedIntrinsic(
                f"{stack}: {where}: {name} is not resolved by tools/iam_evaluator/resolve.py (it knows"
                f" {', '.join(handlers)}); add a handler there"
            )
        return handlers[name](stack, argument, where)

    def _ref(self, stack: str, target: str, where: str) -> str:
        pseudo = {
            "AWS::Partition": "aws",
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack,
        }
        if target in pseudo:
            return pseudo[target]
        template = self.templates[stack]
        parameter = template.get("Parameters", {}).get(target)
        if parameter is not None:
            if "Default" not in parameter:
                raise UnresolvedIntrinsic(f"{stack}: {where}: Ref {target}: a parameter without a default")
            return parameter["Default"]
        return self.ref(stack, target)

    def _get_att(self, stack: str, argument: Any, where: str) -> str:
        logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
        return self.attribute(stack, logical_id, self.resolve(stack, attribute, where))

    def _join(self, stack: str, argument: list, where: str) -> str:
        delimiter, parts = argument
        parts = self.resolve(stack, parts, where)
        if not all(isinstance(p, str) for p in parts):
            raise UnresolvedIntrinsic(f"{stack}: {where}: Fn::Join of non-strings {parts}")
        return delimiter.join(parts)

    def _select(self, stack: str, argument: list, where: str) -> Any:
        index, values = self.resolve(stack, argument, where)
        return values[int(index)]

    def _split(self, stack: str, argument: list, where: str) -> list[str]:
        delimiter, text = self.resolve(stack, argument, where)
        return text.split(delimiter)

    def _sub(self, stack: str, argument: Any, where: str) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = self.resolve(stack, variables, where)

        def substitute(match: re.Match) -> str:
            name = match.group(1)
            if name in variables:
                return variables[name]
            if "." in name and not name.startswith("AWS::"):
                return self._get_att(stack, name, where)
            return self._ref(stack, name, where)

        return _SUB_VARIABLE.sub(substitute, text)

    def _import_value(self, stack: str, argument: Any, where: str) -> Any:
        export = self.resolve(stack, argument, where)
        if export not in self._exports:
            raise UnresolvedIntrinsic(f"{stack}: {where}: Fn::ImportValue {export}: no stack exports it")
        source, output = self._exports[export]
        return self.resolve(source, self.templates[source]["Outputs"][output]["Value"], f"Outputs/{output}")

    def _get_stack_output(self, stack: str, argument: Mapping, where: str) -> Any:
        argument = self.resolve(stack, argument, where)
        source = self.stack_key(argument["StackName"])
        outputs = self.templates[source].get("Outputs", {})
        if argument["OutputName"] not in outputs:
            raise UnresolvedIntrinsic(
                f"{stack}: {where}: Fn::GetStackOutput: stack {argument['StackName']} has no output"
                f" {argument['OutputName']}"
            )
        output = argument["OutputName"]
        return self.resolve(source, outputs[output]["Value"], f"Outputs/{output}")

    # -- physical IDs -----------------------------------------------------------------------
    def _physical(self, stack: str, logical_id: str) -> _Physical:
        resource = self.templates[stack].get("Resources", {}).get(logical_id)
        if resource is None:
            raise UnresolvedIntrinsic(f"{stack}: no resource or parameter {logical_id} to reference")
        kind = resource["Type"]
        if kind not in PHYSICAL_IDS:
            raise UnresolvedIntrinsic(
                f"{stack}: {logical_id} is a {kind}, whose physical ID tools/iam_evaluator/resolve.py does not"
                " invent; add the type to PHYSICAL_IDS there"
            )
        raw = resource.get("Properties", {})

        def prop(key: str) -> Any:
            return self.resolve(stack, raw.get(key), f"Resources/{logical_id}/Properties/{key}")

        return PHYSICAL_IDS[kind](logical_id, prop, self.account, self.region)
