"""CostBudget: a monthly budget on one environment's tagged costs, alerting the topic; and the tags it relies on."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from constructs.cost_budget import CostBudget

from stacks.config import ENVIRONMENTS
from stacks.platform import Platform
from tests.infra.conftest import new_stack, template

TOPIC = "arn:aws:sns:us-east-1:111122223333:mlp-test-alerts"


def _budget(**kwargs) -> dict:
    stack = new_stack()
    props = {"budget_name": "mlp-test-monthly", "monthly_limit_usd": 25.0, "tag": ("Environment", "test"),
             "topic_arn": TOPIC}
    CostBudget(stack, "Budget", **{**props, **kwargs})
    (budget,) = Template.from_stack(stack).find_resources("AWS::Budgets::Budget").values()
    return budget["Properties"]


def test_budget_filters_the_environment_tag_and_alerts_the_topic_at_each_threshold() -> None:
    # GIVEN a budget with two actual thresholds and one forecast
    props = _budget(actual_thresholds_percent=(80, 100), forecast_thresholds_percent=(100,))
    # THEN it budgets the month's cost of resources tagged Environment=test
    assert props["Budget"]["BudgetLimit"] == {"Amount": 25, "Unit": "USD"}
    assert props["Budget"]["CostFilters"] == {"TagKeyValue": ["user:Environment$test"]}
    # AND every threshold notifies the topic
    notes = [(n["Notification"]["NotificationType"], n["Notification"]["Threshold"], n["Subscribers"])
             for n in props["NotificationsWithSubscribers"]]
    subscribers = [{"SubscriptionType": "SNS", "Address": TOPIC}]
    assert notes == [("ACTUAL", 80, subscribers), ("ACTUAL", 100, subscribers), ("FORECASTED", 100, subscribers)]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"monthly_limit_usd": 0}, r"monthly_limit_usd must be positive"),
    ({"actual_thresholds_percent": (0,)}, r"thresholds must be percentages"),
    ({"actual_thresholds_percent": (), "forecast_thresholds_percent": ()}, r"thresholds must be percentages"),
])
def test_bad_budgets_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _budget(**kwargs)


def test_the_alert_topic_and_its_key_admit_only_this_accounts_budgets(dev_platform: Platform) -> None:
    # GIVEN the dev platform WHEN its topic policy is read
    policies = template(dev_platform, "registry").find_resources("AWS::SNS::TopicPolicy")
    statements = [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    budgets = [s for s in statements if s.get("Principal") == {"Service": "budgets.amazonaws.com"}]
    # THEN budgets may publish only from budgets of this environment, in this account
    assert len(budgets) == 1
    assert budgets[0]["Condition"]["ArnLike"] == {"aws:SourceArn": "arn:aws:budgets::111122223333:budget/mlp-dev-*"}
    assert budgets[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": "111122223333"}


def test_every_taggable_resource_carries_the_cost_allocation_tags(dev_platform: Platform) -> None:
    # GIVEN every CloudFormation resource of the platform that can carry tags
    required = {"Project", "Environment", "CostCenter"}
    checked, missing = 0, []
    for stack in dev_platform.stacks:
        resources = Template.from_stack(stack).to_json()["Resources"]
        for construct in stack.node.find_all():
            if not (isinstance(construct, cdk.CfnResource) and cdk.TagManager.is_taggable(construct)):
                continue
            logical_id = stack.get_logical_id(construct)
            props = resources[stack.resolve(logical_id)].get("Properties", {})
            name = cdk.TagManager.of(construct).tag_property_name  # the L1 property name, e.g. "tags"
            tags = props.get(name[0].upper() + name[1:], {})
            keys = {t["Key"] for t in tags} if isinstance(tags, list) else set(tags)
            checked += 1
            if not required <= keys:
                missing.append((stack.stack_name, construct.cfn_resource_type, sorted(required - keys)))
    # THEN each of them has all three tags
    assert checked > 20
    assert missing == []


def test_prod_budgets_more_than_dev() -> None:
    assert ENVIRONMENTS["prod"].budget.monthly_limit_usd > ENVIRONMENTS["dev"].budget.monthly_limit_usd
