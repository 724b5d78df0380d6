"""`make synth` (tools.synth_report): every bad input and every fault ends in one line, and keeps the last good cdk.out.

The CDK CLI is replaced by a small script with the same command line (``--cdk``),
so each row costs milliseconds; tests/tools/test_app.py runs the real CLI.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tools import synth_report

TEMPLATE = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}}}}
FINDING = {"pluginReports": [{"violations": [
    {"ruleName": "AwsSolutions-S1", "violatingConstructs": ["MlPlatform-dev-data/Bucket"]}]}]}

#: What the fake CDK CLI does, by mode: (stdout+stderr, exit code, writes a template, writes a finding).
FAKE_MODES = {
    "ok": ("", 0, True, False),
    "app-refuses": ("error: region 'xx' is not an AWS region; use ...\n"
                    ".venv/bin/python -O app.py: Subprocess exited with error 2\n", 1, False, False),
    "nag-finding": ("[Error at /MlPlatform-dev-data/Bucket] AwsSolutions-S1: no access logs\n"
                    "Found errors\n", 1, True, True),
    "app-crash": ("error: unexpected ValueError: boom (rerun with --debug or MLP_DEBUG=1 for the traceback)\n"
                  ".venv/bin/python -O app.py: Subprocess exited with error 1\n", 1, False, False),
    "cli-crash": ("Error: Cannot find module 'aws-cdk-lib'\n", 1, False, False),
    "no-templates": ("", 0, False, False),
}


def fake_cdk(tmp_path: Path, mode: str) -> Path:
    """An executable with the CDK CLI's ``synth --output DIR`` command line, behaving as ``mode``."""
    output, code, template, finding = FAKE_MODES[mode]
    script = tmp_path / f"cdk-{mode}"
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import json, sys
        from pathlib import Path
        out = Path(sys.argv[sys.argv.index("--output") + 1])
        out.mkdir(exist_ok=True)
        if {template!r}:
            (out / "MlPlatform-dev-data.template.json").write_text(json.dumps({TEMPLATE!r}))
        if {finding!r}:
            (out / "validation-report.json").write_text(json.dumps({FINDING!r}))
        sys.stdout.write({output!r})
        sys.exit({code!r})
        """))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def digest(folder: Path) -> str:
    """One hash of every file name and content under ``folder``."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        h.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture
def last_good(tmp_path) -> Path:
    """A cdk.out from an earlier, good synth."""
    out = tmp_path / "work" / "cdk.out"
    out.mkdir(parents=True)
    (out / "MlPlatform-dev-data.template.json").write_text(json.dumps({"Resources": {}}))
    (out / "nag-summary.json").write_text("{}\n")
    return out


# Each row: (context arguments, fake CLI mode or a CLI path, exit code, regex of the one line, listing above it).
BAD = [
    pytest.param(["region=us-east-9"], "ok", 2, r"^error: region 'us-east-9' is not an AWS region; use one of"
                 r" .*-c region=eu-west-1 \(known: af-south-1, .*us-west-2\)$", False, id="unknown-region"),
    pytest.param(["env=prod"], "ok", 2, r"environment 'prod' needs its AWS account: add -c account=<12-digit",
                 False, id="prod-without-account"),
    pytest.param(["env=prod", "account=12345"], "ok", 2, r"account '12345' must be a 12-digit AWS account ID",
                 False, id="short-account"),
    pytest.param(["env=staging"], "ok", 2, r"unknown environment 'staging'; choose one of \['dev', 'prod'\]",
                 False, id="unknown-env"),
    pytest.param(["model_package_version=1.5"], "ok", 2, r"model_package_version '1.5' must be a version"
                 r" number \(1, 2, \.\.\.\), a whole number: -c model_package_version=N$", False,
                 id="version-not-whole"),
    pytest.param(["model_package_version=0"], "ok", 2, r"model_package_version '0' must be a version number", False,
                 id="version-zero"),
    pytest.param(["model_package_version=-3"], "ok", 2, r"model_package_version '-3' must be a version number", False,
                 id="version-negative"),
    pytest.param(["model_package_version=²"], "ok", 2, r"model_package_version '²' must be a version number", False,
                 id="version-unicode-digit"),
    pytest.param(["regoin=eu-west-1"], "ok", 2, r"unknown context key 'regoin'; the app reads env, account,"
                 r" region, model_package_version, delivery$", False, id="unknown-key"),
    pytest.param(["env"], "ok", 2, r"context 'env' is not KEY=VALUE", False, id="not-key-value"),
    pytest.param(["env=dev", "env=prod"], "ok", 2, r"context key 'env' is given twice", False, id="key-twice"),
    pytest.param([], "missing-cli", 1, r"the CDK CLI .*/node_modules/.bin/nope is not installed; run `make setup`",
                 False, id="cdk-cli-missing"),
    pytest.param([], "app-refuses", 2, r"^error: region 'xx' is not an AWS region; use \.\.\.; the last good"
                 r" .*cdk.out is kept$", False, id="app-refuses-context"),
    pytest.param([], "nag-finding", 1, r"^error: cdk-nag: unacknowledged findings \(AwsSolutions 1\), listed"
                 r" above; fix the resources or acknowledge each .*; the last good .*cdk.out is kept$", True,
                 id="cdk-nag-finding"),
    pytest.param([], "app-crash", 1, r"^error: cdk synth failed \(exit 1\): unexpected ValueError: boom \(rerun"
                 r" with --debug or MLP_DEBUG=1 for the traceback\); the last good .*cdk.out is kept$", False,
                 id="synth-crash"),
    pytest.param([], "cli-crash", 1, r"^error: cdk synth failed \(exit 1\): Error: Cannot find module"
                 r" 'aws-cdk-lib'; the last good", False, id="cdk-cli-crash"),
    pytest.param([], "no-templates", 1, r"^error: cdk synth wrote no templates; the last good", False,
                 id="no-templates"),
    pytest.param(["--bogus"], "ok", 2, r"^error: unrecognized arguments: --bogus; see python -m"
                 r" tools.synth_report --help$", False, id="unknown-option"),
]


@pytest.mark.parametrize(("context", "mode", "code", "line", "listing_above"), BAD)
def test_each_bad_input_and_fault_is_one_line_and_keeps_the_last_good_assembly(
    context, mode, code, line, listing_above, tmp_path, last_good, guarded, private_tmp
):
    # GIVEN a good cdk.out from an earlier synth, and a CDK CLI that behaves as the row says
    before = digest(last_good)
    cdk = tmp_path / "node_modules" / ".bin" / "nope" if mode == "missing-cli" else fake_cdk(tmp_path, mode)
    # WHEN make synth runs with the row's context
    ending = guarded(synth_report.main, ["--cdk", str(cdk), "--output", str(last_good), *context])
    # THEN one line naming the cause and the fix, the row's exit code, and no traceback
    ending.assert_one_line(code, line, listing_above=listing_above)
    # AND the last good cdk.out is untouched, with no half-written folder next to it
    assert digest(last_good) == before
    assert sorted(p.name for p in last_good.parent.iterdir()) == ["cdk.out"]
    # AND no misleading "0 stacks" summary
    assert "synthesized 0 stacks" not in ending.out


def test_a_config_error_never_starts_the_cdk_cli(tmp_path, last_good, guarded):
    # GIVEN a CDK CLI that records being started
    marker = tmp_path / "started"
    cdk = tmp_path / "cdk"
    cdk.write_text(f"#!{sys.executable}\nopen({str(marker)!r}, 'w').close()\n")
    cdk.chmod(0o755)
    # WHEN the context is refused
    ending = guarded(synth_report.main, ["--cdk", str(cdk), "--output", str(last_good), "region=mars-1"])
    # THEN the refusal came first: no CLI, no jsii start-up
    ending.assert_one_line(2, r"region 'mars-1' is not an AWS region")
    assert not marker.exists()


def test_a_good_synth_replaces_the_last_assembly_and_leaves_nothing_next_to_it(
    tmp_path, last_good, guarded, private_tmp
):
    # GIVEN an earlier cdk.out with a file the new synth does not write
    (last_good / "stale.txt").write_text("from an earlier synth")
    # WHEN synth passes
    ending = guarded(synth_report.main, ["--cdk", str(fake_cdk(tmp_path, "ok")), "--output", str(last_good)])
    # THEN cdk.out is the new assembly only, with its summary, and nothing else is left next to it
    assert ending.code == 0, ending.err
    assert sorted(p.name for p in last_good.iterdir()) == ["MlPlatform-dev-data.template.json", "nag-summary.json"]
    assert sorted(p.name for p in last_good.parent.iterdir()) == ["cdk.out"]
    assert "synthesized 1 stacks" in ending.out and "all four packs passed" in ending.out
    assert ending.err == ""


def test_a_missing_output_parent_is_refused(tmp_path, guarded):
    ending = guarded(synth_report.main, ["--cdk", str(fake_cdk(tmp_path, "ok")),
                                         "--output", str(tmp_path / "no" / "cdk.out")])
    ending.assert_one_line(2, r"--output .*/no/cdk.out: folder .*/no does not exist; create it or pick another")


def test_sigterm_during_synth_keeps_the_last_good_assembly_and_removes_the_new_one(tmp_path, last_good):
    # GIVEN make synth running a CDK CLI that takes its time, with its new assembly half-written
    cdk = tmp_path / "cdk-slow"
    cdk.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import sys, time
        from pathlib import Path
        out = Path(sys.argv[sys.argv.index("--output") + 1])
        (out / "half.template.json").write_text("{{")
        time.sleep(60)
        """))
    cdk.chmod(0o755)
    before = digest(last_good)
    env = {k: v for k, v in os.environ.items() if k != "MLP_DEBUG"}
    proc = subprocess.Popen([sys.executable, "-m", "tools.synth_report", "--cdk", str(cdk), "--output", str(last_good)],
                            cwd=Path(synth_report.REPO_ROOT), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        for _ in range(300):  # until the CLI has written into the new folder (polling, not timing)
            if list(last_good.parent.glob(".cdk.out.new-*/half.template.json")):
                break
            time.sleep(0.1)
        # WHEN it is stopped with SIGTERM
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    # THEN exit 143 in one line, the last good cdk.out as it was, and no half-written folder next to it
    assert proc.returncode == 143, err
    assert err.strip() == "terminated: stopped by SIGTERM"
    assert digest(last_good) == before
    assert sorted(p.name for p in last_good.parent.iterdir()) == ["cdk.out"]


def test_cdk_own_context_keys_pass_through_unchecked():
    # GIVEN a feature flag next to the app's keys WHEN the context is read THEN both are kept
    assert synth_report.parse_context(["@aws-cdk/core:newStyleStackSynthesis=true", "env=dev"]) == {
        "@aws-cdk/core:newStyleStackSynthesis": "true", "env": "dev"}
