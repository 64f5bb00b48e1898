"""The emulator's request log: what the tests read to prove what the suite sent.

Tests use it to show that a run was read-only, or that a rejected login was never retried.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the emulator saw it.

    ``path`` is as requested (context path included); ``user`` is None for anonymous requests;
    ``status`` is 0 when a fault dropped the connection without an answer.
    """

    method: str
    path: str
    query: str
    user: str | None
    auth: str | None
    status: int
    login_failed: bool = False

    @property
    def mutating(self) -> bool:
        """True for any method that may change state (not GET/HEAD/OPTIONS)."""
        return self.method.upper() not in _READ_METHODS


class RequestLog:
    """Thread-safe append-only list of :class:`LoggedRequest` (the server is threaded)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []

    def append(self, entry: LoggedRequest) -> None:
        """Record one request."""
        with self._lock:
            self._entries.append(entry)

    @property
    def entries(self) -> list[LoggedRequest]:
        """A snapshot copy of every request so far, oldest first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget everything logged so far (e.g. after a test's set-up requests)."""
        with self._lock:
            self._entries.clear()

    def failed_logins(self) -> int:
        """How many requests were rejected logins (bad credentials or CAPTCHA denial)."""
        return sum(1 for e in self.entries if e.login_failed)

    def mutating(self) -> list[LoggedRequest]:
        """Requests whose method may change state."""
        return [e for e in self.entries if e.mutating]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
