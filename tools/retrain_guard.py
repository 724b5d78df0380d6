"""The retraining guard run locally: the state machine's decision against a real DynamoDB API.

``stacks/retrain_guard.py`` builds the state machine; this module makes the
same ``PutItem`` with the same condition (the requests come from the same
functions) against any DynamoDB endpoint (the emulator in ``make demo`` and
the tests), then starts the pipeline through ``start`` and tells ``notify``,
as the state machine's next states do. Time is passed in, so a test can put
the second alarm inside the interval and the third after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from stacks.retrain_guard import lock_request, message, unlock_request

TABLE_KEY_SCHEMA = [{"AttributeName": "LockId", "KeyType": "HASH"}]
TABLE_ATTRIBUTES = [{"AttributeName": "LockId", "AttributeType": "S"}]


@dataclass(frozen=True)
class Decision:
    started: bool
    reason: str
    alarm: str
    message: str
    expires_at: int | None = None

    @property
    def verdict(self) -> str:
        return "started" if self.started else "suppressed"


def create_table(dynamodb, table: str) -> None:
    """The lock table as the monitoring stack declares it (key ``LockId``, on-demand)."""
    dynamodb.create_table(TableName=table, KeySchema=TABLE_KEY_SCHEMA, AttributeDefinitions=TABLE_ATTRIBUTES,
                          BillingMode="PAY_PER_REQUEST")


def decide(dynamodb, table: str, *, reason: str, alarm: str, now: int, interval_hours: int, holder: str,
           pipeline: str, start: Callable[[str], object], notify: Callable[[str], object] = print) -> Decision:
    """Take the lock or be suppressed; on the lock, ``start(reason)``; tell ``notify`` either way."""
    expires = now + interval_hours * 3600
    request = lock_request(table, now=str(now), expires=str(expires), reason=reason, alarm=alarm, holder=holder)
    try:
        dynamodb.put_item(**request)
    except dynamodb.exceptions.ConditionalCheckFailedException:
        text = message("suppressed", reason=reason, alarm=alarm, interval_hours=interval_hours, pipeline=pipeline)
        notify(text)
        return Decision(False, reason, alarm, text)
    try:
        start(reason)
    except BaseException:
        dynamodb.delete_item(**unlock_request(table, holder=holder))
        notify(f"retraining of {pipeline} did not start (alarm {alarm})")
        raise
    text = message("started", reason=reason, alarm=alarm, interval_hours=interval_hours, pipeline=pipeline)
    notify(text)
    return Decision(True, reason, alarm, text, expires)
