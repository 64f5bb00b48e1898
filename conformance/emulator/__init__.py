"""A faithful Jira REST v2 emulator with scenarios and fault injection.

The suite's everyday self-test target, the zero-set-up demo (``pytest --jira-demo``) and the way
support reproduces a customer's situation locally::

    from conformance.emulator import EmulatorServer, SCENARIOS, Fault
    with EmulatorServer("dc-healthy") as server:
        print(server.url)
"""

from .faults import Fault
from .log import LoggedRequest, RequestLog
from .scenarios import (
    ADMIN_PASSWORD,
    ADMIN_TOKEN,
    ADMIN_USER,
    BOT_EMAIL,
    BOT_PASSWORD,
    BOT_TOKEN,
    BOT_USER,
    SCENARIOS,
)
from .server import EmulatorServer

__all__ = [
    "ADMIN_PASSWORD",
    "ADMIN_TOKEN",
    "ADMIN_USER",
    "BOT_EMAIL",
    "BOT_PASSWORD",
    "BOT_TOKEN",
    "BOT_USER",
    "SCENARIOS",
    "EmulatorServer",
    "Fault",
    "LoggedRequest",
    "RequestLog",
]
