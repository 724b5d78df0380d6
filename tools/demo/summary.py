"""The demo's closing report: steps, best trial, artifacts, predictions, cost, timings."""

from __future__ import annotations

from tools.demo.cost import PRICE_SOURCE, SPOT_DISCOUNT, JobCost


def _table(rows: list[list[str]], indent: str = "  ") -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def render(execution, *, predictions: list[tuple[int, float]], registered: dict, costs: list[JobCost],
           timings: list[tuple[str, float, str]], drift=None, retrained: dict | None = None,
           guard: list[str] | None = None, comparison: dict | None = None, comparison_table: str = "") -> str:
    out = [f"Pipeline {execution.pipeline_name}, execution {execution.execution_id}: {execution.status}"
           f" in {execution.seconds:.1f}s", "", "Steps"]
    out.append(_table([["step", "type", "status", "seconds"]] + [
        [s.name, s.type, s.status, f"{s.seconds:.1f}" if s.status != "NotExecuted" else "-"]
        for s in execution.steps]))
    tune = next((s for s in execution.steps if s.type == "Tuning" and s.status == "Succeeded"), None)
    if tune:
        best, objective = tune.detail["best"], tune.detail["objective"]
        out += ["", f"Tuning ({tune.detail['strategy']}, {len(tune.detail['trials'])} trials): best"
                f" {best['name']}, {objective['MetricName']} = {best['objective']:.6f} ({objective['Type']})"]
        out += [f"  {k} = {v}" for k, v in sorted(best["hyperparameters"].items())]
        if comparison:
            out += ["", "Approaches (test set; the gate decides on the objective)", comparison_table]
            out.append(f"  approach chosen: {comparison['verdict']['winner']}: {comparison['sentence']}")
            out += [f"  plot: {f}" for f in comparison.get("plot_files", [])]
    check = next((s for s in execution.steps if s.type == "Condition" and s.status == "Succeeded"), None)
    if check:
        for condition in check.detail["conditions"]:
            left, right = (_number(condition.get(side)) for side in ("LeftValue", "RightValue"))
            out.append(f"Gate {check.name}: {left} {condition['Type']} {right} -> {check.detail['outcome']}")
    out += ["", "Artifacts"]
    for record in execution.steps:
        if record.type == "Processing" and record.status == "Succeeded":
            out += [f"  {record.name}/{name}: {o['uri']}" for name, o in record.detail["outputs"].items()]
    if tune:
        out.append(f"  best model: {tune.detail['best']['model_uri']}")
    if registered:
        out += [f"  model package: {registered['model_package_arn']} (version {registered['version']},"
                f" {registered['approval']})", f"  registered metrics: {registered['metrics_uri']}"]
        if registered.get("model_card"):
            out.append(f"  model card: {registered['model_card']['ModelCardStatus']}, on the registered version")
    if predictions:
        out += ["", "Sample predictions (registered model, training/inference.py handlers)"]
        out.append(_table([["label", "P(label=1)"]] + [[str(label), f"{p:.4f}"] for label, p in predictions]))
    if drift is not None:
        out += ["", f"Production check: {drift.report['rows']} captured rows against the version's drift baseline"
                f" ({drift.capture_uri})"]
        rows = sorted(drift.report["features"], key=lambda f: -f["psi"])[:5]
        out.append(_table([["feature", "PSI", "KS", "p-value", "drifted"]] + [
            [f["name"], f"{f['psi']:.3f}", f"{f['ks_statistic']:.3f}", f"{f['ks_p_value']:.1e}",
             "yes" if f["drifted"] else "no"] for f in rows]))
        if drift.plot:
            out.append(f"  plot: {drift.plot}")
    if guard:
        out.append("Retraining guard: drift alarm -> " + guard[0]
                   + "".join(f"; the same alarm 10 min later -> {verdict}" for verdict in guard[1:]))
    if retrained:
        out.append(f"Retrained on drift: model package version {retrained['version']}"
                   f" ({retrained['approval']}), {retrained['metadata']}")
    if costs:
        total = sum(c.usd for c in costs)
        out += ["", f"Estimated AWS cost of this run: ${total:.4f} ({PRICE_SOURCE}; spot -{SPOT_DISCOUNT:.0%})"]
        out.append(_table([["step", "instance", "jobs", "billed s", "spot", "USD"]] + [
            [c.step, f"{c.instances} x {c.instance_type}", str(c.jobs), f"{c.billed_seconds:.0f}",
             "yes" if c.spot else "no", f"{c.usd:.4f}"] for c in costs]))
    out += ["", render_timings(timings)]
    return "\n".join(out)


def _number(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def render_timings(timings: list[tuple[str, float, str]]) -> str:
    if not timings:
        return "Phases: none ran"
    return "Phases\n" + _table([["phase", "seconds", "status"]] + [[n, f"{s:.1f}", st] for n, s, st in timings])
