"""An SNS topic for platform notifications: KMS-encrypted, TLS-only, publishable by named sources only."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct


class AlertTopic(Construct):
    """A topic that CloudWatch alarms and EventBridge rules of this account publish to.

    A topic policy replaces SNS's default "owner account may do anything"
    policy, so every publisher is named here: alarms whose names start with
    ``alarm_name_prefix`` and rules whose names start with ``rule_name_prefix``.
    The key's policy must let the same services use the key (``PlatformKey.allow_service``).

    :param topic_name: physical name, so that the key's policy (in another
        stack) can name the topic's ARN without a reference back to this stack.
    :param key: KMS key encrypting messages at rest.
    :param display_name: shown in e-mail notifications.
    :param alarm_name_prefix: CloudWatch alarms allowed to publish.
    :param rule_name_prefix: EventBridge rules allowed to publish.
    :param budget_name_prefix: AWS Budgets budgets allowed to publish; ``None`` admits none.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        topic_name: str,
        key: kms.IKey,
        display_name: str,
        alarm_name_prefix: str,
        rule_name_prefix: str,
        budget_name_prefix: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        stack = cdk.Stack.of(self)
        self.topic = sns.Topic(
            self, "Topic", topic_name=topic_name, display_name=display_name, master_key=key, enforce_ssl=True
        )
        #: The ARN as a plain string: usable in policies of stacks this one depends on.
        self.topic_arn = f"arn:aws:sns:{stack.region}:{stack.account}:{topic_name}"
        sources = {
            "cloudwatch.amazonaws.com": f"arn:aws:cloudwatch:{stack.region}:{stack.account}:alarm:{alarm_name_prefix}*",
            "events.amazonaws.com": f"arn:aws:events:{stack.region}:{stack.account}:rule/{rule_name_prefix}*",
        }
        if budget_name_prefix is not None:
            # Budgets are global: their ARNs carry no region.
            sources["budgets.amazonaws.com"] = f"arn:aws:budgets::{stack.account}:budget/{budget_name_prefix}*"
        for service, source_arn in sources.items():
            self.topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"Publish{service.split('.')[0].capitalize()}",
                    principals=[iam.ServicePrincipal(service)],
                    actions=["sns:Publish"],
                    resources=[self.topic.topic_arn],
                    conditions={
                        "StringEquals": {"aws:SourceAccount": stack.account},
                        "ArnLike": {"aws:SourceArn": source_arn},
                    },
                )
            )
        self.sources = sources
