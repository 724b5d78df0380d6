"""CLI: decide the access contract of each environment with iam-simulate and print the counts.

    python -m tools.iam_evaluator --summary              # per principal: allowed, denied, mismatches
    python -m tools.iam_evaluator --env prod --cases     # every row with its decision
"""

from __future__ import annotations

import argparse
import sys
import time

from stacks.config import ENVIRONMENTS
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
    parser = argparse.ArgumentParser(prog="python -m tools.iam_evaluator", description=__doc__.splitlines()[0])
    parser.add_argument("--env", action="append", choices=sorted(ENVIRONMENTS),
                        help="environment to check (repeatable; default: all)")
    parser.add_argument("--summary", action="store_true", help="counts per principal (the default output)")
    parser.add_argument("--cases", action="store_true", help="also print every case with its decision")
    args = parser.parse_args(argv)
    mismatches = 0
    for env in args.env or sorted(ENVIRONMENTS):
        config = ENVIRONMENTS[env]
        policies = load_policies(environment_templates(config), account=config.account, region=config.region)
        cases = platform_cases(policies, config)
        started = time.perf_counter()
        outcomes = check_contract(policies, cases)
        seconds = time.perf_counter() - started
        print(format_summary(env, outcomes, seconds))
        for outcome in outcomes:
            if args.cases or not outcome.matches:
                print(format_case(outcome))
        mismatches += sum(not o.matches for o in outcomes)
    if mismatches:
        print(f"{mismatches} decisions differ from the contract; see the MISMATCH rows", file=sys.stderr)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
