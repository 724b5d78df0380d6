"""``python -m bench [--rows N] [--only training|inference]``: training, then inference if present."""

from __future__ import annotations

import argparse
import importlib
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=("training", "inference"), help="run one benchmark")
    options, rest = parser.parse_known_args(argv)
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
            status |= inference.main() or 0
    return status


if __name__ == "__main__":
    sys.exit(main())
