"""The run's view of one Jira: settings, the HTTP layer, the profile, and the probe cache.

``JiraTarget`` is what the public ``jira`` fixture hands to checks. Probes run at most once per
run (cached by probe and arguments); independent ones can be fetched concurrently with
``prefetch`` through the HTTP layer's gate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec

from conformance.evidence import Evidence
from conformance.http import JiraHttp
from conformance.secrets import Redactor
from conformance.settings import Settings

if TYPE_CHECKING:
    from conformance.check import CheckRecord
    from conformance.engine.fetch_process import FetchProcess
    from conformance.engine.verdict import RunState
    from conformance.handoff import Sealed
    from conformance.profile import Profile

P = ParamSpec("P")
Probe = Callable[Concatenate["JiraTarget", P], Evidence]
ProbeKey = tuple[Any, ...]  # a probe and its arguments: what the cache holds evidence under


class JiraTarget:
    def __init__(
        self,
        settings: Settings,
        redactor: Redactor,
        profile: Profile,
        *,
        http: JiraHttp | None = None,
    ) -> None:
        self.settings = settings
        self.redactor = redactor
        self.profile = profile
        self.http = http or JiraHttp(
            settings, redactor, allow_writes=settings.write_project is not None
        )
        self.started_at = datetime.now(UTC)
        self.started_monotonic = time.monotonic()
        self.records: list[CheckRecord] = []  # the run's rows, in the order they were judged
        # What the run learned about the instance and the bot (serverInfo, /myself), for reports.
        self.identity: dict[str, Any] = {}
        # Lines the run says about itself in the terminal header (e.g. why -n was ignored).
        self.notices: list[str] = []
        # What happened to the run as a whole (set by the engine's Run): interrupted, deadline.
        self.run_state: RunState | None = None
        # What the end of the run did about the hand-over for Visor support (--jira-seal-for).
        self.handoff: Sealed | None = None
        # While a fetch process sends for this run, probes run there (engine/fetch_process.py).
        self.remote: FetchProcess | None = None
        # In a fetch process: told of each new evidence, which it sends to the run's process.
        self.on_evidence: Callable[[ProbeKey, Evidence], None] | None = None
        self._cache: dict[ProbeKey, Evidence] = {}
        self._locks: dict[ProbeKey, threading.Lock] = {}
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.settings.url

    @staticmethod
    def probe_key(fn: Callable[..., Evidence], args: tuple[Any, ...]) -> ProbeKey:
        return (fn.__module__, fn.__qualname__, args)

    def probe(self, fn: Probe[P], *args: P.args, **kwargs: P.kwargs) -> Evidence:
        """Run ``fn`` once per run for these arguments; later calls get the same evidence."""
        if kwargs:  # probes take their arguments by position, so that a fetch process can too
            raise TypeError(f"probe {fn.__qualname__} called with keyword arguments")
        key = self.probe_key(fn, args)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._cache:
                remote = self.remote
                evidence = remote.fetch(key, fn, args) if remote and remote.takes(fn) else None
                if evidence is None:
                    evidence = fn(self, *args, **kwargs)
                self._cache[key] = evidence
                if self.on_evidence is not None:
                    self.on_evidence(key, evidence)
            return self._cache[key]

    def adopt_evidence(self, key: ProbeKey, evidence: Evidence) -> None:
        """Evidence a fetch process sent: cached as if the probe had run here."""
        with self._lock:
            self._cache.setdefault(key, evidence)

    def cached(self, fn: Callable[..., Evidence], *args: Any) -> Evidence | None:
        """The evidence of a probe if it already ran (reports must not send requests)."""
        return self._cache.get(self.probe_key(fn, args))

    def prefetch(self, fn: Callable[..., Evidence], arguments: Iterable[tuple[Any, ...]]) -> None:
        """Run one probe for many arguments concurrently (bounded by --jira-concurrency)."""
        pending = [args for args in arguments if self.cached(fn, *args) is None]
        if len(pending) <= 1:
            for args in pending:
                self.probe(fn, *args)
            return
        workers = min(self.settings.concurrency, len(pending))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe") as pool:
            list(pool.map(lambda args: self.probe(fn, *args), pending))

    def record(self, check_id: str, project: str | None = None) -> CheckRecord | None:
        """The row of a check (for one project), if it was judged; the last one wins."""
        return next(
            (r for r in reversed(self.records) if r.id == check_id and r.project == project), None
        )

    def elapsed_s(self) -> float:
        return time.monotonic() - self.started_monotonic

    def close(self) -> None:
        self.http.close()
