"""The convention every tools/ and bench/ entry point follows: exit code, one line, traceback only on request."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

from tools import cli


def _fails_with(exc: BaseException):
    def main(argv):
        raise exc

    return main


@pytest.mark.parametrize(
    ("exc", "code", "line"),
    [
        (cli.UserError("no such region 'us-east-9'; use one of ..."), 2, r"^error: no such region 'us-east-9'; use"),
        (cli.ToolError("the emulator died;\n start it again"), 1, r"^error: the emulator died; start it again$"),
        (ValueError("boom"), 1, r"^error: unexpected ValueError: boom \(rerun with --debug or MLP_DEBUG=1"),
        (KeyboardInterrupt(), 130, r"^interrupted: stopped by Ctrl-C$"),
        (SystemExit("bad value"), 2, r"^error: bad value$"),
    ],
)
def test_each_failure_is_one_line_and_its_exit_code(exc, code, line, capsys, monkeypatch):
    # GIVEN no debug request
    monkeypatch.setenv(cli.DEBUG_ENV, "0")  # recorded, so a debug run's MLP_DEBUG=1 is undone
    monkeypatch.delenv(cli.DEBUG_ENV)
    # WHEN the command fails
    result = cli.guarded(_fails_with(exc), [])
    # THEN its code, and stderr is exactly one line without a traceback
    err = capsys.readouterr().err
    assert result == code
    assert len(err.strip().splitlines()) == 1, err
    assert re.match(line, err.strip()), err


@pytest.mark.parametrize(("code", "expected"), [(None, 0), (0, 0), (3, 3)])
def test_explicit_exits_keep_their_code(code, expected):
    assert cli.guarded(_fails_with(SystemExit(code)), []) == expected


def test_debug_flag_shows_the_traceback_and_is_not_passed_on(capsys, monkeypatch):
    monkeypatch.setenv(cli.DEBUG_ENV, "0")  # recorded, so a debug run's MLP_DEBUG=1 is undone
    monkeypatch.delenv(cli.DEBUG_ENV)
    seen = []

    def main(argv):
        seen.append(argv)
        raise cli.UserError("bad")

    assert cli.guarded(main, ["--debug", "x"]) == 2
    assert seen == [["x"]]
    assert "Traceback (most recent call last)" in capsys.readouterr().err
    assert os.environ[cli.DEBUG_ENV] == "1"


def test_sigterm_unwinds_through_finally_and_exits_143(tmp_path):
    # GIVEN a command that holds a resource and is killed with SIGTERM
    marker = tmp_path / "cleaned"
    script = textwrap.dedent(f"""
        import os, signal, time
        from tools import cli
        def main(argv):
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(30)
            finally:
                open({str(marker)!r}, "w").close()
        cli.run(main, [])
    """)
    env = {k: v for k, v in os.environ.items() if k != cli.DEBUG_ENV}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=os.getcwd())
    # THEN cleanup ran, exit 143, one line
    assert proc.returncode == 143
    assert marker.exists()
    assert proc.stderr.strip() == "terminated: stopped by SIGTERM"


def test_usage_errors_of_the_parser_are_one_line(capsys, monkeypatch):
    # GIVEN a command with a cli.ArgumentParser
    monkeypatch.setenv(cli.DEBUG_ENV, "0")  # recorded, so a debug run's MLP_DEBUG=1 is undone
    monkeypatch.delenv(cli.DEBUG_ENV)

    def main(argv):
        parser = cli.ArgumentParser(prog="python -m tool")
        parser.add_argument("--runs", type=int)
        parser.parse_args(argv)

    # WHEN an option has a bad value
    code = cli.guarded(main, ["--runs", "x"])
    # THEN exit 2 and one line naming the option and the help
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert re.fullmatch(r"error: argument --runs: invalid int value: 'x'; see python -m tool --help", err), err
