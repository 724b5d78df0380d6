"""Packages without the internet: a CodeArtifact domain and a repository mirroring public PyPI.

The repository's external connection (``public:pypi``) lets CodeArtifact fetch
a package from PyPI the first time someone asks for it and keep the copy; the
workbench reaches CodeArtifact through the VPC's ``codeartifact.api`` and
``codeartifact.repositories`` interface endpoints (and the package assets
through the S3 gateway endpoint), so ``pip install`` works in subnets that
have no route out. The domain's assets are encrypted with ``key_arn``.
"""

from __future__ import annotations

import re

from aws_cdk import aws_codeartifact as codeartifact
from constructs import Construct
from constructs.execution_role import ExecutionRole

#: CodeArtifact's name rules for domains and repositories (botocore's service model).
_DOMAIN_NAME = re.compile(r"[a-z][a-z0-9\-]{0,48}[a-z0-9]")
_REPOSITORY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{1,99}")
#: The service that issues CodeArtifact's bearer tokens (``sts:AWSServiceName``).
CODEARTIFACT_SERVICE = "codeartifact.amazonaws.com"


class PackageMirror(Construct):
    """A CodeArtifact domain and one PyPI repository with the public PyPI upstream.

    :param domain_name: the domain (lower-case letters, digits and hyphens).
    :param repository_name: the repository pip reads from.
    :param key_arn: the KMS key encrypting the domain's package assets.
    :param account: the domain's owner account (``--domain-owner``); ``region`` its region.
    """

    def __init__(self, scope: Construct, id: str, *, domain_name: str, repository_name: str, key_arn: str,
                 account: str, region: str) -> None:
        super().__init__(scope, id)
        if not _DOMAIN_NAME.fullmatch(domain_name):
            raise ValueError(f"CodeArtifact domain name {domain_name!r} must be 2-50 lower-case letters, digits"
                             " and hyphens, starting with a letter")
        if not _REPOSITORY_NAME.fullmatch(repository_name):
            raise ValueError(f"CodeArtifact repository name {repository_name!r} must be 2-100 letters, digits"
                             " and ._-")
        self.domain_name, self.repository_name, self.account = domain_name, repository_name, account
        self.domain = codeartifact.CfnDomain(self, "Domain", domain_name=domain_name, encryption_key=key_arn)
        self.repository = codeartifact.CfnRepository(
            self,
            "PyPi",
            domain_name=self.domain.attr_name,
            domain_owner=account,
            repository_name=repository_name,
            description="Public PyPI, fetched on first use and kept: pip's index inside the isolated VPC",
            external_connections=["public:pypi"],
        )
        self.domain_arn = f"arn:aws:codeartifact:{region}:{account}:domain/{domain_name}"
        self.repository_arn = f"arn:aws:codeartifact:{region}:{account}:repository/{domain_name}/{repository_name}"

    def grant_read(self, role: ExecutionRole) -> None:
        """What ``pip install`` through the mirror needs: a token for this domain, read from this repository."""
        role.allow("PackageMirrorToken", ["codeartifact:GetAuthorizationToken"], [self.domain_arn])
        # CodeArtifact's token is an STS bearer token; the condition keeps it to CodeArtifact's.
        role.allow("PackageMirrorBearerToken", ["sts:GetServiceBearerToken"], ["*"],
                   conditions={"StringEquals": {"sts:AWSServiceName": CODEARTIFACT_SERVICE}})
        role.allow("PackageMirrorRead", ["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"],
                   [self.repository_arn])
