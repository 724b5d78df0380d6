"""`make cost`: idle cost per month and the cost of one pipeline run, per environment.

    python -m tools.cost [--env dev --env prod] [--json] [--processing-minutes 5] [--trial-minutes 5]
    python -m tools.cost --write-readme | --check-readme

Synthesizes each environment in-process (hermetic, no AWS call), reads the
templates, and prices them with the dated table in tools/cost/prices.py.
"""

from __future__ import annotations

import argparse
import json
import sys

from tools.cost.prices import UnknownPrice
from tools.cost.report import REPO_ROOT, environment_cost, markdown

README = REPO_ROOT / "README.md"
BEGIN, END = "<!-- make cost: begin -->", "<!-- make cost: end -->"


def readme_with(table: str, text: str) -> str:
    if BEGIN not in text or END not in text:
        raise UnknownPrice(f"README.md has no {BEGIN} ... {END} block to hold the cost tables")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", action="append", help="environment (repeatable); default dev and prod")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--processing-minutes", type=float, default=5.0, help="minutes per processing job")
    parser.add_argument("--trial-minutes", type=float, default=5.0, help="minutes per tuning trial")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write-readme", action="store_true", help="regenerate the README's cost tables")
    mode.add_argument("--check-readme", action="store_true", help="exit 1 when the README's tables are stale")
    args = parser.parse_args(argv)
    if args.processing_minutes <= 0 or args.trial_minutes <= 0:
        parser.error("--processing-minutes and --trial-minutes must be positive")
    try:
        costs = [environment_cost(env, processing_minutes=args.processing_minutes, trial_minutes=args.trial_minutes)
                 for env in (args.env or ["dev", "prod"])]
        if args.json:
            print(json.dumps([c.to_json() for c in costs], indent=2))
            return 0
        table = markdown(costs)
        if args.write_readme or args.check_readme:
            current = README.read_text()
            wanted = readme_with(table, current)
            if args.check_readme:
                if wanted != current:
                    print("error: README.md's cost tables are stale; run `python -m tools.cost --write-readme`",
                          file=sys.stderr)
                    return 1
                return 0
            README.write_text(wanted)
        print(table, end="")
        return 0
    except UnknownPrice as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a configuration error from stacks.config, named in one line
        from stacks.config import ConfigError

        if isinstance(exc, ConfigError):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
