"""One error convention for every command-line entry point of ``tools/`` and ``bench/``.

A run ends in exactly one of these ways:

====  ==========================================================================
exit  meaning (last line on stderr)
====  ==========================================================================
0     done
2     ``error: <problem>; <fix>``: a :class:`UserError` or a bad option (argparse)
1     ``error: <problem>; <fix>``: a :class:`ToolError` (the environment or a tool
      failed), or ``error: unexpected <Type>: ...`` for a bug
130   ``interrupted: stopped by Ctrl-C``
143   ``terminated: stopped by SIGTERM``
====  ==========================================================================

No traceback is printed unless asked for, with ``--debug`` anywhere on the
command line or ``MLP_DEBUG=1`` in the environment. Cleanup lives in the
commands' own ``finally`` blocks and context managers: SIGTERM is turned into an
exception so that they run, as they do for Ctrl-C.

``training/`` cannot import this module (it runs inside SageMaker's container);
its scripts follow the same exit codes through ``smxgb.failure``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

DEBUG_FLAG = "--debug"
DEBUG_ENV = "MLP_DEBUG"

EXIT_TOOL_ERROR = 1
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class UserError(Exception):
    """Bad input the user can fix. The message names the problem and the fix."""

    exit_code = EXIT_USER_ERROR


class ToolError(Exception):
    """The environment or a tool failed (a dead emulator, a failed CDK CLI). Names what to do."""

    exit_code = EXIT_TOOL_ERROR


class Terminated(BaseException):
    """SIGTERM, raised where the process is so that ``finally`` blocks and ``with`` exits run."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line too: ``error: <problem>; see <prog> --help``, exit 2.

    Plain argparse prints the usage block and then the error; here the error is the
    last and only line. Subparsers inherit the class.
    """

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message}; see {self.prog} --help")


def debug_requested(argv: Sequence[str]) -> bool:
    return DEBUG_FLAG in argv or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def one_line(text: str) -> str:
    """Whitespace and newlines folded: a message must stay one line in a log."""
    return " ".join(str(text).split())


def _raise_terminated(signum: int, frame: object) -> NoReturn:
    raise Terminated()


def run(main: Callable[[list[str]], int | None], argv: Sequence[str] | None = None) -> NoReturn:
    """Call ``main(argv)`` under the convention and exit with its code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    sys.exit(guarded(main, argv))


def guarded(main: Callable[[list[str]], int | None], argv: Sequence[str]) -> int:
    """``main(argv)``'s exit code, every failure reduced to one line on stderr."""
    argv = list(argv)
    debug = debug_requested(argv)
    if debug:
        os.environ[DEBUG_ENV] = "1"  # child tools (the demo's synth, emulator) inherit it
    argv = [a for a in argv if a != DEBUG_FLAG]
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return int(main(argv) or 0)
    except SystemExit as exc:  # argparse's usage errors (2) and explicit exits keep their code
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        return _report(f"error: {one_line(exc.code)}", EXIT_USER_ERROR, debug)
    except KeyboardInterrupt:
        return _report("interrupted: stopped by Ctrl-C", EXIT_INTERRUPTED, debug)
    except Terminated:
        return _report("terminated: stopped by SIGTERM", EXIT_TERMINATED, debug)
    except (UserError, ToolError) as exc:
        return _report(f"error: {one_line(exc)}", exc.exit_code, debug)
    except Exception as exc:  # noqa: BLE001 - a bug still ends in one line, with the way to see more
        hint = "" if debug else f" (rerun with {DEBUG_FLAG} or {DEBUG_ENV}=1 for the traceback)"
        return _report(f"error: unexpected {type(exc).__name__}: {one_line(exc)}{hint}", EXIT_TOOL_ERROR, debug)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _report(line: str, code: int, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    sys.stdout.flush()
    print(line, file=sys.stderr, flush=True)
    return code

