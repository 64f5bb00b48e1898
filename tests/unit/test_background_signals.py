"""The self-tests' signal tests hold when the self-tests run in the background (tests/signals.py):
SIGINT and SIGHUP ignored here, as ``pytest &`` and ``nohup`` leave them, stay ignored in a
plain child, and are back at their defaults in a child started with ``default_signals``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from tests.signals import default_signals, sigint_raises

# What a Python child does on SIGINT and SIGHUP.
SHOW = (
    "import signal as s; said = {s.SIG_IGN: 'ignored', s.SIG_DFL: 'dies', "
    "s.default_int_handler: 'KeyboardInterrupt'}; "
    "print(*(said[s.getsignal(n)] for n in (s.SIGINT, s.SIGHUP)))"
)


@pytest.fixture
def as_in_the_background() -> Iterator[None]:
    """SIGINT and SIGHUP ignored in this process for the test, as a background job has them."""
    previous = {n: signal.signal(n, signal.SIG_IGN) for n in (signal.SIGINT, signal.SIGHUP)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def child_sees(preexec_fn: Callable[[], None] | None) -> str:
    return subprocess.run(
        [sys.executable, "-c", SHOW],
        preexec_fn=preexec_fn,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()


@pytest.mark.usefixtures("as_in_the_background")
def test_a_child_takes_back_the_signals_a_background_job_ignores() -> None:
    assert child_sees(None) == "ignored ignored"  # what the signal tests' children must undo
    assert child_sees(default_signals) == "KeyboardInterrupt dies"


@pytest.mark.usefixtures("as_in_the_background")
def test_sigint_to_this_process_raises_while_taken_back_and_is_ignored_again_after() -> None:
    with sigint_raises(), pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        signal.sigtimedwait([], 5)  # the handler runs at the latest when this wait returns
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
