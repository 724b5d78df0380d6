"""Serving handlers for the SageMaker XGBoost framework container (script mode).

Pass this file as the model's ``entry_point`` with ``training/`` as its source
directory. Requests: ``text/csv`` (features only, no header, no label),
``application/json`` (``{"instances": [[...], ...]}``, ``{"instances":
[{"features": [...]}]}``, a list of rows or one row), ``application/x-parquet``
and ``application/x-npy``. Responses: ``text/csv`` (one prediction per line;
class probabilities comma-separated) or ``application/json``
(``{"predictions": [...]}``). Limits and the missing-value policy come from the
``SMXGB_*`` variables in :mod:`smxgb.serving`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xgboost as xgb

from smxgb import env, serving


def model_fn(model_dir: str) -> xgb.Booster:
    model_file = Path(model_dir) / env.MODEL_FILE_NAME
    if not model_file.is_file():
        raise FileNotFoundError(f"{model_file} is missing; the model artifact must hold {env.MODEL_FILE_NAME}")
    serving.Limits.from_env()  # a misconfigured limit fails the deployment, not every request
    booster = xgb.Booster()
    # From bytes, xgboost sniffs UBJSON vs JSON instead of guessing from the (absent) file suffix.
    booster.load_model(bytearray(model_file.read_bytes()))
    threads = serving.positive_int_env(serving.PREDICT_THREADS_ENV, serving.DEFAULT_PREDICT_THREADS)
    booster.set_param({"nthread": threads})
    return booster


def input_fn(request_body, request_content_type: str) -> np.ndarray:
    # The toolkit does not hand input_fn the model, so the width is checked in predict_fn.
    return serving.decode(request_body, request_content_type, serving.Limits.from_env())


def predict_fn(input_data: np.ndarray, model: xgb.Booster) -> np.ndarray:
    serving.check_width(input_data, model.num_features())
    return model.inplace_predict(input_data, validate_features=False)


def output_fn(prediction: np.ndarray, accept: str | None) -> tuple[bytes, str]:
    """Return ``(body, content_type)``; the toolkit sends that content type back."""
    content_type = serving.negotiate_accept(accept)
    return serving.encode(prediction, content_type), content_type
