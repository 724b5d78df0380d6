"""`cdk synth` needs no AWS credentials and no network, and is byte-identical run to run."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

CDK_CLI = REPO_ROOT / "node_modules" / ".bin" / "cdk"


def _can_isolate_network() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-n", "true"], capture_output=True, check=False).returncode == 0


def _offline_synth(outdir: Path) -> subprocess.CompletedProcess:
    # No AWS_* variables, no ~/.aws, a HOME of its own, and (where the kernel lets
    # us) a network namespace with no interfaces but loopback.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env.update(HOME=str(outdir.parent / "home"), AWS_EC2_METADATA_DISABLED="true",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    # A slow-synth threshold of 0 ms makes the CDK take its "synth was slow" path
    # every time, as it does on a loaded machine (the default is 10 s per stack).
    command = [str(CDK_CLI), "synth", "--quiet", "--no-notices", "--output", str(outdir),
               "-c", "@aws-cdk/core.slowSynthThreshold=0"]
    if _can_isolate_network():
        command = ["unshare", "-n", *command]
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)


@pytest.mark.slow
@pytest.mark.skipif(not CDK_CLI.exists(), reason="CDK CLI not installed: run `make setup`")
def test_two_offline_synths_are_byte_identical(tmp_path: Path) -> None:
    # WHEN the app is synthesized twice with no credentials and no network
    first, second = tmp_path / "a" / "cdk.out", tmp_path / "b" / "cdk.out"
    for outdir in (first, second):
        outdir.parent.mkdir()
        result = _offline_synth(outdir)
        # THEN both succeed, with every nag pack passing
        assert result.returncode == 0, result.stderr[-3000:]
    # AND every file of the cloud assembly is the same, byte for byte
    names = sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file())
    assert any(n.endswith(".template.json") for n in names)
    # (the CDK's performance report holds timings: app.py switches it off)
    assert "performance-counters.json" not in names
    assert names == sorted(p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file())
    _, mismatch, errors = filecmp.cmpfiles(first, second, names, shallow=False)
    assert mismatch == [] and errors == []
    # AND nothing was looked up
    assert not (REPO_ROOT / "cdk.context.json").exists() or (REPO_ROOT / "cdk.context.json").read_text().strip() == "{}"
