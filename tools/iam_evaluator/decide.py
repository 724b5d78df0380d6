"""Ask the real evaluator whether a principal of the platform may do something.

``decide`` (one request) and ``decide_all`` (a batch, one Node process) take
the environment's :class:`PlatformPolicies`, pick the principal's identity
policies and the resource's own policy (key policy, bucket policy, group
policy, topic policy, trust policy) by ARN, and let iam-simulate apply AWS's
evaluation logic: same-account requests are allowed when the identity OR the
resource policy allows and nothing denies explicitly; KMS keys only honour
identity policies when their key policy trusts the account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from tools.iam_evaluator.bridge import EvaluatorError, run_batch
from tools.iam_evaluator.policies import NamedPolicy, PlatformPolicies

ContextValue = str | bool | int | Sequence[str] | None
#: Maps a resource ARN to the resource policy AWS evaluates with the request (None: there is none).
ResourcePolicyOf = Callable[[str], NamedPolicy | None]

ALLOWED = "Allowed"


@dataclass(frozen=True)
class Request:
    """One API call: who, what, on which resource, with which request context.

    ``context`` adds to (and overrides; ``None`` removes) the keys every signed
    request carries: ``aws:PrincipalArn``, ``aws:PrincipalAccount`` and
    ``aws:SecureTransport`` (``true``). Lists are multi-valued keys.
    ``identity_policies`` is for principals that are not roles of the templates
    (an administrator of the account, a role of another project).
    """

    principal: str
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    resource_account: str | None = None
    identity_policies: tuple[dict, ...] | None = None


@dataclass(frozen=True)
class Decision:
    request: Request
    #: ``Allowed``, ``ExplicitlyDenied`` or ``ImplicitlyDenied``.
    result: str
    #: Name of the resource policy evaluated with the identity policies, if any.
    resource_policy: str | None

    @property
    def allowed(self) -> bool:
        return self.result == ALLOWED


def decide(
    policies: PlatformPolicies,
    principal: str,
    action: str,
    resource: str,
    context: Mapping[str, ContextValue] | None = None,
    *,
    resource_policy_of: ResourcePolicyOf | None = None,
    identity_policies: Sequence[dict] | None = None,
    resource_account: str | None = None,
) -> Decision:
    """One request; prefer :func:`decide_all` for many (each call starts Node)."""
    request = Request(
        principal,
        action,
        resource,
        context or {},
        resource_account,
        tuple(identity_policies) if identity_policies is not None else None,
    )
    return decide_all(policies, [request], resource_policy_of=resource_policy_of)[0]


def decide_all(
    policies: PlatformPolicies, requests: Sequence[Request], *, resource_policy_of: ResourcePolicyOf | None = None
) -> list[Decision]:
    """Every request in one evaluator run, in order.

    Raises :class:`EvaluatorError` when iam-simulate refuses a request (an
    invalid policy, an unknown action, a resource ARN of no type the action
    takes) or when a request passes a context key that iam-data does not list
    for the action and resource: such a key would silently be dropped, so the
    case would not test what it says.
    """
    lookup = resource_policy_of or policies.resource_policy_of
    payload, used = [], []
    for index, request in enumerate(requests):
        resource_policy = lookup(request.resource)
        used.append(resource_policy.name if resource_policy else None)
        payload.append(
            {
                "id": str(index),
                "principal": request.principal,
                "action": request.action,
                "resource": request.resource,
                "resourceAccount": request.resource_account or _account_of(request.resource, policies.account),
                "context": _context(request),
                "identityPolicies": _identity_policies(policies, request),
                "resourcePolicy": resource_policy.document if resource_policy else None,
                "permissionBoundaries": _boundaries(policies, request),
            }
        )
    answer = run_batch(payload)
    decisions = []
    for request, result, resource_policy in zip(requests, answer.results, used, strict=True):
        where = f"{request.principal} {request.action} {request.resource}"
        if result["error"]:
            raise EvaluatorError(f"iam-simulate refused {where}: {result['error']}")
        mistaken = sorted(set(result["ignoredContextKeys"]) & set(request.context))
        if mistaken:
            raise EvaluatorError(
                f"{where}: iam-data lists no context keys {mistaken} for this action and resource; AWS would not"
                " send them, so drop them or use the key the action documents"
            )
        decisions.append(Decision(request, result["decision"], resource_policy))
    return decisions


def _account_of(arn: str, default: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else default


def _context(request: Request) -> dict[str, str | list[str]]:
    base: dict[str, ContextValue] = {"aws:SecureTransport": True}
    if request.principal.startswith("arn:"):
        base["aws:PrincipalArn"] = request.principal
        base["aws:PrincipalAccount"] = request.principal.split(":")[4]
    merged = {**base, **request.context}
    return {key: _string(value) for key, value in merged.items() if value is not None}


def _string(value: ContextValue) -> str | list[str]:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int):
        return str(value)
    return [_string(v) for v in value]


def _identity_policies(policies: PlatformPolicies, request: Request) -> list[dict]:
    if request.identity_policies is not None:
        return [{"name": f"given-{i}", "policy": p} for i, p in enumerate(request.identity_policies)]
    if not request.principal.startswith("arn:"):
        return []  # a service principal acts on the resource policy's grant alone
    role = policies.role_by_arn(request.principal)
    if role is None:
        raise EvaluatorError(
            f"{request.principal} is not a role of the templates; pass identity_policies for it"
        )
    return [{"name": p.name, "policy": p.document} for p in role.identity_policies]


def _boundaries(policies: PlatformPolicies, request: Request) -> list[dict] | None:
    """The permissions boundary of a role of the templates; none for other principals."""
    role = policies.role_by_arn(request.principal) if request.identity_policies is None else None
    if role is None or role.permissions_boundary is None:
        return None
    return [{"name": role.permissions_boundary.name, "policy": role.permissions_boundary.document}]
