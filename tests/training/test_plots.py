"""smxgb.plots.Painter: plots drawn in a forked child while the evaluation scores; its failures reach the parent."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from smxgb import plots

PNG = b"\x89PNG\r\n\x1a\n"


def _curves():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 60).astype(float)
    return {"boosting": (labels, rng.random(60)), "baseline": (labels, np.full(60, 0.4))}


def test_the_child_draws_every_submitted_plot_in_order(tmp_path):
    # GIVEN a painter WHEN two plots are submitted THEN finish returns their files in submission order, as PNG
    with plots.Painter() as painter:
        painter.submit("validation_curve", "boosting", "auc", [0.7, 0.8, 0.85], "boosting round", tmp_path)
        painter.submit("roc_and_pr", _curves(), tmp_path)
        written = painter.finish()
    assert [p.name for p in written] == [plots.CURVE_FILE, plots.ROC_FILE, plots.PR_FILE]
    assert all(p.read_bytes().startswith(PNG) for p in written)


def test_a_plot_that_fails_in_the_child_is_a_plot_error_naming_it(tmp_path):
    # GIVEN a feature-importance plot with no features at all
    with plots.Painter() as painter:
        painter.submit("feature_importance", {}, tmp_path)
        painter.submit("validation_curve", "forest", "auc", [0.7], "trees", tmp_path)
        # WHEN the painter finishes THEN the first failure is raised, naming the plot and the cause
        with pytest.raises(plots.PlotError, match=r"^plot feature_importance failed: IndexError: "):
            painter.finish()
    # AND the plots that could be drawn were still drawn
    assert (tmp_path / plots.CURVE_FILE).is_file()


def test_a_child_that_dies_is_a_plot_error_not_a_hang(tmp_path):
    # GIVEN the plotting child is killed (as the OOM killer would)
    with plots.Painter() as painter:
        os.kill(painter._process.pid, signal.SIGKILL)
        painter._process.join()
        painter.submit("roc_and_pr", _curves(), tmp_path)
        # WHEN the painter finishes THEN one clear error
        with pytest.raises(plots.PlotError, match=r"ended before drawing every plot"):
            painter.finish()


def test_leaving_the_block_early_leaves_no_child_behind(tmp_path):
    # GIVEN the evaluation fails between the fork and finish
    with pytest.raises(RuntimeError, match="scoring failed"):
        with plots.Painter() as painter:
            child = painter._process
            raise RuntimeError("scoring failed")
    # THEN the child is gone
    assert not child.is_alive() and child.exitcode is not None


def _gone(pid: int, seconds: float = 10.0) -> bool:
    """The process ended (a zombie awaiting its reaper counts as ended)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def test_the_helper_drawer_ends_with_the_child_when_the_block_is_left_early(tmp_path):
    # GIVEN a painter whose child is warm and has forked its helper (it answered a first plot)
    with pytest.raises(RuntimeError, match="scoring failed"):
        with plots.Painter() as painter:
            painter.submit("validation_curve", "boosting", "auc", [0.7, 0.8], "boosting round", tmp_path)
            assert painter._connections[0].poll(60)
            child = painter._process.pid
            helpers = [int(p) for p in Path(f"/proc/{child}/task/{child}/children").read_text().split()]
            # WHEN the evaluation fails before finish
            raise RuntimeError("scoring failed")
    # THEN the helper ends too (it sees the parent's pipe close), not left drawing nothing forever
    assert len(helpers) == 1
    assert _gone(helpers[0])
