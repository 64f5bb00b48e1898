"""Ctrl-C after the last check (while the cleanup and the reports are written) is held."""

from __future__ import annotations

import os
import signal

from conformance.engine.run import Run
from conformance.signals import held_interrupts
from tests.unit.test_engine import make_target


def test_a_late_ctrl_c_is_held_and_the_verdict_stays() -> None:
    run = Run(make_target(), [])
    before = signal.getsignal(signal.SIGINT)
    guard = held_interrupts()
    with guard:
        os.kill(os.getpid(), signal.SIGINT)  # a real signal to this process
        os.kill(os.getpid(), signal.SIGINT)
    assert guard.held == 2
    assert run.state.interrupted_by is None  # the run had completed: no verdict changes
    assert signal.getsignal(signal.SIGINT) is before
