"""The run's view of one Jira: settings, the HTTP layer, the profile, and the probe cache.

``JiraTarget`` is what the public ``jira`` fixture hands to checks. Probes run at most once per
run (cached by probe and arguments); independent ones can be fetched concurrently with
``prefetch`` through the HTTP layer's gate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from conformance.diagnosis import cloud_login
from conformance.evidence import Evidence
from conformance.findings import explain
from conformance.http import JiraHttp
from conformance.secrets import Redactor
from conformance.settings import Settings

if TYPE_CHECKING:
    from conformance.check import CheckRecord
    from conformance.profile import Profile

P = ParamSpec("P")
F = TypeVar("F", bound=Mapping[str, object])
Probe = Callable[Concatenate["JiraTarget", P], Evidence[F]]
ProbeKey = tuple[Any, ...]  # a probe and its arguments: what the cache holds evidence under


def settings_notices(settings: Settings) -> list[str]:
    """What the settings alone show is wrong, said before the first request: a Cloud URL with a
    user name that is not an e-mail address (the catalogue's words)."""
    not_email = cloud_login(settings.url, settings.credentials)
    return [explain(not_email).summary] if not_email is not None else []


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
        # Lines the run says about itself in the terminal header (e.g. why -n was ignored),
        # from the settings alone, before anything is sent.
        self.notices: list[str] = settings_notices(settings)
        self._cache: dict[ProbeKey, Evidence[Any]] = {}
        self._locks: dict[ProbeKey, threading.Lock] = {}
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.settings.url

    @staticmethod
    def probe_key(fn: Callable[..., Evidence[Any]], args: tuple[Any, ...]) -> ProbeKey:
        return (fn.__module__, fn.__qualname__, args)

    def probe(self, fn: Probe[P, F], *args: P.args, **kwargs: P.kwargs) -> Evidence[F]:
        """Run ``fn`` once per run for these arguments; later calls get the same evidence."""
        key = self.probe_key(fn, (*args, *sorted(kwargs.items())))
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._cache:
                self._cache[key] = fn(self, *args, **kwargs)
            evidence: Evidence[F] = self._cache[key]
            return evidence

    def cached(self, fn: Callable[..., Evidence[F]], *args: Any) -> Evidence[F] | None:
        """The evidence of a probe if it already ran (reports must not send requests)."""
        evidence: Evidence[F] | None = self._cache.get(self.probe_key(fn, args))
        return evidence

    def prefetch(
        self, fn: Callable[..., Evidence[Any]], arguments: Iterable[tuple[Any, ...]]
    ) -> None:
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
