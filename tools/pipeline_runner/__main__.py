"""CLI: run the synthesized pipeline locally.

    python -m tools.pipeline_runner --check                      # render + preflight, no jobs
    python -m tools.emulator start                               # then deploy, upload data, and:
    python -m tools.pipeline_runner --endpoint-url http://127.0.0.1:PORT --param MaxTrainingJobs=4 --hp num_round=50
    python -m tools.pipeline_runner --local-s3 /tmp/s3           # s3://b/k is /tmp/s3/b/k; stops at RegisterModel

Every failure ends in one line (tools.cli): a bad option or a broken definition
exits 2, a step that failed while it ran exits 1. Job directories live in a
temporary directory removed either way, unless --work-dir keeps them.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from stacks.config import AWS_REGIONS
from tools import cli
from tools.pipeline_runner import LocalStorage, PipelineError, RunOptions, S3Storage, load_pipeline, run_pipeline
from tools.pipeline_runner.runner import iter_steps, preflight, resolve_parameters
from training.local_runner import RunnerError, parse_pairs

DEFAULT_TEMPLATE = "cdk.out/MlPlatform-dev-pipeline.template.json"
PROG = "python -m tools.pipeline_runner"
#: Seeds numpy accepts.
MAX_SEED = 2**32 - 1


def _clients(endpoint: str, region: str) -> dict:
    import boto3

    # Loopback emulator only: moto accepts any key, and no real credentials are ever read.
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",  # noqa: S106
                                    region_name=region)
    return {name: session.client(name, endpoint_url=endpoint) for name in ("s3", "cloudformation", "sagemaker", "glue")}


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    """``NAME=VALUE`` items of a repeatable flag; a bad item is a UserError naming the flag."""
    example = {"--param": "MaxTrainingJobs=4", "--hp": "num_round=50"}[flag]
    try:
        pairs = parse_pairs(values, flag)
    except RunnerError as exc:  # the message already names the flag and the fix
        raise cli.UserError(str(exc)) from None
    names = [value.partition("=")[0] for value in values]
    for name in names:
        if not re.fullmatch(r"[A-Za-z_][\w.-]*", name):
            raise cli.UserError(f"{flag} name {name!r} is not a name (letters, digits, _ . -); e.g. {flag} {example}")
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise cli.UserError(f"{flag} {', '.join(duplicated)} given more than once; keep one value each")
    return pairs


def _check_options(parser: cli.ArgumentParser, args) -> None:
    """What can be refused before the template is read."""
    if not 0 <= args.seed <= MAX_SEED:
        parser.error(f"--seed {args.seed} must be between 0 and {MAX_SEED}")
    if args.execution_id is not None and not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,49}", args.execution_id):
        parser.error(f"--execution-id {args.execution_id!r} must be 1-50 lowercase letters, digits or '-'"
                     " (it names job directories and job names)")
    if not re.fullmatch(r"\d{12}", args.account):
        parser.error(f"--account {args.account!r} must be a 12-digit AWS account ID")
    if args.region not in AWS_REGIONS:
        parser.error(f"--region {args.region!r} is not an AWS region (e.g. us-east-1, eu-west-1)")
    if args.endpoint_url is not None:
        url = urlparse(args.endpoint_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            parser.error(f"--endpoint-url {args.endpoint_url!r} is not an http(s)://HOST:PORT URL;"
                         " python -m tools.emulator start prints it")
    if args.local_s3 is not None and not args.local_s3.is_dir():
        raise cli.UserError(f"--local-s3 {args.local_s3} is not a directory; create it and put the data under it"
                            " (s3://bucket/key is <dir>/bucket/key)")
    template = Path(args.template)
    if not template.is_file():
        raise cli.UserError(f"template {template} does not exist; synthesize first (make synth)"
                            if not template.exists() else f"template {template} is not a file; give the"
                            " synthesized *.template.json (make synth writes it to cdk.out/)")


def _work_dir(path: Path) -> Path:
    """``--work-dir``, created if missing and checked writable before any job runs."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise cli.UserError(f"--work-dir {path} is not a writable directory ({exc.strerror}); pick another") from None
    return path


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--template", default=DEFAULT_TEMPLATE, help=f"synthesized template ({DEFAULT_TEMPLATE})")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--endpoint-url", help="a running emulator (python -m tools.emulator start)")
    where.add_argument("--local-s3", type=Path, help="a directory standing in for S3 (no registry)")
    parser.add_argument("--check", action="store_true", help="render and preflight the definition only")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="pipeline parameter")
    parser.add_argument("--hp", action="append", default=[], metavar="NAME=VALUE",
                        help="override a static hyperparameter of the tuning step")
    parser.add_argument("--seed", type=int, default=0, help="tuning seed when the definition sets no RandomSeed")
    parser.add_argument("--execution-id", help="default: random, as Pipelines does")
    parser.add_argument("--work-dir", type=Path, help="keep job directories here (default: a temp dir, removed)")
    parser.add_argument("--account", default="111122223333")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)
    if not (args.check or args.endpoint_url or args.local_s3):
        parser.error("give --endpoint-url, --local-s3 or --check")
    _check_options(parser, args)
    parameters = _pairs(args.param, "--param")
    hyperparameters = _pairs(args.hp, "--hp")
    if args.work_dir and not args.check:
        _work_dir(args.work_dir)

    if args.check:
        loaded = load_pipeline(args.template)
        preflight(loaded.definition)
        resolved = resolve_parameters(loaded.definition, parameters)
        print(f"{loaded.name}: {len(loaded.tokens)} CloudFormation tokens (placeholders without --endpoint-url)")
        print("parameters: " + json.dumps(resolved))
        for step in iter_steps(loaded.definition.get("Steps", [])):
            print(f"  {step['Name']} ({step.get('Type')})")
        return 0
    # Unknown or mistyped --param names are refused before any job starts.
    resolve_parameters(load_pipeline(args.template).definition, parameters)
    if args.endpoint_url:
        clients = _clients(args.endpoint_url, args.region)
        storage, cfn, sm = S3Storage(clients["s3"]), clients["cloudformation"], clients["sagemaker"]
        glue = clients["glue"]
    else:
        storage, cfn, sm, glue = LocalStorage(args.local_s3), None, None, None
    options = RunOptions(parameters=parameters, static_hyperparameters=hyperparameters, seed=args.seed,
                         execution_id=args.execution_id)
    with tempfile.TemporaryDirectory(prefix="pipeline-run-") as scratch:
        work_dir = args.work_dir or Path(scratch)
        try:
            execution = run_pipeline(args.template, storage=storage, cloudformation=cfn, sagemaker=sm,
                                     options=options, work_dir=work_dir, account=args.account, region=args.region,
                                     glue=glue)
        except PipelineError as exc:
            ran = exc.execution is not None and any(s.status == "Failed" for s in exc.execution.steps)
            if ran:  # the definition was fine; a step failed while it ran (or a Fail step was reached)
                raise cli.ToolError(str(exc)) from None
            raise
        except Exception as exc:
            _unreachable_endpoint(exc, args.endpoint_url)
            raise
    for record in execution.steps:
        print(f"{record.name:<20} {record.type:<14} {record.status:<12} {record.seconds:6.1f}s")
    return 0


def _unreachable_endpoint(exc: Exception, endpoint: str | None) -> None:
    """A connection refused by the emulator's URL is the environment's fault: one line naming the fix."""
    try:
        from botocore.exceptions import EndpointConnectionError
    except ImportError:  # pragma: no cover - boto3 is a dependency of the runner
        return
    if endpoint and isinstance(exc, EndpointConnectionError):
        raise cli.ToolError(f"cannot reach {endpoint}; start the emulator (python -m tools.emulator start)"
                            " and pass the URL it prints") from None


if __name__ == "__main__":
    cli.run(main)
