"""``python -m bench [--rows N] [--only training|inference|drift|batch|formats]``: each in turn, or one.

Every failure ends in one line (tools.cli): a bad option exits 2, a benchmark run that failed exits 1.
"""

from __future__ import annotations

import importlib
import sys

from tools import cli


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("training", "inference", "drift", "batch", "formats"),
                        help="run one benchmark")
    options, rest = parser.parse_known_args(argv)
    if options.only in ("inference", "drift", "batch", "formats") and rest:
        parser.error(f"the {options.only} benchmark takes no options here ({' '.join(rest)}); they are"
                     f" bench.training's (run python -m bench.{options.only} for its own)")
    status = 0
    if options.only in (None, "training"):
        from bench import training

        status |= training.main(rest) or 0
    if options.only in (None, "inference"):
        try:
            inference = importlib.import_module("bench.inference")
        except ImportError as exc:  # the inference benchmark ships separately
            print(f"bench: inference benchmark not available ({exc})", file=sys.stderr)
        else:
            status |= inference.main([]) or 0
    if options.only in (None, "drift"):
        from bench import drift

        status |= drift.main([]) or 0
    if options.only in (None, "batch"):
        from bench import batch

        status |= batch.main([]) or 0
    if options.only in (None, "formats"):
        from bench import formats

        status |= formats.main([]) or 0
    return status


if __name__ == "__main__":
    cli.run(main)
