"""The SageMaker Pipelines definition (schema 2020-12-01) as plain dicts with CDK tokens.

No CloudFormation type exists for training or tuning jobs, and the SageMaker
SDK uploads code and calls AWS while it builds a definition, which would break
hermetic synth. So each step's ``Arguments`` is written here as the exact
CreateProcessingJob / CreateHyperParameterTuningJob / CreateModelPackage
request shape, and tests validate it against botocore's service model.
"""

from stacks.pipeline_definition.definition import PipelineResources, build_definition

__all__ = ["PipelineResources", "build_definition"]
