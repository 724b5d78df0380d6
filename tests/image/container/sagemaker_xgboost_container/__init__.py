"""Stand-in for the image's ``sagemaker_xgboost_container`` package: its script-mode entry modules only.

The image builds that package from aws/sagemaker-xgboost-container's sources (it is
not on PyPI) and points ``SAGEMAKER_TRAINING_MODULE`` / ``SAGEMAKER_SERVING_MODULE``
at ``training:main`` and ``serving:main``. This stand-in reproduces what those two
modules do for a *user entry point* (script mode), written against the same
sagemaker-containers calls, so everything below them is the real toolkit:
module install (``pip install .``), the training launcher, the Flask worker and the
transformer. Algorithm mode, multi-model (MMS) serving and distributed GPU training
are not reproduced; the platform uses none of them.
"""
