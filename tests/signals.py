"""Signals in self-tests, which may themselves run in the background.

A shell starts a background job (``pytest &`` in a script; some CI launchers do the same) with
SIGINT ignored, ``nohup`` ignores SIGHUP, and an ignored signal stays ignored across fork and
exec: Python then installs no KeyboardInterrupt handler, and a test that sends Ctrl-C would wait
for an interruption that never comes. So every child a test signals takes the signals back before
it starts (:func:`default_signals`), and a test that signals its own process takes SIGINT back
for its duration (:func:`sigint_raises`, the fixture of the same name in tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

SENT = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # the signals the self-tests send


def default_signals() -> None:
    """In a child before it execs (``preexec_fn=default_signals``, or after ``pty.fork``): the
    signals the tests send at their defaults, as in a terminal (Python turns SIGINT into
    KeyboardInterrupt again)."""
    for number in SENT:
        signal.signal(number, signal.SIG_DFL)


@contextlib.contextmanager
def sigint_raises() -> Iterator[None]:
    """SIGINT to this process raises KeyboardInterrupt, whatever it was before; put back after."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
