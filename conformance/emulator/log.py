"""The emulator's request log: what the tests read to prove what the suite sent.

Tests use it to show that a run was read-only, or that a rejected login was never retried.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from dataclasses import dataclass

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the emulator saw it.

    ``path`` is as requested (context path included); ``user`` is None for anonymous requests;
    ``status`` is 0 when a fault dropped the connection without an answer; ``seq`` is the
    request's place in the order of arrival (the log is kept in that order, not the order in
    which answers were finished: a dropped connection's request may be logged after the next).
    """

    method: str
    path: str
    query: str
    user: str | None
    auth: str | None
    status: int
    login_failed: bool = False
    seq: int = 0
    arrived: float = 0.0  # time.monotonic() when the request arrived (benchmarks time phases)

    @property
    def mutating(self) -> bool:
        """True for any method that may change state (not GET/HEAD/OPTIONS)."""
        return self.method.upper() not in _READ_METHODS


class RequestLog:
    """Thread-safe append-only list of :class:`LoggedRequest` (the server is threaded)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []
        self._arrivals = itertools.count(1)
        self._in_flight = 0
        self.max_in_flight = 0  # the most requests arrived and not yet answered, at any time

    def arrived(self) -> int:
        """A request arrived: its sequence number (pass it as ``seq`` when it is logged)."""
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            return next(self._arrivals)

    def append(self, entry: LoggedRequest) -> None:
        """Record one request, in its place by order of arrival: its answer is on its way."""
        with self._lock:
            self._in_flight -= 1
            bisect.insort(self._entries, entry, key=lambda e: e.seq)

    @property
    def entries(self) -> list[LoggedRequest]:
        """A snapshot copy of every request so far, oldest first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget everything logged so far (e.g. after a test's set-up requests)."""
        with self._lock:
            self._entries.clear()
            self.max_in_flight = self._in_flight

    def failed_logins(self) -> int:
        """How many requests were rejected logins (bad credentials or CAPTCHA denial)."""
        return sum(1 for e in self.entries if e.login_failed)

    def mutating(self) -> list[LoggedRequest]:
        """Requests whose method may change state."""
        return [e for e in self.entries if e.mutating]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
