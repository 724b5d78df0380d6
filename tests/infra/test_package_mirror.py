"""Packages without the internet (``WorkloadConfig.package_mirror``): the CodeArtifact mirror of PyPI, its
endpoints, the notebook's pip pointed at it, who may read it, the four nag packs and the cost."""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path

import aws_cdk as cdk
import pytest
from constructs import compliance

from stacks.config import ENVIRONMENTS
from stacks.platform import build_platform
from tests.infra.conftest import new_app
from tools import synth_report
from tools.cost.idle import idle_lines
from tools.cost.prices import prices_for
from tools.iam_evaluator import load_policies
from tools.iam_evaluator.condition_keys import unlisted_condition_keys
from tools.iam_evaluator.contract import ALLOW, DENY, PRINCIPALS, Case, check_contract

DEV = ENVIRONMENTS["dev"]
MIRROR = replace(DEV, workloads=replace(DEV.workloads, package_mirror=True))
DOMAIN, REPOSITORY = "mlp-dev-packages", "mlp-dev-pypi"
COST_TAGS = {"Project": "mlp", "Environment": "dev", "CostCenter": "ml-platform"}


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict]]:
    """Dev with the package mirror, synthesized with all four packs registered (as `make synth`)."""
    outdir = tmp_path_factory.mktemp("cdk.out-mirror-")
    context = {**new_app().node.get_all_context(), "aws:cdk:enable-path-metadata": True}
    app = cdk.App(outdir=str(outdir), context=context)
    platform = build_platform(app, MIRROR)
    compliance.add_nag_packs(app)
    assembly = app.synth()  # raises on any unacknowledged finding
    templates = {s.stack_name.rsplit("-", 1)[-1]: assembly.get_stack_by_name(s.stack_name).template
                 for s in platform.stacks}
    return outdir, templates


def _of_type(template: dict, kind: str) -> list[dict]:
    return [v for v in template["Resources"].values() if v["Type"] == kind]


def test_the_four_packs_pass_with_the_mirror(mirror) -> None:
    summary = synth_report.summarize(mirror[0])
    assert all(counts["unacknowledged"] == 0 for counts in summary["packs"].values())


def test_a_domain_encrypted_with_the_model_key_and_a_repository_with_the_pypi_upstream(mirror) -> None:
    notebook = mirror[1]["notebook"]
    (domain,) = _of_type(notebook, "AWS::CodeArtifact::Domain")
    (repository,) = _of_type(notebook, "AWS::CodeArtifact::Repository")
    assert domain["Properties"]["DomainName"] == DOMAIN
    assert "ModelKey" in str(domain["Properties"]["EncryptionKey"])
    assert repository["Properties"]["RepositoryName"] == REPOSITORY
    assert repository["Properties"]["ExternalConnections"] == ["public:pypi"]
    for resource in (domain, repository):
        assert {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]} == COST_TAGS


def test_the_workbench_brings_the_codeartifact_endpoints_in_its_az(mirror) -> None:
    notebook = mirror[1]["notebook"]
    services = {str(e["Properties"]["ServiceName"]): e["Properties"] for e in _of_type(notebook,
                                                                                        "AWS::EC2::VPCEndpoint")}
    found = {name for name in services if "codeartifact" in name}
    assert found == {"com.amazonaws.us-east-1.codeartifact.api", "com.amazonaws.us-east-1.codeartifact.repositories"}
    assert all(len(services[name]["SubnetIds"]) == 1 and services[name]["PrivateDnsEnabled"] for name in found)


def test_the_notebook_starts_with_pip_pointed_at_the_mirror(mirror) -> None:
    (config,) = _of_type(mirror[1]["notebook"], "AWS::SageMaker::NotebookInstanceLifecycleConfig")
    script = base64.b64decode(config["Properties"]["OnStart"][0]["Content"]).decode()
    assert f'PACKAGE_INDEX="{DOMAIN} {MIRROR.account} {REPOSITORY}"' in script


def _rows() -> list[Case]:
    domain = MIRROR.arn("codeartifact", f"domain/{DOMAIN}")
    repository = MIRROR.arn("codeartifact", f"repository/{DOMAIN}/{REPOSITORY}")
    other_repository = MIRROR.arn("codeartifact", f"repository/{DOMAIN}/another-repository")
    codeartifact = {"sts:AWSServiceName": "codeartifact.amazonaws.com"}
    return [
        Case("notebook", "codeartifact:GetAuthorizationToken", domain, {}, ALLOW, "get a token for the mirror"),
        Case("notebook", "sts:GetServiceBearerToken", "*", codeartifact, ALLOW, "get CodeArtifact's bearer token"),
        Case("notebook", "codeartifact:ReadFromRepository", repository, {}, ALLOW, "pip install from the mirror"),
        Case("notebook", "codeartifact:GetRepositoryEndpoint", repository, {}, ALLOW, "find pip's index URL"),
        Case("notebook", "codeartifact:GetAuthorizationToken", MIRROR.arn("codeartifact", "domain/another-domain"),
             {}, DENY, "get a token for another domain"),
        Case("notebook", "sts:GetServiceBearerToken", "*", {"sts:AWSServiceName": "lakeformation.amazonaws.com"},
             DENY, "get another service's bearer token"),
        Case("notebook", "codeartifact:ReadFromRepository", other_repository, {}, DENY,
             "read another repository"),
        Case("notebook", "codeartifact:AssociateExternalConnection", repository, {}, DENY,
             "connect the mirror to another upstream"),
        Case("training", "codeartifact:ReadFromRepository", repository, {}, DENY,
             "a training job reads the mirror (jobs install nothing)"),
    ]


def test_only_the_notebook_reads_only_the_mirror(mirror) -> None:
    policies = load_policies(mirror[1], account=MIRROR.account, region=MIRROR.region)
    outcomes = check_contract(policies, _rows())
    assert [f"{o.case.principal}: {o.case.why}: got {o.decision.result}" for o in outcomes if not o.matches] == []
    assert (sum(o.case.expected == ALLOW for o in outcomes), sum(o.case.expected == DENY for o in outcomes)) == (4, 5)
    # AND the notebook role's condition keys are the ones the reference lists for its actions
    notebook = policies.role(PRINCIPALS["notebook"])
    statements = [("notebook", s) for p in notebook.identity_policies for s in p.document["Statement"]]
    assert [str(f) for f in unlisted_condition_keys(statements)] == []


def test_the_mirror_costs_its_endpoints_and_its_stored_bytes(mirror) -> None:
    lines = idle_lines(mirror[1], prices_for(MIRROR.region))
    endpoints = [line for line in lines if line.resource_type == "AWS::EC2::VPCEndpoint"]
    # THEN the workbench's endpoints are 6 in its one AZ (4 for SageMaker, 2 for CodeArtifact), each priced
    assert len(endpoints) == 6 and len({line.usd_per_month for line in endpoints}) == 1
    repository = next(line for line in lines if line.resource_type == "AWS::CodeArtifact::Repository")
    assert repository.usd_per_month == 0.0 and "per GB stored" in repository.item
