"""The four cdk-nag packs gate the whole platform; exceptions are few, exact and explained."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from constructs import compliance

from stacks.config import ENVIRONMENTS
from stacks.platform import build_platform
from tests.infra.conftest import new_app
from tools import synth_report


@pytest.fixture(scope="module", params=sorted(ENVIRONMENTS))
def checked_assembly(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each environment's platform synthesized with all four packs registered, as `make synth` does."""
    outdir = tmp_path_factory.mktemp(f"cdk.out-{request.param}-")
    # Path metadata as the CLI writes it: the report counts an acknowledgement once, on its construct.
    context = {**new_app().node.get_all_context(), "aws:cdk:enable-path-metadata": True}
    app = cdk.App(outdir=str(outdir), context=context)
    build_platform(app, ENVIRONMENTS[request.param])
    compliance.add_nag_packs(app)
    app.synth()  # raises on any unacknowledged finding
    return outdir


def test_every_pack_passes_with_no_unacknowledged_finding(checked_assembly: Path) -> None:
    summary = synth_report.summarize(checked_assembly)
    assert set(summary["packs"]) == set(compliance.NAG_PACKS)
    assert all(counts["unacknowledged"] == 0 for counts in summary["packs"].values())


def test_acknowledgements_are_exact_and_explained(checked_assembly: Path) -> None:
    rules = [
        rule
        for template in checked_assembly.glob("*.template.json")
        for resource in json.loads(template.read_text())["Resources"].values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    assert rules, "acknowledgements must reach the templates for auditors"
    for rule in rules:
        assert len(rule["reason"]) >= compliance.MIN_REASON_LENGTH, rule
        # A bare IAM5 would acknowledge nothing: each wildcard finding is named.
        if "IAM5" in rule["id"]:
            assert re.search(r"IAM5\[Resource::[^\]]+\]$", rule["id"]), rule


def test_report_tool_knows_the_same_packs() -> None:
    assert tuple(compliance.NAG_PACKS) == synth_report.NAG_PACKS


def test_a_non_compliant_bucket_fails_every_pack(tmp_path: Path) -> None:
    # GIVEN an unencrypted, unlogged, unversioned bucket in a checked app
    app = cdk.App(outdir=str(tmp_path), context=new_app().node.get_all_context())
    stack = cdk.Stack(app, "Bad", env=cdk.Environment(account="111122223333", region="us-east-1"))
    s3.CfnBucket(stack, "Bucket")
    compliance.add_nag_packs(app)
    # WHEN synthesized THEN synth fails and every pack reports it
    with pytest.raises(RuntimeError, match=r"ValidationFailed: ERROR The S3 Bucket"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    failing = {v["ruleName"].split("-")[0] for p in report["pluginReports"] for v in p["violations"]}
    assert {"AwsSolutions", "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321"} <= failing


def test_acknowledge_refuses_an_unexplained_or_unknown_exception() -> None:
    stack = cdk.Stack(new_app(), "S")
    with pytest.raises(ValueError, match=r"needs a reason a security reviewer can check"):
        compliance.acknowledge(stack, "IAM5[Resource::*]", "needed")
    with pytest.raises(ValueError, match=r"unknown nag pack 'NIST.800.53.R4'"):
        compliance.acknowledge(stack, "S3BucketReplicationEnabled", "x" * 50, packs=("NIST.800.53.R4",))


def test_report_counts_unacknowledged_findings_per_pack(tmp_path: Path) -> None:
    # GIVEN a failing assembly WHEN summarized THEN findings are counted per pack, not hidden
    app = cdk.App(outdir=str(tmp_path), context=new_app().node.get_all_context())
    stack = cdk.Stack(app, "Bad", env=cdk.Environment(account="111122223333", region="us-east-1"))
    s3.CfnBucket(stack, "Bucket")
    compliance.add_nag_packs(app)
    with pytest.raises(RuntimeError):
        app.synth()
    packs = synth_report.summarize(tmp_path)["packs"]
    assert packs["AwsSolutions"]["unacknowledged"] >= 2
    assert all(packs[p]["unacknowledged"] > 0 for p in compliance.COMPLIANCE_PACKS)


def test_the_readmes_acknowledgement_counts_are_the_synthesized_ones(checked_assembly: Path) -> None:
    # The README's table states dev's counts; this keeps it true.
    if not checked_assembly.name.startswith("cdk.out-dev-"):
        pytest.skip("the README states dev's counts")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    stated = {
        pack: (int(unacknowledged), int(acknowledged))
        for pack, unacknowledged, acknowledged in re.findall(r"^  \| ([\w.]+) \| (\d+) \| (\d+) \|", readme, re.M)
    }
    counts = synth_report.summarize(checked_assembly)["packs"]
    assert stated == {p: (c["unacknowledged"], c["acknowledged"]) for p, c in counts.items()}
