"""`make cost`: the pricing rules on small templates, the README's tables against the tool, and bad input."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tools.cost.__main__ import main
from tools.cost.idle import idle_lines
from tools.cost.prices import PRICES, UnknownPrice, prices_for
from tools.cost.run import run_lines

US = PRICES["us-east-1"]


def _template(*resources: dict) -> dict:
    return {"Resources": {f"R{i}": r for i, r in enumerate(resources)}}


def _endpoint_config(variant: dict) -> dict:
    return {"Type": "AWS::SageMaker::EndpointConfig", "Properties": {"ProductionVariants": [variant]}}


def test_interface_endpoints_cost_per_az_and_gateway_endpoints_nothing() -> None:
    # GIVEN an interface endpoint in two subnets and a gateway endpoint
    interface = {"Type": "AWS::EC2::VPCEndpoint",
                 "Properties": {"VpcEndpointType": "Interface", "SubnetIds": ["a", "b"], "ServiceName": "x"}}
    gateway = {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"VpcEndpointType": "Gateway", "ServiceName": "s3"}}
    # WHEN priced THEN only the interface endpoint costs: 2 AZs x $0.01 x 730 h
    lines = idle_lines({"net": _template(interface, gateway)}, US)
    assert [(line.logical_id, line.usd_per_month) for line in lines] == [("R0", 14.60)]


def test_serverless_endpoints_cost_nothing_idle_and_instances_cost_around_the_clock() -> None:
    serverless = _endpoint_config({"ServerlessConfig": {"MaxConcurrency": 5, "MemorySizeInMB": 2048}})
    real_time = _endpoint_config({"InstanceType": "ml.m5.large", "InitialInstanceCount": 2})
    assert idle_lines({"s": _template(serverless)}, US)[0].usd_per_month == 0
    assert idle_lines({"s": _template(real_time)}, US)[0].usd_per_month == round(2 * 0.115 * 730, 2)


def test_an_autoscaling_floor_sets_the_idle_instance_count() -> None:
    real_time = _endpoint_config({"InstanceType": "ml.m5.large", "InitialInstanceCount": 3})
    floor = {"Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": {"MinCapacity": 1}}
    assert idle_lines({"s": _template(real_time, floor)}, US)[0].usd_per_month == round(0.115 * 730, 2)


def test_an_unknown_instance_type_names_the_file_to_extend() -> None:
    with pytest.raises(UnknownPrice, match=r"no price for ml\.p5\.48xlarge; add it to tools/cost/prices\.py"):
        idle_lines({"s": _template(_endpoint_config({"InstanceType": "ml.p5.48xlarge",
                                                      "InitialInstanceCount": 1}))}, US)


def test_an_unknown_region_is_refused_not_guessed() -> None:
    with pytest.raises(UnknownPrice, match=r"no prices for region ap-south-2; add its row"):
        prices_for("ap-south-2")


def test_a_run_prices_each_job_from_the_parameter_defaults_and_discounts_spot() -> None:
    # GIVEN a definition whose instance types are pipeline parameters
    definition = {
        "Parameters": [{"Name": "Type", "DefaultValue": "ml.m5.large"}, {"Name": "Jobs", "DefaultValue": 10}],
        "Steps": [
            {"Name": "Prep", "Type": "Processing", "Arguments": {"ProcessingResources": {"ClusterConfig": {
                "InstanceType": {"Get": "Parameters.Type"}, "InstanceCount": 2}}}},
            {"Name": "Tune", "Type": "Tuning", "Arguments": {
                "HyperParameterTuningJobConfig": {"ResourceLimits": {"MaxNumberOfTrainingJobs": {"Get":
                                                                                                "Parameters.Jobs"}}},
                "TrainingJobDefinition": {"ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
                                          "EnableManagedSpotTraining": True}}},
        ],
    }
    # WHEN priced at 6 minutes a job
    lines = {line.step: line for line in run_lines(definition, US, processing_minutes=6, trial_minutes=6)}
    # THEN processing is 2 instances for 0.1 h; tuning 10 trials at 30% of on-demand
    assert lines["Prep"].usd == pytest.approx(2 * 0.115 * 0.1)
    assert lines["Tune"].usd == pytest.approx(10 * 0.23 * 0.3 * 0.1)
    assert lines["Tune"].spot and lines["Tune"].jobs == 10


def test_the_readme_tables_are_what_the_tool_computes_from_the_templates() -> None:
    # The README's cost section is generated: `python -m tools.cost --write-readme`.
    assert main(["--check-readme"]) == 0


def test_bad_minutes_end_in_one_line() -> None:
    result = subprocess.run([sys.executable, "-m", "tools.cost", "--trial-minutes", "-1"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: --trial-minutes -1 must be a positive number of minutes, at most 44,640;"
                                     " see python -m tools.cost --help")
    assert "Traceback" not in result.stderr
