"""A server that dies under a command is reported as such, in one line, and the command is ended.

Without the watch, a dead server shows as the CDK CLI (or botocore) retrying connection errors
for about a minute and then a bare ECONNREFUSED. These tests assert the mechanism, not the time:
the error names the emulator's exit, the command's process was killed, nothing is left behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.emulator.conftest import FIXTURE_APP, cli_env, gone, leftovers, one_stderr_line
from tools.emulator import Emulator
from tools.emulator.core import EmulatorDied

REPO = Path(__file__).resolve().parents[2]


def _descendant(parent: psutil.Process, *words: str, bound: float = 120) -> psutil.Process:
    """The first descendant whose command line holds every word; a bounded wait, not an assertion on time."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        for child in parent.children(recursive=True):
            try:
                cmdline = " ".join(child.cmdline())
            except psutil.Error:
                continue
            if all(word in cmdline for word in words):
                return child
        if not parent.is_running() or parent.status() == psutil.STATUS_ZOMBIE:
            raise AssertionError(f"the CLI ended before a process with {words} appeared")
        time.sleep(0.1)
    raise AssertionError(f"no process with {words} under the CLI")


def _kill_server_under(tmp_path: Path, argv: list[str], command_words: tuple[str, ...], sig: signal.Signals):
    """Run the CLI, wait for its command's process, kill the server with `sig`; the CLI's result,
    the server's pid and the command processes that were running when the server died."""
    cli = subprocess.Popen(
        [sys.executable, "-m", "tools.emulator", *argv],
        cwd=REPO,
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    parent = psutil.Process(cli.pid)
    try:
        command = _descendant(parent, *command_words)
        server = _descendant(parent, "tools.emulator.server")
        command_tree = [command, *command.children(recursive=True)]
        server.send_signal(sig)
        out, err = cli.communicate(timeout=120)
    finally:
        if cli.poll() is None:  # the test failed: leave no process of it behind either
            for proc in [*parent.children(recursive=True), parent]:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            cli.wait()
    return cli.returncode, out, err, server.pid, [p.pid for p in command_tree]


@pytest.mark.parametrize(
    ("sig", "how"),
    [
        (signal.SIGKILL, r"exited with SIGKILL during `.*`; something outside killed it \(the OOM killer, `kill -9`\);"
                         r" run the command again$"),
        (signal.SIGTERM, r"exited with SIGTERM during `.*`; something outside stopped it; run the command again$"),
    ],
    ids=["SIGKILL", "SIGTERM"],
)
def test_a_server_killed_under_run_ends_the_command_with_one_line(sig, how, tmp_path):
    # GIVEN `run` with a command that would outlive any retry loop
    argv = ["run", "--", sys.executable, "-c", "import time; time.sleep(600)"]
    # WHEN the server is killed while the command runs
    code, out, err, server_pid, command_pids = _kill_server_under(tmp_path, argv, ("time.sleep(600)",), sig)
    # THEN exit 1 and one line saying the emulator exited, with its pid and how
    line = one_stderr_line(err)
    assert code == 1
    assert re.match(rf"^error: the emulator \(pid {server_pid}, port \d+\) " + how, line), line
    # AND the command was killed, not left to run against nothing; nothing is left behind
    assert all(gone(pid) for pid in command_pids)
    assert leftovers(tmp_path) == []


def test_a_server_killed_mid_deploy_kills_the_cdk_cli_and_says_so(tmp_path):
    # GIVEN an ephemeral deploy of the fixture app
    argv = ["deploy", "--app-dir", str(FIXTURE_APP)]
    # WHEN the server is SIGKILLed while `cdk deploy` runs (the CLI and the app's synth under it)
    code, out, err, server_pid, cli_pids = _kill_server_under(tmp_path, argv, ("cdk", "deploy", "--all"),
                                                               signal.SIGKILL)
    # THEN one line naming the emulator's death during the deploy, not the CLI's connection error
    line = one_stderr_line(err)
    assert code == 1
    assert re.match(rf"^error: the emulator \(pid {server_pid}, port \d+\) exited with SIGKILL during"
                    r" `cdk deploy --all`; something outside killed it", line), line
    assert "ECONNREFUSED" not in err and "deployed" not in out
    # AND the CDK CLI and everything under it were killed; no process, temp dir or jsii dir is left
    assert cli_pids and all(gone(pid) for pid in cli_pids)
    assert leftovers(tmp_path) == []


def test_a_client_of_a_dead_server_fails_at_once_instead_of_retrying():
    # GIVEN a boto3 client of an emulator whose server is then killed
    with Emulator() as emu:
        s3 = emu.client("s3")
        s3.list_buckets()
        os.kill(emu.pid, signal.SIGKILL)
        emu._proc.wait()
        # WHEN the client calls it, THEN the first connection error ends in EmulatorDied naming the call
        # (botocore would otherwise retry with backoff and end in EndpointConnectionError)
        with pytest.raises(EmulatorDied, match=rf"^the emulator \(pid {emu.pid}, port {emu.port}\) exited with"
                                               r" SIGKILL during s3 ListBuckets;"):
            s3.list_buckets()
        with pytest.raises(EmulatorDied, match=r"during the /_emulator/health query"):
            emu.introspect("health")


def test_an_attached_server_that_died_is_named_with_the_way_to_start_another():
    # GIVEN a command attached to a started emulator (by pid) that is gone
    with Emulator() as emu:
        attached = Emulator.attach(emu.port, emu.account_id, emu.region, pid=emu.pid, expires_at=time.time() - 5)
        assert attached.death("x") is None
    # WHEN its death is checked, THEN the message says it exited, why (its ttl) and what to do
    died = attached.death("`cdk deploy --all`")
    assert died is not None
    assert re.match(r"^the started emulator \(pid \d+, port \d+\) exited \(its --ttl ran out\) during `cdk deploy"
                    r" --all`; start a new one with `python -m tools\.emulator start` and deploy again$", str(died))
