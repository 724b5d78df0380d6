"""CLI: python -m tools.emulator {run,deploy,destroy,start,stop,status,env}.

`run` and `deploy` without a started emulator are ephemeral: they start one, work, and stop it,
so nothing is left running. `start` leaves one running for several commands (deploy, then
destroy); it records itself in a state file and stops by itself after --ttl seconds.

The emulated account and region default to the app's dev environment (stacks/config.py), the one
`cdk deploy` of this repository targets. Errors follow tools.cli: one line, exit 2 for a bad
option, 1 when the emulator or the CDK CLI fails, 130/143 on Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from stacks.config import AWS_REGIONS
from tools import cli
from tools.emulator import cdk
from tools.emulator.core import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    Emulator,
    EmulatorDied,
    server_alive,
    terminate_process,
    terminate_process_group,
)
from tools.emulator.report import format_report

DEFAULT_TTL_S = 3600.0
PROG = "python -m tools.emulator"


def state_file() -> Path:
    return Path(
        os.environ.get("EMULATOR_STATE_FILE") or Path(tempfile.gettempdir()) / f"tools-emulator-{os.getuid()}.json"
    )


def read_state() -> dict[str, Any] | None:
    """The started emulator's state, or None; a stale or unreadable state file is removed, and so
    is the workdir of a started server that died without cleaning up (SIGKILL, a reboot)."""
    path = state_file()
    try:
        state = json.loads(path.read_text())
        pid, port, workdir = int(state["pid"]), int(state["port"]), str(state["workdir"])
        state["account_id"], state["region"], state["endpoint_url"]  # noqa: B018 - all keys present
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        path.unlink(missing_ok=True)
        return None
    if not server_alive(pid):
        if Path(workdir).name.startswith("emulator-"):
            shutil.rmtree(workdir, ignore_errors=True)
        path.unlink(missing_ok=True)
        return None
    state["pid"], state["port"] = pid, port
    return state


def _attached(state: dict[str, Any]) -> Emulator:
    return Emulator.attach(
        state["port"],
        state["account_id"],
        state["region"],
        state["workdir"],
        pid=state["pid"],
        expires_at=state.get("expires_at"),
    )


# -- option types: a bad value is refused where it enters, as one line naming the fix ------------


def account_id(value: str) -> str:
    if not re.fullmatch(r"\d{12}", value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a 12-digit AWS account ID; e.g. {DEFAULT_ACCOUNT}, the app's dev account"
        )
    return value


def region_name(value: str) -> str:
    # The app's own list: the emulated region must be one the app can be synthesized for.
    if value not in AWS_REGIONS:
        raise argparse.ArgumentTypeError(
            f"unknown region {value!r}; use an AWS region such as {DEFAULT_REGION}, the app's dev region"
        )
    return value


def ttl_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number of seconds; e.g. {DEFAULT_TTL_S:.0f}")
    return seconds


def port_number(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if port != 0 and not 1024 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port in 1024-65535; or 0 for a free one")
    return port


def context_pair(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{value!r} is not KEY=VALUE; e.g. -c env=dev")
    return key, val


def _app_dir(path: str) -> Path:
    app = Path(path).expanduser().resolve()
    if not app.is_dir():
        raise cli.UserError(f"--app-dir {path}: no such folder; pass the folder holding the CDK app's cdk.json")
    if not (app / "cdk.json").is_file():
        raise cli.UserError(
            f"--app-dir {path}: no cdk.json in {app}; pass the folder holding the CDK app's cdk.json"
            " (this repository's root for the platform)"
        )
    return app


def _check_port_free(port: int) -> None:
    if port == 0:
        return
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise cli.UserError(f"--port {port}: in use on 127.0.0.1; pick another, or 0 for a free one") from None


def _same_environment(state: dict[str, Any], args: argparse.Namespace) -> None:
    """A started emulator plays one account and region; asking for another is an error, not ignored."""
    for option, key, wanted in (("--account", "account_id", args.account), ("--region", "region", args.region)):
        if wanted is not None and wanted != state[key]:
            raise cli.UserError(
                f"{option} {wanted}: the started emulator (pid {state['pid']}) plays {state[key]}; "
                f"run `{PROG} stop`, then `start {option} {wanted}`"
            )


# -- commands --------------------------------------------------------------------------------------


def cmd_start(args: argparse.Namespace) -> int:
    if (state := read_state()) is not None:
        _same_environment(state, args)
        print(f"already running: {state['endpoint_url']} (pid {state['pid']})")
        return 0
    _check_port_free(args.port)
    emu = Emulator(args.account or DEFAULT_ACCOUNT, args.region or DEFAULT_REGION, ttl=args.ttl, owned=False,
                   port=args.port)
    try:
        emu.start()
        state = {
            "pid": emu.pid,
            "port": emu.port,
            "endpoint_url": emu.endpoint_url,
            "account_id": emu.account_id,
            "region": emu.region,
            "workdir": str(emu.workdir),
            "log": str(emu.log_path),
            "expires_at": time.time() + args.ttl,
        }
        state_file().write_text(json.dumps(state))
    except BaseException:
        emu.stop()
        raise
    emu.detach()
    print(
        f"started {state['endpoint_url']} (pid {state['pid']}, account {state['account_id']}, {state['region']};"
        f" stops by itself after {args.ttl:.0f}s)"
    )
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    path = state_file()
    state = read_state()
    if state is None:
        print("not running")
        return 0
    terminate_process_group(state["pid"])
    shutil.rmtree(state["workdir"], ignore_errors=True)
    path.unlink(missing_ok=True)
    print(f"stopped pid {state['pid']}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    state = read_state()
    if state is None:
        print("not running")
        return 1
    print(f"running {state['endpoint_url']} (pid {state['pid']}, account {state['account_id']}, {state['region']})")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    state = read_state()
    if state is None:
        raise cli.UserError(f"no started emulator; run `{PROG} start` first")
    env = _attached(state).env(base={})
    for key in sorted(env):
        if key != "PATH":
            print(f"export {key}={shlex.quote(env[key])}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise cli.UserError(f"nothing to run; usage: {PROG} run -- CMD [ARGS...]")
    search = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    if shutil.which(command[0], path=search) is None:
        raise cli.UserError(f"no such command {command[0]!r} (not on PATH nor executable); check the command")
    with Emulator(args.account or DEFAULT_ACCOUNT, args.region or DEFAULT_REGION) as emu:
        if args.bootstrap:
            cdk.bootstrap(emu)
        # Same process group as this one: Ctrl-C in a terminal reaches the command directly.
        proc = subprocess.Popen(command, env=emu.env())
        emu.supervise(proc, f"`{shlex.join(command)[:80]}`", kill=terminate_process)
        code = proc.returncode
        return 128 - code if code < 0 else code


def cmd_deploy(args: argparse.Namespace) -> int:
    app_dir = _app_dir(args.app_dir)
    state = read_state()
    if state is not None:
        _same_environment(state, args)
        return _deploy(_attached(state), app_dir, args, bootstrap=args.bootstrap)
    with Emulator(args.account or DEFAULT_ACCOUNT, args.region or DEFAULT_REGION) as emu:
        print(f"ephemeral emulator at {emu.endpoint_url} (pid {emu.pid}); it stops when this command ends", flush=True)
        return _deploy(emu, app_dir, args, bootstrap=True)


def _deploy(emu: Emulator, app_dir: Path, args: argparse.Namespace, *, bootstrap: bool) -> int:
    context = dict(args.context)
    if bootstrap:
        run = cdk.bootstrap(emu)
        print(f"bootstrapped in {run.seconds:.1f}s", flush=True)
    result = cdk.deploy(emu, app_dir, stacks=args.stacks or None, context=context, method=args.method)
    if args.verbose:
        print(result.runs[-1].output)
    print(f"deployed {', '.join(result.stacks)} in {result.seconds:.1f}s")
    for name, gaps in result.unemulated.items():
        print(format_report(name, gaps))
    if args.destroy:
        run = cdk.destroy(emu, app_dir, stacks=args.stacks or None, context=context)
        print(f"destroyed in {run.seconds:.1f}s")
    return 0


def cmd_destroy(args: argparse.Namespace) -> int:
    app_dir = _app_dir(args.app_dir)
    state = read_state()
    if state is None:
        raise cli.UserError(
            "no started emulator: an ephemeral emulator's resources die with it;"
            f" use `{PROG} start`, then `deploy` and `destroy`, or `deploy --destroy`"
        )
    run = cdk.destroy(_attached(state), app_dir, stacks=args.stacks or None, context=dict(args.context))
    print(f"destroyed in {run.seconds:.1f}s")
    return 0


def parser() -> argparse.ArgumentParser:
    top = cli.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    sub = top.add_subparsers(dest="cmd", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--account", type=account_id, default=None,
            help=f"the emulated account, 12 digits (default {DEFAULT_ACCOUNT}: the app's dev account;"
            " a started emulator keeps the one it was started with)",
        )
        p.add_argument("--region", type=region_name, default=None,
                       help=f"the emulated region (default {DEFAULT_REGION}: the app's dev region)")

    def app(p: argparse.ArgumentParser) -> None:
        p.add_argument("--app-dir", default=".", help="directory with the CDK app's cdk.json")
        p.add_argument("stacks", nargs="*", help="stack names; all stacks when none")
        p.add_argument("-c", "--context", type=context_pair, action="append", default=[], metavar="KEY=VALUE")

    p = sub.add_parser("start", help="start a background emulator (stops by itself after --ttl)")
    common(p)
    p.add_argument("--ttl", type=ttl_seconds, default=DEFAULT_TTL_S, help="seconds before it stops by itself")
    p.add_argument("--port", type=port_number, default=0, help="port on 127.0.0.1 (default 0: a free one)")
    p.set_defaults(func=cmd_start)
    sub.add_parser("stop", help="stop the background emulator").set_defaults(func=cmd_stop)
    sub.add_parser("status", help="exit 0 when a background emulator runs").set_defaults(func=cmd_status)
    sub.add_parser("env", help="print export lines for the background emulator").set_defaults(func=cmd_env)

    p = sub.add_parser("run", help="run a command against an ephemeral emulator")
    common(p)
    p.add_argument("--bootstrap", action="store_true", help="cdk bootstrap before running the command")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("deploy", help="bootstrap and deploy; ephemeral unless `start` was run")
    common(p)
    app(p)
    p.add_argument("--no-bootstrap", dest="bootstrap", action="store_false", help="with a started emulator")
    p.add_argument("--destroy", action="store_true", help="cdk destroy after the deploy")
    p.add_argument("--method", choices=["change-set", "direct"], default=None, help="the CDK CLI's deploy method")
    p.add_argument("-v", "--verbose", action="store_true", help="print the CDK CLI's output")
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("destroy", help="cdk destroy on the started emulator")
    app(p)
    p.add_argument("-v", "--verbose", action="store_true", help="print the CDK CLI's output on a failure")
    p.set_defaults(func=cmd_destroy)
    return top


def main(argv: list[str] | None = None) -> int:
    """The commands' exit code; failures raise (tools.cli turns them into one line and a code)."""
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except cdk.CdkError as exc:
        # The one line names the CLI's error; its whole output is there on request.
        if getattr(args, "verbose", False) and exc.output:
            print(exc.output, flush=True)
        if cli.debug_requested([]) and exc.log:
            print(f"--- emulator log ---\n{exc.log}", file=sys.stderr)
        raise
    except EmulatorDied as exc:
        if cli.debug_requested([]) and exc.log_tail:
            print(f"--- emulator log ---\n{exc.log_tail}", file=sys.stderr)
        raise


if __name__ == "__main__":
    cli.run(main)
