#!/bin/bash
# Points the notebook user's pip at the platform's CodeArtifact mirror of PyPI
# (constructs/package_mirror.py), installed by on-start.sh when the mirror is
# configured; it runs at start and every 6 hours, because a token lasts 12
# hours at most. It reaches CodeArtifact through the VPC's interface endpoints.
#
# Usage: pip-index.sh AWS_CLI DOMAIN DOMAIN_OWNER REPOSITORY PIP_CONF
set -euo pipefail
AWS=$1 DOMAIN=$2 OWNER=$3 REPOSITORY=$4 PIP_CONF=$5
TOKEN=$("$AWS" codeartifact get-authorization-token --domain "$DOMAIN" --domain-owner "$OWNER" \
  --duration-seconds 43200 --query authorizationToken --output text)
ENDPOINT=$("$AWS" codeartifact get-repository-endpoint --domain "$DOMAIN" --domain-owner "$OWNER" \
  --repository "$REPOSITORY" --format pypi --query repositoryEndpoint --output text)
# The token is a secret: only its user reads the file, and a half-written file never replaces a good one.
umask 077
mkdir -p "$(dirname "$PIP_CONF")"
printf '[global]\nindex-url = https://aws:%s@%ssimple/\n' "$TOKEN" "${ENDPOINT#https://}" > "$PIP_CONF.tmp"
mv "$PIP_CONF.tmp" "$PIP_CONF"
