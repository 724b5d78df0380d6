"""Synth wall time of the platform next to an empty CDK app's, side by side on this machine.

    .venv/bin/python -m tools.synth_benchmark [--runs 3]

Both go through the pinned CDK CLI, so the ratio isolates what the platform's
own constructs and the four nag packs cost over the CLI + jsii start-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
EMPTY_APP = "import aws_cdk as cdk; app = cdk.App(); cdk.Stack(app, 'Empty'); app.synth()"


def _time_synth(app: str | None, outdir: str) -> float:
    command = [str(REPO_ROOT / "node_modules" / ".bin" / "cdk"), "synth", "--quiet", "--no-notices", "-o", outdir]
    if app:
        command += ["--app", app]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    empty_app = f'{sys.executable} -c "{EMPTY_APP}"'
    empty, platform = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):  # interleaved so machine load affects both alike
            empty.append(_time_synth(empty_app, f"{tmp}/empty{run}"))
            platform.append(_time_synth(None, f"{tmp}/platform{run}"))
    e, p = statistics.median(empty), statistics.median(platform)
    print(f"empty app synth (median of {args.runs}):      {e:6.2f} s")
    print(f"platform synth, 4 nag packs (median of {args.runs}): {p:6.2f} s")
    print(f"ratio platform / empty:                 {p / e:6.2f}x")


if __name__ == "__main__":
    main()
