"""The app runs as ``python -O app.py`` (cdk.json): what -O removes must not be something the app relies on."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_CODE = [REPO_ROOT / "app.py", REPO_ROOT / "tools" / "cli.py", REPO_ROOT / "tools" / "cfn_validate.py",
            *sorted((REPO_ROOT / "stacks").rglob("*.py")), *sorted((REPO_ROOT / "constructs").glob("*.py"))]


def test_cdk_json_runs_the_app_optimized() -> None:
    assert json.loads((REPO_ROOT / "cdk.json").read_text())["app"] == ".venv/bin/python -O app.py"


def test_app_code_has_no_assert_statement_that_python_O_would_drop() -> None:
    # GIVEN every module the synth runs WHEN parsed THEN no check is an assert (-O strips them)
    asserts = [f"{path.relative_to(REPO_ROOT)}:{node.lineno}" for path in APP_CODE
               for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Assert)]
    assert asserts == []


def test_precompile_refuses_to_run_without_O_in_one_line() -> None:
    result = subprocess.run([sys.executable, "-m", "tools.precompile"], cwd=REPO_ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: run with python -O (the app's optimization level); e.g. .venv/bin/python -O -m tools.precompile"]


def test_precompile_covers_the_modules_the_start_up_thread_imports() -> None:
    # GIVEN a fresh interpreter that imports what precompile compiles
    script = ("import json; from tools import precompile; precompile.import_what_a_synth_imports(); "
              "print(json.dumps(sorted({p.parts[p.parts.index('site-packages') + 1]"
              " for p in precompile.installed_modules()})))")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    # THEN cdk-nag's bindings are among them (the app imports them only at synth, on its start-up thread)
    packages = json.loads(result.stdout.splitlines()[-1])
    assert {"aws_cdk", "cdk_nag", "jsii"} <= set(packages)
