"""Condition keys checked against the Service Authorization Reference (as packaged by iam-data).

A condition on a key that the service never sends for the action is not a
guardrail: an Allow conditioned on it never matches (the job is denied), and
a Deny conditioned on it never fires (the guardrail is silently off). AWS does
not reject such policies, so :func:`unlisted_condition_keys` does.

Rules: a key guarding an exact action must be one iam-data lists for that
action or its resource types; a key guarding a wildcard action (``s3:*``) must
be listed for at least one action the wildcard matches; global keys
(``aws:...``) are accepted for every action but must exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from tools.iam_evaluator.bridge import run_batch

OPERATORS = frozenset(
    {
        *(
            f"String{op}"
            for op in ("Equals", "NotEquals", "EqualsIgnoreCase", "NotEqualsIgnoreCase", "Like", "NotLike")
        ),
        *(
            f"{kind}{op}"
            for kind in ("Numeric", "Date")
            for op in ("Equals", "NotEquals", "LessThan", "LessThanEquals", "GreaterThan", "GreaterThanEquals")
        ),
        "Bool",
        "BinaryEquals",
        "IpAddress",
        "NotIpAddress",
        *(f"Arn{op}" for op in ("Equals", "Like", "NotEquals", "NotLike")),
        "Null",
    }
)
SET_PREFIXES = ("ForAllValues:", "ForAnyValue:")


@dataclass(frozen=True)
class Finding:
    policy: str
    sid: str | None
    action: str
    key: str
    problem: str

    def __str__(self) -> str:
        return f"{self.policy} [{self.sid or 'no Sid'}] {self.action}: {self.key}: {self.problem}"


def operator_base(operator: str) -> str:
    """``ForAllValues:StringEqualsIfExists`` -> ``StringEquals``."""
    for prefix in SET_PREFIXES:
        operator = operator.removeprefix(prefix)
    return operator.removesuffix("IfExists")


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _key_pattern(listed: str) -> re.Pattern:
    # "aws:RequestTag/${TagKey}" matches "aws:RequestTag/Project"; keys are case-insensitive.
    parts = re.split(r"\$\{[^}]+\}", listed)
    return re.compile(".+".join(re.escape(p) for p in parts), re.IGNORECASE)


def _listed(key: str, listed_keys: Iterable[str]) -> bool:
    return any(_key_pattern(k).fullmatch(key) for k in listed_keys)


def _global_listed(key: str, global_keys: Iterable[str]) -> bool:
    # iam-data writes tag keys of global keys as "aws:PrincipalTag/tag-key".
    return any(
        _key_pattern(g.split("/", 1)[0] + "/${Key}" if "/" in g else g).fullmatch(key) for g in global_keys
    )


def _patterns(statement: dict) -> list[str]:
    """Action patterns whose condition keys apply; ``*`` and NotAction become every action of each key's service."""
    actions = _as_list(statement.get("Action", []))
    if "NotAction" in statement or "*" in actions:
        services = {key.split(":", 1)[0] for block in statement.get("Condition", {}).values() for key in block}
        actions = [a for a in actions if a != "*"] + [f"{s}:*" for s in sorted(services - {"aws"})]
    return actions


def unlisted_condition_keys(statements: Iterable[tuple[str, dict]]) -> list[Finding]:
    """Every condition key of ``statements`` (``(policy name, statement)``) that does not apply to its action."""
    statements = [(name, s) for name, s in statements if s.get("Condition")]
    patterns = sorted({p for _, s in statements for p in _patterns(s)})
    answer = run_batch(actions=patterns)
    findings = []
    for name, statement in statements:
        sid = statement.get("Sid")
        for operator, block in statement["Condition"].items():
            if operator_base(operator) not in OPERATORS:
                findings.append(Finding(name, sid, "*", operator, "not an IAM condition operator"))
            for key in block:
                if key.lower().startswith("aws:"):
                    if not _global_listed(key, answer.global_keys):
                        findings.append(Finding(name, sid, "*", key, "not a global condition key"))
                    continue
                for pattern in _patterns(statement):
                    findings += _check(name, sid, pattern, key, answer.actions[pattern])
    return findings


def _check(name: str, sid: str | None, pattern: str, key: str, matched: dict[str, list[str]]) -> list[Finding]:
    if not matched:
        return [Finding(name, sid, pattern, key, "the action is unknown to iam-data")]
    if "*" in pattern or "?" in pattern:
        if any(_listed(key, keys) for keys in matched.values()):
            return []
        return [Finding(name, sid, pattern, key, f"listed for none of the {len(matched)} actions it matches")]
    (action, keys), = matched.items()
    if _listed(key, keys):
        return []
    service = action.split(":", 1)[0]
    own = [k for k in keys if k.lower().startswith(f"{service.lower()}:")]
    return [Finding(name, sid, action, key, f"not listed for the action; iam-data lists {own}")]
