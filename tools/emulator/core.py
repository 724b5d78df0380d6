"""The Emulator: one moto server process on loopback, owned by this Python process."""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stacks.config import ENVIRONMENTS
from tools.cli import ToolError, one_line
from tools.emulator.introspection import READY_PREFIX

if TYPE_CHECKING:
    from tools.emulator.cdk import CdkRun, DeployResult

# The app's dev environment, so that `start` then `deploy` of this repository's app needs no flags:
# the CDK CLI refuses to deploy a stack whose account is not the one it is talking to.
DEFAULT_ACCOUNT = ENVIRONMENTS["dev"].account
DEFAULT_REGION = ENVIRONMENTS["dev"].region
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
# How often a command run against the emulator checks that the server still lives: a dead server
# otherwise shows as the CDK CLI retrying connection errors for about a minute.
WATCH_INTERVAL_S = 0.2

# Inherited variables that would point a subprocess at a real account or change CLI behaviour.
_SCRUBBED_PREFIXES = ("AWS_", "CDK_")
_SCRUBBED_NAMES = ("CDK",)


class EmulatorError(ToolError, RuntimeError):
    """The emulator failed; the message is one line naming what to do (tools.cli's ToolError, exit 1)."""


class EmulatorDied(EmulatorError):
    """The server process exited while a command was using it; ``log_tail`` is its log's end."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail


class Emulator:
    """`with Emulator() as emu:` starts moto on 127.0.0.1 and a free port, and always stops it.

    The server runs in its own process group so that stop() also ends anything it spawned; it
    also exits by itself when this process dies (it polls our pid) or after `ttl` seconds.
    """

    def __init__(
        self,
        account_id: str = DEFAULT_ACCOUNT,
        region: str = DEFAULT_REGION,
        *,
        ttl: float | None = None,
        log_path: str | os.PathLike[str] | None = None,
        owned: bool = True,
        port: int = 0,
    ) -> None:
        self.account_id = account_id
        self.region = region
        self.ttl = ttl
        self.requested_port = port
        self.port: int | None = None
        self.expires_at: float | None = None  # wall clock, for an attached server started with a ttl
        self.pid: int | None = None
        self._owned = owned
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._owns_workdir = True
        self._log_path = Path(log_path) if log_path else None
        if not owned and not ttl:
            raise EmulatorError("an emulator that may outlive this process needs a ttl, so it cannot run forever")

    @property
    def workdir(self) -> Path:
        """Private temp dir for the server log, CDK_HOME and an empty AWS config; removed by stop()."""
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="emulator-"))
        return self._workdir

    @property
    def log_path(self) -> Path:
        return self._log_path or self.workdir / "server.log"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Emulator:
        if self._proc is not None:
            raise EmulatorError("emulator already started")
        log = open(self.log_path, "ab")  # closed below: the child keeps its own descriptor
        cmd = [sys.executable, "-m", "tools.emulator.server", "--host", "127.0.0.1", "--port", str(self.requested_port)]
        if self._owned:
            cmd += ["--parent-pid", str(os.getpid())]
        if self.ttl:
            cmd += ["--ttl", str(self.ttl)]
        cmd += ["--cleanup-dir", str(self.workdir)]
        env = _scrubbed(os.environ) | {"MOTO_ACCOUNT_ID": self.account_id, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_project_root()), env.get("PYTHONPATH")]))
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=log, env=env, cwd=_project_root(), start_new_session=True
        )
        log.close()
        self.pid = self._proc.pid
        atexit.register(self.stop)
        try:
            self.port = self._await_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _await_ready(self) -> int:
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        line = b""
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise EmulatorDied(
                    f"the emulator (pid {self.pid}) {_exit_text(self._proc.returncode)} while starting;"
                    f" its log ends with: {self.last_log_line()}",
                    self.log_tail(),
                )
            ready, _, _ = select.select([self._proc.stdout], [], [], 0.2)
            if ready:
                line = self._proc.stdout.readline()
                if line.startswith(READY_PREFIX.encode()):
                    return int(line[len(READY_PREFIX) :].strip())
        raise EmulatorDied(
            f"the emulator (pid {self.pid}) did not report ready within {START_TIMEOUT_S:.0f}s;"
            f" its log ends with: {self.last_log_line()}; is the machine overloaded? run the command again",
            self.log_tail(),
        )

    def stop(self) -> None:
        """Stop the server and its process group; safe to call twice and from atexit."""
        proc, self._proc = self._proc, None
        if proc is not None:
            terminate_process_group(proc.pid, proc)
            if proc.stdout is not None:
                proc.stdout.close()
        atexit.unregister(self.stop)
        if self._workdir is not None and self._owns_workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
        self._workdir = None

    def detach(self) -> None:
        """Leave the server running after this process exits (the CLI's `start`); it still
        stops by itself after `ttl` seconds."""
        if self._proc is None:
            raise EmulatorError("emulator not started")
        if self._owned:
            raise EmulatorError("an emulator that watches its parent cannot be detached; use owned=False")
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._proc = None
        atexit.unregister(self.stop)

    @classmethod
    def attach(
        cls,
        port: int,
        account_id: str = DEFAULT_ACCOUNT,
        region: str = DEFAULT_REGION,
        workdir: str | os.PathLike[str] | None = None,
        *,
        pid: int | None = None,
        expires_at: float | None = None,
    ) -> Emulator:
        """An Emulator object for a server started elsewhere (`python -m tools.emulator start`),
        sharing its workdir (CDK_HOME); the CLI's `stop` ends that server and removes the workdir.
        With its `pid`, commands run through it notice when that server dies."""
        emu = cls(account_id, region)
        emu.port, emu.pid, emu.expires_at = port, pid, expires_at
        if workdir:
            emu._workdir, emu._owns_workdir = Path(workdir), False
        return emu

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Emulator:
        """The emulator that AWS_ENDPOINT_URL (as set by env()) points at."""
        environ = dict(os.environ if environ is None else environ)
        url = urllib.parse.urlsplit(environ.get("AWS_ENDPOINT_URL", ""))
        if url.hostname not in ("127.0.0.1", "localhost") or url.port is None:
            raise EmulatorError(
                "AWS_ENDPOINT_URL does not point at a local emulator; run inside `python -m tools.emulator run --`"
                " or pass an Emulator"
            )
        region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        return cls.attach(url.port, environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT), region)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 40) -> str:
        # Not self.log_path: after stop() that would create a fresh, empty workdir nobody removes.
        path = self._log_path or (self._workdir / "server.log" if self._workdir is not None else None)
        if path is None:
            return "(no log)"
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def last_log_line(self) -> str:
        lines = [line for line in self.log_tail().splitlines() if line.strip()]
        return one_line(lines[-1])[:300] if lines else "(empty log)"

    # -- death -----------------------------------------------------------------------------

    def death(self, during: str) -> EmulatorDied | None:
        """None while the server lives; else the one-line error that says so, naming `during`.

        A server this process started is its child: poll() answers at once, with the exit
        status. An attached one (`start` in another process) is checked by its pid.
        """
        if self._proc is not None:
            code = self._proc.poll()
            if code is None:
                return None
            what = _exit_text(code)
            if code < 0 and -code == signal.SIGKILL:
                fix = "something outside killed it (the OOM killer, `kill -9`); run the command again"
            elif code < 0 or code in (128 + signal.SIGTERM, 128 + signal.SIGINT):
                fix = "something outside stopped it; run the command again"
            else:
                fix = f"its log ends with: {self.last_log_line()}; run the command again, with --debug for the log"
            return EmulatorDied(
                f"the emulator (pid {self.pid}, port {self.port}) {what} during {during}; {fix}", self.log_tail()
            )
        if self.pid is None or server_alive(self.pid):
            return None
        ran_out = self.expires_at is not None and time.time() >= self.expires_at - 1
        why = " (its --ttl ran out)" if ran_out else ""
        return EmulatorDied(
            f"the started emulator (pid {self.pid}, port {self.port}) exited{why} during {during};"
            " start a new one with `python -m tools.emulator start` and deploy again",
            self.log_tail(),
        )

    def supervise(
        self,
        proc: subprocess.Popen[Any],
        during: str,
        *,
        timeout: float | None = None,
        kill: Any = None,
    ) -> Any:
        """Wait for `proc` (a command using this emulator) and return its communicate() output.

        Every WATCH_INTERVAL_S it checks the server: when the server is gone, `kill(proc)` ends
        the command at once and EmulatorDied says so, instead of the command's own connection
        errors after its retries. A failed command whose server died meanwhile reports the death
        too: it is the cause. On a timeout it raises subprocess.TimeoutExpired, on any exception
        (Ctrl-C, SIGTERM) it kills the command first.
        """
        kill = kill or terminate_process_group_of
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                try:
                    output, _ = proc.communicate(timeout=WATCH_INTERVAL_S)
                except subprocess.TimeoutExpired:
                    if (died := self.death(during)) is not None:
                        kill(proc)
                        raise died from None
                    if deadline is not None and time.monotonic() > deadline:
                        raise
                    continue
                if proc.returncode != 0 and (died := self.death(during)) is not None:
                    raise died
                return output
        except BaseException:
            if proc.poll() is None:
                kill(proc)
            raise

    # -- clients ---------------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise EmulatorError("emulator not started")
        return f"http://127.0.0.1:{self.port}"

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """Environment for a CDK CLI or boto3 subprocess that must talk to this emulator only."""
        env = _scrubbed(os.environ if base is None else base)
        cdk_home = self.workdir / "cdk-home"
        cdk_home.mkdir(exist_ok=True)
        empty = self.workdir / "empty-aws-config"
        empty.touch()
        # The CLI's synth (jsii) leaves its temp dirs behind when it is killed; under the workdir,
        # stop() removes them with everything else.
        tmp = self.workdir / "tmp"
        tmp.mkdir(exist_ok=True)
        env.update(
            {
                "PATH": str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
                "AWS_ENDPOINT_URL": self.endpoint_url,
                # moto parses TemplateURL itself and reads the bucket from the path only when
                # the host is "localhost"; the CLI builds TemplateURL from this variable.
                "AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION": f"http://localhost:{self.port}",
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105 - moto accepts any key
                "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region,
                "AWS_CONFIG_FILE": str(empty),
                "AWS_SHARED_CREDENTIALS_FILE": str(empty),
                "AWS_EC2_METADATA_DISABLED": "true",
                "MOTO_ACCOUNT_ID": self.account_id,
                # The CLI caches account lookups per access key under CDK_HOME.
                "CDK_HOME": str(cdk_home),
                "CDK_DISABLE_VERSION_CHECK": "1",
                # CDK_* is scrubbed above, so the caller's setting (make exports it) is re-stated:
                # no telemetry call to the internet from a deploy against a local emulator.
                "CDK_DISABLE_CLI_TELEMETRY": "true",
                "TMPDIR": str(tmp),
            }
        )
        return env

    def client(self, service: str, **kwargs: Any) -> Any:
        import boto3

        client = boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=kwargs.pop("region_name", self.region),
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106
            **kwargs,
        )

        def no_retry_on_a_dead_server(caught_exception: Exception | None = None, operation: Any = None, **_: Any):
            # botocore retries connection errors with backoff; a dead server will not come back.
            if caught_exception is not None and (died := self.death(f"{service} {operation.name}")) is not None:
                raise died from None

        client.meta.events.register("needs-retry", no_retry_on_a_dead_server)
        return client

    def introspect(self, route: str) -> Any:
        url = f"{self.endpoint_url}/_emulator/{route}?account={self.account_id}&region={self.region}"
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback URL we built
                return json.load(resp)
        except urllib.error.HTTPError as exc:
            raise EmulatorError(json.load(exc).get("error", str(exc))) from exc
        except OSError as exc:
            if (died := self.death(f"the /_emulator/{route} query")) is not None:
                raise died from None
            raise EmulatorError(
                f"the emulator at {self.endpoint_url} did not answer /_emulator/{route}: {one_line(exc)}"
            ) from exc

    # -- CDK -------------------------------------------------------------------------------

    def bootstrap(self, app_dir: str | os.PathLike[str] | None = None, **kwargs: Any) -> CdkRun:
        from tools.emulator import cdk

        return cdk.bootstrap(self, app_dir, **kwargs)

    def deploy(self, app_dir: str | os.PathLike[str], **kwargs: Any) -> DeployResult:
        """tools.emulator.cdk.deploy(self, app_dir, stacks=None, context=None, *, output_dir, report, method)."""
        from tools.emulator import cdk

        return cdk.deploy(self, app_dir, **kwargs)

    def destroy(self, app_dir: str | os.PathLike[str], **kwargs: Any) -> CdkRun:
        """tools.emulator.cdk.destroy(self, app_dir, stacks=None, context=None, *, app=None)."""
        from tools.emulator import cdk

        return cdk.destroy(self, app_dir, **kwargs)

    def unemulated_resources(self, stack_name: str) -> list[tuple[str, str, str]]:
        from tools.emulator import report

        return report.unemulated_resources(stack_name, emulator=self)


def _project_root() -> Path:
    return Path(__file__).resolve().parents[2]


def _scrubbed(environ: os._Environ[str] | dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if not (k.startswith(_SCRUBBED_PREFIXES) or k in _SCRUBBED_NAMES)}


def _exit_text(code: int) -> str:
    """A server's exit status in words: a signal by its name (the server exits 128+N on SIGTERM/SIGINT)."""
    if code < 0:
        return f"exited with {_signal_name(-code)}"
    if code > 128 and code - 128 in (signal.SIGTERM, signal.SIGINT):
        return f"exited with {_signal_name(code - 128)}"
    return f"exited with code {code}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def server_alive(pid: int) -> bool:
    """A live (non-zombie) emulator server process with this pid; a reused pid is not one."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if Path("/proc/self").is_dir():
        try:
            if b"tools.emulator.server" not in cmdline.read_bytes():
                return False
            return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def terminate_process_group_of(proc: subprocess.Popen[Any]) -> None:
    terminate_process_group(proc.pid, proc)


def terminate_process(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM one child (not its group: it shares ours), SIGKILL it after a grace period."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def terminate_process_group(pgid: int, proc: subprocess.Popen[Any] | None = None) -> None:
    """SIGTERM a process group, SIGKILL whatever is left after a grace period, reap the leader."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        if _wait_group_gone(pgid, proc, STOP_TIMEOUT_S):
            break
    if proc is not None and proc.poll() is None:
        proc.wait(timeout=STOP_TIMEOUT_S)


def _wait_group_gone(pgid: int, proc: subprocess.Popen[Any] | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None:
            proc.poll()  # reaps the leader, which would otherwise stay in the group as a zombie
        if not _group_alive(pgid):
            return True
        time.sleep(0.05)
    return False


def _group_alive(pgid: int) -> bool:
    """Any live (non-zombie) process in the group; zombies need a reaper, not a signal."""
    proc_root = Path("/proc")
    if not proc_root.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc_root.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False
