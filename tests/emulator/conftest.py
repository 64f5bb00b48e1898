"""Helpers for the emulator self-tests: real HTTP over real sockets through the fixture."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from conformance.emulator import EmulatorServer

Emulator = Callable[..., EmulatorServer]  # the type of the ``jira_emulator`` fixture

BOT = ("visor-bot", "visor-bot-password")
ADMIN = ("admin", "admin")
TOKEN = "visor-bot-token"


@pytest.fixture
def http() -> requests.Session:
    """A plain session with a timeout-friendly adapter (no retries)."""
    s = requests.Session()
    s.headers["Accept"] = "application/json"
    return s


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
