"""From a synthesized template to the pipeline definition, with CloudFormation tokens resolved.

The ``PipelineDefinitionBody`` is an ``Fn::Join`` of JSON text and intrinsics
(role ARNs, key ARNs, subnets from other stacks). They are resolved against the
deployed stacks (DescribeStacks outputs, ListStackResources physical IDs,
ListExports) when a CloudFormation client is given, else replaced by readable
placeholders, which a local run never dereferences (roles, keys and the VPC
only matter to the real service).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.cli import ToolError
from tools.pipeline_runner.errors import PipelineError

PIPELINE_TYPE = "AWS::SageMaker::Pipeline"


@dataclass(frozen=True)
class LoadedPipeline:
    name: str
    definition: dict
    stack_name: str
    #: Every intrinsic of the body and the value it resolved to.
    tokens: list[tuple[Any, str]]


class TokenResolver:
    """Resolves intrinsics; without a client every value is a placeholder naming what it stands for."""

    def __init__(self, stack_name: str, *, cloudformation=None, account: str = "111122223333",
                 region: str = "us-east-1") -> None:
        self.stack_name, self.cfn, self.account, self.region = stack_name, cloudformation, account, region
        self._outputs: dict[str, dict[str, str]] = {}
        self._physical: dict[str, dict[str, str]] = {}
        self._exports: dict[str, str] | None = None

    def resolve(self, token: Any) -> str:
        if not isinstance(token, Mapping) or len(token) != 1:
            raise PipelineError(f"unsupported CloudFormation value {token!r} in the definition body")
        (kind, args), = token.items()
        if kind == "Ref":
            return self._ref(args)
        if kind == "Fn::GetAtt":
            logical, attribute = args if isinstance(args, list) else args.split(".", 1)
            # CloudFormation exposes no attribute values through its API; only placeholders are possible.
            return f"<{self.stack_name}.{logical}.{attribute}>"
        if kind == "Fn::GetStackOutput":
            return self._output(args["StackName"], args["OutputName"])
        if kind == "Fn::ImportValue":
            return self._import(args if isinstance(args, str) else self.resolve(args))
        if kind == "Fn::Join":
            separator, parts = args
            return separator.join(p if isinstance(p, str) else self.resolve(p) for p in parts)
        raise PipelineError(f"intrinsic {kind} is not supported by the local runner (value {token!r})")

    def _ref(self, name: str) -> str:
        pseudo = {"AWS::Region": self.region, "AWS::AccountId": self.account, "AWS::Partition": "aws",
                  "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": self.stack_name}
        if name in pseudo:
            return pseudo[name]
        if self.cfn is None:
            return f"<{self.stack_name}.{name}>"
        physical = self._physical_ids(self.stack_name)
        if name not in physical:
            raise PipelineError(f"Ref {name}: stack {self.stack_name} has no such resource")
        return physical[name]

    def _output(self, stack: str, output: str) -> str:
        if self.cfn is None:
            return f"<{stack}.{output}>"
        if stack not in self._outputs:
            try:
                described = self.cfn.describe_stacks(StackName=stack)["Stacks"][0]
            except Exception as exc:  # noqa: BLE001 - any client error means "not deployed"
                _raise_if_unreachable(exc)
                raise PipelineError(f"Fn::GetStackOutput: stack {stack} is not deployed ({exc})") from None
            self._outputs[stack] = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        if output not in self._outputs[stack]:
            raise PipelineError(f"Fn::GetStackOutput: stack {stack} has no output {output}"
                                f" (it has {sorted(self._outputs[stack])})")
        return self._outputs[stack][output]

    def _import(self, name: str) -> str:
        if self.cfn is None:
            return f"<import {name}>"
        if self._exports is None:
            self._exports = {}
            for page in self.cfn.get_paginator("list_exports").paginate():
                self._exports.update({e["Name"]: e["Value"] for e in page["Exports"]})
        if name not in self._exports:
            raise PipelineError(f"Fn::ImportValue: no export named {name}")
        return self._exports[name]

    def _physical_ids(self, stack: str) -> dict[str, str]:
        if stack not in self._physical:
            found: dict[str, str] = {}
            for page in self.cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
                found.update({r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
                              for r in page["StackResourceSummaries"]})
            self._physical[stack] = found
        return self._physical[stack]


class EndpointUnreachable(ToolError):
    """The CloudFormation endpoint (the emulator) refused the connection: the environment's fault, exit 1."""


def _raise_if_unreachable(exc: Exception) -> None:
    from botocore.exceptions import EndpointConnectionError

    if isinstance(exc, EndpointConnectionError):
        raise EndpointUnreachable(f"cannot reach {exc.kwargs.get('endpoint_url', 'the endpoint')}; start the"
                                  " emulator (python -m tools.emulator start) and pass the URL it prints") from None


def load_pipeline(template_path: str | Path, *, cloudformation=None, account: str = "111122223333",
                  region: str = "us-east-1") -> LoadedPipeline:
    """Read the one ``AWS::SageMaker::Pipeline`` of a synthesized template and render its definition."""
    path = Path(template_path)
    if not path.is_file():
        raise PipelineError(f"template {path} does not exist; synthesize first (make synth)")
    try:
        template = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PipelineError(f"template {path} cannot be read as JSON ({exc}); synthesize again (make synth)") from None
    if not isinstance(template, dict):
        raise PipelineError(f"template {path} is not a CloudFormation template; synthesize again (make synth)")
    stack_name = path.name.removesuffix(".template.json")
    found = [(lid, r) for lid, r in template.get("Resources", {}).items() if r.get("Type") == PIPELINE_TYPE]
    if len(found) != 1:
        raise PipelineError(f"{path.name}: expected one {PIPELINE_TYPE}, found {len(found)}")
    logical_id, resource = found[0]
    properties = resource["Properties"]
    body = properties.get("PipelineDefinition", {}).get("PipelineDefinitionBody")
    if body is None:
        raise PipelineError(f"{logical_id}: PipelineDefinition.PipelineDefinitionBody is missing"
                            " (a definition in S3 is not supported locally)")
    resolver = TokenResolver(stack_name, cloudformation=cloudformation, account=account, region=region)
    tokens: list[tuple[Any, str]] = []
    if isinstance(body, str):
        text = body
    else:
        separator, parts = body["Fn::Join"]
        pieces = []
        for part in parts:
            if isinstance(part, str):
                pieces.append(part)
                continue
            value = resolver.resolve(part)
            tokens.append((part, value))
            # The value lands inside a JSON string literal: escape it as one.
            pieces.append(json.dumps(value)[1:-1])
        text = separator.join(pieces)
    try:
        definition = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PipelineError(f"{logical_id}: the definition body is not JSON after resolving tokens: {exc}") from None
    name = properties.get("PipelineName")
    return LoadedPipeline(name if isinstance(name, str) else logical_id, definition, stack_name, tokens)
