"""pytest plugin: the ``jira_emulator`` fixture factory for self-tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .server import EmulatorServer


@pytest.fixture
def jira_emulator() -> Iterator[Callable[..., EmulatorServer]]:
    """Factory: ``jira_emulator(scenario="dc-healthy", **kwargs)`` returns a started server on a
    free port; every server it started is stopped at teardown."""
    started: list[EmulatorServer] = []

    def factory(scenario: str = "dc-healthy", **kwargs: Any) -> EmulatorServer:
        server = EmulatorServer(scenario, **kwargs).start()
        started.append(server)
        return server

    yield factory
    for server in reversed(started):
        server.stop()
