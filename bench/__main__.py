"""``python -m bench [--rows N] [--only training|inference]``: training, then inference if present.

Every failure ends in one line (tools.cli): a bad option exits 2, a benchmark run that failed exits 1.
"""

from __future__ import annotations

import importlib
import sys

from tools import cli


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("training", "inference"), help="run one benchmark")
    options, rest = parser.parse_known_args(argv)
    if options.only == "inference" and rest:
        parser.error(f"the inference benchmark takes no options ({' '.join(rest)}); they are bench.training's")
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
    return status


if __name__ == "__main__":
    cli.run(main)
