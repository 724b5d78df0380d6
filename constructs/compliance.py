"""The compliance gates: four cdk-nag packs, and how exceptions to them are recorded."""

from __future__ import annotations

import importlib
import weakref

import aws_cdk as cdk
from constructs import IConstruct

#: Pack name (the rule-id prefix) -> the name of its class in ``cdk_nag``.
#: ``cdk_nag`` is imported only where a pack is added: importing it loads its
#: assembly into jsii's Node process, and importing this module (every stack
#: does) sends nothing to Node, so app.py can import the stacks while Node is busy.
NAG_PACKS = {
    "AwsSolutions": "AwsSolutionsChecks",
    "HIPAA.Security": "HIPAASecurityChecks",
    "NIST.800.53.R5": "NIST80053R5Checks",
    "PCI.DSS.321": "PCIDSS321Checks",
}
#: The three regulatory packs share rule names for the same controls.
COMPLIANCE_PACKS = ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
MIN_REASON_LENGTH = 40


def add_nag_packs(app: cdk.App) -> None:
    """Register every pack; any unacknowledged finding, warning or error, fails synth.

    Acknowledgements are also written into each resource's template metadata
    (``cdk_nag.rules_to_suppress``) so that auditors reading the templates see
    every exception and its reason.
    """
    cdk_nag = importlib.import_module("cdk_nag")
    cdk.Validations.of(app).add_plugins(
        *(getattr(cdk_nag, pack)(app, write_suppressions_to_cloud_formation=True) for pack in NAG_PACKS.values())
    )


def acknowledge(
    scope: IConstruct, finding: str, reason: str, *, packs: tuple[str, ...] = ("AwsSolutions",)
) -> None:
    """Acknowledge one exact finding on the narrowest construct, in each named pack.

    ``finding`` is a rule name with an optional finding id, e.g. ``IAM5[Resource::*]``
    or ``S3BucketReplicationEnabled``; the pack prefix is added here so that one
    reason covers the same control in every pack that has it.
    """
    if len(reason) < MIN_REASON_LENGTH:
        raise ValueError(f"acknowledging {finding} needs a reason a security reviewer can check: {reason!r}")
    unknown = [pack for pack in packs if pack not in NAG_PACKS]
    if unknown:
        raise ValueError(f"unknown nag pack {unknown[0]!r}; expected one of {sorted(NAG_PACKS)}")
    # One call for every pack, on one Validations per construct: each call is a
    # round trip to the jsii runtime (synth time), and a role's policy takes a
    # dozen acknowledgements (94 on 29 constructs: 65 round trips fewer).
    _validations(scope).acknowledge(
        *(cdk.Acknowledgment(id=f"{pack}-{finding}", reason=reason) for pack in packs)
    )


#: Each construct's Validations, for as long as the construct lives (tests build many apps in one process).
_VALIDATIONS: weakref.WeakKeyDictionary[IConstruct, cdk.Validations] = weakref.WeakKeyDictionary()


def _validations(scope: IConstruct) -> cdk.Validations:
    validations = _VALIDATIONS.get(scope)
    if validations is None:
        validations = _VALIDATIONS[scope] = cdk.Validations.of(scope)
    return validations
