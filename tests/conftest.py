import os
from collections.abc import Iterator

import pytest

# The emulator imports its TLS libraries when it first makes a certificate. Imported now, while
# the tests are collected: pytester forgets the modules a test imported when it ends, and
# cryptography imported a second time no longer recognises the classes of its first import
# ("curve must be an EllipticCurve instance" from the next TLS emulator on that worker).
import trustme  # noqa: F401
from cryptography import x509  # noqa: F401
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: F401
from hypothesis import settings

from tests import signals
from tests.runs import AS_USERS_RUN
from tests.servers import Counter, serve

pytest_plugins = ["pytester", "conformance.emulator.pytest_plugin", "fixtures.pytest_container"]

# Property tests check what comes out, never how fast: on a busy machine one example can take
# longer than hypothesis's default deadline of 200 ms, which is not a failure of the suite.
settings.register_profile("self-tests", deadline=None)
settings.load_profile("self-tests")

# Every child process a test starts runs pytest as users do (tests.runs.AS_USERS_RUN).
AS_USERS_RUN_ENV = " ".join(filter(None, [os.environ.get("PYTEST_ADDOPTS"), *AS_USERS_RUN]))
os.environ["PYTEST_ADDOPTS"] = AS_USERS_RUN_ENV


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester, whose children run pytest as users do too (pytester clears PYTEST_ADDOPTS, so
    that a developer's own options stay out; the change is undone with pytester's own, which
    shares this monkeypatch)."""
    monkeypatch.setenv("PYTEST_ADDOPTS", " ".join(AS_USERS_RUN))
    return pytester


@pytest.fixture
def sigint_raises() -> Iterator[None]:
    """For a test that sends SIGINT to its own process: a KeyboardInterrupt even when the
    self-tests run in the background, where SIGINT is ignored (tests/signals.py)."""
    with signals.sigint_raises():
        yield


@pytest.fixture
def counted() -> Iterator[tuple[str, Counter]]:
    """A local server that counts what it gets: its URL, and its :class:`Counter`."""
    counter = Counter()
    with serve(counter) as url:
        yield url, counter
