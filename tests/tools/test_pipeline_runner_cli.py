"""python -m tools.pipeline_runner: every bad option and every fault ends in one line; no temp dir survives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stacks.pipeline_definition import build_definition
from tests.pipeline_runner.conftest import resources
from tests.pipeline_runner.test_template import write_template
from tools.pipeline_runner import __main__ as runner_cli
from tools.pipeline_runner.runner import Execution, StepRecord


@pytest.fixture
def template(tmp_path) -> Path:
    """The dev pipeline's template as CDK synthesizes it (built from the stack's own code, no synth)."""
    folder = tmp_path / "cdk.out"
    folder.mkdir()
    return write_template(folder, json.loads(json.dumps(build_definition(resources()))))


@pytest.fixture
def empty_s3(tmp_path) -> Path:
    folder = tmp_path / "s3"
    folder.mkdir()
    return folder


def _broken(template: Path, tmp_path: Path, edit) -> Path:
    body = json.loads(template.read_text())
    edit(body)
    path = tmp_path / "broken.template.json"
    path.write_text(json.dumps(body) if not isinstance(body, str) else body)
    return path


# Each row: argv ({template}, {s3}, {tmp} filled in), exit code, regex of the one stderr line.
BAD = [
    (["--local-s3", "{s3}", "--param", "MaxTrainingJobs"], 2,
     r"^error: --param expects NAME=VALUE, got 'MaxTrainingJobs'; write it as --param name=value$"),
    (["--check", "--param", "=4"], 2, r"^error: --param expects NAME=VALUE, got '=4'"),
    (["--local-s3", "{s3}", "--hp", "num_round"], 2,
     r"^error: --hp expects NAME=VALUE, got 'num_round'; write it as --hp name=value$"),
    (["--check", "--param", " MaxTrainingJobs=4"], 2, r"^error: --param name ' MaxTrainingJobs' is not a name"),
    (["--check", "--param", "MaxTrainingJobs=4", "--param", "MaxTrainingJobs=5"], 2,
     r"^error: --param MaxTrainingJobs given more than once; keep one value each$"),
    (["--check", "--param", "MaxTrainingJob=4"], 2,
     r"^error: parameter\(s\) \['MaxTrainingJob'\] are not declared \(declared: \[.*'MaxTrainingJobs'"),
    (["--local-s3", "{s3}", "--param", "NoSuchParam=1"], 2, r"^error: parameter\(s\) \['NoSuchParam'\] are not"
     r" declared"),
    (["--check", "--param", "MaxTrainingJobs=four"], 2, r"^error: parameter MaxTrainingJobs: 'four' is not a valid"
     r" Integer$"),
    (["--check", "--template", "{tmp}/nope.template.json"], 2,
     r"^error: template .*/nope\.template\.json does not exist; synthesize first \(make synth\)$"),
    (["--check", "--template", "{tmp}"], 2, r"^error: template .* is not a file; give the synthesized"),
    (["--check", "--template", "{notjson}"], 2, r"^error: template .*notjson\.json cannot be read as JSON \(.*\);"
     r" synthesize again \(make synth\)$"),
    (["--check", "--template", "{list}"], 2, r"^error: template .* is not a CloudFormation template"),
    (["--check", "--template", "{nopipeline}"], 2, r"expected one AWS::SageMaker::Pipeline, found 0$"),
    (["--local-s3", "{s3}", "--work-dir", "{file}/sub"], 2, r"^error: --work-dir .*/file/sub is not a writable"
     r" directory \(Not a directory\); pick another$"),
    (["--local-s3", "{s3}", "--seed", "-1"], 2, r"^error: --seed -1 must be between 0 and 4294967295; see"
     r" python -m tools.pipeline_runner --help$"),
    (["--local-s3", "{s3}", "--seed", "4294967296"], 2, r"^error: --seed 4294967296 must be between"),
    (["--local-s3", "{s3}", "--seed", "1.5"], 2, r"^error: argument --seed: invalid int value: '1\.5'"),
    (["--local-s3", "{s3}", "--execution-id", "../up"], 2, r"^error: --execution-id '\.\./up' must be 1-50"),
    (["--local-s3", "{s3}", "--account", "123"], 2, r"^error: --account '123' must be a 12-digit AWS account ID"),
    (["--local-s3", "{s3}", "--region", "us-east-9"], 2, r"^error: --region 'us-east-9' is not an AWS region"),
    (["--endpoint-url", "127.0.0.1:5000"], 2, r"^error: --endpoint-url '127\.0\.0\.1:5000' is not an"
     r" http\(s\)://HOST:PORT URL"),
    (["--local-s3", "{tmp}/missing"], 2, r"^error: --local-s3 .*/missing is not a directory; create it"),
    (["--local-s3", "{s3}", "--endpoint-url", "http://127.0.0.1:1"], 2,
     r"^error: argument --endpoint-url: not allowed with argument --local-s3"),
    ([], 2, r"^error: give --endpoint-url, --local-s3 or --check; see python -m tools.pipeline_runner --help$"),
    (["--bogus"], 2, r"^error: unrecognized arguments: --bogus"),
    (["--check", "--template", "{undeclared}"], 2, r"^error: step Preprocess: .*'Parameters\.Nope' names an"
     r" undeclared parameter"),
    # A run that starts and fails in its first step (no data in the stand-in S3): the tool's failure, exit 1.
    (["--local-s3", "{s3}", "--execution-id", "emptyrun"], 1, r"^error: step Preprocess: .*no objects under s3://"),
    # Nothing listens on port 1 of the loopback: the environment's failure, exit 1, naming the fix.
    (["--endpoint-url", "http://127.0.0.1:1"], 1, r"^error: cannot reach http://127\.0\.0\.1:1/?; start the emulator"
     r" \(python -m tools\.emulator start\)"),
]


def _fill(argv: list[str], template: Path, tmp_path: Path, s3: Path) -> list[str]:
    (tmp_path / "file").write_text("a file, not a folder")
    (tmp_path / "notjson.json").write_text("{ not json")
    (tmp_path / "list.json").write_text("[]")
    (tmp_path / "nopipeline.json").write_text('{"Resources": {}}')
    text = template.read_text()
    undeclared = tmp_path / "undeclared.json"
    undeclared.write_text(text.replace('{\\"Get\\": \\"Parameters.ProcessingInstanceType\\"}',
                                       '{\\"Get\\": \\"Parameters.Nope\\"}', 1))
    names = {"template": template, "s3": s3, "tmp": tmp_path, "file": tmp_path / "file",
             "notjson": tmp_path / "notjson.json", "list": tmp_path / "list.json",
             "nopipeline": tmp_path / "nopipeline.json", "undeclared": undeclared}
    filled = [a.format(**{k: str(v) for k, v in names.items()}) for a in argv]
    return filled if "--template" in filled else ["--template", str(template), *filled]


@pytest.mark.parametrize(("argv", "code", "line"), BAD, ids=[" ".join(r[0]) or "no-mode" for r in BAD])
def test_each_bad_option_and_fault_is_one_line(argv, code, line, template, tmp_path, empty_s3, guarded, private_tmp,
                                               monkeypatch):
    # GIVEN a synthesized template, an empty stand-in S3, no AWS credentials, and a TMPDIR of the test's own
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    # WHEN the runner's CLI is given the row's options
    ending = guarded(runner_cli.main, _fill(argv, template, tmp_path, empty_s3))
    # THEN the row's exit code and one line naming the cause, no traceback
    ending.assert_one_line(code, line)
    # AND no temporary directory is left behind
    assert not list(private_tmp.iterdir())


def test_a_good_run_removes_its_temporary_work_dir(template, empty_s3, guarded, private_tmp, monkeypatch):
    # GIVEN a run whose steps all succeed (the jobs themselves are tests/pipeline_runner's business)
    seen = []

    def run_pipeline(template_path, *, work_dir, **kwargs):
        (Path(work_dir) / "job").mkdir()
        seen.append(Path(work_dir))
        return Execution("p", "e", {}, Path(work_dir), [StepRecord("Preprocess", "Processing", "Succeeded", 1.0)])

    monkeypatch.setattr(runner_cli, "run_pipeline", run_pipeline)
    # WHEN it runs without --work-dir
    ending = guarded(runner_cli.main, ["--template", str(template), "--local-s3", str(empty_s3)])
    # THEN it succeeded in a temporary work dir that is gone afterwards
    assert ending.code == 0, ending.err
    assert "Preprocess" in ending.out
    assert seen and seen[0].parent == private_tmp
    assert not list(private_tmp.iterdir())


def test_a_given_work_dir_is_kept(template, empty_s3, tmp_path, guarded, private_tmp):
    work = tmp_path / "work"
    ending = guarded(runner_cli.main, ["--template", str(template), "--local-s3", str(empty_s3), "--work-dir",
                                       str(work)])
    assert ending.code == 1
    assert work.is_dir()
