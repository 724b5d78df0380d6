"""The price table every cost figure of the project is computed from: dated, per region, stated not fetched.

Sources (list prices, read 2026-11): aws.amazon.com/sagemaker/pricing (on-demand
instance-hours of notebooks, processing, training and real-time hosting; ML
storage), aws.amazon.com/privatelink/pricing (interface endpoints per AZ-hour),
aws.amazon.com/kms/pricing, aws.amazon.com/cloudwatch/pricing (standard alarms),
aws.amazon.com/aws-cost-management/aws-budgets/pricing. A region that is not
in the table is refused rather than guessed: add its row from the same pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PRICES_AS_OF = "2026-11"
HOURS_PER_MONTH = 730
#: Managed spot training against on-demand: AWS quotes "up to 90%"; 60-70% is
#: typical for ml.m5 in us-east-1, so the estimate takes 70%.
SPOT_DISCOUNT = 0.70


class UnknownPrice(ValueError):
    """A resource or instance type the table has no price for; the message names the file to extend."""


@dataclass(frozen=True)
class RegionPrices:
    interface_endpoint_per_az_hour: float
    kms_key_per_month: float
    ml_storage_per_gb_month: float
    alarm_per_month: float
    #: AWS Budgets: the first two budgets of an account cost nothing.
    budget_per_month: float
    #: SageMaker on-demand USD per instance-hour (notebook, processing, training and hosting share a row here).
    instance_per_hour: dict[str, float] = field(default_factory=dict)

    def instance(self, instance_type: str) -> float:
        try:
            return self.instance_per_hour[instance_type]
        except KeyError:
            raise UnknownPrice(
                f"no price for {instance_type}; add it to tools/cost/prices.py from aws.amazon.com/sagemaker/pricing"
            ) from None


PRICES: dict[str, RegionPrices] = {
    "us-east-1": RegionPrices(
        interface_endpoint_per_az_hour=0.01,
        kms_key_per_month=1.00,
        ml_storage_per_gb_month=0.14,
        alarm_per_month=0.10,
        budget_per_month=0.0,
        instance_per_hour={
            "ml.t3.medium": 0.05,
            "ml.t3.large": 0.10,
            "ml.m5.large": 0.115,
            "ml.m5.xlarge": 0.23,
            "ml.m5.2xlarge": 0.461,
            "ml.m5.4xlarge": 0.922,
            "ml.c5.xlarge": 0.204,
            "ml.c5.2xlarge": 0.408,
        },
    ),
}


def prices_for(region: str) -> RegionPrices:
    try:
        return PRICES[region]
    except KeyError:
        raise UnknownPrice(
            f"no prices for region {region}; add its row to tools/cost/prices.py (known: {sorted(PRICES)})"
        ) from None
