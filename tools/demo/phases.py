"""Named, timed phases; a failing phase becomes one clear message instead of a traceback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from tools.cli import ToolError, one_line


class DemoError(ToolError, RuntimeError):
    """An expected failure: printed as ``error: <phase>: <message>``, exit status 1 (tools.cli)."""


class Phases:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.timings: list[tuple[str, float, str]] = []

    def log(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.started:6.1f}s] {message}", flush=True)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.log(f"== {name}")
        started = time.perf_counter()
        status = "failed"
        try:
            yield
            status = "ok"
        except DemoError:
            raise
        except ToolError as exc:  # the emulator or the CDK CLI: its message already says what to do
            raise DemoError(f"{name}: {one_line(exc)}") from exc
        except Exception as exc:  # noqa: BLE001 - every failure is reported with its phase
            raise DemoError(f"{name}: {type(exc).__name__}: {one_line(exc)}") from exc
        except BaseException:  # Ctrl-C, SIGTERM (tools.cli.Terminated)
            status = "interrupted"
            raise
        finally:
            self.timings.append((name, time.perf_counter() - started, status))
