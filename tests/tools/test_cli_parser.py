"""tools.cli.ArgumentParser: argparse's usage errors as one UserError line (exit 2), subcommands included."""

from __future__ import annotations

import re

import pytest

from tools import cli


def _parser() -> cli.ArgumentParser:
    top = cli.ArgumentParser(prog="python -m tool")
    sub = top.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run")
    run.add_argument("--count", type=int, default=1)
    return top


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        ([], r"^error: the following arguments are required: cmd; see python -m tool --help$"),
        (["jump"], r"^error: argument cmd: invalid choice: 'jump' .*; see python -m tool --help$"),
        (["run", "--count", "x"], r"^error: argument --count: invalid int value: 'x'; see python -m tool run --help"),
        (["run", "--bogus"], r"^error: unrecognized arguments: --bogus; see python -m tool --help$"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(argv, line, capsys, monkeypatch):
    # GIVEN a bad command line, WHEN the parser reads it under tools.cli
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    code = cli.guarded(lambda a: _parser().parse_args(a) and 0, argv)
    # THEN exit 2 and exactly one stderr line, no usage block
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1, captured.err
    assert re.match(line, captured.err.strip()), captured.err


def test_help_still_exits_0(capsys):
    assert cli.guarded(lambda a: _parser().parse_args(a) and 0, ["--help"]) == 0
    assert "usage: python -m tool" in capsys.readouterr().out
