"""Serving handlers for the SageMaker XGBoost framework container (script mode).

Pass this file as the model's ``entry_point`` with ``training/`` as its source
directory; the container calls ``model_fn`` once and ``transform_fn`` per
request. Requests: ``text/csv`` (features only, no header, no label),
``application/json`` (``{"instances": [[...], ...]}``, ``{"instances":
[{"features": [...]}]}``, a list of rows or one row), ``application/x-parquet``,
``application/x-npy`` and ``application/x-recordio-protobuf`` (SageMaker's built-in format).
Responses: ``text/csv`` (one prediction per line;
class probabilities comma-separated) or ``application/json``
(``{"predictions": [...]}``). Limits and the missing-value policy come from the
``SMXGB_*`` variables in :mod:`smxgb.serving`.
"""

from __future__ import annotations

from pathlib import Path

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


def transform_fn(model: xgb.Booster, request_body, request_content_type: str | None,
                 accept: str | None) -> tuple[bytes, str]:
    """Decode, predict and encode one request; return ``(body, content_type)``.

    One handler instead of input_fn/predict_fn/output_fn, because the image's
    single-model server (sagemaker-containers' Transformer) turns any exception
    those raise into the same bare 500: a bad request is answered here, with its
    4xx and a one-line reason (see :func:`smxgb.serving.client_error`).
    """
    try:
        matrix = serving.decode(request_body, request_content_type, serving.Limits.from_env())
        serving.check_width(matrix, model.num_features())
        content_type = serving.negotiate_accept(accept)
        prediction = model.inplace_predict(matrix, validate_features=False)
        return serving.encode(prediction, content_type), content_type
    except serving.RequestError as error:
        return serving.client_error(error)
