"""The evaluation's pictures, written as PNG next to its report.

matplotlib's object API with the Agg canvas (no pyplot, no display, no global
state): it imports faster and needs nothing the container lacks. Each function
returns the file it wrote.

On the demo's data matplotlib's import and drawing cost about half as much CPU
as the rest of the evaluation, so :class:`Painter` draws in a child process
forked before the scoring: the import and most of the drawing run beside the
scoring, on the instance's second vCPU, and the plots add little to the job's time.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import numpy as np

DPI = 72
ROC_FILE = "roc.png"
PR_FILE = "precision_recall.png"
RESIDUALS_FILE = "residuals.png"
IMPORTANCE_FILE = "feature_importance.png"
CURVE_FILE = "validation_curve.png"
TOP_FEATURES = 15
#: The order the evaluation lists its plots in, whatever order they were drawn in.
FILES = (ROC_FILE, PR_FILE, RESIDUALS_FILE, IMPORTANCE_FILE, CURVE_FILE)


def _figure(width: float = 5.0, height: float = 3.6):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot(1, 1, 1)


def _save(figure, output_dir: Path, name: str, *, left: float = 0.13) -> Path:
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / name
    # Fixed margins, not tight_layout: that draws every figure twice (a third of the drawing time).
    figure.subplots_adjust(left=left, right=0.97, bottom=0.13, top=0.91)
    figure.savefig(target, dpi=DPI)
    return target


def _roc_points(labels: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate, precision) at every distinct threshold, highest first."""
    order = np.argsort(-score, kind="mergesort")
    sorted_score, sorted_labels = score[order], labels[order]
    last = np.r_[np.nonzero(np.diff(sorted_score))[0], sorted_score.size - 1]
    tp = np.cumsum(sorted_labels)[last]
    fp = (last + 1) - tp
    positives, negatives = max(labels.sum(), 1), max(labels.size - labels.sum(), 1)
    return np.r_[0, fp / negatives], np.r_[0, tp / positives], np.r_[1, tp / (tp + fp)]


def roc_and_pr(curves: dict[str, tuple[np.ndarray, np.ndarray]], output_dir: Path) -> list[Path]:
    """ROC and precision-recall of each candidate (``name -> (labels, positive-class score)``)."""
    roc, roc_axis = _figure()
    pr, pr_axis = _figure()
    for name, (labels, score) in curves.items():
        fpr, tpr, precision = _roc_points(labels.astype(np.int64), score)
        roc_axis.plot(fpr, tpr, label=name)
        pr_axis.plot(tpr, precision, label=name)
    roc_axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=0.8)
    roc_axis.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, test set")
    pr_axis.set(xlabel="recall", ylabel="precision", title="Precision-recall, test set")
    for axis in (roc_axis, pr_axis):
        axis.legend(loc="lower right" if axis is roc_axis else "lower left", fontsize=8)
        axis.grid(True, alpha=0.3)
    return [_save(roc, output_dir, ROC_FILE), _save(pr, output_dir, PR_FILE)]


def residuals(curves: dict[str, tuple[np.ndarray, np.ndarray]], output_dir: Path) -> list[Path]:
    """Residual (prediction - label) against prediction for each candidate (regression)."""
    figure, axis = _figure()
    for name, (labels, predictions) in curves.items():
        axis.scatter(predictions, predictions - labels, s=6, alpha=0.5, label=name)
    axis.axhline(0, color="grey", linewidth=0.8)
    axis.set(xlabel="prediction", ylabel="residual (prediction - label)", title="Residuals, test set")
    axis.legend(loc="upper right", fontsize=8)  # a fixed corner: "best" searches the data on every draw
    axis.grid(True, alpha=0.3)
    return [_save(figure, output_dir, RESIDUALS_FILE)]


def feature_importance(gains: dict[str, dict[str, float]], output_dir: Path) -> list[Path]:
    """Total gain per feature (top features of the winner) for each approach's best model."""
    figure, axis = _figure(5.5, 4.0)
    names = list(gains)
    first = gains[names[0]]
    features = sorted(first, key=first.get, reverse=True)[:TOP_FEATURES][::-1]
    height = 0.8 / max(len(names), 1)
    for index, name in enumerate(names):
        total = sum(gains[name].values()) or 1.0
        shares = [gains[name].get(f, 0.0) / total for f in features]
        axis.barh(np.arange(len(features)) + index * height, shares, height=height, label=name)
    axis.set_yticks(np.arange(len(features)) + height * (len(names) - 1) / 2, labels=features, fontsize=7)
    axis.set(xlabel="share of total gain", title="Feature importance")
    axis.legend(loc="lower right", fontsize=8)  # a fixed corner: "best" searches the bars on every draw
    longest = max(map(len, features), default=0)
    return [_save(figure, output_dir, IMPORTANCE_FILE, left=min(0.5, 0.06 + 0.0085 * longest))]


def validation_curve(name: str, metric: str, values: list[float], x_label: str, output_dir: Path) -> list[Path]:
    """The winner's validation metric as it grew: per boosting round, or per tree of a forest."""
    figure, axis = _figure()
    axis.plot(np.arange(1, len(values) + 1), values, marker="o" if len(values) < 20 else None)
    axis.set(xlabel=x_label, ylabel=f"validation {metric}", title=f"Validation curve of the winner ({name})")
    axis.grid(True, alpha=0.3)
    return [_save(figure, output_dir, CURVE_FILE)]


def _warm_up() -> None:
    """Import matplotlib and draw one throwaway figure: fonts, glyphs and the PNG writer get loaded
    while the parent is still importing and scoring, not when the first real plot is due."""
    import io

    figure, axis = _figure()
    axis.plot([0, 1], [0, 1], label="warm-up")
    axis.set(xlabel="x", ylabel="y", title="warm-up")
    axis.legend(loc="lower right", fontsize=8)
    axis.grid(True, alpha=0.3)
    figure.savefig(io.BytesIO(), dpi=DPI, format="png")


class PlotError(RuntimeError):
    """A plot the child process could not draw: its message names the plot and the cause."""


def _serve(ends, parent_ends) -> None:
    """The child: warm matplotlib up, fork the helper (warm already: fork copies it), then draw each request."""
    for end in parent_ends:
        end.close()  # the parent's copies: while held here, its leaving would not reach the drawers as EOF
    connection, helper_connection = ends
    _warm_up()
    helper = os.fork()
    if helper == 0:  # the helper draws the requests sent on its own pipe
        connection.close()
        try:
            _draw_requests(helper_connection)
        finally:
            os._exit(0)  # not the first child's exit handlers: they belong to that process
    helper_connection.close()
    try:
        _draw_requests(connection)
    finally:
        os.waitpid(helper, 0)


def _draw_requests(connection) -> None:
    drawers = {f.__name__: f for f in (roc_and_pr, residuals, feature_importance, validation_curve)}
    try:
        while (request := connection.recv()) is not None:
            name, args = request
            try:
                connection.send(("ok", drawers[name](*args)))
            except Exception as exc:  # noqa: BLE001  (sent to the parent, which raises it as a PlotError)
                connection.send(("error", f"plot {name} failed: {type(exc).__name__}: {exc}"))
    except EOFError:
        pass  # the parent left without finish (it failed): nothing more to draw
    connection.close()


class Painter:
    """Draws plots in a forked child while the caller goes on; :meth:`finish` waits for the files.

    Fork it before the heavy work (the scoring), not after: the child then
    imports matplotlib while the parent scores. ``submit`` names one of this
    module's plot functions and its arguments and returns at once.
    """

    def __init__(self) -> None:
        # fork, not spawn: spawn would re-import evaluate.py (xgboost, scikit-learn) in the child.
        # Python 3.12 warns (hidden by default) that the process has threads: numpy's OpenBLAS pool,
        # which OpenBLAS shuts down before a fork (pthread_atfork); XGBoost's OpenMP pool does not
        # exist yet when evaluate.py forks, before any scoring, and the child only draws.
        # Two drawers: the child forks a helper once matplotlib is warm (a copy, no second import),
        # and plots go to them in turn, so the parent's wait at the end uses both vCPUs.
        context = multiprocessing.get_context("fork")
        self._connections, child_ends = zip(*(context.Pipe() for _ in range(2)), strict=True)
        self._process = context.Process(target=_serve, args=(child_ends, self._connections), name="plots", daemon=True)
        self._process.start()
        for end in child_ends:
            end.close()
        self._routes: list[int] = []  # the drawer of each submitted plot, in submission order
        self._died = False

    _DIED = "the plotting process ended before drawing every plot (out of memory?)"

    def __enter__(self) -> Painter:
        return self

    def __exit__(self, *exc_info) -> None:
        """Leaves no child behind when the caller failed before :meth:`finish`."""
        if self._process.is_alive():
            for connection in self._connections:
                connection.close()  # the helper sees EOF and ends
            self._process.kill()
            self._process.join()

    def submit(self, name: str, *args) -> None:
        if self._died:
            return  # finish says so
        drawer = len(self._routes) % len(self._connections)
        try:
            self._connections[drawer].send((name, args))
            self._routes.append(drawer)
        except (BrokenPipeError, ConnectionResetError):
            self._died = True

    def finish(self) -> list[Path]:
        """Every file written, in submission order; a PlotError when the child failed or died."""
        written: list[Path] = []
        failure = self._DIED if self._died else None
        try:
            for drawer in self._routes:  # each drawer answers in the order it was asked
                status, value = self._connections[drawer].recv()
                if status == "ok":
                    written += value
                else:
                    failure = failure or value
            for connection in self._connections:
                connection.send(None)
        except (EOFError, BrokenPipeError, ConnectionResetError):
            failure = failure or self._DIED
        finally:
            for connection in self._connections:
                connection.close()
            self._process.join(timeout=30)
            if self._process.is_alive():
                self._process.kill()
        if failure:
            raise PlotError(failure)
        return written
