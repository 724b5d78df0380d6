#!/usr/bin/env bash
# Build the image environment: a venv with the Python side of the SageMaker XGBoost 3.2-0
# image (tests/image/requirements.txt), sagemaker-containers with the Dockerfile's patch, and
# the stand-in for sagemaker_xgboost_container's entry modules (tests/image/container/).
# Usage: tests/image/build_env.sh <venv dir>. Rebuilds from scratch; make calls it when
# an input changed (see the Makefile's image-venv stamp).
set -euo pipefail

venv=${1:?usage: build_env.sh <venv dir>}
here=$(cd "$(dirname "$0")" && pwd)

# The image runs Python 3.12. pyenv's shim for python3.12 exists even when 3.12 is not the
# selected version (it then fails), so every candidate is tried, not just looked up.
python=""
for candidate in python3.12 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12 python3.11; do
    if "$candidate" -c "import sys" >/dev/null 2>&1; then
        python=$candidate
        break
    fi
done
if [[ -z $python ]]; then
    echo "build_env.sh: neither python3.12 nor python3.11 runs here; install python3.12 (the image's)" >&2
    exit 1
fi
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [[ $version != 3.12 ]]; then
    echo "build_env.sh: python3.12 not found; building with python$version (the image runs 3.12)" >&2
fi

rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$here/requirements.txt"
# --no-deps: the image's lock overrides the toolkit's own pins (flask==1.1.1, typing).
# --no-build-isolation: its setup.py needs only the setuptools installed above.
"$venv/bin/python" -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation \
    -r "$here/toolkit.txt"

site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# The Dockerfile's patch, verbatim in effect: collections.Mapping left Python in 3.10.
# Idempotent: the pattern does not match its own replacement.
sed -i 's/collections\.Mapping/collections.abc.Mapping/g' "$site/sagemaker_containers/_mapping.py"
# The stand-in for sagemaker_xgboost_container (not on PyPI; the image builds it from git).
echo "$here/container" > "$site/sagemaker_xgboost_container_stand_in.pth"
"$venv/bin/python" -c "import sagemaker_containers.beta.framework, sagemaker_xgboost_container.training, xgboost"
echo "build_env.sh: image environment ready in $venv (python$version)"
