"""Failures of a local pipeline run: every message starts with the step and the field it is about.

Under ``tools.cli``: a broken definition or a bad ``--param`` is the user's to
fix (exit 2); the CLI reports a step that failed while it ran with exit 1.
"""

from __future__ import annotations

from tools.cli import UserError


class PipelineError(RuntimeError, UserError):
    """The definition is broken or a step failed; ``str()`` reads ``step <name>: <field>: <reason>``."""

    def __init__(self, reason: str, *, step: str | None = None, field: str | None = None) -> None:
        self.step, self.field, self.reason = step, field, reason
        prefix = "".join(part for part in (f"step {step}: " if step else "", f"{field}: " if field else ""))
        super().__init__(prefix + reason)
        #: The execution so far (steps that ran, their timings), attached by the runner.
        self.execution = None


class PipelineFailed(PipelineError):
    """The definition ran as written and reached a Fail step (e.g. the AUC gate)."""
