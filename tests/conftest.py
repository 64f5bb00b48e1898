from collections.abc import Iterator

import pytest

from tests import signals

pytest_plugins = ["pytester", "conformance.emulator.pytest_plugin", "fixtures.pytest_container"]


@pytest.fixture
def sigint_raises() -> Iterator[None]:
    """For a test that sends SIGINT to its own process: a KeyboardInterrupt even when the
    self-tests run in the background, where SIGINT is ignored (tests/signals.py)."""
    with signals.sigint_raises():
        yield
