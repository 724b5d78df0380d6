"""Shared fixtures: the CDK context of cdk.json, so tests synthesize what `cdk synth` does."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# jsii starts the first `node` on PATH: make it the venv's Node 24.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")


def load_cdk_context() -> dict:
    return json.loads((REPO_ROOT / "cdk.json").read_text())["context"]


@pytest.fixture(scope="session")
def cdk_context() -> dict:
    return load_cdk_context()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
