"""``SAGEMAKER_SERVING_MODULE=sagemaker_xgboost_container.serving:main`` on a single-model endpoint.

The image's ``serve`` command (``serving_entrypoint``) defaults ``OMP_NUM_THREADS`` to 1,
then (no ``SAGEMAKER_MULTI_MODEL``) starts its patched sagemaker-containers server:
that installs the user module from ``SAGEMAKER_SUBMIT_DIRECTORY`` with ``pip install .``
and runs gunicorn on the WSGI callable :func:`main`. :func:`main` imports the module,
wraps its handlers in sagemaker-containers' ``Transformer`` and serves it through the
toolkit's Flask ``Worker``. :func:`start_up` is everything before gunicorn; the harness
then drives :func:`main` in-process instead of through gunicorn and nginx.
"""

from __future__ import annotations

import importlib
import os

from sagemaker_containers import _modules
from sagemaker_containers.beta.framework import env, transformer, worker

# The image's default: one thread per worker process unless the model sets it.
DEFAULT_OMP_NUM_THREADS = "1"

app = None


def set_default_serving_env_if_unspecified() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", DEFAULT_OMP_NUM_THREADS)


def start_up() -> None:
    """``serving_entrypoint`` up to the point where gunicorn takes over."""
    set_default_serving_env_if_unspecified()
    if os.environ.get("SAGEMAKER_MULTI_MODEL"):
        raise NotImplementedError("multi-model endpoints (MMS) are not part of the stand-in")
    serving_env = env.ServingEnv()
    if serving_env.module_name:
        # The patched server installs the user module before starting gunicorn.
        _modules.import_module(serving_env.module_dir, serving_env.module_name)


def _user_module_transformer(user_module) -> transformer.Transformer:
    model_fn = getattr(user_module, "model_fn", None)
    input_fn = getattr(user_module, "input_fn", None)
    predict_fn = getattr(user_module, "predict_fn", None)
    output_fn = getattr(user_module, "output_fn", None)
    transform_fn = getattr(user_module, "transform_fn", None)
    if model_fn is None:
        raise NotImplementedError("the image's default model_fn is not part of the stand-in; define model_fn")
    if transform_fn and (input_fn or predict_fn or output_fn):
        # The image raises its UserError here: the two styles cannot be mixed.
        raise ValueError("Cannot use transform_fn implementation with input_fn, predict_fn, and/or output_fn")
    if transform_fn is not None:
        return transformer.Transformer(model_fn=model_fn, transform_fn=transform_fn)
    if not (input_fn and predict_fn and output_fn):
        raise NotImplementedError(
            "the image's default input_fn/predict_fn/output_fn are not part of the stand-in; define all three"
        )
    return transformer.Transformer(model_fn=model_fn, input_fn=input_fn, predict_fn=predict_fn, output_fn=output_fn)


def main(environ, start_response):
    """The WSGI application gunicorn serves: built on the first request, as in the image."""
    global app
    if app is None:
        serving_env = env.ServingEnv()
        user_module = importlib.import_module(serving_env.module_name)
        user_module_transformer = _user_module_transformer(user_module)
        user_module_transformer.initialize()
        app = worker.Worker(transform_fn=user_module_transformer.transform, module_name=serving_env.module_name)
    return app(environ, start_response)
