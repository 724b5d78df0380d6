"""CLI: decide the access contract of each environment with iam-simulate and print the counts.

    python -m tools.iam_evaluator --summary              # per principal: allowed, denied, mismatches
    python -m tools.iam_evaluator --env prod --cases     # every row with its decision
"""

from __future__ import annotations

import time

from stacks.config import ENVIRONMENTS
from tools import cli
from tools.iam_evaluator.bridge import EvaluatorError, run_batch
from tools.iam_evaluator.contract import Outcome, check_contract, platform_cases, summary
from tools.iam_evaluator.policies import load_policies
from tools.iam_evaluator.synth import environment_templates


def format_summary(env: str, outcomes: list[Outcome], seconds: float) -> str:
    lines = [f"{env}: {len(outcomes)} cases decided by iam-simulate in {seconds:.2f} s",
             f"  {'principal':<32} {'allowed':>7} {'denied':>7} {'mismatches':>10}"]
    for principal, counts in summary(outcomes).items():
        lines.append(f"  {principal:<32} {counts['allowed']:>7} {counts['denied']:>7} {counts['mismatches']:>10}")
    return "\n".join(lines)


def format_case(outcome: Outcome) -> str:
    case = outcome.case
    mark = "ok " if outcome.matches else "MISMATCH"
    return (f"  {mark} {case.expected:<5} {outcome.decision.result:<16} {case.principal:<12} {case.action}"
            f" {case.resource}  # {case.why}")


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="python -m tools.iam_evaluator", description=__doc__.splitlines()[0])
    parser.add_argument("--env", action="append", choices=sorted(ENVIRONMENTS),
                        help="environment to check (repeatable; default: all)")
    parser.add_argument("--summary", action="store_true", help="counts per principal (the default output)")
    parser.add_argument("--cases", action="store_true", help="also print every case with its decision")
    args = parser.parse_args(argv)
    envs = args.env or sorted(ENVIRONMENTS)
    if len(set(envs)) != len(envs):
        parser.error(f"--env {' '.join(envs)}: each environment once")
    try:
        run_batch()  # Node and iam-simulate are there, before seconds of synth
        mismatches = 0
        for env in envs:
            mismatches += _check(env, cases=args.cases)
    except EvaluatorError as exc:
        raise cli.ToolError(str(exc)) from None
    if mismatches:
        raise cli.ToolError(f"{mismatches} decisions differ from the contract; see the MISMATCH rows above")
    return 0


def _check(env: str, *, cases: bool) -> int:
    config = ENVIRONMENTS[env]
    policies = load_policies(environment_templates(config), account=config.account, region=config.region)
    platform = platform_cases(policies, config)
    started = time.perf_counter()
    outcomes = check_contract(policies, platform)
    seconds = time.perf_counter() - started
    print(format_summary(env, outcomes, seconds))
    for outcome in outcomes:
        if cases or not outcome.matches:
            print(format_case(outcome))
    return sum(not o.matches for o in outcomes)


if __name__ == "__main__":
    cli.run(main)
