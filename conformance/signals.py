"""How a run meets signals: stop signals end it like Ctrl-C; a late Ctrl-C is held.

pytest-free, so that the engine's runners share it. SIGTERM and SIGHUP (a CI timeout or
cancellation, ``docker stop``, a closed terminal) would otherwise kill the process before the
safety net deletes the round trip's test issue and before the reports say the run is incomplete.
"""

from __future__ import annotations

import signal
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


class held_interrupts:
    """Ctrl-C while the safety net cleans up and the verdict and reports are written is held,
    not a traceback: every check has run by then, so the verdict stays what it is, and the
    cleanup and the reports are finished whole."""

    def __init__(self) -> None:
        self.previous: Any = None
        self.held = 0

    def __enter__(self) -> None:
        try:
            self.previous = signal.signal(signal.SIGINT, self._hold)
        except ValueError:  # not the main thread
            self.previous = None

    def _hold(self, _number: int, _frame: FrameType | None) -> None:
        self.held += 1

    def __exit__(self, *_exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
