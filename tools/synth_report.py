"""`make synth`: synthesize every stack under the four nag packs and report per pack.

Runs the pinned CDK CLI (so the result is exactly what `cdk deploy` would
use), then reads the cloud assembly: unacknowledged findings from CDK's
validation report, acknowledgements from the templates' ``cdk_nag``
metadata. Exits non-zero when synth fails, printing the CLI's findings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cdk", default=str(REPO_ROOT / "node_modules" / ".bin" / "cdk"), help="the CDK CLI")
    parser.add_argument("--output", default="cdk.out", help="cloud assembly directory")
    parser.add_argument("context", nargs="*", help="extra -c KEY=VALUE context, e.g. env=prod")
    args = parser.parse_args(argv)

    out = REPO_ROOT / args.output
    # A stale validation-report.json from an earlier run would fail this one.
    shutil.rmtree(out, ignore_errors=True)
    command = [args.cdk, "synth", "--quiet", "--no-notices", "--output", str(out)]
    for item in args.context:
        command += ["-c", item]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO_ROOT, env=os.environ.copy(), check=False)
    seconds = time.perf_counter() - started
    if not out.exists():
        print(f"error: synth produced no cloud assembly (exit {result.returncode})", file=sys.stderr)
        return result.returncode or 1
    summary = summarize(out)
    (out / "nag-summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    print_summary(summary, seconds)
    if result.returncode != 0:
        print(f"\nerror: synth failed (exit {result.returncode}); the findings are listed above", file=sys.stderr)
        return result.returncode
    print(f"\nall four packs passed; summary written to {args.output}/nag-summary.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
