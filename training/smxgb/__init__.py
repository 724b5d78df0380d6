"""Library code behind the entry scripts in training/.

Inside the SageMaker container the source directory is the working directory
and sits on ``sys.path``, so entry scripts import this package as ``smxgb``.
"""
