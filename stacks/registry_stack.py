"""The model registry: one model package group, and a notification when a version is approved."""

from __future__ import annotations

import re

import aws_cdk as cdk
import jsii
from aws_cdk import aws_events as events
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct
from constructs.alert_topic import AlertTopic
from constructs.cost_budget import CostBudget

from stacks.config import PlatformConfig
from stacks.data_stack import DataStack

#: What a trusted account may do with this group's versions: read them and
#: create a model from an approved one in its own account. Never update,
#: approve or delete.
CROSS_ACCOUNT_GROUP_ACTIONS = ("sagemaker:DescribeModelPackageGroup",)
CROSS_ACCOUNT_PACKAGE_ACTIONS = (
    "sagemaker:CreateModel",
    "sagemaker:DescribeModelPackage",
    "sagemaker:ListModelPackages",
)


def group_policy(group_arn: str, package_arns: str, trusted_account_ids: tuple[str, ...]) -> dict | None:
    """The group's resource policy for ``trusted_account_ids``; None when there are none."""
    if not trusted_account_ids:
        return None
    bad = [a for a in trusted_account_ids if not re.fullmatch(r"\d{12}", a)]
    if bad:
        raise ValueError(f"trusted_account_ids {bad} must be 12-digit AWS account IDs")
    principals = {"AWS": [f"arn:aws:iam::{a}:root" for a in sorted(set(trusted_account_ids))]}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TrustedAccountsReadGroup",
                "Effect": "Allow",
                "Principal": principals,
                "Action": list(CROSS_ACCOUNT_GROUP_ACTIONS),
                "Resource": group_arn,
            },
            {
                "Sid": "TrustedAccountsDeployVersions",
                "Effect": "Allow",
                "Principal": principals,
                "Action": list(CROSS_ACCOUNT_PACKAGE_ACTIONS),
                "Resource": package_arns,
            },
        ],
    }


@jsii.implements(events.IRuleTarget)
class _TopicTarget:
    # events_targets.SnsTopic would add its own unconditional publish grant to
    # the topic policy; AlertTopic already allows this rule, by name.
    def __init__(self, topic: sns.ITopic) -> None:
        self._topic = topic

    def bind(self, _rule: events.IRule, _id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self._topic.topic_arn)


class RegistryStack(cdk.Stack):
    """The group the pipeline registers versions in, the platform's alert topic and its budget.

    The topic also receives the endpoint's alarms and the budget's alerts; it
    lives here because the registry is the first workload stack every
    environment has.
    """

    def __init__(self, scope: Construct, id: str, *, config: PlatformConfig, data: DataStack, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        group = config.model_package_group_name
        group_arn = config.arn("sagemaker", f"model-package-group/{group}")
        package_arns = config.arn("sagemaker", f"model-package/{group}/*")
        self.group = sagemaker.CfnModelPackageGroup(
            self,
            "ModelPackageGroup",
            model_package_group_name=group,
            model_package_group_description=f"XGBoost models of {config.prefix}; deploy approved versions only",
            model_package_group_policy=group_policy(group_arn, package_arns, config.workloads.trusted_account_ids),
        )
        # Deleting the group would orphan the lineage of every deployed model.
        self.group.apply_removal_policy(cdk.RemovalPolicy.RETAIN)

        alerts = AlertTopic(
            self,
            "Alerts",
            topic_name=f"{config.prefix}-alerts",
            key=data.logs_key.key,
            display_name=f"ML platform {config.name}: model approvals and endpoint alarms",
            alarm_name_prefix=f"{config.prefix}-",
            rule_name_prefix=f"{config.prefix}-",
            budget_name_prefix=f"{config.prefix}-",
        )
        self.topic = alerts.topic
        # The services encrypt the message with the topic's key when they
        # publish: bound, like the topic policy, to this account's named alarms
        # and rules, and to this topic by SNS's encryption context.
        for service, source_arn in alerts.sources.items():
            data.logs_key.allow_service(
                service,
                conditions={
                    "StringEquals": {
                        "aws:SourceAccount": config.account,
                        "kms:EncryptionContext:aws:sns:topicArn": alerts.topic_arn,
                    },
                    "ArnLike": {"aws:SourceArn": source_arn},
                },
            )

        CostBudget(
            self,
            "Budget",
            budget_name=f"{config.prefix}-monthly",
            monthly_limit_usd=config.budget.monthly_limit_usd,
            tag=("Environment", config.name),
            topic_arn=self.topic.topic_arn,
            actual_thresholds_percent=config.budget.actual_thresholds_percent,
            forecast_thresholds_percent=config.budget.forecast_thresholds_percent,
        )

        rule = events.Rule(
            self,
            "ModelApproved",
            rule_name=f"{config.prefix}-model-approved",
            description=f"A model package version of {group} was approved for deployment",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Model Package State Change"],
                detail={"ModelPackageGroupName": [group], "ModelApprovalStatus": ["Approved"]},
            ),
        )
        rule.add_target(_TopicTarget(self.topic))
        cdk.CfnOutput(self, "ModelPackageGroupName", value=group)
        cdk.CfnOutput(self, "AlertTopicArn", value=self.topic.topic_arn)
