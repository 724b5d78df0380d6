"""Turn any failure into the container's failure file and a non-zero exit.

The script-mode toolkit overwrites ``/opt/ml/output/failure`` with a generic
message when the script exits non-zero, so the real reason is also printed as
the last log line, where CloudWatch and ``DescribeTrainingJob`` users find it.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from smxgb import env

FAILURE_PREFIX = "FAILURE: "


class UserError(Exception):
    """A problem the user can fix: bad input, bad hyperparameter, missing channel.

    The message must name the problem and the fix; it becomes the failure reason.
    """


def write_failure(reason: str, output_dir: Path | None = None) -> Path:
    output_dir = output_dir or env.path(env.SM_OUTPUT_DIR)
    output_dir.mkdir(parents=True, exist_ok=True)
    failure_file = output_dir / "failure"
    failure_file.write_text(reason + "\n")
    return failure_file


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, UserError):
        text = f"{type(exc).__name__}: {text}"
    return text


def run_main(main: Callable[[], None], *, output_dir: Path | None = None) -> None:
    """Run ``main``; on failure write the reason, print it last, exit 1 (2 for user errors)."""
    try:
        main()
    except BaseException as exc:  # noqa: BLE001 - every failure must be reported
        if isinstance(exc, SystemExit) and exc.code in (0, None):
            raise
        if not isinstance(exc, (UserError, SystemExit)):
            traceback.print_exc()
        reason = one_line(exc) if not isinstance(exc, SystemExit) else f"exited with {exc.code}"
        write_failure(reason, output_dir)
        sys.stdout.flush()
        print(FAILURE_PREFIX + reason, file=sys.stderr, flush=True)
        sys.exit(2 if isinstance(exc, UserError) else 1)
