"""Production checks and the retraining they start: schedule -> monitoring pipeline -> log lines ->
metrics -> alarms -> EventBridge -> retraining guard (Step Functions + DynamoDB) -> training pipeline.

Everything is a plain CloudFormation resource (no Lambda, no custom resource):
the monitoring job runs network-isolated and cannot call CloudWatch, so it
prints ``{"mlp_monitor": <figure>, "value": v}`` lines that metric filters on
the processing jobs' log group turn into metrics.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from constructs.compliance import COMPLIANCE_PACKS, acknowledge
from constructs.execution_role import ExecutionRole

from stacks.access_stack import JOB_LOG_GROUPS, AccessStack
from stacks.config import (
    BATCH_SCORING_PREFIX,
    DATA_CAPTURE_PREFIX,
    MONITORING_PREFIX,
    MONITORING_REPORTS_PREFIX,
    PlatformConfig,
)
from stacks.data_stack import DataStack
from stacks.pipeline_definition.monitoring import build_monitoring_definition
from stacks.pipeline_stack import PipelineStack
from stacks.retrain_guard import state_machine_definition

#: Metric name per figure training/monitor.py logs (``quality_<metric>`` for the configured metric).
DRIFT_FIGURES = {"drifted_features": "DriftedFeatures", "max_psi": "MaxPsi", "rows": "ScoredRows",
                 "labelled_rows": "LabelledRows"}
#: Alarm name suffix -> RetrainReason the guard passes to the training pipeline.
RETRAIN_ALARMS = ("drift", "quality")


def metric_namespace(config: PlatformConfig) -> str:
    return f"MLPlatform/{config.name}/Monitoring"


def quality_metric_name(metric: str) -> str:
    return f"Quality{metric.upper() if len(metric) <= 4 else metric.capitalize()}"


def input_template(reason: str) -> str:
    """The rule's input transformer template: what the guard's execution receives."""
    return json.dumps({"reason": reason, "alarm": "<alarm>", "time": "<time>"}).replace(
        '"<alarm>"', "<alarm>").replace('"<time>"', "<time>")


class MonitoringStack(cdk.Stack):
    """The monitoring pipeline, its schedule, metrics, alarms, the retraining guard and the dashboard."""

    def __init__(self, scope: Construct, id: str, *, config: PlatformConfig, data: DataStack, access: AccessStack,
                 pipeline: PipelineStack, alarm_topic_arn: str, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        m = config.monitoring
        self.config = config
        models = config.arn("s3", config.bucket_name("models"))
        model_key = access.guardrails.output_key_arn
        endpoint = config.endpoint_name
        # The monitoring job reads what was scored and the fixed per-endpoint prefix, writes reports
        # and (publish runs) the served version's baseline.
        processing = access.processing_role
        for prefix in (DATA_CAPTURE_PREFIX, f"{BATCH_SCORING_PREFIX}/"):
            processing.grant_read(models, model_key, prefix=prefix)
        processing.grant_read_write(models, model_key, prefix=f"{MONITORING_PREFIX}{endpoint}/")
        processing.grant_write(models, model_key, prefix=f"{MONITORING_REPORTS_PREFIX}{endpoint}/")

        self.definition = build_monitoring_definition(
            pipeline.resources, m, endpoint_name=endpoint, scored_data_uri=config.scored_data_uri)
        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=config.monitoring_pipeline_name,
            pipeline_display_name=config.monitoring_pipeline_name,
            pipeline_description="Production checks: drift against the served version's baseline, quality on labels",
            role_arn=access.pipeline_role.role_arn,
            pipeline_definition={"PipelineDefinitionBody": self.to_json_string(self.definition)},
        )
        monitoring_arn = config.arn("sagemaker", f"pipeline/{config.monitoring_pipeline_name}")
        training_arn = config.arn("sagemaker", f"pipeline/{config.pipeline_name}")

        self._schedule(config, monitoring_arn)
        alarms = self._metrics_and_alarms(config, data, alarm_topic_arn)
        self._guard(config, data, alarms, training_arn, alarm_topic_arn)
        self._dashboard(config)

    # ------------------------------------------------------------------ schedule
    def _schedule(self, config: PlatformConfig, monitoring_arn: str) -> None:
        role = ExecutionRole(self, "ScheduleRole", assumed_by="scheduler.amazonaws.com",
                             role_name=config.role_name("monitoring-schedule"),
                             description="ML platform: EventBridge Scheduler starting the monitoring pipeline")
        role.allow("StartMonitoring", ["sagemaker:StartPipelineExecution"], [monitoring_arn])
        self.schedule_role = role
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            name=f"{config.prefix}-monitoring",
            description="Starts the monitoring pipeline; its run reads the window before its start",
            schedule_expression=config.monitoring.schedule,
            schedule_expression_timezone="UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=monitoring_arn,
                role_arn=role.role_arn,
                sage_maker_pipeline_parameters=scheduler.CfnSchedule.SageMakerPipelineParametersProperty(
                    pipeline_parameter_list=[]),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=3600, maximum_retry_attempts=3),
            ),
        )

    # ------------------------------------------------------------------ metrics and alarms
    def _metrics_and_alarms(self, config: PlatformConfig, data: DataStack, topic_arn: str) -> dict[str, str]:
        m = config.monitoring
        # SageMaker would create the group on the first job, unencrypted and kept forever; the
        # metric filters need it to exist, so the platform creates it (encrypted, with retention).
        group = logs.CfnLogGroup(
            self, "ProcessingJobLogs", log_group_name=JOB_LOG_GROUPS["processing"],
            kms_key_id=data.logs_key.key.key_arn, retention_in_days=m.log_retention_days)
        group.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        namespace = metric_namespace(config)
        figures = {**DRIFT_FIGURES, f"quality_{m.quality_metric}": quality_metric_name(m.quality_metric)}
        for figure, metric_name in figures.items():
            metric_filter = logs.CfnMetricFilter(
                self, f"Filter{metric_name}",
                log_group_name=JOB_LOG_GROUPS["processing"],
                filter_name=f"{config.prefix}-monitor-{figure}",
                filter_pattern=f'{{ $.mlp_monitor = "{figure}" }}',
                metric_transformations=[logs.CfnMetricFilter.MetricTransformationProperty(
                    metric_namespace=namespace, metric_name=metric_name, metric_value="$.value")],
            )
            metric_filter.node.add_dependency(group)
        higher = m.quality_higher_is_better
        specs = {
            "drift": (DRIFT_FIGURES["drifted_features"], "GreaterThanOrEqualToThreshold", m.drifted_features_alarm,
                      f"at least {m.drifted_features_alarm} feature(s) drifted in a monitoring run"),
            "quality": (figures[f"quality_{m.quality_metric}"],
                        "LessThanThreshold" if higher else "GreaterThanThreshold", m.quality_alarm_threshold,
                        f"production {m.quality_metric} {'below' if higher else 'above'} {m.quality_alarm_threshold}"
                        " on uploaded labels"),
        }
        names = {}
        for reason, (metric_name, comparison, threshold, description) in specs.items():
            name = f"{config.prefix}-monitoring-{reason}"
            cloudwatch.CfnAlarm(
                self, f"{reason.capitalize()}Alarm",
                alarm_name=name,
                alarm_description=f"{description}; starts retraining (RetrainReason={reason}) through the guard",
                namespace=namespace, metric_name=metric_name, statistic="Maximum",
                period=300, evaluation_periods=1, threshold=threshold, comparison_operator=comparison,
                # One figure per run: no run, no data, no alarm; the next run decides again.
                treat_missing_data="notBreaching",
                alarm_actions=[topic_arn],
            )
            names[reason] = name
        return names

    # ------------------------------------------------------------------ the retraining guard
    def _guard(self, config: PlatformConfig, data: DataStack, alarms: dict[str, str], training_arn: str,
               topic_arn: str) -> None:
        m = config.monitoring
        table_name = f"{config.prefix}-retrain-lock"
        table = dynamodb.CfnTable(
            self, "RetrainLock",
            table_name=table_name,
            billing_mode="PAY_PER_REQUEST",
            key_schema=[dynamodb.CfnTable.KeySchemaProperty(attribute_name="LockId", key_type="HASH")],
            attribute_definitions=[dynamodb.CfnTable.AttributeDefinitionProperty(attribute_name="LockId",
                                                                                 attribute_type="S")],
            time_to_live_specification=dynamodb.CfnTable.TimeToLiveSpecificationProperty(
                attribute_name="ExpiresAt", enabled=True),
            point_in_time_recovery_specification=dynamodb.CfnTable.PointInTimeRecoverySpecificationProperty(
                point_in_time_recovery_enabled=True),
            # KMS with the AWS managed key: the item names an alarm and a time, nothing more.
            sse_specification=dynamodb.CfnTable.SSESpecificationProperty(sse_enabled=True, sse_type="KMS"),
        )
        acknowledge(table, "DynamoDBInBackupPlan",
                    "The table holds one lock item that expires within the retraining interval; point-in-time"
                    " recovery is on, and there is nothing a backup plan would need to restore",
                    packs=COMPLIANCE_PACKS)
        table_arn = config.arn("dynamodb", f"table/{table_name}")
        machine_name = f"{config.prefix}-retrain-guard"
        machine_arn = config.arn("states", f"stateMachine:{machine_name}")
        role = ExecutionRole(self, "GuardRole", assumed_by="states.amazonaws.com",
                             role_name=config.role_name("retrain-guard"),
                             description="ML platform: retraining guard (lock, start the training pipeline, notify)")
        role.allow("Lock", ["dynamodb:PutItem", "dynamodb:DeleteItem"], [table_arn])
        # The alert topic is encrypted with the logs key (the data stack's key policy names this role).
        role.allow("UseTopicKey", ["kms:Decrypt", "kms:GenerateDataKey"], [data.logs_key.key.key_arn],
                   conditions={"StringEquals": {"kms:ViaService": f"sns.{config.region}.amazonaws.com"}})
        role.allow("StartRetraining", ["sagemaker:StartPipelineExecution"], [training_arn])
        role.allow("Notify", ["sns:Publish"], [topic_arn])
        self.guard_role = role
        self.state_machine = sfn.CfnStateMachine(
            self, "RetrainGuard",
            state_machine_name=machine_name,
            state_machine_type="STANDARD",
            role_arn=role.role_arn,
            definition_string=self.to_json_string(state_machine_definition(
                table=table_name, pipeline_name=config.pipeline_name, topic_arn=topic_arn,
                interval_hours=m.retrain_interval_hours)),
            tracing_configuration=sfn.CfnStateMachine.TracingConfigurationProperty(enabled=False),
        )
        self.state_machine.node.add_dependency(table)
        acknowledge(self.state_machine, "SF1",
                    "A standard workflow: Step Functions keeps every execution's full event history (90 days),"
                    " and every decision (started, suppressed, failed) is published to the alert topic")
        acknowledge(self.state_machine, "SF2",
                    "Three SDK calls per execution, each recorded in the execution history; tracing would add an"
                    " X-Ray grant and nothing to see")
        trigger = ExecutionRole(self, "TriggerRole", assumed_by="events.amazonaws.com",
                                role_name=config.role_name("retrain-trigger"),
                                description="ML platform: EventBridge rules starting the retraining guard")
        trigger.allow("StartGuard", ["states:StartExecution"], [machine_arn])
        self.trigger_role = trigger
        self.rules = {}
        for reason, alarm in alarms.items():
            rule = events.CfnRule(
                self, f"RetrainOn{reason.capitalize()}",
                name=f"{config.prefix}-retrain-on-{reason}",
                description=f"Alarm {alarm} in ALARM: ask the guard to retrain with RetrainReason={reason}",
                event_pattern=alarm_event_pattern(config, alarm),
                targets=[events.CfnRule.TargetProperty(
                    id="RetrainGuard", arn=machine_arn, role_arn=trigger.role_arn,
                    input_transformer=events.CfnRule.InputTransformerProperty(
                        input_paths_map={"alarm": "$.detail.alarmName", "time": "$.time"},
                        input_template=input_template(reason)),
                )],
            )
            rule.node.add_dependency(self.state_machine)
            self.rules[reason] = rule

    # ------------------------------------------------------------------ dashboard
    def _dashboard(self, config: PlatformConfig) -> None:
        cloudwatch.CfnDashboard(self, "Dashboard", dashboard_name=f"{config.prefix}-ml-platform",
                                dashboard_body=json.dumps(dashboard_body(config), sort_keys=True))


def alarm_event_pattern(config: PlatformConfig, alarm_name: str) -> dict:
    """CloudWatch's event when this alarm enters ALARM (not OK or INSUFFICIENT_DATA)."""
    return {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "resources": [config.arn("cloudwatch", f"alarm:{alarm_name}")],
        "detail": {"state": {"value": ["ALARM"]}},
    }


def dashboard_body(config: PlatformConfig) -> dict:
    """Endpoint latency and errors, drift and quality figures, training and monitoring runs."""
    region, namespace = config.region, metric_namespace(config)
    endpoint = ["EndpointName", config.endpoint_name, "VariantName", "AllTraffic"]
    m = config.monitoring

    def widget(title: str, metrics: list, x: int, y: int, stat: str = "Maximum") -> dict:
        return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6,
                "properties": {"title": title, "region": region, "stat": stat, "period": 300, "view": "timeSeries",
                               "metrics": metrics}}

    return {"widgets": [
        widget("Endpoint latency (ms, p90)", [["AWS/SageMaker", "ModelLatency", *endpoint]], 0, 0, "p90"),
        widget("Endpoint errors", [["AWS/SageMaker", "Invocation5XXErrors", *endpoint],
                                   ["AWS/SageMaker", "Invocation4XXErrors", *endpoint]], 12, 0, "Sum"),
        widget("Drift per monitoring run", [[namespace, DRIFT_FIGURES["drifted_features"]],
                                            [namespace, DRIFT_FIGURES["max_psi"]]], 0, 6),
        widget(f"Production quality ({m.quality_metric}) and labelled rows",
               [[namespace, quality_metric_name(m.quality_metric)], [namespace, DRIFT_FIGURES["labelled_rows"]]],
               12, 6),
        widget("Pipeline runs (training and monitoring)", [
            ["AWS/Sagemaker/ModelBuildingPipeline", "ExecutionStarted", "PipelineName", config.pipeline_name],
            ["AWS/Sagemaker/ModelBuildingPipeline", "ExecutionFailed", "PipelineName", config.pipeline_name],
            ["AWS/Sagemaker/ModelBuildingPipeline", "ExecutionSucceeded", "PipelineName",
             config.monitoring_pipeline_name],
            ["AWS/Sagemaker/ModelBuildingPipeline", "ExecutionFailed", "PipelineName",
             config.monitoring_pipeline_name],
        ], 0, 12, "Sum"),
        widget("Scored rows per monitoring run", [[namespace, DRIFT_FIGURES["rows"]]], 12, 12),
    ]}
