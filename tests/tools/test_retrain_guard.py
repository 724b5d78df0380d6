"""The retraining guard's decision against DynamoDB (moto's), with the state machine's own requests."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from stacks import retrain_guard
from tools.retrain_guard import create_table, decide

TABLE = "mlp-dev-retrain-lock"
HOUR = 3600
T0 = 1_796_000_000  # epoch seconds


@pytest.fixture
def dynamodb(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")  # moto's; never a real credential
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, TABLE)
        yield client


def _decide(dynamodb, now: int, reason: str = "drift", started: list | None = None, told: list | None = None):
    started = [] if started is None else started
    told = [] if told is None else told
    return decide(dynamodb, TABLE, reason=reason, alarm=f"mlp-dev-monitoring-{reason}", now=now, interval_hours=24,
                  holder=f"exec-{now}", pipeline="mlp-dev-xgboost-training", start=started.append,
                  notify=told.append)


def test_first_alarm_starts_a_second_inside_the_interval_is_suppressed_and_one_after_it_starts(dynamodb) -> None:
    # GIVEN no retraining yet
    started, told = [], []
    # WHEN the drift alarm fires, then the quality alarm an hour later, then drift again 25 hours after the first
    first = _decide(dynamodb, T0, "drift", started, told)
    second = _decide(dynamodb, T0 + HOUR, "quality", started, told)
    third = _decide(dynamodb, T0 + 25 * HOUR, "drift", started, told)
    # THEN one retraining per interval started, each with its reason, and the topic heard every decision
    assert [d.verdict for d in (first, second, third)] == ["started", "suppressed", "started"]
    assert started == ["drift", "drift"]
    assert len(told) == 3 and told[1].startswith("retraining suppressed: alarm mlp-dev-monitoring-quality")
    item = dynamodb.get_item(TableName=TABLE, Key={"LockId": {"S": retrain_guard.LOCK_ID}})["Item"]
    assert item["ExpiresAt"]["N"] == str(T0 + 25 * HOUR + 24 * HOUR)


def test_a_flapping_alarm_starts_one_retraining(dynamodb) -> None:
    started: list = []
    verdicts = [_decide(dynamodb, T0 + minute * 60, started=started).verdict for minute in range(0, 600, 5)]
    assert verdicts.count("started") == 1 and started == ["drift"]


def test_the_lock_expires_exactly_at_the_interval(dynamodb) -> None:
    _decide(dynamodb, T0)
    assert _decide(dynamodb, T0 + 24 * HOUR).verdict == "suppressed"  # ExpiresAt < now is strict
    assert _decide(dynamodb, T0 + 24 * HOUR + 1).verdict == "started"


def test_a_failed_start_releases_the_lock_and_says_so(dynamodb) -> None:
    told: list = []

    def refuse(reason: str) -> None:
        raise RuntimeError("ResourceLimitExceeded")

    with pytest.raises(RuntimeError):
        decide(dynamodb, TABLE, reason="drift", alarm="a", now=T0, interval_hours=24, holder="x",
               pipeline="p", start=refuse, notify=told.append)
    assert told == ["retraining of p did not start (alarm a)"]
    assert _decide(dynamodb, T0 + 60).verdict == "started"


def test_the_local_guard_sends_the_state_machines_lock_request() -> None:
    # The state machine's Lock arguments, with its JSONata replaced by the values the local guard uses.
    machine = retrain_guard.state_machine_definition(table=TABLE, pipeline_name="p", topic_arn="t", interval_hours=2)
    arguments = machine["States"]["Lock"]["Arguments"]
    local = retrain_guard.lock_request(TABLE, now="N", expires="E", reason="R", alarm="A", holder="H")
    assert arguments["ConditionExpression"] == local["ConditionExpression"]
    assert set(arguments["Item"]) == set(local["Item"])
    assert arguments["Item"]["ExpiresAt"]["N"] == "{% $string($nowSeconds + 7200) %}"
