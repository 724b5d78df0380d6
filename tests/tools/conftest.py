"""Helpers of the bad-input tables: run an entry point under tools.cli, in-process, and read its one line."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools import cli


@dataclass
class Ending:
    code: int
    out: str
    err: str

    @property
    def last_line(self) -> str:
        lines = self.err.strip().splitlines()
        return lines[-1] if lines else ""

    def assert_one_line(self, code: int, pattern: str, *, listing_above: bool = False) -> None:
        """Exit ``code``; stderr is one line matching ``pattern`` (or ends in it after a listing); no traceback."""
        assert self.code == code, (self.code, self.err)
        assert "Traceback" not in self.out + self.err, self.err
        if not listing_above:
            assert len(self.err.strip().splitlines()) == 1, self.err
        assert re.search(pattern, self.last_line), self.last_line
        assert self.last_line.startswith("error: "), self.last_line


@pytest.fixture
def guarded(capsys, monkeypatch):
    """``guarded(main, argv)``: the entry point's :class:`Ending` under ``cli.guarded``, without debug output."""
    monkeypatch.setenv(cli.DEBUG_ENV, "0")  # recorded, so a debug run's MLP_DEBUG=1 is undone
    monkeypatch.delenv(cli.DEBUG_ENV)

    def call(main, argv) -> Ending:
        code = cli.guarded(main, argv)
        captured = capsys.readouterr()
        return Ending(code, captured.out, captured.err)

    return call


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """A TMPDIR of the test's own: whatever a command leaves in it is a leak (checked after the test)."""
    tmp = tmp_path / "TMPDIR"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    yield tmp
    left = sorted(p.name for p in tmp.iterdir())
    assert not left, f"left behind in TMPDIR: {left}"
