"""How a run meets signals: stop signals end it like Ctrl-C; a late one is held.

pytest-free, so that the engine's runners share it. SIGTERM and SIGHUP (a CI timeout or
cancellation, ``docker stop``, a closed terminal) would otherwise kill the process before the
safety net deletes the round trip's test issue and before the reports say the run is incomplete.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

STOP_SIGNALS = ("SIGTERM", "SIGHUP")


class StopSignals:
    """While trapped, a stop signal tells the run its name, then raises KeyboardInterrupt."""

    def __init__(self, on_signal: Callable[[str], None]) -> None:
        self.on_signal = on_signal
        self._previous: dict[int, Any] = {}

    def trap(self) -> None:
        """SIGTERM and SIGHUP, and Ctrl-C (SIGINT) unless the process was started with it
        ignored (a background job): the run learns which signal stopped it before the
        KeyboardInterrupt unwinds whatever it was doing, collection included."""
        names: tuple[str, ...] = STOP_SIGNALS
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            names = ("SIGINT", *names)
        for name in names:
            number = getattr(signal, name, None)
            if number is None:
                continue
            try:
                self._previous[number] = signal.signal(number, self._handler(name))
            except ValueError:  # not the main thread (pytest run inside another program)
                return

    def _handler(self, name: str) -> Callable[[int, FrameType | None], None]:
        def handler(_number: int, _frame: FrameType | None) -> None:
            self.on_signal(name)
            raise KeyboardInterrupt(name)

        return handler

    def restore(self) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        self._previous.clear()


HELD_SIGNALS = ("SIGINT", *STOP_SIGNALS)


class held_interrupts:
    """Ctrl-C, SIGTERM and SIGHUP while the safety net cleans up and the verdict and reports are
    written are held, not a traceback: every check has run by then, so the verdict stays what
    it is, and the cleanup and the reports are finished whole (``timeout``, CI cancellation and
    ``docker stop`` send SIGTERM, and often in the last seconds of a large run).

    A hold inside another changes nothing (the outer one holds, and records what arrives);
    ``received`` names each signal held."""

    def __init__(self) -> None:
        self.previous: dict[int, Any] = {}
        self.received: list[str] = []

    @property
    def held(self) -> int:
        return len(self.received)

    def __enter__(self) -> held_interrupts:
        current = signal.getsignal(signal.SIGINT)
        if isinstance(getattr(current, "__self__", None), held_interrupts):
            # Inside another hold: it holds already, and it is where a signal is recorded.
            self.received = current.__self__.received  # type: ignore[union-attr]
            return self
        for name in HELD_SIGNALS:
            number = getattr(signal, name, None)
            if number is None:
                continue
            try:
                self.previous[number] = signal.signal(number, self._hold)
            except ValueError:  # not the main thread
                break
        return self

    def _hold(self, number: int, _frame: FrameType | None) -> None:
        self.received.append(signal.Signals(number).name)

    def __exit__(self, *_exc: object) -> None:
        self.release()

    def ignore_to_the_exit(self) -> None:
        """The process is about to exit, its output and exit code decided: the held signals are
        ignored from now on. (The interpreter's finalisation puts a Python handler back to the
        default, which a signal in its last milliseconds would then kill with; an ignored
        signal stays ignored.)"""
        for number in list(self.previous):
            signal.signal(number, signal.SIG_IGN)

    def release(self) -> None:
        for number, previous in self.previous.items():
            signal.signal(number, previous if previous is not None else signal.SIG_DFL)
        self.previous.clear()


def process_is_pytests() -> bool:
    """Whether this process is the ``pytest`` command itself (its console entry point is on the
    stack), rather than a program that called ``pytest.main`` (the customer command, pytester):
    only then may the run keep its signals held until the process exits."""
    import _pytest.config as entry

    codes = {
        getattr(entry, name).__code__
        for name in ("_console_main", "console_main")  # pytest 9.1 renamed the real one
        if hasattr(getattr(entry, name, None), "__code__")
    }
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False
