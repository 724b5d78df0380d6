"""The emulator's server process: moto, patched, on loopback, with a lifetime bounded by its owner.

Run as `python -m tools.emulator.server`; it prints `READY <port>` once it accepts connections.
The owner reads that line instead of guessing a free port, so two emulators never race for one.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
import threading
import time

from tools.emulator import introspection, patches
from tools.emulator.introspection import READY_PREFIX


def _watchdog(parent_pid: int | None, deadline: float | None, cleanup_dir: str | None) -> None:
    """Exit the whole process when its owner dies or its time is up.

    A SIGKILLed owner runs no cleanup, so the server must notice on its own, and remove the
    owner's workdir (log, CDK_HOME) that nobody else would.
    """
    while True:
        time.sleep(0.5)
        expired = deadline is not None and time.monotonic() > deadline
        if expired or (parent_pid is not None and not _alive(parent_pid)):
            if cleanup_dir:
                shutil.rmtree(cleanup_dir, ignore_errors=True)
            os._exit(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A reparented orphan's parent is init; os.getppid() catches a reused pid.
    return os.getppid() == pid


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.emulator.server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--parent-pid", type=int, default=None, help="exit when this process is gone")
    parser.add_argument("--ttl", type=float, default=None, help="exit after this many seconds")
    parser.add_argument("--cleanup-dir", default=None, help="remove this dir when exiting on the watchdog's call")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the emulator binds loopback only")

    patches.apply_all()
    # Access lines would bury moto's tracebacks, which are what the log is for.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    # Imported after the patches so that every module sees the patched moto.
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app = introspection.wrap(DomainDispatcherApplication(create_backend_app))
    server = make_server(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    port = server.server_port
    # moto builds some URLs (e.g. presigned, Lambda callbacks) from MOTO_PORT.
    os.environ["MOTO_PORT"] = str(port)

    deadline = time.monotonic() + args.ttl if args.ttl else None
    threading.Thread(target=_watchdog, args=(args.parent_pid, deadline, args.cleanup_dir), daemon=True).start()
    # 128+N as a shell reports it: the owner tells "stopped from outside" from a crash (exit 1).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(128 + signal.SIGINT))

    print(f"{READY_PREFIX}{port}", flush=True)
    # Nobody reads our stdout after READY: a chatty library could fill the pipe and block us.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
