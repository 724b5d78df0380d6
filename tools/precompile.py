"""Compile the optimized bytecode (``*.opt-1.pyc``) of every installed module the CDK app imports.

    .venv/bin/python -O -m tools.precompile      (run by `make setup`)

cdk.json runs the app as ``python -O app.py``: with ``-O`` the jsii bindings skip
their run-time argument type checks (``if __debug__``), which cost about a third
of the app's own Python time. Those checks still run on every construct call in
the test suite, which builds the same stacks without ``-O``. ``-O`` reads
``.opt-1.pyc`` files, which pip does not write and which this machine never
writes at import (PYTHONDONTWRITEBYTECODE): without them every synth would
compile aws_cdk's 8 MB EC2 module from source. Stale files are harmless:
Python checks each one against its source's size and mtime.
"""

from __future__ import annotations

import importlib.util
import py_compile
import sys
import sysconfig
from pathlib import Path

from tools import cli


def installed_modules() -> list[Path]:
    """Source files of the loaded modules that live in the venv's site-packages."""
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    files = set()
    for module in list(sys.modules.values()):
        origin = getattr(module, "__file__", None)
        if origin and origin.endswith(".py") and Path(origin).resolve().is_relative_to(site):
            files.add(Path(origin))
    return sorted(files)


def import_what_a_synth_imports() -> None:
    """The app's whole import graph, nothing synthesized: the app, and what its start-up thread imports."""
    import cdk_nag  # noqa: F401 - app.py's start-up thread imports it; importing the app does not

    import app  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="python -O -m tools.precompile", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    if sys.flags.optimize != 1:
        raise cli.UserError(
            "run with python -O (the app's optimization level); e.g. .venv/bin/python -O -m tools.precompile"
        )
    import_what_a_synth_imports()
    written = 0
    for source in installed_modules():
        target = importlib.util.cache_from_source(str(source))  # *.opt-1.pyc under -O
        py_compile.compile(str(source), cfile=target, doraise=True, optimize=1)
        written += 1
    print(f"compiled {written} modules for python -O")
    return 0


if __name__ == "__main__":
    cli.run(main)
