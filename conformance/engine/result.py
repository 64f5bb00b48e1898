"""The run's one result: decided once, when the run ends, and read by every output.

The exit code, the JSON result, the HTML page, the JUnit properties, the terminal's closing block
and last line, the compare section and the customer command all read one :class:`RunResult`;
none of them decides anything again. It is built by :func:`conclude` from facts of the run (what
was required, what ran, the interruption, whether the deadline stopped a row) and from the
evidence of the chain (who the instance and the bot are), never from the clock at the moment a
writer asks: a run whose every required row completed stays complete however long its cleanup
and reports take.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from conformance import codes
from conformance.check import CheckRecord, Outcome
from conformance.engine.verdict import RunState, RunVerdict, decide
from conformance.findings import Finding, explain
from conformance.http import RateLimitCounts
from conformance.probes import account, api
from conformance.profile import Profile
from conformance.secrets import Redactor
from conformance.settings import Settings

if TYPE_CHECKING:
    from conformance.handoff import Sealed
    from conformance.target import JiraTarget


@dataclass(frozen=True)
class Identity:
    """What the run learned about the instance and the bot (serverInfo and /myself evidence)."""

    base_url: str | None = None
    deployment_type: str | None = None
    version: str | None = None
    build_number: int | None = None
    bot_name: str | None = None
    bot_display_name: str | None = None
    bot_account_id: str | None = None


@dataclass(frozen=True)
class HttpTotals:
    """The HTTP layer's counters when the run ended, and how the bot's login went."""

    requests: int = 0
    failed_logins: int = 0
    mutating_requests: int = 0
    rate_limited: int = 0
    rate_limit: RateLimitCounts | None = None
    cut_too_slow: int = 0
    session_reused: int = 0
    # "proven": Jira accepted the bot's login in this run and did not refuse it later.
    login: Literal["unknown", "proven", "rejected"] = "unknown"

    @property
    def login_accepted(self) -> bool:
        return self.login == "proven"


@dataclass(frozen=True, eq=False)
class RunResult:
    """Everything the outputs say about one run. Immutable: built once, at the run's end."""

    url: str
    rows: tuple[CheckRecord, ...]
    verdict: RunVerdict
    identity: Identity
    http: HttpTotals
    settings: Settings
    profile: Profile
    redactor: Redactor  # what every writer scrubs its text with
    started_at: datetime
    duration_s: float
    proxy: str = "direct"
    notes: tuple[str, ...] = ()  # what the run says about itself (e.g. why -n was ignored)
    deadline_finding: Finding | None = None  # RUN_DEADLINE, when the deadline stopped a row
    # What the run's end did about the hand-over for Visor support (--jira-seal-for): set once,
    # after the JSON result it seals is written (handoff.seal_after_run); None when none was asked.
    handoff: Sealed | None = None

    @property
    def counts(self) -> dict[str, int]:
        """How many rows of each outcome, in the order of :class:`Outcome`."""
        counted = dict.fromkeys((o.value for o in Outcome), 0)
        for row in self.rows:
            counted[row.outcome.value] += 1
        return counted

    @property
    def strict_blockers(self) -> int:
        """Rows that a ``--jira-strict`` run does not accept: warnings and blocks."""
        return self.verdict.strict_blockers


def conclude(target: JiraTarget, state: RunState | None = None) -> RunResult:
    """The run's result from its rows and what happened to it. ``state`` None: every row the
    target holds was required and ran (report tests build results this way)."""
    state = state or RunState(required=[r.label for r in target.records])
    rows = tuple(target.records)
    verdict = decide(
        rows,
        state.required,
        strict=target.settings.strict,
        interrupted_by=state.interrupted_by,
        deadline_passed=state.deadline_passed,
        stopped_by=state.stopped_by,
    )
    counters = target.http.counters
    return RunResult(
        url=target.url,
        rows=rows,
        verdict=verdict,
        identity=identity_of(target),
        http=HttpTotals(
            requests=counters.requests,
            failed_logins=counters.failed_logins,
            mutating_requests=counters.mutating_requests,
            rate_limited=counters.rate_limited,
            rate_limit=counters.rate_limit_json(),
            cut_too_slow=counters.too_slow,
            session_reused=counters.session_reused,
            login=target.http.login_state,
        ),
        settings=target.settings,
        profile=target.profile,
        redactor=target.redactor,
        started_at=target.started_at,
        duration_s=target.elapsed_s(),
        proxy=target.http.proxy.describe(),
        notes=(*target.notices, *target.http.notes),
        deadline_finding=_deadline_finding(target, state, verdict),
    )


def identity_of(target: JiraTarget) -> Identity:
    """The instance and the bot as serverInfo and /myself described them (only the evidence the
    run already has: a report sends nothing)."""
    info = target.cached(api.server_info)
    me = target.cached(account.myself)
    server = (info.facts.get("body") if info is not None else None) or {}
    user = (me.facts.get("user") if me is not None and me.ok else None) or {}
    build = server.get("buildNumber")
    return Identity(
        base_url=_text(server.get("baseUrl")),
        deployment_type=_text(server.get("deploymentType")),
        version=_text(server.get("version")),
        build_number=build if isinstance(build, int) and not isinstance(build, bool) else None,
        bot_name=next(
            (v for k in ("name", "emailAddress", "accountId") if (v := _text(user.get(k)))), None
        ),
        bot_display_name=_text(user.get("displayName")),
        bot_account_id=_text(user.get("accountId")),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _deadline_finding(target: JiraTarget, state: RunState, verdict: RunVerdict) -> Finding | None:
    """The one RUN_DEADLINE finding of a run whose deadline stopped a row."""
    if not state.deadline_passed:
        return None
    deadline = target.settings.deadline_s
    return explain(
        codes.RunDeadline(
            deadline_s=deadline,
            not_run=len(verdict.not_run),
            suggested_s=max(deadline * 2, round(target.elapsed_s() * 3)),
        )
    )
