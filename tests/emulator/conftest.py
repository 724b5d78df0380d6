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
