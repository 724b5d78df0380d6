"""Cloud assembly -> graph: stacks, the resources that matter, and the references between them.

Generic over what the app synthesizes: every stack artifact of ``manifest.json``
is read, every resource type is a node unless it is plumbing (below), and an
edge is any reference of one resource to another: ``Ref``, ``Fn::GetAtt``,
``Fn::GetStackOutput`` / ``Fn::ImportValue`` across stacks, and literal ARNs
or names (the platform fixes role and bucket names so that stacks can name
each other's resources). Plumbing (policies, aliases, subnets, ...) is folded
into the node it belongs to: a role's managed policy becomes the role's access.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

#: Plumbing type -> the property naming the node it belongs to (None: dropped with its references).
PLUMBING: dict[str, str | None] = {
    "AWS::CDK::Metadata": None,
    "AWS::IAM::ManagedPolicy": "Roles",
    "AWS::IAM::Policy": "Roles",
    "AWS::IAM::InstanceProfile": "Roles",
    "AWS::S3::BucketPolicy": "Bucket",
    "AWS::SNS::TopicPolicy": "Topics",
    "AWS::SNS::Subscription": "TopicArn",
    "AWS::SQS::QueuePolicy": "Queues",
    "AWS::KMS::Alias": "TargetKeyId",
    "AWS::Lambda::Permission": "FunctionName",
    "AWS::Logs::MetricFilter": None,
    "AWS::EC2::Subnet": "VpcId",
    "AWS::EC2::RouteTable": "VpcId",
    "AWS::EC2::SubnetRouteTableAssociation": None,
    "AWS::EC2::SecurityGroupIngress": None,
    "AWS::EC2::SecurityGroupEgress": None,
    "AWS::ApplicationAutoScaling::ScalableTarget": "ResourceId",
    "AWS::ApplicationAutoScaling::ScalingPolicy": None,
}
#: Plumbing whose references are its owner's access (an identity policy), not the owner's own.
ACCESS_PLUMBING = {"AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"}
#: Types that stay one node each however many a stack has; others of one type (3 or more) fold into one.
NEVER_FOLDED = {"AWS::IAM::Role", "AWS::S3::Bucket", "AWS::KMS::Key"}
FOLD_AT = 3
_HASH = re.compile(r"[0-9A-F]{8}$")


@dataclass(frozen=True)
class Node:
    id: str  # "<stack>/<logical id>" (or "<stack>/<type>" when folded)
    stack: str
    type: str
    label: str
    count: int = 1


@dataclass(frozen=True, order=True)
class Edge:
    source: str
    target: str
    kind: str  # "access" (a role's policy), "role" (runs as), "key" (encrypted with), "flow" (anything else)


@dataclass
class Graph:
    stacks: list[str]  # in manifest order
    stack_deps: dict[str, list[str]]
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)


def short_type(resource_type: str) -> str:
    return resource_type.split("::", 1)[-1].replace("::", " ")


def label_of(logical_id: str) -> str:
    """``ProcessingJobRoleF76CD776`` -> ``ProcessingJobRole``: the construct's id without CDK's hash."""
    return _HASH.sub("", logical_id) or logical_id


def _stack_label(names: list[str]) -> dict[str, str]:
    """Stack names less their common prefix (``MlPlatform-dev-data`` -> ``data``)."""
    if len(names) < 2:
        return {n: n for n in names}
    prefix = names[0]
    for name in names[1:]:
        while not name.startswith(prefix):
            prefix = prefix[:-1]
    prefix = prefix[: prefix.rfind("-") + 1] if "-" in prefix else ""
    return {n: n[len(prefix):] or n for n in names}


def read(assembly: Path) -> Graph:
    manifest = json.loads((assembly / "manifest.json").read_text())
    artifacts = {k: a for k, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"}
    labels = _stack_label(sorted(artifacts))
    templates = {name: json.loads((assembly / a["properties"]["templateFile"]).read_text())
                 for name, a in artifacts.items()}
    graph = Graph(
        stacks=[labels[name] for name in artifacts],
        stack_deps={labels[name]: sorted(labels[d] for d in a.get("dependencies", []) if d in artifacts)
                    for name, a in artifacts.items()},
    )
    # Which node each resource is, or belongs to.
    owner: dict[tuple[str, str], str | None] = {}
    resources = {(name, lid): r for name, t in templates.items() for lid, r in t.get("Resources", {}).items()}
    per_type = Counter((name, r["Type"]) for (name, _), r in resources.items() if r["Type"] not in PLUMBING)
    for (name, lid), r in sorted(resources.items()):
        stack, rtype = labels[name], r["Type"]
        if rtype in PLUMBING:
            continue
        if per_type[(name, rtype)] >= FOLD_AT and rtype not in NEVER_FOLDED:
            node_id = f"{stack}/{rtype}"
            graph.nodes[node_id] = Node(node_id, stack, rtype, rtype.rsplit("::", 1)[-1], per_type[(name, rtype)])
        else:
            node_id = f"{stack}/{lid}"
            graph.nodes[node_id] = Node(node_id, stack, rtype, label_of(lid))
        owner[(name, lid)] = node_id
    resolver = _Resolver(templates, owner, resources)
    for (name, lid), r in sorted(resources.items()):
        if r["Type"] in PLUMBING:
            prop = PLUMBING[r["Type"]]
            owners = resolver.targets(name, r.get("Properties", {}).get(prop)) if prop else set()
            owner[(name, lid)] = min(owners) if owners else None
    edges: set[Edge] = set()
    for (name, lid), r in sorted(resources.items()):
        source = owner.get((name, lid))
        if source is None:
            continue
        props = r.get("Properties", {})
        if r["Type"] in ACCESS_PLUMBING:
            for target in resolver.targets(name, props.get("PolicyDocument")):
                edges.add(Edge(source, target, "access"))
            continue
        if r["Type"] in PLUMBING:
            continue  # resource policies, aliases, subnets: part of their owner, not flows of it
        # A resource's own policies (key policy, trust policy) name who may use it: not flows of it.
        own = {k: v for k, v in props.items() if "Policy" not in k}
        for target in resolver.targets(name, own):
            target_type = graph.nodes[target].type
            kind = {"AWS::IAM::Role": "role", "AWS::KMS::Key": "key"}.get(target_type, "flow")
            edges.add(Edge(source, target, kind))
    graph.edges = sorted(e for e in edges if e.source != e.target)
    return graph


def _arn_kind(resource_type: str) -> str:
    """``AWS::SageMaker::ModelPackageGroup`` -> ``model-package-group``, as ARNs spell resource types."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", resource_type.rsplit("::", 1)[-1]).lower()


class _Resolver:
    """The nodes a property value refers to."""

    def __init__(self, templates: dict[str, dict], owner: dict, resources: dict):
        self.templates = templates
        self.owner = owner
        self.exports = {o["Export"]["Name"]: (name, o["Value"]) for name, t in templates.items()
                        for o in t.get("Outputs", {}).values() if isinstance(o.get("Export", {}).get("Name"), str)}
        # Literal names: a resource's own name properties (BucketName, RoleName, ...), where they are plain strings.
        names: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        for (name, lid), r in sorted(resources.items()):
            for key, value in r.get("Properties", {}).items():
                if key.endswith("Name") and isinstance(value, str) and len(value) >= 6 and "-" in value:
                    names[value].append((name, lid, _arn_kind(r["Type"])))
        self.names = names
        self._pattern = (re.compile("|".join(r"(?<![\w-])" + re.escape(n) + r"(?![\w-])"
                                             for n in sorted(names, key=len, reverse=True)))
                         if names else None)

    def targets(self, stack: str, value) -> set[str]:
        found: set[str] = set()
        self._walk(stack, value, found)
        return {t for t in found if t is not None}

    def _named(self, stack: str, name: str, before: str) -> str | None:
        """The resource called ``name``; one name can be several resources' (an endpoint and a model
        package group): an ARN's resource type (``model-package/<name>``) decides, else the same stack."""
        candidates = self.names[name]
        kind = before.rsplit(":", 1)[-1].rstrip("/")
        context = re.sub(r"[^a-z]", "", before[-40:].lower())  # '"ModelPackageGroupName":"' names the type too
        chosen = ([c for c in candidates if kind and c[2].startswith(kind)]
                  or [c for c in candidates if c[2].replace("-", "") in context]
                  or [c for c in candidates if c[0] == stack] or candidates)
        return self._node(chosen[0][0], chosen[0][1])

    def _node(self, stack: str, lid: str) -> str | None:
        return self.owner.get((stack, lid))

    def _walk(self, stack: str, value, found: set) -> None:
        if isinstance(value, str):
            if self._pattern is not None:
                for match in self._pattern.finditer(value):
                    found.add(self._named(stack, match.group(0), value[: match.start()]))
            for ref in re.findall(r"\$\{([A-Za-z0-9]+)[.}]", value):  # Fn::Sub
                found.add(self._node(stack, ref))
        elif isinstance(value, list):
            for item in value:
                self._walk(stack, item, found)
        elif isinstance(value, dict):
            if "Ref" in value and isinstance(value["Ref"], str):
                found.add(self._node(stack, value["Ref"]))
                return
            if "Fn::GetAtt" in value:
                target = value["Fn::GetAtt"]
                target = target[0] if isinstance(target, list) else target.split(".")[0]
                found.add(self._node(stack, target))
                return
            if "Fn::GetStackOutput" in value:
                ref = value["Fn::GetStackOutput"]
                other = ref.get("StackName")
                output = self.templates.get(other, {}).get("Outputs", {}).get(ref.get("OutputName"), {})
                self._walk(other, output.get("Value"), found)
                return
            if "Fn::ImportValue" in value and value["Fn::ImportValue"] in self.exports:
                self._walk(*self.exports[value["Fn::ImportValue"]], found)
                return
            for item in value.values():
                self._walk(stack, item, found)
