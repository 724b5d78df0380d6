"""A local AWS emulator for CDK deploys: moto in server mode, patched, on loopback.

with Emulator() as emu:
    emu.bootstrap()
    result = emu.deploy(app_dir, stacks=["Data"], context={"env": "dev"})
    print(result.unemulated)
    emu.destroy(app_dir)

Failures are tools.cli ToolErrors with one-line messages: EmulatorError, EmulatorDied (the server
exited under a command; noticed within a fraction of a second) and CdkError.
"""

from tools.emulator.cdk import CdkError, DeployResult, bootstrap, deploy, destroy
from tools.emulator.core import Emulator, EmulatorDied, EmulatorError
from tools.emulator.report import format_report, unemulated_resources

__all__ = [
    "CdkError",
    "DeployResult",
    "Emulator",
    "EmulatorDied",
    "EmulatorError",
    "bootstrap",
    "deploy",
    "destroy",
    "format_report",
    "unemulated_resources",
]
