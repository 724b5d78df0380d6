"""Every policy of an environment, concrete: who holds which identity policies, what guards each resource.

:func:`load_policies` reads the synthesized templates of one environment (all
its stacks, so cross-stack references resolve) and returns
:class:`PlatformPolicies`: per IAM role its trust policy and identity policies
(customer-managed policies attached through ``Roles``, ``AWS::IAM::Policy`` and
inline ``Policies``), and per resource its resource policy (KMS key policies,
S3 bucket policies, the model package group's policy, SNS topic policies).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from tools.iam_evaluator.resolve import Resolver, UnresolvedIntrinsic


@dataclass(frozen=True)
class NamedPolicy:
    #: ``stack/LogicalId`` of the template resource the document comes from.
    name: str
    document: dict


@dataclass(frozen=True)
class Role:
    stack: str
    logical_id: str
    arn: str
    trust_policy: NamedPolicy
    identity_policies: tuple[NamedPolicy, ...]
    #: The managed policy named by the role's ``PermissionsBoundary`` (it caps the identity policies).
    permissions_boundary: NamedPolicy | None = None


@dataclass(frozen=True)
class ResourcePolicy:
    """A resource policy and the ARNs it guards (``pattern`` may end in ``/*`` for objects or versions)."""

    kind: str
    guarded_arns: tuple[str, ...]
    policy: NamedPolicy

    def guards(self, resource_arn: str) -> bool:
        return any(
            resource_arn == arn or (arn.endswith("/*") and resource_arn.startswith(arn[:-1]))
            for arn in self.guarded_arns
        )


@dataclass(frozen=True)
class PlatformPolicies:
    account: str
    region: str
    roles: tuple[Role, ...]
    resource_policies: tuple[ResourcePolicy, ...]
    resolver: Resolver = field(repr=False, compare=False)
    #: Identity policies of each IAM group, by group name (what its members hold).
    groups: Mapping[str, tuple[NamedPolicy, ...]] = field(default_factory=dict)

    def role(self, logical_id_prefix: str) -> Role:
        """The one role whose logical ID starts with ``logical_id_prefix`` (the construct's id)."""
        found = [r for r in self.roles if r.logical_id.startswith(logical_id_prefix)]
        if len(found) != 1:
            raise LookupError(
                f"{len(found)} roles have a logical ID starting with {logical_id_prefix!r}:"
                f" {[r.logical_id for r in self.roles]}"
            )
        return found[0]

    def role_by_arn(self, arn: str) -> Role | None:
        return next((r for r in self.roles if r.arn == arn), None)

    def resource_policy_of(self, resource_arn: str) -> NamedPolicy | None:
        """The resource policy AWS evaluates for a request on ``resource_arn`` (a role's trust policy too)."""
        role = self.role_by_arn(resource_arn)
        if role is not None:
            return role.trust_policy
        found = [p.policy for p in self.resource_policies if p.guards(resource_arn)]
        if len(found) > 1:
            raise LookupError(f"{resource_arn} is guarded by several resource policies: {[p.name for p in found]}")
        return found[0] if found else None

    def physical_ids(self, resource_type: str, stack_suffix: str) -> dict[str, str]:
        """``{logical ID: Ref value}`` of every ``resource_type`` in the stack ending in ``stack_suffix``."""
        stack = self.resolver.stack_key(stack_suffix)
        return {
            logical_id: self.resolver.ref(stack, logical_id)
            for logical_id, resource in self.resolver.templates[stack]["Resources"].items()
            if resource["Type"] == resource_type
        }

    def attribute_of(self, resource_type: str, stack: str, logical_id_prefix: str, attribute: str = "Arn") -> str:
        """``Fn::GetAtt`` of the one ``resource_type`` of a stack whose logical ID starts with ``logical_id_prefix``."""
        stack = self.resolver.stack_key(stack)
        found = [
            k
            for k, resource in self.resolver.templates[stack]["Resources"].items()
            if resource["Type"] == resource_type and k.startswith(logical_id_prefix)
        ]
        if len(found) != 1:
            raise LookupError(f"{len(found)} {resource_type} of {stack} have a logical ID like {logical_id_prefix!r}")
        return self.resolver.attribute(stack, found[0], attribute)

    def statements(self) -> Iterator[tuple[str, dict]]:
        """(``kind stack/LogicalId``, statement) of every policy: identity, trust and resource policies."""
        seen: set[str] = set()
        for role in self.roles:
            boundary = (role.permissions_boundary,) if role.permissions_boundary else ()
            for policy in (role.trust_policy, *role.identity_policies, *boundary):
                if policy.name not in seen:
                    seen.add(policy.name)
                    yield from ((policy.name, s) for s in _statements(policy.document))
        for group_policies in self.groups.values():
            for policy in group_policies:
                if policy.name not in seen:
                    seen.add(policy.name)
                    yield from ((policy.name, s) for s in _statements(policy.document))
        for resource_policy in self.resource_policies:
            yield from ((resource_policy.policy.name, s) for s in _statements(resource_policy.policy.document))


def _statements(document: Mapping) -> list[dict]:
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def load_policies(templates: Mapping[str, Mapping], *, account: str, region: str) -> PlatformPolicies:
    """The concrete policies of one environment's templates (``{stack: template JSON}``, all stacks)."""
    resolver = Resolver(templates, account=account, region=region)
    role_policies: dict[str, list[NamedPolicy]] = {}
    group_policies: dict[str, list[NamedPolicy]] = {}
    managed_policies: dict[str, NamedPolicy] = {}
    resource_policies: list[ResourcePolicy] = []
    roles: list[tuple[str, str, dict]] = []

    for stack, template in templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            kind = resource["Type"]
            props = resource.get("Properties", {})
            name = f"{stack}/{logical_id}"

            def value(key: str, props=props, logical_id=logical_id, stack=stack):
                return resolver.resolve(stack, props[key], f"Resources/{logical_id}/Properties/{key}")

            if kind == "AWS::IAM::Role":
                roles.append((stack, logical_id, resource))
                for inline in props.get("Policies", []):
                    document = resolver.resolve(stack, inline["PolicyDocument"], f"Resources/{logical_id}/Policies")
                    role_policies.setdefault(f"{stack}/{logical_id}", []).append(
                        NamedPolicy(f"{name}/{inline['PolicyName']}", document)
                    )
            elif kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
                policy = NamedPolicy(name, value("PolicyDocument"))
                for role_name in value("Roles") if "Roles" in props else []:
                    role_policies.setdefault(role_name, []).append(policy)
                for group_name in value("Groups") if "Groups" in props else []:
                    group_policies.setdefault(group_name, []).append(policy)
                if kind == "AWS::IAM::ManagedPolicy":
                    managed_policies[resolver.ref(stack, logical_id)] = policy
            elif kind == "AWS::KMS::Key":
                arn = resolver.attribute(stack, logical_id, "Arn")
                resource_policies.append(ResourcePolicy("key", (arn,), NamedPolicy(name, value("KeyPolicy"))))
            elif kind == "AWS::S3::BucketPolicy":
                bucket_arn = f"arn:aws:s3:::{value('Bucket')}"
                document = NamedPolicy(name, value("PolicyDocument"))
                resource_policies.append(ResourcePolicy("bucket", (bucket_arn, f"{bucket_arn}/*"), document))
            elif kind == "AWS::SNS::TopicPolicy":
                topics = tuple(value("Topics"))
                resource_policies.append(ResourcePolicy("topic", topics, NamedPolicy(name, value("PolicyDocument"))))
            elif kind == "AWS::SageMaker::ModelPackageGroup" and "ModelPackageGroupPolicy" in props:
                group_arn = resolver.ref(stack, logical_id)
                packages = group_arn.replace(":model-package-group/", ":model-package/") + "/*"
                document = NamedPolicy(name, value("ModelPackageGroupPolicy"))
                resource_policies.append(ResourcePolicy("model-package-group", (group_arn, packages), document))

    return PlatformPolicies(
        account=account,
        region=region,
        roles=tuple(_role(resolver, *found, role_policies, managed_policies) for found in roles),
        resource_policies=tuple(resource_policies),
        resolver=resolver,
        groups={name: tuple(found) for name, found in group_policies.items()},
    )


def _role(
    resolver: Resolver,
    stack: str,
    logical_id: str,
    resource: Mapping,
    role_policies: Mapping[str, list[NamedPolicy]],
    managed_policies: Mapping[str, NamedPolicy],
) -> Role:
    props = resource["Properties"]
    managed_arns = resolver.resolve(stack, props.get("ManagedPolicyArns", []), f"Resources/{logical_id}")
    if managed_arns:
        # Their documents are not in the templates, so evaluating without them would be a guess.
        raise UnresolvedIntrinsic(
            f"{stack}: role {logical_id} attaches ManagedPolicyArns {managed_arns} whose documents are not in the"
            " templates; attach customer-managed policies through their Roles property instead"
        )
    role_name = resolver.ref(stack, logical_id)
    policies = role_policies.get(role_name, []) + role_policies.get(f"{stack}/{logical_id}", [])
    trust = resolver.resolve(stack, props["AssumeRolePolicyDocument"], f"Resources/{logical_id}/AssumeRolePolicy")
    boundary = None
    if "PermissionsBoundary" in props:
        boundary_arn = resolver.resolve(stack, props["PermissionsBoundary"], f"Resources/{logical_id}")
        boundary = managed_policies.get(boundary_arn)
        if boundary is None:
            raise UnresolvedIntrinsic(
                f"{stack}: role {logical_id} has the permissions boundary {boundary_arn}, which no template"
                " creates; pass every stack of the environment"
            )
    return Role(
        stack=stack,
        logical_id=logical_id,
        arn=resolver.attribute(stack, logical_id, "Arn"),
        trust_policy=NamedPolicy(f"{stack}/{logical_id}/trust", trust),
        identity_policies=tuple(policies),
        permissions_boundary=boundary,
    )
