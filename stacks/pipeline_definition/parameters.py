"""Pipeline parameters: what one execution may override without a deploy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stacks.config import PipelineConfig
from stacks.pipeline_definition.expressions import param


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # String | Integer | Float | Boolean
    #: None: the execution must give a value (no ``DefaultValue`` in the definition).
    default: Any
    enum: tuple[str, ...] = ()

    def to_definition(self) -> dict:
        entry = {"Name": self.name, "Type": self.type}
        if self.default is not None:
            entry["DefaultValue"] = self.default
        if self.enum:
            entry["EnumValues"] = list(self.enum)
        return entry

    @property
    def ref(self) -> dict:
        return param(self.name)


INPUT_DATA = "InputDataUri"
LABEL_COLUMN = "LabelColumn"
PROCESSING_INSTANCE_TYPE = "ProcessingInstanceType"
PROCESSING_INSTANCE_COUNT = "ProcessingInstanceCount"
#: Instances of the Spark preprocessing cluster (only with ``preprocess_engine="spark"``).
SPARK_INSTANCE_COUNT = "SparkInstanceCount"
TRAINING_INSTANCE_TYPE = "TrainingInstanceType"
TRAINING_INSTANCE_COUNT = "TrainingInstanceCount"
TUNING_STRATEGY = "TuningStrategy"
MAX_TRAINING_JOBS = "MaxTrainingJobs"
MAX_PARALLEL_TRAINING_JOBS = "MaxParallelTrainingJobs"
AUC_THRESHOLD = "AucThreshold"
WARM_START_PARENT = "WarmStartParentTuningJob"
#: Why this execution runs; recorded on the model version it registers.
RETRAIN_REASON = "RetrainReason"
RETRAIN_REASONS = ("manual", "schedule", "drift", "quality")


def pipeline_parameters(config: PipelineConfig, *, raw_bucket: str) -> dict[str, Parameter]:
    """The parameters by name; the warm-start parent exists only when the config names one,
    because SageMaker rejects a WarmStartConfig without a parent job.
    """
    params = [
        Parameter(LABEL_COLUMN, "String", config.label_column),
        Parameter(PROCESSING_INSTANCE_TYPE, "String", config.processing_instance_type),
        Parameter(PROCESSING_INSTANCE_COUNT, "Integer", config.processing_instance_count),
        Parameter(TRAINING_INSTANCE_TYPE, "String", config.training_instance_type),
        Parameter(TRAINING_INSTANCE_COUNT, "Integer", config.training_instance_count),
        Parameter(TUNING_STRATEGY, "String", config.tuning_strategy, enum=("Bayesian", "Random")),
        Parameter(MAX_TRAINING_JOBS, "Integer", config.max_training_jobs),
        Parameter(MAX_PARALLEL_TRAINING_JOBS, "Integer", config.max_parallel_training_jobs),
        Parameter(AUC_THRESHOLD, "Float", config.auc_threshold),
        Parameter(RETRAIN_REASON, "String", RETRAIN_REASONS[0], enum=RETRAIN_REASONS),
    ]
    # Files in S3 are chosen per execution; a query source is the configuration's (SourceConfig).
    if config.source.kind == "s3":
        params.insert(0, Parameter(INPUT_DATA, "String", f"s3://{raw_bucket}/{config.raw_data_prefix}"))
    if config.preprocess_engine == "spark":
        params.append(Parameter(SPARK_INSTANCE_COUNT, "Integer", config.spark_instance_count))
    if config.warm_start_parent_tuning_job:
        params.append(Parameter(WARM_START_PARENT, "String", config.warm_start_parent_tuning_job))
    return {p.name: p for p in params}
