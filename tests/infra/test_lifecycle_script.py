"""The notebook's on-start script and idle checker, tested as code against a real local Jupyter stand-in."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aws_cdk.assertions import Template
from constructs.idle_notebook import LIFECYCLE_DIR, IdleNotebook, render_on_start

from tests.infra.conftest import new_stack

AUTOSTOP = LIFECYCLE_DIR / "autostop.py"
ON_START = LIFECYCLE_DIR / "on-start.sh"
PIP_INDEX = LIFECYCLE_DIR / "pip-index.sh"


def _iso(minutes_ago: float) -> str:
    moment = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)  # noqa: UP017 - script's own style
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FakeJupyter:
    """A real HTTP server on 127.0.0.1 answering the two Jupyter APIs the checker reads."""

    def __init__(self) -> None:
        self.sessions: list[dict] = []
        self.terminals: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                routes = {"/api/sessions": fake.sessions, "/api/terminals": fake.terminals}
                if self.path not in routes:
                    self.send_error(404)
                    return
                body = json.dumps(routes[self.path]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def kernel(self, *, minutes_ago: float, state: str = "idle") -> None:
        kernel = {"last_activity": _iso(minutes_ago), "execution_state": state}
        self.sessions.append({"id": f"s{len(self.sessions)}", "kernel": kernel})


@pytest.fixture
def jupyter() -> Iterator[FakeJupyter]:
    fake = FakeJupyter()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def notebook_host(tmp_path: Path) -> dict[str, Path]:
    """The instance's metadata file and a stub stop command that records its arguments."""
    metadata = tmp_path / "resource-metadata.json"
    metadata.write_text(
        json.dumps(
            {
                "ResourceArn": "arn:aws:sagemaker:eu-west-1:111122223333:notebook-instance/mlp-dev-workbench",
                "ResourceName": "mlp-dev-workbench",
            }
        )
    )
    stub = tmp_path / "stop_stub.py"
    record = tmp_path / "stopped.txt"
    stub.write_text(f"import sys\nopen({str(record)!r}, 'w').write(' '.join(sys.argv[1:]))\n")
    return {"metadata": metadata, "stub": stub, "record": record}


def _run_checker(jupyter: FakeJupyter, host: dict[str, Path], *, idle_minutes: int, booted_minutes_ago: float = 600):
    return subprocess.run(
        [
            sys.executable,
            str(AUTOSTOP),
            "--idle-minutes",
            str(idle_minutes),
            "--jupyter-url",
            jupyter.url,
            "--metadata-file",
            str(host["metadata"]),
            "--stop-command",
            f"{sys.executable} {host['stub']} stop-notebook-instance --region {{region}} --name {{name}}",
            "--booted-at",
            str(time.time() - booted_minutes_ago * 60),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )


def test_idle_notebook_is_stopped(jupyter: FakeJupyter, notebook_host: dict[str, Path]) -> None:
    # GIVEN a kernel last active 90 minutes ago and an idle limit of 60
    jupyter.kernel(minutes_ago=90)
    # WHEN the checker runs
    result = _run_checker(jupyter, notebook_host, idle_minutes=60)
    # THEN it stops exactly this instance, in the instance's region
    assert "stopping mlp-dev-workbench" in result.stdout
    assert notebook_host["record"].read_text() == "stop-notebook-instance --region eu-west-1 --name mlp-dev-workbench"


@pytest.mark.parametrize(
    "activity",
    [
        pytest.param({"minutes_ago": 10}, id="recent-activity"),
        pytest.param({"minutes_ago": 300, "state": "busy"}, id="long-running-busy-kernel"),
    ],
)
def test_busy_notebook_keeps_running(jupyter: FakeJupyter, notebook_host: dict[str, Path], activity: dict) -> None:
    # GIVEN an old idle kernel and a kernel that is recent or still executing
    jupyter.kernel(minutes_ago=500)
    jupyter.kernel(**activity)
    # WHEN the checker runs
    result = _run_checker(jupyter, notebook_host, idle_minutes=60)
    # THEN nothing is stopped
    assert "active" in result.stdout
    assert not notebook_host["record"].exists()


def test_recent_terminal_counts_as_activity(jupyter: FakeJupyter, notebook_host: dict[str, Path]) -> None:
    # GIVEN no kernels but a terminal used 5 minutes ago
    jupyter.terminals.append({"name": "1", "last_activity": _iso(5)})
    # WHEN / THEN the instance keeps running
    _run_checker(jupyter, notebook_host, idle_minutes=60)
    assert not notebook_host["record"].exists()


@pytest.mark.parametrize(("booted", "stopped"), [(30, False), (90, True)])
def test_unused_notebook_counts_from_boot(
    jupyter: FakeJupyter, notebook_host: dict[str, Path], booted: int, stopped: bool
) -> None:
    # GIVEN an instance nobody opened, booted `booted` minutes ago
    # WHEN the checker runs with a 60-minute limit
    _run_checker(jupyter, notebook_host, idle_minutes=60, booted_minutes_ago=booted)
    # THEN it stops only once the boot is older than the limit
    assert notebook_host["record"].exists() is stopped


def test_on_start_script_is_valid_bash_once_rendered(tmp_path: Path) -> None:
    # GIVEN the script as checked in and as rendered
    rendered = tmp_path / "on-start.sh"
    rendered.write_text(render_on_start(45))
    # THEN bash parses both
    for script in (ON_START, rendered):
        subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_rendered_heredoc_reproduces_autostop_exactly(tmp_path: Path) -> None:
    # GIVEN the rendered on-start script's heredoc, pointed at a temporary directory
    rendered = render_on_start(45).replace("/usr/local/lib/autostop", str(tmp_path / "lib"))
    rendered = rendered.split("# Root owns the job")[0]
    # WHEN bash runs that part
    subprocess.run(["bash", "-c", rendered], check=True, timeout=30)
    # THEN the installed checker is byte-identical to the file under version control
    assert (tmp_path / "lib" / "autostop.py").read_text() == AUTOSTOP.read_text()


def test_cloudformation_content_is_the_files_with_idle_minutes_substituted() -> None:
    # GIVEN a notebook with a 45-minute idle limit
    stack = new_stack()
    IdleNotebook(
        stack,
        "Nb",
        notebook_name="mlp-test-workbench",
        role_arn="arn:aws:iam::111122223333:role/nb",
        subnet_id="subnet-0123456789abcdef0",
        security_group_ids=["sg-0123456789abcdef0"],
        kms_key_id="arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        idle_minutes=45,
    )
    # WHEN the template's on-start content is decoded
    config = Template.from_stack(stack).find_resources("AWS::SageMaker::NotebookInstanceLifecycleConfig")
    (resource,) = config.values()
    (hook,) = resource["Properties"]["OnStart"]
    decoded = base64.b64decode(hook["Content"]).decode()
    # THEN it is exactly on-start.sh with the minutes and autostop.py filled in
    expected = (
        ON_START.read_text().replace("@IDLE_MINUTES@", "45").replace("@WORKSPACE_URI@", "")
        .replace("@PACKAGE_INDEX@", "").replace("@AUTOSTOP_PY@", AUTOSTOP.read_text().rstrip("\n"))
        .replace("@PIP_INDEX_SH@", PIP_INDEX.read_text().rstrip("\n"))
    )
    assert decoded == expected
    assert "--idle-minutes 45 " in decoded
    # (no placeholder left: the only at-sign is the one of the pip index URL's credentials)
    assert not re.search(r"@[A-Z_]+@", decoded)


@pytest.mark.parametrize("minutes", [0, 4, -10])
def test_idle_time_shorter_than_the_check_interval_is_refused(minutes: int) -> None:
    # WHEN a notebook is asked to stop after fewer than 5 idle minutes THEN synth fails naming the minimum
    with pytest.raises(ValueError, match=rf"idle_minutes={minutes}: .* at least 5"):
        render_on_start(minutes)


def test_before_stop_runs_first_and_a_failure_does_not_keep_the_instance_up(
    jupyter: FakeJupyter, notebook_host: dict[str, Path], tmp_path: Path
) -> None:
    # GIVEN an idle notebook and a copy command that records itself, then fails
    jupyter.kernel(minutes_ago=90)
    order = tmp_path / "order.txt"
    copy = tmp_path / "copy.py"
    copy.write_text(f"import sys\nopen({str(order)!r}, 'a').write('copy ')\nsys.exit(3)\n")
    # WHEN the checker runs with it as the before-stop command
    result = subprocess.run(
        [sys.executable, str(AUTOSTOP), "--idle-minutes", "60", "--jupyter-url", jupyter.url,
         "--metadata-file", str(notebook_host["metadata"]), "--before-stop", f"{sys.executable} {copy}",
         "--stop-command", f"{sys.executable} {notebook_host['stub']} stop --name {{name}}"],
        capture_output=True, text=True, timeout=30, check=True,
    )
    # THEN the copy ran (and failed) before the stop, and the stop still happened
    assert order.read_text() == "copy "
    assert "before-stop command exited 3" in result.stdout
    assert notebook_host["record"].read_text() == "stop --name mlp-dev-workbench"


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_on_start_restores_the_workspace_and_schedules_its_copies(tmp_path: Path) -> None:
    # GIVEN the rendered script with a workspace, run against a temporary host
    # layout with an `aws` stand-in that records its arguments
    uri = "s3://mlp-dev-raw-111122223333-us-east-1/workbench/mlp-dev-workbench/"
    bin_dir, cron, home = tmp_path / "bin", tmp_path / "cron.d", tmp_path / "home"
    for folder in (bin_dir, cron, home):
        folder.mkdir()
    calls = tmp_path / "aws-calls.txt"
    fake_aws = bin_dir / "aws"
    fake_aws.write_text(f"#!/bin/sh\necho \"$@\" >> {calls}\n")
    fake_aws.chmod(0o755)
    script = (render_on_start(45, uri).replace("sudo -u ec2-user ", "").replace("/etc/cron.d", str(cron))
              .replace("/home/ec2-user/SageMaker", str(home)).replace("/usr/local/lib/autostop", str(tmp_path / "lib")))
    # WHEN bash runs it
    subprocess.run(["bash", "-c", script], check=True, timeout=30, env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    # THEN the files came back from S3 first, and every copy goes the other way, never deleting
    assert calls.read_text().split() == ["s3", "sync", uri, f"{home}/", "--only-show-errors"]
    up = f"{bin_dir}/aws s3 sync {home}/ {uri} --only-show-errors"
    assert up in (cron / "workspace-sync").read_text()
    assert f'--before-stop "{up}' in (cron / "autostop").read_text()
    assert "--delete" not in script


@pytest.mark.parametrize("uri", ["s3://bucket/no-trailing-slash", "s3://b/$(reboot)/", "https://x/y/"])
def test_a_workspace_uri_that_is_not_a_plain_s3_prefix_is_refused(uri: str) -> None:
    with pytest.raises(ValueError, match=r"must be s3://<bucket>/<prefix>/"):
        render_on_start(45, uri)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_on_start_points_pip_at_the_package_mirror_and_renews_it(tmp_path: Path) -> None:
    # GIVEN the rendered script with a CodeArtifact mirror, run against a temporary host layout with an
    # `aws` stand-in that records its arguments and answers as CodeArtifact does
    endpoint = "https://mlp-dev-packages-111122223333.d.codeartifact.us-east-1.amazonaws.com/pypi/mlp-dev-pypi/"
    bin_dir, cron, home = tmp_path / "bin", tmp_path / "cron.d", tmp_path / "home"
    for folder in (bin_dir, cron, home):
        folder.mkdir()
    calls = tmp_path / "aws-calls.txt"
    fake_aws = bin_dir / "aws"
    fake_aws.write_text(f"""#!/bin/sh
echo "$@" >> {calls}
case "$2" in get-authorization-token) echo tok3n ;; get-repository-endpoint) echo {endpoint} ;; esac
""")
    fake_aws.chmod(0o755)
    index = ("mlp-dev-packages", "111122223333", "mlp-dev-pypi")
    script = (render_on_start(45, "", index).replace("sudo -u ec2-user ", "").replace("/etc/cron.d", str(cron))
              .replace("/home/ec2-user", str(home)).replace("/usr/local/lib/autostop", str(tmp_path / "lib")))
    # WHEN bash runs it
    subprocess.run(["bash", "-c", script], check=True, timeout=30, env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    # THEN pip's index is the mirror's PyPI endpoint with a 12-hour token, readable by its user only
    pip_conf = home / ".config" / "pip" / "pip.conf"
    assert pip_conf.read_text() == (
        "[global]\nindex-url = https://aws:tok3n@mlp-dev-packages-111122223333.d.codeartifact.us-east-1"
        ".amazonaws.com/pypi/mlp-dev-pypi/simple/\n")
    assert pip_conf.stat().st_mode & 0o077 == 0
    assert calls.read_text().splitlines() == [
        "codeartifact get-authorization-token --domain mlp-dev-packages --domain-owner 111122223333"
        " --duration-seconds 43200 --query authorizationToken --output text",
        "codeartifact get-repository-endpoint --domain mlp-dev-packages --domain-owner 111122223333"
        " --repository mlp-dev-pypi --format pypi --query repositoryEndpoint --output text",
    ]
    # AND it is renewed every 6 hours as the notebook user
    assert (cron / "pip-index").read_text().startswith("0 */6 * * * ec2-user ")
    # AND without a mirror pip is left alone
    plain = render_on_start(45).replace("/etc/cron.d", str(cron / "plain"))
    assert 'PACKAGE_INDEX=""' in plain


def test_a_package_index_that_is_not_plain_names_is_refused() -> None:
    with pytest.raises(ValueError, match=r"must be \(domain, owner account, repository\), plain names"):
        render_on_start(45, "", ("d", "1; reboot", "r"))
