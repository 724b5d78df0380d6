"""`python -m tools.demo` on bad input and on faults: one line, the first error, always torn down.

The fast tests put a fake emulator behind the demo's phases (the module's `Emulator` is the seam)
and make one phase fail; two subprocess tests use the real emulator: SIGTERM during the bootstrap,
and (slow) a failure after all eight stacks are deployed, which must still destroy them.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

from tests.emulator.conftest import cli_env, leftovers, one_stderr_line
from tools import cli
from tools.demo import __main__ as demo
from tools.emulator.cdk import CdkError

REPO = Path(__file__).resolve().parents[2]


class FakeS3:
    def list_buckets(self):
        return {"Buckets": []}


class FakeEmulator:
    """Records what the demo asks of its emulator; deploys nothing but a manifest."""

    def __init__(self, account_id: str, region: str) -> None:
        self.calls: list[str] = []
        self.endpoint_url = "http://127.0.0.1:9"
        self.destroy_error: Exception | None = None
        FakeEmulator.last = self

    def start(self):
        self.calls.append("start")
        return self

    def stop(self):
        self.calls.append("stop")

    def bootstrap(self):
        self.calls.append("bootstrap")

    def deploy(self, app_dir, *, output_dir):
        self.calls.append("deploy")
        output_dir.mkdir(parents=True)
        (output_dir / "manifest.json").write_text("{}")
        return SimpleNamespace(stacks=["MlPlatform-dev-data"], unemulated={})

    def destroy(self, app_dir, *, app):
        self.calls.append("destroy")
        if self.destroy_error:
            raise self.destroy_error

    def death(self, during):
        return None

    def client(self, service):
        return FakeS3()


@pytest.fixture
def fake_demo(monkeypatch, tmp_path):
    """The demo with the fake emulator, its scratch under tmp_path, and the upload phase failing with `fault`."""
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    monkeypatch.setattr(demo, "Emulator", FakeEmulator)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def run(fault: BaseException, *, destroy_error: Exception | None = None) -> int:
        def failing_upload(path):
            FakeEmulator.last.destroy_error = destroy_error
            raise fault

        monkeypatch.setattr(demo, "write_dataset", failing_upload)
        return cli.guarded(demo.main, ["--skip-synth"])

    return run


def phase_rows(stdout: str) -> dict[str, str]:
    """The closing phase table: phase name -> status."""
    table = stdout.rsplit("Phases\n", 1)[1]
    rows = [re.match(r"^\s+(.+?)\s{2,}[\d.]+\s{2,}(\w+)$", line) for line in table.splitlines()[1:]]
    return {m[1]: m[2] for m in rows if m}


def test_a_failing_phase_prints_the_table_and_its_error_and_tears_down(fake_demo, capsys, tmp_path):
    # GIVEN a demo whose data upload fails after the deploy
    # WHEN it runs
    code = fake_demo(OSError("disk full"))
    out, err = capsys.readouterr()
    # THEN exit 1 and one line: the failing phase and its error
    assert code == 1
    assert one_stderr_line(err) == "error: upload the breast cancer data set: OSError: disk full"
    # AND the phase table shows what ran, what failed, and the teardown after it
    assert phase_rows(out) == {
        "start the emulator": "ok",
        "emulator bootstrap": "ok",
        "deploy every stack": "ok",
        "upload the breast cancer data set": "failed",
        "destroy every stack": "ok",
        "check the data buckets survived destroy": "ok",
    }
    assert FakeEmulator.last.calls == ["start", "bootstrap", "deploy", "destroy", "stop"]
    assert list(tmp_path.iterdir()) == [], "the scratch folder is removed"


def test_a_teardown_failure_does_not_hide_the_first_error(fake_demo, capsys):
    # GIVEN a failing upload, and a destroy that fails after it
    code = fake_demo(OSError("disk full"), destroy_error=CdkError("`cdk destroy --all` failed with exit code 1"))
    out, err = capsys.readouterr()
    # THEN the one line is still the first failure; the teardown's is logged, and the emulator stopped
    assert code == 1
    assert one_stderr_line(err) == "error: upload the breast cancer data set: OSError: disk full"
    assert "teardown after the failure also failed: destroy every stack: `cdk destroy --all` failed" in out
    assert phase_rows(out)["destroy every stack"] == "failed"
    assert FakeEmulator.last.calls[-1] == "stop"


@pytest.mark.parametrize(
    ("fault", "code", "line"),
    [
        (KeyboardInterrupt(), 130, "interrupted: stopped by Ctrl-C"),
        (cli.Terminated(), 143, "terminated: stopped by SIGTERM"),
    ],
    ids=["ctrl-c", "sigterm"],
)
def test_an_interrupt_stops_with_one_line_and_still_tears_down(fault, code, line, fake_demo, capsys, tmp_path):
    # GIVEN Ctrl-C or SIGTERM during a phase
    result = fake_demo(fault)
    out, err = capsys.readouterr()
    # THEN its exit code and line, the phase marked interrupted, and the full teardown
    assert result == code
    assert one_stderr_line(err) == line
    assert phase_rows(out)["upload the breast cancer data set"] == "interrupted"
    assert FakeEmulator.last.calls == ["start", "bootstrap", "deploy", "destroy", "stop"]
    assert list(tmp_path.iterdir()) == []


BAD_OPTIONS = [
    (["--trials", "0"], r"^error: argument --trials: '0' is not a whole number from 1 to 500"),
    (["--trials", "-3"], r"^error: argument --trials: '-3' is not a whole number from 1 to 500"),
    (["--trials", "x"], r"^error: argument --trials: 'x' is not a whole number"),
    (["--trials", "501"], r"^error: argument --trials: '501' is not a whole number from 1 to 500"),
    (["--parallel", "0"], r"^error: argument --parallel: '0' is not a whole number from 1 to 100"),
    (["--parallel", "5", "--trials", "2"], r"^error: --parallel 5 is more than --trials 2; lower it or raise --trials"),
    (["--parallel", "5"], r"^error: --parallel 5 is more than --trials 4"),  # the default --trials
    (["--parallel", "101", "--trials", "200"], r"^error: argument --parallel: '101' is not a whole number from 1 to"),
    (["--num-round", "abc"], r"^error: argument --num-round: 'abc' is not a whole number from 1 to 100000"),
    (["--num-round", "0"], r"^error: argument --num-round: '0' is not a whole number"),
    (["--num-round", "1.5"], r"^error: argument --num-round: '1\.5' is not a whole number"),
    (["--bogus"], r"^error: unrecognized arguments: --bogus; see python -m tools\.demo --help$"),
]


@pytest.mark.parametrize(("argv", "line"), BAD_OPTIONS, ids=[" ".join(a) for a, _ in BAD_OPTIONS])
def test_every_bad_option_is_refused_before_anything_starts(argv, line, tmp_path):
    # WHEN the demo gets a bad option
    proc = subprocess.run([sys.executable, "-m", "tools.demo", *argv], cwd=REPO, env=cli_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    # THEN exit 2 and one line, before any phase (nothing printed, nothing started or left)
    assert proc.returncode == 2, proc.stderr
    assert re.match(line, one_stderr_line(proc.stderr)), proc.stderr
    assert proc.stdout == ""
    assert leftovers(tmp_path) == []


def test_sigterm_during_the_bootstrap_stops_the_cdk_cli_and_the_emulator(tmp_path):
    # GIVEN the real demo, in the CDK CLI's bootstrap
    proc = subprocess.Popen([sys.executable, "-m", "tools.demo", "--skip-synth"], cwd=REPO, env=cli_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        bootstrap = _descendant(psutil.Process(proc.pid), "cdk", "bootstrap")
        # WHEN it gets SIGTERM
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        _kill_tree(proc)
    # THEN 143 and one line; the phase is marked interrupted; the CLI, the server and the scratch are gone
    assert proc.returncode == 143, err
    assert one_stderr_line(err) == "terminated: stopped by SIGTERM"
    assert phase_rows(out)["emulator bootstrap"] == "interrupted"
    assert not bootstrap.is_running() or bootstrap.status() == psutil.STATUS_ZOMBIE
    assert leftovers(tmp_path) == []


def test_an_emulator_killed_during_the_bootstrap_is_the_one_line_and_nothing_is_left(tmp_path):
    # GIVEN the real demo, in the CDK CLI's bootstrap
    proc = subprocess.Popen([sys.executable, "-m", "tools.demo", "--skip-synth"], cwd=REPO, env=cli_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        demo_process = psutil.Process(proc.pid)
        bootstrap = _descendant(demo_process, "cdk", "bootstrap")
        server = _descendant(demo_process, "tools.emulator.server")
        # WHEN the emulator's server is killed
        server.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
    finally:
        _kill_tree(proc)
    # THEN exit 1 and the phase's one line says the emulator died (not the CLI's connection error),
    # the phase table is printed, and the CLI, the server and the scratch are gone
    assert proc.returncode == 1, err
    assert re.match(rf"^error: emulator bootstrap: the emulator \(pid {server.pid}, port \d+\) exited with SIGKILL"
                    r" during `cdk bootstrap aws://\d{12}/[\w-]+`; something outside killed it", one_stderr_line(err))
    assert phase_rows(out)["emulator bootstrap"] == "failed"
    assert not bootstrap.is_running() or bootstrap.status() == psutil.STATUS_ZOMBIE
    assert leftovers(tmp_path) == []


@pytest.mark.slow
def test_a_failure_after_the_deploy_destroys_every_stack_and_leaves_nothing(tmp_path):
    # GIVEN the real demo whose data upload fails once all eight stacks are deployed
    script = textwrap.dedent("""
        from tools import cli
        from tools.demo import __main__ as demo
        def failing_upload(path):
            raise OSError("disk full")
        demo.write_dataset = failing_upload
        cli.run(demo.main, ["--skip-synth"])
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=cli_env(tmp_path), capture_output=True,
                          text=True, timeout=600)
    # THEN exit 1, the first error as the one line, destroy ran, and no process or temp dir is left
    assert proc.returncode == 1, proc.stderr
    assert one_stderr_line(proc.stderr) == "error: upload the breast cancer data set: OSError: disk full"
    rows = phase_rows(proc.stdout)
    assert rows["deploy every stack"] == "ok" and rows["upload the breast cancer data set"] == "failed"
    assert rows["destroy every stack"] == "ok" and rows["check the data buckets survived destroy"] == "ok"
    assert leftovers(tmp_path) == []


def _descendant(parent: psutil.Process, *words: str) -> psutil.Process:
    import time

    for _ in range(1200):  # bounded wait for the process to appear, not a timing assertion
        for child in parent.children(recursive=True):
            try:
                if all(word in " ".join(child.cmdline()) for word in words):
                    return child
            except psutil.Error:
                continue
        time.sleep(0.1)
    raise AssertionError(f"no process with {words}")


def _kill_tree(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        for child in [*psutil.Process(proc.pid).children(recursive=True), psutil.Process(proc.pid)]:
            try:
                child.kill()
            except psutil.Error:
                pass
        proc.wait()
