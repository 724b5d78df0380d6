"""CLI: run the synthesized pipeline locally.

    python -m tools.pipeline_runner --check                      # render + preflight, no jobs
    python -m tools.emulator start                               # then deploy, upload data, and:
    python -m tools.pipeline_runner --endpoint-url http://127.0.0.1:PORT --param MaxTrainingJobs=4 --hp num_round=50
    python -m tools.pipeline_runner --local-s3 /tmp/s3           # s3://b/k is /tmp/s3/b/k; stops at RegisterModel
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tools.pipeline_runner import LocalStorage, PipelineError, RunOptions, S3Storage, load_pipeline, run_pipeline
from tools.pipeline_runner.runner import iter_steps, preflight, resolve_parameters
from training.local_runner import parse_pairs

DEFAULT_TEMPLATE = "cdk.out/MlPlatform-dev-pipeline.template.json"


def _clients(endpoint: str, region: str) -> dict:
    import boto3

    # Loopback emulator only: moto accepts any key, and no real credentials are ever read.
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",  # noqa: S106
                                    region_name=region)
    return {name: session.client(name, endpoint_url=endpoint) for name in ("s3", "cloudformation", "sagemaker")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.pipeline_runner", description=__doc__.splitlines()[0])
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
    parser.add_argument("--work-dir", type=Path, help="keep job directories here (default: a temp dir)")
    parser.add_argument("--account", default="111122223333")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)

    try:
        if args.check:
            loaded = load_pipeline(args.template)
            preflight(loaded.definition)
            parameters = resolve_parameters(loaded.definition, parse_pairs(args.param, "--param"))
            print(f"{loaded.name}: {len(loaded.tokens)} CloudFormation tokens (placeholders without --endpoint-url)")
            print("parameters: " + json.dumps(parameters))
            for step in iter_steps(loaded.definition.get("Steps", [])):
                print(f"  {step['Name']} ({step.get('Type')})")
            return 0
        if args.endpoint_url:
            clients = _clients(args.endpoint_url, args.region)
            storage, cfn, sm = S3Storage(clients["s3"]), clients["cloudformation"], clients["sagemaker"]
        elif args.local_s3:
            storage, cfn, sm = LocalStorage(args.local_s3), None, None
        else:
            parser.error("give --endpoint-url, --local-s3 or --check")
        options = RunOptions(parameters=parse_pairs(args.param, "--param"),
                             static_hyperparameters=parse_pairs(args.hp, "--hp"),
                             seed=args.seed, execution_id=args.execution_id)
        execution = run_pipeline(args.template, storage=storage, cloudformation=cfn, sagemaker=sm, options=options,
                                 work_dir=args.work_dir, account=args.account, region=args.region)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for record in execution.steps:
        print(f"{record.name:<20} {record.type:<14} {record.status:<12} {record.seconds:6.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
