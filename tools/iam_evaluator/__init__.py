"""IAM decisions by a real policy evaluator (iam-simulate), on the platform's synthesized templates.

    policies = load_policies(templates, account=config.account, region=config.region)
    decide(policies, role_arn, "s3:GetObject", "arn:aws:s3:::bucket/key").allowed

``resolve`` makes templates concrete, ``policies`` collects who holds which
policy, ``decide`` asks iam-simulate through ``evaluate.mjs`` (one Node process
per batch), ``condition_keys`` checks condition keys against iam-data, and
``contract`` is the table of what each principal may and may not do.
"""

from tools.iam_evaluator.bridge import EvaluatorError
from tools.iam_evaluator.decide import Decision, Request, decide, decide_all
from tools.iam_evaluator.policies import NamedPolicy, PlatformPolicies, load_policies
from tools.iam_evaluator.resolve import UnresolvedIntrinsic

__all__ = [
    "Decision",
    "EvaluatorError",
    "NamedPolicy",
    "PlatformPolicies",
    "Request",
    "UnresolvedIntrinsic",
    "decide",
    "decide_all",
    "load_policies",
]
