"""Render the architecture diagram (docs/architecture.svg) from the app's cloud assembly.

By default the app is synthesized here, hermetically (``python app.py`` with
the context of cdk.json, as ``cdk synth`` runs it: no credentials, no
network), into a temporary folder; ``--assembly cdk.out`` reads one already
synthesized instead. ``--check`` writes nothing and fails when the committed
diagram differs from what the app gives now.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tools import cli
from tools.diagram.assembly import read
from tools.diagram.render import render

REPO_ROOT = Path(__file__).resolve().parents[2]
DIAGRAM = REPO_ROOT / "docs" / "architecture.svg"
ENV = "dev"
REGENERATE = "python -m tools.diagram"


def synthesize(outdir: Path, env: str = ENV) -> None:
    """The app's cloud assembly for ``env`` in ``outdir``, as the CDK CLI would write it."""
    context = {**json.loads((REPO_ROOT / "cdk.json").read_text())["context"], "env": env}
    environ = {**os.environ, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps(context)}
    result = subprocess.run([sys.executable, "app.py"], cwd=REPO_ROOT, env=environ, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise cli.ToolError(f"synth of env={env} failed: {lines[-1] if lines else result.returncode}; "
                            "run `make synth` for the whole report")


def diagram(assembly: Path, env: str = ENV) -> tuple[str, dict]:
    """The SVG text and its figures (nodes, edges, stacks)."""
    graph = read(assembly)
    title = (f"ML platform ({env}): {len(graph.stacks)} stacks, generated from the cloud assembly "
             f"by `{REGENERATE}`")
    svg = render(graph, title=title)
    return svg, {"stacks": len(graph.stacks), "nodes": len(graph.nodes), "edges": len(graph.edges),
                 "bytes": len(svg.encode())}


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="python -m tools.diagram", description=__doc__.splitlines()[0])
    parser.add_argument("--assembly", type=Path, help="read this cloud assembly instead of synthesizing")
    parser.add_argument("--output", type=Path, default=DIAGRAM, help="where the SVG goes (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="fail when --output differs; write nothing")
    args = parser.parse_args(argv)
    if args.assembly is not None and not (args.assembly / "manifest.json").is_file():
        raise cli.UserError(f"{args.assembly} is no cloud assembly (no manifest.json); run `make synth` first")
    if args.assembly is not None:
        svg, figures = diagram(args.assembly)
    else:
        with tempfile.TemporaryDirectory(prefix="diagram-") as tmp:
            synthesize(Path(tmp))
            svg, figures = diagram(Path(tmp))
    summary = ", ".join(f"{v} {k}" for k, v in figures.items())
    if args.check:
        current = args.output.read_text() if args.output.is_file() else None
        if current != svg:
            raise cli.ToolError(f"{args.output} does not match the app ({summary}); regenerate it with "
                                f"`{REGENERATE}` and commit it")
        print(f"{args.output} matches the app ({summary})")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(svg)
    print(f"wrote {args.output} ({summary})")
    return 0


if __name__ == "__main__":
    cli.run(main)
