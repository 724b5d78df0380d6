"""Predictions from a registered model's artifact through its own serving code, in this process.

moto runs no containers, so the serving container's handlers (model_fn, then
transform_fn per request) are called here with the same artifact
the endpoint would download, and with the handlers that artifact carries in
``code/`` (where ``SAGEMAKER_SUBMIT_DIRECTORY`` points the real container).
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

from tools.pipeline_runner.errors import PipelineError
from tools.pipeline_runner.storage import Storage, split_uri
from tools.pipeline_runner.tarballs import extract

SERVING_CODE = Path("code") / "inference.py"


def load_handlers(model_dir: Path, *, step: str = "serve"):
    """The artifact's ``code/inference.py`` as a module (``model_fn``, ``transform_fn``)."""
    program = model_dir / SERVING_CODE
    if not program.is_file():
        raise PipelineError(
            f"the model artifact has no {SERVING_CODE}: a container with network isolation could not load"
            " the handlers; train.py packages them next to xgboost-model",
            step=step, field="ModelDataUrl",
        )
    # The handlers import their library as ``smxgb``, as inside the container.
    if str(program.parent) not in sys.path:
        sys.path.append(str(program.parent))
    spec = importlib.util.spec_from_file_location("pipeline_runner_inference", program)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def predict_csv(model_data_url: str, body: str, *, storage: Storage, accept: str = "text/csv") -> tuple[bytes, str]:
    """``(response body, content type)`` for a ``text/csv`` request, as the endpoint would answer it."""
    with tempfile.TemporaryDirectory(prefix="serve-") as scratch:
        tarball = Path(scratch) / "model.tar.gz"
        storage.get(*split_uri(model_data_url), tarball)
        model_dir = Path(scratch) / "model"
        extract(tarball, model_dir, step="serve", field="ModelDataUrl")
        handlers = load_handlers(model_dir)
        model = handlers.model_fn(str(model_dir))
    return handlers.transform_fn(model, body, "text/csv", accept)
