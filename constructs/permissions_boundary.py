"""The permissions boundary every role of the platform carries, and every role a person creates must carry.

A boundary caps what a role can ever do, whatever its own policies say. This
one allows exactly the actions the platform's roles are granted (collected from
every :class:`~constructs.execution_role.ExecutionRole` of the app when the
template is written, so it never drifts from them) and denies, to every role
under it:

* creating or changing a role (``iam:CreateRole``, ``PutRolePolicy``,
  ``AttachRolePolicy``, ...) unless that role carries this same boundary, and
  removing a boundary: a person allowed to create roles cannot create one
  stronger than themselves;
* changing or deleting the boundary policy itself;
* long-term credentials for people (IAM users, access keys, console passwords).

It is a managed policy with a fixed name, so every stack names it by ARN
(``PlatformConfig.permissions_boundary_arn``) without a cross-stack reference.
"""

from __future__ import annotations

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from constructs import Construct
from constructs.compliance import acknowledge
from constructs.execution_role import ExecutionRole

#: Role changes that must keep the boundary on the role they change
#: (each takes the ``iam:PermissionsBoundary`` condition key).
ROLE_CHANGES = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
)
#: Edits of a managed policy: never of the boundary.
POLICY_CHANGES = (
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
)
#: Long-term credentials for people: none is created under the boundary.
LONG_TERM_CREDENTIALS = (
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:CreateUser",
    "iam:UpdateLoginProfile",
)


def granted_actions(root: Construct) -> list[str]:
    """Every action some ExecutionRole of the app is granted, sorted."""
    actions: set[str] = set()
    for construct in root.node.find_all():
        if isinstance(construct, ExecutionRole):
            actions |= construct.actions
    return sorted(actions)


@jsii.implements(cdk.IStableListProducer)
class _GrantedActions:
    """Produces the actions when the template is written: by then every role has its grants."""

    def __init__(self, root: Construct) -> None:
        self._root = root

    def produce(self) -> list[str]:
        return granted_actions(self._root)


class PermissionsBoundary(Construct):
    """The boundary policy; apply it to roles with ``iam.PermissionsBoundary.of(scope).apply``.

    :param policy_name: fixed name of the managed policy (its ARN is known before it exists).
    """

    def __init__(self, scope: Construct, id: str, *, policy_name: str) -> None:
        super().__init__(scope, id)
        stack = cdk.Stack.of(self)
        self.arn = f"arn:aws:iam::{stack.account}:policy/{policy_name}"
        allowed = cdk.Lazy.list(_GrantedActions(self.node.root))
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            managed_policy_name=policy_name,
            description="ML platform: the most any role of the platform, or created by its people, may do",
            statements=[
                iam.PolicyStatement(sid="PlatformActions", actions=allowed, resources=["*"]),
                iam.PolicyStatement(
                    sid="NoRoleWithoutThisBoundary",
                    effect=iam.Effect.DENY,
                    actions=list(ROLE_CHANGES),
                    resources=["*"],
                    conditions={"StringNotEquals": {"iam:PermissionsBoundary": self.arn}},
                ),
                iam.PolicyStatement(
                    sid="NoBoundaryRemoval",
                    effect=iam.Effect.DENY,
                    actions=["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="NoBoundaryEdit", effect=iam.Effect.DENY, actions=list(POLICY_CHANGES), resources=[self.arn]
                ),
                iam.PolicyStatement(
                    sid="NoLongTermCredentials",
                    effect=iam.Effect.DENY,
                    actions=list(LONG_TERM_CREDENTIALS),
                    resources=["*"],
                ),
            ],
        )
        acknowledge(
            self.policy,
            "IAM5[Resource::*]",
            "A permissions boundary caps actions, not resources: it allows exactly the actions the platform's"
            " roles are granted (each role's own policy names the resources), and its denials apply to every"
            " role and user",
        )
