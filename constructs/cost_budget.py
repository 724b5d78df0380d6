"""A monthly AWS Budgets cost budget for one environment, alerting a topic at thresholds."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_budgets as budgets
from constructs import Construct


class CostBudget(Construct):
    """A budget on the costs that carry one cost-allocation tag, told to an SNS topic.

    AWS Budgets only sees user-defined tags once they are activated as
    cost-allocation tags in the Billing console (a one-time step per account).

    :param budget_name: unique in the account; the topic policy admits budgets by name prefix.
    :param monthly_limit_usd: the budgeted amount per calendar month.
    :param tag: ``(key, value)`` of the cost-allocation tag that selects this environment's costs.
    :param topic_arn: the alert topic (it must admit ``budgets.amazonaws.com``).
    :param actual_thresholds_percent: alert when actual spend passes each of these percentages.
    :param forecast_thresholds_percent: alert when the month's forecast passes each of these.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        budget_name: str,
        monthly_limit_usd: float,
        tag: tuple[str, str],
        topic_arn: str,
        actual_thresholds_percent: Sequence[float] = (50, 80, 100),
        forecast_thresholds_percent: Sequence[float] = (100,),
    ) -> None:
        super().__init__(scope, id)
        if monthly_limit_usd <= 0:
            raise ValueError(f"{self.node.path}: monthly_limit_usd must be positive, not {monthly_limit_usd}")
        thresholds = [("ACTUAL", t) for t in actual_thresholds_percent]
        thresholds += [("FORECASTED", t) for t in forecast_thresholds_percent]
        if not thresholds or any(not 0 < t <= 1000 for _, t in thresholds):
            raise ValueError(f"{self.node.path}: thresholds must be percentages in (0, 1000], got {thresholds}")
        key, value = tag
        self.budget = budgets.CfnBudget(
            self,
            "Budget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=budget_name,
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=monthly_limit_usd, unit="USD"),
                cost_filters={"TagKeyValue": [f"user:{key}${value}"]},
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        notification_type=kind,
                        comparison_operator="GREATER_THAN",
                        threshold=threshold,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=[budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=topic_arn)],
                )
                for kind, threshold in thresholds
            ],
        )
