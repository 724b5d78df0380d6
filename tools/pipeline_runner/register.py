"""RegisterModel steps: the resolved Arguments are a CreateModelPackage request, sent to the registry."""

from __future__ import annotations

from tools.pipeline_runner.base import StepOutcome, Workspace
from tools.pipeline_runner.errors import PipelineError
from tools.pipeline_runner.storage import split_uri


def run_register_step(step: dict, args: dict, ws: Workspace) -> StepOutcome:
    name = step["Name"]
    if ws.sagemaker is None:
        raise PipelineError("no model registry to register in (run against the emulator)", step=name)
    for index, container in enumerate(args.get("InferenceSpecification", {}).get("Containers", [])):
        uri = container.get("ModelDataUrl")
        if uri and not ws.storage.list_keys(*split_uri(uri)):
            raise PipelineError(f"{uri} does not exist", step=name,
                                field=f"Arguments.InferenceSpecification.Containers[{index}].ModelDataUrl")
    baseline = args.get("DriftCheckBaselines", {}).get("ModelDataQuality", {}).get("Statistics", {}).get("S3Uri")
    if baseline and not ws.storage.list_keys(*split_uri(baseline)):
        raise PipelineError(f"{baseline} does not exist", step=name,
                            field="Arguments.DriftCheckBaselines.ModelDataQuality.Statistics.S3Uri")
    try:
        arn = ws.sagemaker.create_model_package(**args)["ModelPackageArn"]
    except Exception as exc:  # noqa: BLE001 - botocore validation and service errors alike
        raise PipelineError(f"CreateModelPackage failed: {exc}", step=name, field="Arguments") from None
    described = ws.sagemaker.describe_model_package(ModelPackageName=arn)
    properties = {**args, "ModelPackageArn": arn, "ModelPackageStatus": described.get("ModelPackageStatus"),
                  "ModelApprovalStatus": described.get("ModelApprovalStatus")}
    detail = {"model_package_arn": arn, "version": described.get("ModelPackageVersion"),
              "approval": described.get("ModelApprovalStatus"),
              "model_data_url": args["InferenceSpecification"]["Containers"][0].get("ModelDataUrl"),
              "metrics_uri": args.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {}).get("S3Uri"),
              "drift_baseline_uri": baseline,
              "metadata": described.get("CustomerMetadataProperties", {}),
              # The card as the registry returns it, so a run shows that the version carries it.
              "model_card": described.get("ModelCard")}
    return StepOutcome(properties, {}, detail)

