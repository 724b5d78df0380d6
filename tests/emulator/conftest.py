"""Emulator fixtures: one server per module for the fast API tests, since starting moto costs ~1s."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tools.emulator import Emulator

FIXTURE_APP = Path(__file__).parent / "fixtures" / "app"


@pytest.fixture(scope="module")
def emulator():
    with Emulator() as emu:
        yield emu


def gone(pid: int) -> bool:
    """True when the process has exited (a zombie waiting for a reaper counts as exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" in status


def deploy_template(emu: Emulator, stack: str, template: dict[str, Any], *, update: bool = False) -> None:
    """Create and execute a change set, as the CDK CLI does."""
    cfn = emu.client("cloudformation")
    name = f"cs-{'update' if update else 'create'}"
    cfn.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        TemplateBody=json.dumps(template),
        ChangeSetType="UPDATE" if update else "CREATE",
    )
    cfn.execute_change_set(StackName=stack, ChangeSetName=name)


# -- command-line runs that must leave nothing behind ---------------------------------------------

MARKER_VAR = "EMULATOR_TEST_RUN"


def cli_env(tmp_path: Path) -> dict[str, str]:
    """An environment for a tools CLI subprocess: its own TMPDIR and state file under tmp_path, no
    debug, no AWS settings, and a marker that every descendant inherits (found by leftovers())."""
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_")) and k != "MLP_DEBUG"}
    env.update({"TMPDIR": str(tmp), "EMULATOR_STATE_FILE": str(tmp_path / "state.json"), MARKER_VAR: str(tmp_path)})
    return env


def leftovers(tmp_path: Path) -> list[str]:
    """Live processes started under cli_env(tmp_path), and whatever is left in its TMPDIR."""
    marker = f"{MARKER_VAR}={tmp_path}".encode()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0") and not gone(int(proc.name)):
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"pid {proc.name}: {cmdline[:120]}")
        except OSError:
            continue
    tmp = tmp_path / "tmp"
    found += [f"temp {p.name}" for p in tmp.iterdir()] if tmp.exists() else []
    return found


def one_stderr_line(stderr: str) -> str:
    """The run's only stderr line; fails on a traceback or a second line."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    return lines[0]
