"""`make cost`: idle cost per month and the cost of one pipeline run, per environment.

    python -m tools.cost [--env dev --env prod] [--json] [--processing-minutes 5] [--trial-minutes 5]
    python -m tools.cost --write-readme | --check-readme

Synthesizes each environment in-process (hermetic, no AWS call), reads the
templates, and prices them with the dated table in tools/cost/prices.py.
"""

from __future__ import annotations

import json
import math

from tools import cli
from tools.cost.prices import UnknownPrice
from tools.cost.report import REPO_ROOT, environment_cost, markdown

README = REPO_ROOT / "README.md"
#: A month: longer jobs are a typo, not a plan.
MAX_MINUTES = 44_640
BEGIN, END = "<!-- make cost: begin -->", "<!-- make cost: end -->"


def readme_with(table: str, text: str) -> str:
    if BEGIN not in text or END not in text:
        raise UnknownPrice(f"README.md has no {BEGIN} ... {END} block to hold the cost tables")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    from stacks.config import ENVIRONMENTS, ConfigError

    parser = cli.ArgumentParser(prog="python -m tools.cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", action="append", choices=sorted(ENVIRONMENTS),
                        help="environment (repeatable); default dev and prod")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--processing-minutes", type=float, default=5.0, help="minutes per processing job")
    parser.add_argument("--trial-minutes", type=float, default=5.0, help="minutes per tuning trial")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write-readme", action="store_true", help="regenerate the README's cost tables")
    mode.add_argument("--check-readme", action="store_true", help="exit 1 when the README's tables are stale")
    args = parser.parse_args(argv)
    for flag, minutes in (("--processing-minutes", args.processing_minutes), ("--trial-minutes", args.trial_minutes)):
        if not (math.isfinite(minutes) and 0 < minutes <= MAX_MINUTES):
            parser.error(f"{flag} {minutes:g} must be a positive number of minutes, at most {MAX_MINUTES:,}")
    envs = args.env or ["dev", "prod"]
    if len(set(envs)) != len(envs):
        parser.error(f"--env {' '.join(envs)}: each environment once")
    if (args.write_readme or args.check_readme) and not README.is_file():
        raise cli.UserError(f"{README} does not exist; run from a checkout of the repository")
    try:
        costs = [environment_cost(env, processing_minutes=args.processing_minutes, trial_minutes=args.trial_minutes)
                 for env in envs]
    except (UnknownPrice, ConfigError) as exc:  # a price to add, or a configuration that cannot work
        raise cli.UserError(str(exc)) from None
    if args.json:
        print(json.dumps([c.to_json() for c in costs], indent=2))
        return 0
    table = markdown(costs)
    if args.write_readme or args.check_readme:
        current = README.read_text()
        try:
            wanted = readme_with(table, current)
        except UnknownPrice as exc:
            raise cli.UserError(str(exc)) from None
        if args.check_readme:
            if wanted != current:
                raise cli.ToolError("README.md's cost tables are stale; run `python -m tools.cost --write-readme`")
            return 0
        README.write_text(wanted)
    print(table, end="")
    return 0


if __name__ == "__main__":
    cli.run(main)
