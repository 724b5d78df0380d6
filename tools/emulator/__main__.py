"""CLI: python -m tools.emulator {run,deploy,destroy,start,stop,status,env}.

`run` and `deploy` without a started emulator are ephemeral: they start one, work, and stop it,
so nothing is left running. `start` leaves one running for several commands (deploy, then
destroy); it records itself in a state file and stops by itself after --ttl seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from tools.emulator import cdk
from tools.emulator.core import DEFAULT_ACCOUNT, DEFAULT_REGION, Emulator, EmulatorError, terminate_process_group
from tools.emulator.report import format_report

DEFAULT_TTL_S = 3600.0


def state_file() -> Path:
    return Path(
        os.environ.get("EMULATOR_STATE_FILE") or Path(tempfile.gettempdir()) / f"tools-emulator-{os.getuid()}.json"
    )


def read_state() -> dict[str, Any] | None:
    """The started emulator's state, or None (removing a stale state file)."""
    path = state_file()
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if _health_pid(state["port"]) != state["pid"]:
        path.unlink(missing_ok=True)
        return None
    return state


def _health_pid(port: int) -> int | None:
    try:
        url = f"http://127.0.0.1:{port}/_emulator/health"
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback
            return int(json.load(resp)["pid"])
    except (OSError, ValueError, KeyError):
        return None


def _attached(state: dict[str, Any]) -> Emulator:
    return Emulator.attach(state["port"], state["account_id"], state["region"], state["workdir"])


def _context(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"error: context must be KEY=VALUE, got {pair!r}")
        out[key] = value
    return out


# -- commands --------------------------------------------------------------------------------------


def cmd_start(args: argparse.Namespace) -> int:
    if (state := read_state()) is not None:
        print(f"already running: {state['endpoint_url']} (pid {state['pid']})")
        return 0
    emu = Emulator(args.account, args.region, ttl=args.ttl, owned=False)
    emu.start()
    state = {
        "pid": emu.pid,
        "port": emu.port,
        "endpoint_url": emu.endpoint_url,
        "account_id": emu.account_id,
        "region": emu.region,
        "workdir": str(emu.workdir),
        "log": str(emu.log_path),
    }
    emu.detach()
    state_file().write_text(json.dumps(state))
    print(f"started {state['endpoint_url']} (pid {state['pid']}, stops by itself after {args.ttl:.0f}s)")
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
        raise SystemExit("error: no started emulator; run `python -m tools.emulator start` first")
    env = _attached(state).env(base={})
    for key in sorted(env):
        if key != "PATH":
            print(f"export {key}={shlex.quote(env[key])}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise SystemExit("error: nothing to run; usage: python -m tools.emulator run -- CMD [ARGS...]")
    with Emulator(args.account, args.region) as emu:
        if args.bootstrap:
            cdk.bootstrap(emu)
        return subprocess.run(command, env=emu.env(), check=False).returncode


def cmd_deploy(args: argparse.Namespace) -> int:
    state = read_state()
    if state is not None:
        return _deploy(_attached(state), args, bootstrap=args.bootstrap)
    with Emulator(args.account, args.region) as emu:
        print(f"ephemeral emulator at {emu.endpoint_url}; it stops when this command ends", file=sys.stderr)
        return _deploy(emu, args, bootstrap=True)


def _deploy(emu: Emulator, args: argparse.Namespace, *, bootstrap: bool) -> int:
    if bootstrap:
        run = cdk.bootstrap(emu)
        print(f"bootstrapped in {run.seconds:.1f}s")
    result = cdk.deploy(
        emu, args.app_dir, stacks=args.stacks or None, context=_context(args.context), method=args.method
    )
    if args.verbose:
        print(result.runs[-1].output)
    print(f"deployed {', '.join(result.stacks)} in {result.seconds:.1f}s")
    for name, gaps in result.unemulated.items():
        print(format_report(name, gaps))
    if args.destroy:
        run = cdk.destroy(emu, args.app_dir, stacks=args.stacks or None, context=_context(args.context))
        print(f"destroyed in {run.seconds:.1f}s")
    return 0


def cmd_destroy(args: argparse.Namespace) -> int:
    state = read_state()
    if state is None:
        raise SystemExit(
            "error: no started emulator: an ephemeral emulator's resources die with it. "
            "Use `start`, then `deploy` and `destroy`, or `deploy --destroy`."
        )
    run = cdk.destroy(_attached(state), args.app_dir, stacks=args.stacks or None, context=_context(args.context))
    print(f"destroyed in {run.seconds:.1f}s")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m tools.emulator", description=__doc__.splitlines()[0])
    sub = top.add_subparsers(dest="cmd", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        where = "the emulated account (a started emulator keeps the one it was started with)"
        p.add_argument("--account", default=DEFAULT_ACCOUNT, help=where)
        p.add_argument("--region", default=DEFAULT_REGION, help="the emulated region")

    def app(p: argparse.ArgumentParser) -> None:
        p.add_argument("--app-dir", default=".", help="directory with the CDK app's cdk.json")
        p.add_argument("stacks", nargs="*", help="stack names; all stacks when none")
        p.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE")

    p = sub.add_parser("start", help="start a background emulator (stops by itself after --ttl)")
    common(p)
    p.add_argument("--ttl", type=float, default=DEFAULT_TTL_S, help="seconds before it stops by itself")
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
    p.set_defaults(func=cmd_destroy)
    return top


def main(argv: list[str] | None = None) -> int:
    # SIGTERM (a CI timeout, `kill`) must unwind like Ctrl-C: `with Emulator()` stops the server
    # and subprocess.run kills the running CDK CLI only when an exception passes through them.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (EmulatorError, cdk.CdkError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
