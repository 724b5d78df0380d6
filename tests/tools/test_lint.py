"""Lint as part of the suite: `make test` (and so CI) fails on any ruff finding, not only `make lint`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).parent / "ruff"


def ruff(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([str(RUFF), "check", "--no-cache", *args], cwd=cwd, capture_output=True, text=True,
                          check=False)


def test_the_repository_passes_ruff():
    # GIVEN the repository with pyproject.toml's rule selection
    # WHEN ruff checks it
    result = ruff(".")
    # THEN nothing is found
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_fails_on_a_finding(tmp_path):
    # GIVEN a file with an unused import, under the repository's configuration
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n")
    # WHEN ruff checks it
    result = ruff("--config", str(REPO_ROOT / "pyproject.toml"), str(bad), cwd=tmp_path)
    # THEN the check fails and names the rule
    assert result.returncode == 1
    assert "F401" in result.stdout
