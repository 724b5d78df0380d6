"""The CI workflow: linted by actionlint (a broken workflow fails the suite) and running the README's commands."""

from __future__ import annotations

import shlex

import pytest
import yaml

from stacks.config import ENVIRONMENTS
from tools.workflow_lint import __main__ as workflow_lint
from tools.workflow_lint.__main__ import REPO_ROOT, workflows

CI = REPO_ROOT / ".github" / "workflows" / "ci.yml"


def test_the_workflows_pass_actionlint(guarded):
    # GIVEN the committed workflows  WHEN actionlint checks them  THEN it finds nothing
    assert workflows() == [CI]
    ending = guarded(workflow_lint.main, [])
    assert ending.code == 0, ending.out + ending.err
    assert "1 workflow(s), no problem" in ending.out


def test_a_broken_workflow_fails_the_check(guarded, tmp_path):
    # GIVEN a workflow whose step reads a matrix value no matrix defines
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ matrix.missing }}\n")
    # WHEN actionlint checks it
    ending = guarded(workflow_lint.main, [str(bad)])
    # THEN the finding is printed with its place, and the run ends in one line, exit 1
    assert 'bad.yml:6:23: property "missing" is not defined' in ending.out
    ending.assert_one_line(1, r"actionlint found 1 problem\(s\) in the workflows; fix them")


def test_a_missing_workflow_file_is_bad_input(guarded, tmp_path):
    guarded(workflow_lint.main, [str(tmp_path / "nope.yml")]).assert_one_line(2, r"no such workflow file .*nope\.yml")


def _commands() -> list[str]:
    workflow = yaml.safe_load(CI.read_text())
    runs = []
    for job in workflow["jobs"].values():
        include = job.get("strategy", {}).get("matrix", {}).get("include", [{}])
        for step in job["steps"]:
            if "run" not in step:
                continue
            for values in include:  # each matrix row's command, as the runner expands it
                command = step["run"]
                for key, value in values.items():
                    command = command.replace("${{ matrix." + key + " }}", value)
                runs.append(command)
    return runs


def test_ci_runs_the_readmes_commands():
    # GIVEN the workflow's commands, matrix rows expanded
    commands = _commands()
    # THEN it runs lint and the whole suite, and synthesizes every environment with the README's context
    assert "make lint" in commands and "make test" in commands
    synthesized = set()
    for command in commands:
        words = shlex.split(command)
        if words[:2] == ["make", "synth"]:
            context = dict(item.partition("=")[::2] for item in words[2].removeprefix("SYNTH_CONTEXT=").split())
            synthesized.add(context["env"])
    assert synthesized == set(ENVIRONMENTS)
    assert "make synth-delivery DELIVERY_OUT=cdk.out" in commands  # the CD pipeline, with its nag packs


@pytest.mark.parametrize("cache", ["pip", "npm"])
def test_ci_caches_the_downloads(cache):
    text = CI.read_text()
    assert {"pip": "cache: pip", "npm": "hashFiles('package-lock.json')"}[cache] in text
