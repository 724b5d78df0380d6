"""`python -m tools.emulator`: every bad input ends in one line and its exit code, leaving nothing behind."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.emulator.conftest import FIXTURE_APP, cli_env, gone, leftovers, one_stderr_line
from tools.emulator.core import DEFAULT_ACCOUNT, DEFAULT_REGION

REPO = Path(__file__).resolve().parents[2]
HELP = r"; see python -m tools\.emulator(?: \w+)? --help$"


def emulator_cli(tmp_path: Path, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.emulator", *argv],
        cwd=REPO,
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


BAD_INPUTS = [
    # (argv, exit code, the one stderr line)
    (["start", "--ttl", "-5"], 2,
     r"^error: argument --ttl: '-5' is not a positive number of seconds; e\.g\. 3600" + HELP),
    (["start", "--ttl", "0"], 2, r"^error: argument --ttl: '0' is not a positive number of seconds"),
    (["start", "--ttl", "abc"], 2, r"^error: argument --ttl: 'abc' is not a positive number of seconds"),
    (["start", "--ttl", "nan"], 2, r"^error: argument --ttl: 'nan' is not a positive number of seconds"),
    (["start", "--account", "12"], 2, r"^error: argument --account: '12' is not a 12-digit AWS account ID; e\.g\. "
     + DEFAULT_ACCOUNT + ", the app's dev account" + HELP),
    (["start", "--account", "abcdefghijkl"], 2, r"^error: argument --account: 'abcdefghijkl' is not a 12-digit"),
    (["start", "--region", "us-east-9"], 2, r"^error: argument --region: unknown region 'us-east-9'; use an AWS region"
     r" such as us-east-1, the app's dev region" + HELP),
    (["start", "--region", ""], 2, r"^error: argument --region: unknown region ''"),
    (["start", "--port", "70000"], 2, r"^error: argument --port: '70000' is not a port in 1024-65535; or 0 for a free"),
    (["start", "--port", "-1"], 2, r"^error: argument --port: '-1' is not a port in 1024-65535"),
    (["start", "--port", "80"], 2, r"^error: argument --port: '80' is not a port in 1024-65535"),
    (["deploy", "--app-dir", "/nonexistent/app"], 2, r"^error: --app-dir /nonexistent/app: no such folder; pass the"
     r" folder holding the CDK app's cdk\.json$"),
    (["deploy", "--app-dir", "{empty}"], 2, r"^error: --app-dir .*/empty: no cdk\.json in .*/empty; pass the folder"),
    (["deploy", "-c", "novalue"], 2, r"^error: argument -c/--context: 'novalue' is not KEY=VALUE; e\.g\. -c env=dev"),
    (["deploy", "-c", "=x"], 2, r"^error: argument -c/--context: '=x' is not KEY=VALUE"),
    (["deploy", "--account", "12"], 2, r"^error: argument --account: '12' is not a 12-digit AWS account ID"),
    (["deploy", "--method", "fast"], 2, r"^error: argument --method: invalid choice: 'fast'"),
    (["run"], 2, r"^error: nothing to run; usage: python -m tools\.emulator run -- CMD \[ARGS\.\.\.\]$"),
    (["run", "--", "/nonexistent/cmd"], 2, r"^error: no such command '/nonexistent/cmd'"),
    (["run", "--account", "1", "--", "true"], 2, r"^error: argument --account: '1' is not a 12-digit"),
    (["run", "--region", "mars-1", "--", "true"], 2, r"^error: argument --region: unknown region 'mars-1'"),
    (["destroy"], 2, r"^error: no started emulator: an ephemeral emulator's resources die with it; use `python -m"
     r" tools\.emulator start`, then `deploy` and `destroy`, or `deploy --destroy`$"),
    (["destroy", "--app-dir", "/nonexistent/app"], 2, r"^error: --app-dir /nonexistent/app: no such folder"),
    (["env"], 2, r"^error: no started emulator; run `python -m tools\.emulator start` first$"),
    (["bogus"], 2, r"^error: argument cmd: invalid choice: 'bogus'"),
    ([], 2, r"^error: the following arguments are required: cmd" + HELP),
]


@pytest.mark.parametrize(("argv", "code", "line"), BAD_INPUTS, ids=[" ".join(a) or "(none)" for a, _, _ in BAD_INPUTS])
def test_every_bad_input_is_one_line_and_leaves_nothing(argv, code, line, tmp_path):
    # GIVEN a bad option or argument (an empty folder stands for an app dir without cdk.json)
    (tmp_path / "empty").mkdir()
    argv = [a.format(empty=tmp_path / "empty") for a in argv]
    # WHEN the CLI runs
    proc = emulator_cli(tmp_path, *argv)
    # THEN its exit code, exactly one stderr line naming problem and fix, and nothing left behind
    assert proc.returncode == code, proc.stderr
    assert re.match(line, one_stderr_line(proc.stderr)), proc.stderr
    assert leftovers(tmp_path) == []


def test_a_port_in_use_is_refused_before_a_server_starts(tmp_path):
    # GIVEN a port something else listens on
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        # WHEN `start` asks for it
        proc = emulator_cli(tmp_path, "start", "--port", str(port), "--ttl", "60")
    # THEN one line, exit 2, no server and no state
    assert proc.returncode == 2
    assert re.match(rf"^error: --port {port}: in use on 127\.0\.0\.1; pick another, or 0", one_stderr_line(proc.stderr))
    assert leftovers(tmp_path) == []
    assert not (tmp_path / "state.json").exists()


def test_start_defaults_to_the_apps_dev_account_and_refuses_another_one_later(tmp_path):
    # GIVEN an emulator started with the defaults
    started = emulator_cli(tmp_path, "start", "--ttl", "120")
    assert started.returncode == 0, started.stderr
    try:
        # THEN it plays the app's dev account and region, so `deploy` of this repository's app needs no flag
        assert f"account {DEFAULT_ACCOUNT}, {DEFAULT_REGION}" in started.stdout
        from stacks.config import ENVIRONMENTS

        assert (DEFAULT_ACCOUNT, DEFAULT_REGION) == (ENVIRONMENTS["dev"].account, ENVIRONMENTS["dev"].region)
        # WHEN a later command asks for another account, THEN it is refused, not silently ignored
        for argv in (["start", "--account", "123456789012"], ["deploy", "--app-dir", str(FIXTURE_APP),
                                                               "--account", "123456789012"]):
            proc = emulator_cli(tmp_path, *argv)
            assert proc.returncode == 2, proc.stderr
            assert re.match(r"^error: --account 123456789012: the started emulator \(pid \d+\) plays "
                            rf"{DEFAULT_ACCOUNT}; run `python -m tools\.emulator stop`, then `start --account",
                            one_stderr_line(proc.stderr))
    finally:
        assert emulator_cli(tmp_path, "stop").returncode == 0
    assert leftovers(tmp_path) == []


def test_a_started_server_that_died_leaves_no_state_or_workdir(tmp_path):
    # GIVEN a started emulator killed with SIGKILL (its own cleanup cannot run)
    assert emulator_cli(tmp_path, "start", "--ttl", "120").returncode == 0
    state = json.loads((tmp_path / "state.json").read_text())
    os.kill(state["pid"], signal.SIGKILL)
    _wait_gone(state["pid"])
    # WHEN the next command looks for it
    proc = emulator_cli(tmp_path, "status")
    # THEN it is reported gone, and its state file and workdir are removed
    assert (proc.returncode, proc.stdout.strip()) == (1, "not running")
    assert not (tmp_path / "state.json").exists()
    assert not Path(state["workdir"]).exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("state", ["{}", "not json", '{"pid": "x", "port": 1, "workdir": "/", "account_id": 1,'
                                   ' "region": 1, "endpoint_url": 1}'])
def test_a_damaged_state_file_counts_as_no_emulator(state, tmp_path):
    (tmp_path / "state.json").write_text(state)
    proc = emulator_cli(tmp_path, "env")
    assert proc.returncode == 2
    assert re.match(r"^error: no started emulator", one_stderr_line(proc.stderr))
    assert not (tmp_path / "state.json").exists()


def _wait_gone(pid: int) -> None:
    import time

    for _ in range(100):  # a bounded wait for the kernel, not a timing assertion
        if gone(pid):
            return
        time.sleep(0.05)
    raise AssertionError(f"pid {pid} still there")
