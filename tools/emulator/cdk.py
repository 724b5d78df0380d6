"""Run the pinned CDK CLI against an Emulator: bootstrap, deploy, destroy."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.cli import ToolError, one_line
from tools.emulator.core import terminate_process_group_of

if TYPE_CHECKING:
    from tools.emulator.core import Emulator

CLI_TIMEOUT_S = 600
# Never prompt, never phone home, never print banners that bury the real output.
COMMON_FLAGS = ["--ci", "--no-notices", "--no-version-reporting", "--no-color"]


class CdkError(ToolError, RuntimeError):
    """The CDK CLI failed: a one-line message (tools.cli's ToolError, exit 1); ``output`` and
    ``log`` keep the CLI's output and the emulator log's tail for --verbose and --debug."""

    def __init__(self, message: str, output: str = "", log: str = "") -> None:
        super().__init__(message)
        self.output = output
        self.log = log


@dataclass
class CdkRun:
    args: list[str]
    returncode: int
    output: str
    seconds: float


@dataclass
class DeployResult:
    stacks: list[str]
    runs: list[CdkRun] = field(default_factory=list)
    unemulated: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    seconds: float = 0.0


def cdk_bin() -> str:
    """The CLI pinned in package.json; a global `cdk` may be another version."""
    root = Path(__file__).resolve().parents[2]
    local = root / "node_modules" / ".bin" / "cdk"
    if not local.exists():
        raise CdkError(f"CDK CLI not found at {local}; run `make setup` (or `npm ci`) in {root}")
    return str(local)


def run_cdk(
    emulator: Emulator,
    args: list[str],
    *,
    app_dir: str | os.PathLike[str] | None = None,
    context: dict[str, Any] | None = None,
    check: bool = True,
    timeout: float = CLI_TIMEOUT_S,
) -> CdkRun:
    cmd = [cdk_bin(), *args, *COMMON_FLAGS]
    for key, value in (context or {}).items():
        cmd += ["--context", f"{key}={value if isinstance(value, str) else json.dumps(value)}"]
    what = describe(args)
    cwd = Path(app_dir or Path.cwd())
    if not cwd.is_dir():
        raise CdkError(f"`{what}`: no such app directory {cwd}; pass the folder holding the app's cdk.json")
    start = time.monotonic()
    # Its own process group: on a timeout or an interrupt the CLI's children (the app's synth)
    # must go too, and killing only the node process would orphan them.
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=emulator.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        # Watches the server too: a dead emulator ends the CLI at once, with EmulatorDied.
        output = emulator.supervise(proc, f"`{what}`", timeout=timeout, kill=terminate_process_group_of)
    except subprocess.TimeoutExpired:
        raise CdkError(f"`{what}` did not finish within {timeout:.0f}s in {cwd}; is the machine overloaded?") from None
    run = CdkRun(cmd, proc.returncode, output, time.monotonic() - start)
    if check and proc.returncode != 0:
        if "bootstrap" in output.lower() and args[0] != "bootstrap":
            fix = (
                f"the emulator plays account {emulator.account_id} in {emulator.region}; if the app targets another"
                " environment, start the emulator with that account and region (CLI: --account/--region)"
            )
        else:
            fix = "rerun with --verbose for the CDK CLI's output, --debug for the emulator's log too"
        raise CdkError(
            f"`{what}` failed with exit code {proc.returncode} in {cwd}: {error_line(output)}; {fix}",
            output,
            emulator.log_tail(),
        )
    return run


def describe(args: list[str]) -> str:
    """`cdk deploy --all` from the CLI's arguments: the command and its stacks, without paths."""
    words = ["cdk"]
    for arg in args:
        if arg.startswith("-") and arg != "--all":
            break
        words.append(arg)
    return " ".join(words)


def error_line(output: str) -> str:
    """The line of the CDK CLI's output that says what failed (its own error lines first)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for marker in ("❌", "Error:", "error:", "failed", "No stack", "no stack"):
        found = [line for line in lines if marker in line]
        if found:
            return one_line(found[-1])[:400]
    return one_line(lines[-1])[:400] if lines else "(no output)"


def bootstrap(emulator: Emulator, app_dir: str | os.PathLike[str] | None = None, **kwargs: Any) -> CdkRun:
    """`cdk bootstrap` of the emulator's account and region.

    Runs outside any app dir by default: in one, the CLI would synth the app (slow, and it locks
    that app's cdk.out against concurrent CLIs) although the target environment is explicit.
    """
    target = f"aws://{emulator.account_id}/{emulator.region}"
    return run_cdk(emulator, ["bootstrap", target], app_dir=app_dir or emulator.workdir, **kwargs)


def deploy(
    emulator: Emulator,
    app_dir: str | os.PathLike[str],
    stacks: list[str] | None = None,
    context: dict[str, Any] | None = None,
    *,
    output_dir: str | os.PathLike[str] | None = None,
    report: bool = True,
    method: str | None = None,
) -> DeployResult:
    """`cdk deploy` the given stacks (all when None) of the CDK app in `app_dir`.

    `method` is the CLI's --method: "change-set" (its default) or "direct".
    """
    start = time.monotonic()
    args = ["deploy", *(stacks or ["--all"]), "--require-approval", "never"]
    if method:
        args += ["--method", method]
    # The app dir's own cdk.out may be in use by other synths; the emulator's workdir is private.
    assembly = Path(output_dir or emulator.workdir / "cdk.out")
    args += ["--output", str(assembly)]
    run = run_cdk(emulator, args, app_dir=app_dir, context=context)
    names = stacks or assembly_stack_names(assembly)
    result = DeployResult(stacks=names, runs=[run])
    if report:
        from tools.emulator.report import unemulated_resources

        result.unemulated = {name: unemulated_resources(name, emulator=emulator) for name in names}
    result.seconds = time.monotonic() - start
    return result


def destroy(
    emulator: Emulator,
    app_dir: str | os.PathLike[str],
    stacks: list[str] | None = None,
    context: dict[str, Any] | None = None,
    *,
    app: str | None = None,
) -> CdkRun:
    """`cdk destroy --force`; `app` may name a cloud assembly dir to skip a fresh synth."""
    args = ["destroy", *(stacks or ["--all"]), "--force"]
    args += ["--app", app] if app else ["--output", str(emulator.workdir / "cdk.out")]
    return run_cdk(emulator, args, app_dir=app_dir, context=context)


def assembly_stack_names(assembly: Path) -> list[str]:
    """The CloudFormation stack names of a synthesized cloud assembly, in manifest order."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    return [
        artifact.get("properties", {}).get("stackName", artifact_id)
        for artifact_id, artifact in manifest.get("artifacts", {}).items()
        if artifact.get("type") == "aws:cloudformation:stack"
    ]
