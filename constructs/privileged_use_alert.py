"""An alert on every use of a privileged role: who assumed it, when, from where.

EventBridge receives STS's ``AssumeRole*`` calls and the console's role
switches as CloudTrail events ("AWS API Call via CloudTrail", "AWS Console
Sign In via CloudTrail"); each rule here matches the calls naming one of the
roles and tells the alert topic in one message. Failed attempts match too
(their ``error`` field says so): a refused try at break-glass is worth
knowing. CloudTrail must record management events (a trail with logging on,
in the region of the calls; the console's and the global STS endpoint's are
recorded in us-east-1), or EventBridge sees none of them.
"""

from __future__ import annotations

import json

from aws_cdk import aws_events as events
from constructs import Construct

#: STS calls that start a role session, whichever way the person signed in.
ASSUME_ROLE_CALLS = ("AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity")


def assume_role_pattern(role_arns: list[str]) -> dict:
    """CloudTrail's record of an STS call that starts a session of one of ``role_arns``."""
    return {
        "source": ["aws.sts"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {
            "eventSource": ["sts.amazonaws.com"],
            "eventName": list(ASSUME_ROLE_CALLS),
            "requestParameters": {"roleArn": list(role_arns)},
        },
    }


def console_switch_pattern(role_arns: list[str]) -> dict:
    """CloudTrail's record of a console user switching to one of ``role_arns``."""
    return {
        "source": ["aws.signin"],
        "detail-type": ["AWS Console Sign In via CloudTrail"],
        "detail": {"eventName": ["SwitchRole"], "additionalEventData": {"SwitchTo": list(role_arns)}},
    }


#: What each alert names, and where CloudTrail's event has it (per rule; missing paths stay empty).
_COMMON_PATHS = {
    "who": "$.detail.userIdentity.arn",
    "user": "$.detail.userIdentity.userName",
    "identity_type": "$.detail.userIdentity.type",
    "time": "$.detail.eventTime",
    "source_ip": "$.detail.sourceIPAddress",
    "user_agent": "$.detail.userAgent",
    "error": "$.detail.errorCode",
}
ASSUME_ROLE_PATHS = {
    **_COMMON_PATHS,
    "role": "$.detail.requestParameters.roleArn",
    "source_identity": "$.detail.requestParameters.sourceIdentity",
    "session": "$.detail.requestParameters.roleSessionName",
    "call": "$.detail.eventName",
}
CONSOLE_SWITCH_PATHS = {**_COMMON_PATHS, "role": "$.detail.additionalEventData.SwitchTo", "call": "$.detail.eventName"}


def alert_template(paths: dict[str, str]) -> str:
    """The message: a headline and every named field, as JSON (each placeholder quoted, so a field
    the event lacks leaves an empty string, never broken JSON)."""
    message = {"alert": "privileged role <role> assumed by <who> at <time>"}
    message |= {name: f"<{name}>" for name in paths}
    return json.dumps(message)


class PrivilegedUseAlert(Construct):
    """Two EventBridge rules that tell ``topic_arn`` whenever one of ``role_arns`` is assumed.

    :param role_arns: the privileged roles (administrator, key administrator, break-glass).
    :param topic_arn: the alert topic; its policy must let rules named ``rule_name_prefix*`` publish
        (``AlertTopic``), and its key must let EventBridge encrypt (``PlatformKey.allow_service``).
    :param rule_name_prefix: the rules are ``<prefix>privileged-role-assumed`` and ``...-console-switch``.
    """

    def __init__(self, scope: Construct, id: str, *, role_arns: list[str], topic_arn: str,
                 rule_name_prefix: str) -> None:
        super().__init__(scope, id)
        self.rules: dict[str, events.CfnRule] = {}
        for name, description, pattern, paths in (
            ("assumed", "An STS call assumed (or tried to assume) a privileged role",
             assume_role_pattern(role_arns), ASSUME_ROLE_PATHS),
            ("console-switch", "A console user switched (or tried to switch) to a privileged role",
             console_switch_pattern(role_arns), CONSOLE_SWITCH_PATHS),
        ):
            self.rules[name] = events.CfnRule(
                self,
                "Assumed" if name == "assumed" else "ConsoleSwitch",
                name=f"{rule_name_prefix}privileged-role-{name}",
                description=description,
                event_pattern=pattern,
                targets=[events.CfnRule.TargetProperty(
                    id="AlertTopic", arn=topic_arn,
                    input_transformer=events.CfnRule.InputTransformerProperty(
                        input_paths_map=dict(paths), input_template=alert_template(paths)),
                )],
            )
