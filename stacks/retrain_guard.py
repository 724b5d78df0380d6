"""The retraining guard's state machine (Amazon States Language, JSONata) and the requests it makes.

An alarm on the monitoring figures reaches the guard through an EventBridge
rule; the guard lets at most one retraining start per interval however often
the alarm flaps:

1. ``Lock``: DynamoDB ``PutItem`` of the one lock item with
   ``ExpiresAt = now + interval``, on condition :data:`LOCK_CONDITION` (no lock,
   or the last one expired). A failed condition means a retraining started less
   than an interval ago: ``NotifySuppressed`` tells the alert topic, and the
   execution ends.
2. ``StartRetraining``: ``StartPipelineExecution`` of the training pipeline with
   ``RetrainReason`` = the alarm's reason (drift, quality).
3. ``NotifyStarted`` tells the alert topic; a failed start releases the lock
   (``Unlock``, conditional on this execution still holding it), tells the
   topic and fails the execution.

The requests are built by :func:`lock_request` and friends from values that
are JSONata expressions in the state machine and plain values in
``tools/retrain_guard.py``, the local guard the demo and tests run against
DynamoDB, so both make the same decision with the same condition.
"""

from __future__ import annotations

from typing import Any

LOCK_ID = "retraining"
#: The decision: take the lock when nobody holds it or the holder's interval is over.
LOCK_CONDITION = "attribute_not_exists(LockId) OR ExpiresAt < :now"
CONDITION_FAILED = "DynamoDB.ConditionalCheckFailedException"
RETRAIN_REASON_PARAMETER = "RetrainReason"
#: What the EventBridge rule passes to the state machine (its input transformer's template).
INPUT_FIELDS = ("reason", "alarm", "time")


def lock_request(table: str, *, now: Any, expires: Any, reason: Any, alarm: Any, holder: Any) -> dict:
    """The conditional PutItem that takes the lock (times are epoch seconds, as DynamoDB numbers)."""
    return {
        "TableName": table,
        "Item": {
            "LockId": {"S": LOCK_ID},
            "ExpiresAt": {"N": expires},
            "Reason": {"S": reason},
            "Alarm": {"S": alarm},
            "Holder": {"S": holder},
        },
        "ConditionExpression": LOCK_CONDITION,
        "ExpressionAttributeValues": {":now": {"N": now}},
    }


def unlock_request(table: str, *, holder: Any) -> dict:
    """Release the lock after a failed start, only if this execution still holds it."""
    return {
        "TableName": table,
        "Key": {"LockId": {"S": LOCK_ID}},
        "ConditionExpression": "Holder = :me",
        "ExpressionAttributeValues": {":me": {"S": holder}},
    }


def start_request(pipeline_name: str, *, reason: Any, description: Any, request_id: Any) -> dict:
    """``request_id`` makes a retried call start no second execution (the execution's name: a UUID when
    EventBridge starts it, within the 32-128 characters SageMaker takes)."""
    return {
        "PipelineName": pipeline_name,
        "ClientRequestToken": request_id,
        "PipelineExecutionDescription": description,
        "PipelineParameters": [{"Name": RETRAIN_REASON_PARAMETER, "Value": reason}],
    }


def message(decision: str, *, reason: str, alarm: str, interval_hours: int, pipeline: str) -> str:
    """What the alert topic is told (the state machine builds the same text with JSONata)."""
    if decision == "started":
        return f"retraining started: {pipeline} with RetrainReason={reason} (alarm {alarm})"
    return (f"retraining suppressed: alarm {alarm} ({reason}) came within {interval_hours} h of the last retraining"
            " started by an alarm")


def _jsonata_message(decision: str, interval_hours: int, pipeline: str) -> str:
    if decision == "started":
        return (f"{{% 'retraining started: {pipeline} with RetrainReason=' & $reason & ' (alarm ' & $alarm"
                " & ')' %}")
    return (f"{{% 'retraining suppressed: alarm ' & $alarm & ' (' & $reason & ') came within {interval_hours} h of"
            " the last retraining started by an alarm' %}")


def state_machine_definition(*, table: str, pipeline_name: str, topic_arn: str, interval_hours: int) -> dict:
    """The guard as an ASL document (JSONata); no Lambda function anywhere."""
    interval = interval_hours * 3600
    holder = "{% $states.context.Execution.Id %}"

    def notify(decision: str, then: dict) -> dict:
        return {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Arguments": {
                "TopicArn": topic_arn,
                "Subject": f"ML platform: retraining {decision}",
                "Message": _jsonata_message(decision, interval_hours, pipeline_name),
            },
            **then,
        }

    return {
        "Comment": f"At most one retraining of {pipeline_name} per {interval_hours} h, started by monitoring alarms",
        "QueryLanguage": "JSONata",
        "StartAt": "Now",
        "States": {
            "Now": {
                "Type": "Pass",
                "Assign": {
                    "nowSeconds": "{% $floor($millis() / 1000) %}",
                    "reason": "{% $states.input.reason %}",
                    "alarm": "{% $states.input.alarm %}",
                },
                "Next": "Lock",
            },
            "Lock": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Arguments": lock_request(
                    table,
                    now="{% $string($nowSeconds) %}",
                    expires=f"{{% $string($nowSeconds + {interval}) %}}",
                    reason="{% $reason %}",
                    alarm="{% $alarm %}",
                    holder=holder,
                ),
                "Catch": [{"ErrorEquals": [CONDITION_FAILED], "Next": "NotifySuppressed"}],
                "Next": "StartRetraining",
            },
            "StartRetraining": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sagemaker:startPipelineExecution",
                "Arguments": start_request(
                    pipeline_name,
                    reason="{% $reason %}",
                    description="{% 'Started by alarm ' & $alarm %}",
                    request_id="{% $states.context.Execution.Name %}",
                ),
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Unlock"}],
                "Next": "NotifyStarted",
            },
            "NotifyStarted": notify("started", {"End": True}),
            "NotifySuppressed": notify("suppressed", {"End": True}),
            "Unlock": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:deleteItem",
                "Arguments": unlock_request(table, holder=holder),
                "Next": "NotifyFailed",
            },
            "NotifyFailed": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Arguments": {
                    "TopicArn": topic_arn,
                    "Subject": "ML platform: retraining failed to start",
                    "Message": f"{{% 'retraining of {pipeline_name} did not start (alarm ' & $alarm & ')' %}}",
                },
                "Next": "StartFailed",
            },
            "StartFailed": {"Type": "Fail", "Error": "RetrainingNotStarted", "Cause": "StartPipelineExecution failed"},
        },
    }
