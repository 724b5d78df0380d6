"""Synth wall time of the platform next to an empty CDK app's, side by side on this machine.

    .venv/bin/python -m tools.synth_benchmark [--runs 3]

Both go through the pinned CDK CLI, so the ratio isolates what the platform's
own constructs and the four nag packs cost over the CLI + jsii start-up.
Beside wall time it prints the CPU time (user + system) of each synth's process
tree: on a machine other work is loading, wall time swings with the load while
CPU time stays close to what the synth itself costs.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools import cli
from tools.synth_report import cdk_env

REPO_ROOT = Path(__file__).resolve().parents[1]
CDK_CLI = REPO_ROOT / "node_modules" / ".bin" / "cdk"
MAX_RUNS = 20
EMPTY_APP = "import aws_cdk as cdk; app = cdk.App(); cdk.Stack(app, 'Empty'); app.synth()"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # every waited-for descendant: CLI, app, jsii's node
    return usage.ru_utime + usage.ru_stime


def _time_synth(app: str | None, outdir: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one synth through the CLI."""
    command = [str(CDK_CLI), "synth", "--quiet", "--no-notices", "-o", outdir]
    if app:
        command += ["--app", app]
    env = cdk_env()  # PATH already starts with the venv's bin (tools/__init__.py): its python and Node 24
    cpu_before, started = _children_cpu(), time.perf_counter()
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, check=False, capture_output=True, text=True)
    seconds, cpu_seconds = time.perf_counter() - started, _children_cpu() - cpu_before
    if result.returncode != 0:
        output = (result.stderr + result.stdout).splitlines()
        app_line = next((line for line in reversed(output) if line.startswith("error: ")), None)
        last = app_line or next((line for line in reversed(output) if line.strip()), "no output")
        raise cli.ToolError(f"{'the empty app' if app else 'the platform'}'s synth failed"
                            f" (exit {result.returncode}): {last.strip()}; `make synth` shows the whole report")
    return seconds, cpu_seconds


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="python -m tools.synth_benchmark", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help=f"synths of each app, 1-{MAX_RUNS} (default 3)")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= MAX_RUNS:
        parser.error(f"--runs {args.runs} must be between 1 and {MAX_RUNS}")
    if not os.access(CDK_CLI, os.X_OK):
        raise cli.ToolError(f"the CDK CLI {CDK_CLI.relative_to(REPO_ROOT)} is not installed; run `make setup`")
    empty_app = f'{sys.executable} -c "{EMPTY_APP}"'
    empty, platform = [], []
    with tempfile.TemporaryDirectory(prefix="synth-benchmark-") as tmp:
        for run in range(args.runs):  # interleaved so machine load affects both alike
            empty.append(_time_synth(empty_app, f"{tmp}/empty{run}"))
            platform.append(_time_synth(None, f"{tmp}/platform{run}"))
    e, p = (statistics.median(wall for wall, _ in runs) for runs in (empty, platform))
    ec, pc = (statistics.median(cpu for _, cpu in runs) for runs in (empty, platform))
    print(f"{'median of ' + str(args.runs):34} {'wall':>8} {'CPU':>8}")
    print(f"{'empty app synth':34} {e:7.2f}s {ec:7.2f}s")
    print(f"{'platform synth, 4 nag packs':34} {p:7.2f}s {pc:7.2f}s")
    print(f"{'ratio platform / empty':34} {p / e:7.2f}x {pc / ec:7.2f}x")
    return 0


if __name__ == "__main__":
    cli.run(main)
