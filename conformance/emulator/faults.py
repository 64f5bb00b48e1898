"""Fault injection: chosen endpoints answer an error, or the connection is dropped."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fault:
    """Make matching requests fail.

    ``path`` is a regex matched with ``re.search`` against the path after the context path;
    ``method`` is an HTTP method or ``*``. ``drop=True`` closes the connection without an answer.
    ``times=None`` applies to every matching request, otherwise only to the first N.
    """

    method: str
    path: str
    status: int | None = 500
    drop: bool = False
    times: int | None = None

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """Parse the CLI form ``"METHOD PATH=STATUS"`` or ``"METHOD PATH=drop"``.

        An optional ``xN`` suffix limits the fault to the first N requests
        (``"GET /rest/api/2/myself=503x2"``).
        """
        left, sep, right = spec.rpartition("=")
        if not sep or " " not in left.strip():
            raise ValueError(f"bad fault {spec!r}: expected 'METHOD PATH=STATUS|drop'")
        method, path = left.strip().split(None, 1)
        right = right.strip().lower()
        times: int | None = None
        m = re.fullmatch(r"(drop|\d{3})(?:x(\d+))?", right)
        if not m:
            raise ValueError(f"bad fault {spec!r}: status must be a 3-digit code or 'drop'")
        if m.group(2):
            times = int(m.group(2))
        if m.group(1) == "drop":
            return cls(method.upper(), path.strip(), None, True, times)
        return cls(method.upper(), path.strip(), int(m.group(1)), False, times)


@dataclass
class _Armed:
    fault: Fault
    regex: re.Pattern[str]
    used: int = 0


@dataclass
class FaultSet:
    """The faults of one server, with the per-fault use counters that ``times`` needs."""

    faults: list[_Armed] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, faults: object) -> FaultSet:
        """Build from an iterable of :class:`Fault` (or CLI strings)."""
        armed = []
        for f in faults or ():  # type: ignore[attr-defined]
            fault = Fault.parse(f) if isinstance(f, str) else f
            armed.append(_Armed(fault, re.compile(fault.path)))
        return cls(armed)

    def match(self, method: str, path: str) -> Fault | None:
        """The first fault that fires for this request, consuming one of its ``times``."""
        with self._lock:
            for a in self.faults:
                if a.fault.method not in ("*", method.upper()):
                    continue
                if not a.regex.search(path):
                    continue
                if a.fault.times is not None and a.used >= a.fault.times:
                    continue
                a.used += 1
                return a.fault
        return None
