"""Fast tests of the emulator process: it starts on loopback, is hermetic, and always stops."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.emulator.conftest import gone
from tools.emulator import Emulator, EmulatorError

REPO = Path(__file__).resolve().parents[2]


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_context_manager_stops_the_server_and_frees_the_port():
    with Emulator() as emu:
        pid, port = emu.pid, emu.port
        assert emu.endpoint_url == f"http://127.0.0.1:{port}"
        assert emu.introspect("health")["pid"] == pid
        workdir = emu.workdir
        assert workdir.exists()
    assert gone(pid)
    assert port_free(port)
    assert not workdir.exists()
    assert not emu.running


def test_server_stops_when_the_body_raises():
    with pytest.raises(RuntimeError, match="boom"):
        with Emulator() as emu:
            pid = emu.pid
            raise RuntimeError("boom")
    assert gone(pid)


def test_stop_is_idempotent_and_endpoint_needs_a_start():
    emu = Emulator()
    with pytest.raises(EmulatorError, match="not started"):
        _ = emu.endpoint_url
    emu.start()
    emu.stop()
    emu.stop()


def test_server_exits_and_cleans_up_when_its_owner_is_killed():
    owner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from tools.emulator import Emulator; import time\n"
            "e = Emulator().start(); print(e.pid, e.workdir, flush=True); time.sleep(60)",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        pid, workdir = owner.stdout.readline().split()
        server_pid = int(pid)
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 5
    while not gone(server_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert gone(server_pid), "the server outlived its SIGKILLed owner"
    assert not Path(workdir).exists(), "the server left its dead owner's workdir behind"


def test_server_refuses_to_bind_beyond_loopback():
    proc = subprocess.run(
        [sys.executable, "-m", "tools.emulator.server", "--host", "0.0.0.0"],  # noqa: S104 - the point
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "loopback only" in proc.stderr


def test_env_is_hermetic_and_points_at_the_emulator(emulator, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "real-token")
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "999999999999")
    monkeypatch.setenv("CDK", "would-be-read-as-an-option")
    env = emulator.env()
    for leaked in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "CDK_DEFAULT_ACCOUNT", "CDK"):
        assert leaked not in env
    assert env["AWS_ENDPOINT_URL"] == emulator.endpoint_url
    assert env["AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION"] == f"http://localhost:{emulator.port}"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == emulator.region
    assert env["MOTO_ACCOUNT_ID"] == emulator.account_id
    assert Path(env["CDK_HOME"]).is_dir() and Path(env["CDK_HOME"]).is_relative_to(emulator.workdir)
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    # AND the CDK CLI sends no telemetry to the internet, whatever the scrubbed CDK_* said
    assert env["CDK_DISABLE_CLI_TELEMETRY"] == "true"


def test_account_id_is_the_emulators():
    with Emulator(account_id="111111111111", region="eu-west-1") as emu:
        assert emu.client("sts").get_caller_identity()["Account"] == "111111111111"
        out = subprocess.run(
            [sys.executable, "-c", "import boto3; print(boto3.client('sts').get_caller_identity()['Account'])"],
            env=emu.env(),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert out.strip() == "111111111111"


def test_cli_run_returns_the_commands_status_and_stops_the_server():
    code = "import os, sys; print(os.environ['AWS_ENDPOINT_URL']); sys.exit(3)"
    proc = subprocess.run(
        [sys.executable, "-m", "tools.emulator", "run", "--", sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3, proc.stderr
    port = int(proc.stdout.strip().rsplit(":", 1)[1])
    assert port_free(port)


def test_cli_start_status_stop(tmp_path):
    env = {**os.environ, "EMULATOR_STATE_FILE": str(tmp_path / "state.json")}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tools.emulator", *args], cwd=REPO, env=env, capture_output=True, text=True
        )

    assert cli("status").returncode == 1
    started = cli("start", "--ttl", "60")
    assert started.returncode == 0, started.stderr
    try:
        assert cli("status").returncode == 0
        pid = int(started.stdout.split("pid ")[1].split(",")[0])
        assert "AWS_ENDPOINT_URL=http://127.0.0.1:" in cli("env").stdout
    finally:
        assert cli("stop").returncode == 0
    assert gone(pid)
    assert cli("status").returncode == 1
    assert not (tmp_path / "state.json").exists()


def test_cli_sigterm_stops_the_server_and_the_command(tmp_path):
    marker = tmp_path / "endpoint"
    code = f"import os, time; open({str(marker)!r}, 'w').write(os.environ['AWS_ENDPOINT_URL']); time.sleep(60)"
    cli = subprocess.Popen([sys.executable, "-m", "tools.emulator", "run", "--", sys.executable, "-c", code], cwd=REPO)
    deadline = time.monotonic() + 30
    while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    port = int(marker.read_text().rsplit(":", 1)[1])
    cli.send_signal(signal.SIGTERM)
    assert cli.wait(timeout=20) == 143
    assert port_free(port)


def test_reading_the_log_after_stop_creates_no_workdir(tmp_path, monkeypatch):
    # GIVEN an emulator that was stopped (its workdir removed)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    emu = Emulator(account_id="111122223333", region="us-east-1")
    _ = emu.workdir
    emu.stop()
    # WHEN an error message reads its log afterwards
    assert emu.last_log_line() == "(no log)"
    # THEN no new temporary folder appears
    assert list(tmp_path.iterdir()) == []
