"""`make synth`: synthesize every stack under the four nag packs and report per pack.

Runs the pinned CDK CLI (so the result is exactly what `cdk deploy` would
use), then reads the cloud assembly: unacknowledged findings from CDK's
validation report, acknowledgements from the templates' ``cdk_nag``
metadata. The assembly is written to a fresh folder next to ``--output`` and
replaces it only when synth passed: a failed synth keeps the last good one.
Every failure ends in one line (``tools.cli``): bad context exits 2 before the
CDK CLI starts; a cdk-nag finding, a missing CDK CLI or a crashed synth exit 1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from tools import cli

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The packs of constructs.compliance.NAG_PACKS, named here so that reading a
#: report does not start the jsii runtime (a test keeps the two equal).
NAG_PACKS = ("AwsSolutions", "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")


def summarize(cdk_out: Path) -> dict:
    """Resources per stack, acknowledgements and unacknowledged findings per pack."""
    resources: dict[str, int] = {}
    acknowledgements: set[tuple[str, str]] = set()
    for template_file in sorted(cdk_out.glob("*.template.json")):
        stack = template_file.name.removesuffix(".template.json")
        template = json.loads(template_file.read_text())
        resources[stack] = sum(1 for r in template["Resources"].values() if r["Type"] != "AWS::CDK::Metadata")
        for logical_id, resource in template["Resources"].items():
            metadata = resource.get("Metadata", {})
            path = metadata.get("aws:cdk:path", f"{stack}/{logical_id}").removesuffix("/Resource")
            for rule in metadata.get("cdk_nag", {}).get("rules_to_suppress", []):
                acknowledgements.add((path, rule["id"]))
    # CDK copies a construct's acknowledgements onto each child resource (a bucket's
    # onto its bucket policy): count an acknowledgement once, on the construct it was made on.
    acknowledged: Counter[str] = Counter(
        _pack_of(rule)
        for path, rule in acknowledgements
        if not any(rule == other_rule and path.startswith(other + "/") for other, other_rule in acknowledgements)
    )
    findings: Counter[str] = Counter()
    report = cdk_out / "validation-report.json"
    if report.exists():
        for plugin in json.loads(report.read_text()).get("pluginReports", []):
            for violation in plugin.get("violations", []):
                findings[_pack_of(violation.get("ruleName", ""))] += len(violation.get("violatingConstructs", [1]))
    return {
        "resources": resources,
        "packs": {pack: {"unacknowledged": findings[pack], "acknowledged": acknowledged[pack]} for pack in NAG_PACKS},
    }


def _pack_of(rule_id: str) -> str:
    # "HIPAA.Security::HIPAA.Security-Rule" and "AwsSolutions-IAM5[Resource::arn:...]" both occur.
    head, _, _ = rule_id.partition("[")
    rule_id = rule_id[len(head.rpartition("::")[0]) + 2 :] if "::" in head else rule_id
    return next((pack for pack in NAG_PACKS if rule_id.startswith(pack + "-")), "other")


def print_summary(summary: dict, seconds: float) -> None:
    print(f"\nsynthesized {len(summary['resources'])} stacks in {seconds:.1f} s")
    for stack, count in summary["resources"].items():
        print(f"  {stack:<40} {count:>4} resources")
    print(f"  {'total':<40} {sum(summary['resources'].values()):>4} resources")
    print("\ncdk-nag results (acknowledgements are per resource, each with a reason in template metadata)")
    for pack, counts in summary["packs"].items():
        print(
            f"  {pack:<16} unacknowledged findings: {counts['unacknowledged']:>3}"
            f"   acknowledged: {counts['acknowledged']:>3}"
        )


def parse_context(items: list[str]) -> dict[str, str]:
    """``["env=prod", ...]`` -> ``{"env": "prod"}``: the keys app.py reads, each once, as KEY=VALUE."""
    from stacks.config import CONTEXT_KEYS

    context: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise cli.UserError(f"context {item!r} is not KEY=VALUE; e.g. make synth SYNTH_CONTEXT='env=dev'")
        if key not in CONTEXT_KEYS and ":" not in key:  # CDK's own keys (feature flags) pass through
            raise cli.UserError(f"unknown context key {key!r}; the app reads {', '.join(CONTEXT_KEYS)}")
        if key in context:
            raise cli.UserError(f"context key {key!r} is given twice ({context[key]!r} and {value!r}); keep one")
        context[key] = value
    return context


def check_context(items: list[str]) -> None:
    """What app.py would refuse, refused before the CDK CLI and jsii start (same messages)."""
    from stacks.config import ConfigError, from_context

    try:
        from_context(parse_context(items))
    except ConfigError as exc:
        raise cli.UserError(str(exc)) from None


def _app_failure(output: str) -> tuple[int | None, str | None]:
    """The app's exit code as the CDK CLI reports it, and the app's own one-line ``error: ...``."""
    code = re.search(r"Subprocess exited with error (\d+)", output)
    lines = [line for line in output.splitlines() if line.startswith("error: ")]
    return (int(code.group(1)) if code else None), (lines[-1].removeprefix("error: ") if lines else None)


def cdk_env() -> dict[str, str]:
    """The environment for the CDK CLI: without its telemetry, which would reach the network from a
    hermetic synth and leave a ``cdk-telemetry-*.json`` in the temporary directory."""
    return {**os.environ, "CDK_DISABLE_CLI_TELEMETRY": os.environ.get("CDK_DISABLE_CLI_TELEMETRY", "true")}


def synthesize(cdk: str, context: list[str], staging: Path) -> subprocess.CompletedProcess:
    command = [cdk, "synth", "--quiet", "--no-notices", "--output", str(staging)]
    for item in context:
        command += ["-c", item]
    try:
        return subprocess.run(command, cwd=REPO_ROOT, env=cdk_env(), check=False,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except OSError as exc:  # present but not runnable
        raise cli.ToolError(f"cannot run the CDK CLI {cdk} ({exc.strerror}); run `make setup`") from None


def replace_dir(new: Path, out: Path) -> None:
    """``out`` becomes ``new``; the old ``out`` goes only once the new one is in place."""
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        out.rename(old / out.name)
        new.rename(out)
        shutil.rmtree(old)
    else:
        new.rename(out)


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="python -m tools.synth_report", description=__doc__.splitlines()[0])
    parser.add_argument("--cdk", default=str(REPO_ROOT / "node_modules" / ".bin" / "cdk"), help="the CDK CLI")
    parser.add_argument("--output", default="cdk.out", help="cloud assembly directory")
    parser.add_argument("context", nargs="*", help="extra KEY=VALUE context (-c), e.g. env=prod account=...")
    args = parser.parse_args(argv)

    check_context(args.context)
    cdk = shutil.which(args.cdk)
    if cdk is None:
        raise cli.ToolError(f"the CDK CLI {args.cdk} is not installed; run `make setup` (npm ci)")
    out = REPO_ROOT / args.output
    if not out.parent.is_dir():
        raise cli.UserError(f"--output {args.output}: folder {out.parent} does not exist; create it or pick another")
    # A fresh folder next to the assembly: a failed synth keeps the last good
    # one, and no stale validation-report.json can fail this run.
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        started = time.perf_counter()
        result = synthesize(cdk, args.context, staging)
        seconds = time.perf_counter() - started
        kept = f"the last good {args.output} is kept" if out.exists() else f"no {args.output} was written"
        if result.returncode != 0:
            code, line = _app_failure(result.stdout)
            if code == cli.EXIT_USER_ERROR and line:  # the app refused its context
                raise cli.UserError(f"{line}; {kept}")
            summary = summarize(staging)
            findings = {pack: c["unacknowledged"] for pack, c in summary["packs"].items() if c["unacknowledged"]}
            if findings or cli.debug_requested([]):  # the findings, or the traceback asked for
                print(result.stdout, end="", file=sys.stderr)
            if findings and summary["resources"]:
                print_summary(summary, seconds)
                listed = ", ".join(f"{pack} {count}" for pack, count in findings.items())
                raise cli.ToolError(
                    f"cdk-nag: unacknowledged findings ({listed}), listed above; fix the resources or acknowledge"
                    f" each with a reason (constructs/compliance.py); {kept}"
                )
            cause = line or next((x for x in reversed(result.stdout.splitlines()) if x.strip()), "no output")
            raise cli.ToolError(f"cdk synth failed (exit {result.returncode}): {cause}; {kept}")
        # Warnings stay; the CLI's own success lines would name the temporary folder.
        noise = ("Successfully synthesized to ", "Supply a stack id ")
        for output_line in result.stdout.splitlines():
            if output_line.strip() and not output_line.startswith(noise):
                print(output_line, file=sys.stderr)
        summary = summarize(staging)
        if not summary["resources"]:
            raise cli.ToolError(f"cdk synth wrote no templates; {kept}")
        (staging / "nag-summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        replace_dir(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print_summary(summary, seconds)
    print(f"\nall four packs passed; summary written to {args.output}/nag-summary.json")
    return 0


if __name__ == "__main__":
    cli.run(main)
