"""Evidence: plain data about what was observed, and the HTTP exchanges that show it.

Probes produce evidence; checks judge it; reports show it. Nothing here talks to the network.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, Literal, TypedDict, TypeVar, cast, get_args

from conformance.findings import Diagnosis

BODY_EXCERPT_CHARS = 2000

# Response headers worth keeping: the ones that explain a failure.
DIAGNOSTIC_HEADERS = (
    "Content-Type",
    "Location",
    "X-AUSERNAME",
    "X-AACCOUNTID",
    "X-Seraph-LoginReason",
    "X-Authentication-Denied-Reason",
    "WWW-Authenticate",
    "Proxy-Authenticate",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Interval-Seconds",
    "X-RateLimit-FillRate",
    "X-RateLimit-Reset",
    "RateLimit-Reason",
    "X-AREQUESTID",
    "X-ASESSIONID",
    "X-ANODEID",
    "ATL-TraceId",
    "Server",
    "Via",
    # What a proxy, load balancer or firewall says of itself (classify.who_answered).
    "X-Squid-Error",
    "X-Cache",
    "CF-RAY",
    "X-Iinfo",
    "X-Zscaler-Transaction-Id",
)


@dataclass(frozen=True)
class Reading:
    """How the suite read one answer: judged by the classifier from the whole answer as it came,
    before anything was redacted, by the probe that received it. A check reads this and never
    judges the redacted copy in ``Exchange`` again (a secret such as ``true`` or ``null``,
    masked in the copy, would turn Jira's JSON into something else)."""

    kind: str  # a classify.Kind value
    diagnosis: Diagnosis | None  # None: the answer is what was asked for
    detail: str  # a short phrase for notes, e.g. "Jira's login page"


@dataclass
class Exchange:
    """One HTTP request and what came back (or why nothing did), with secrets removed."""

    method: str
    url: str
    status: int | None = None
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body_excerpt: str = ""
    body_truncated: bool = False
    elapsed_ms: float = 0.0
    error: str | None = None  # transport failure, e.g. "ConnectTimeout: ..."
    auth_scheme: str | None = None  # "basic" / "bearer" / None (anonymous)
    user: str | None = None
    proxy: str | None = None
    request_json: Any = None
    attempt: int = 1
    # The run had already seen the bot's login accepted when this request was sent: a refusal
    # now is a lost login (a rotated password), not a wrong one.
    login_proven: bool = False
    # The first attempt met a reset of a kept-alive connection before any answer, and the
    # request was sent once more on a new connection (``JiraHttp._request``).
    reconnected: bool = False
    # Set by the probe that judged the answer (``probes.api.judged_result``).
    reading: Reading | None = field(default=None, compare=False)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "method": self.method,
            "url": self.url,
            "status": self.status,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "auth": self.auth_scheme,
        }
        if self.headers:
            data["headers"] = dict(self.headers)
        if self.error:
            data["error"] = self.error
        if self.body_excerpt:
            data["body"] = self.body_excerpt
        return data

    def curl(self) -> str:
        """A command that repeats this request, with the secret left as a shell variable."""
        parts = ["curl -sS -i"]
        if self.method != "GET":
            parts.append(f"-X {self.method}")
        if self.auth_scheme == "basic":
            parts.append(f'-u "{_dq(self.user or "BOT_USER")}:$JIRA_PASSWORD"')
        elif self.auth_scheme == "bearer":
            parts.append('-H "Authorization: Bearer $JIRA_TOKEN"')
        if self.request_json is not None:
            parts.append("-H 'Content-Type: application/json'")
            parts.append(f"--data {shlex.quote(json.dumps(self.request_json))}")
        parts.append(shlex.quote(self.url))
        return " ".join(parts)


def _dq(text: str) -> str:
    """Escape for a double-quoted shell word."""
    return "".join("\\" + ch if ch in '"$`\\' else ch for ch in text)


class Problem(StrEnum):
    """Why a probe did not get what it came for: a closed set, so a typo cannot pass unseen."""

    TRANSPORT = "transport"  # no HTTP answer at all: ``Evidence.failure`` says why
    DNS = "dns"
    UNRESOLVED = "unresolved"
    TIMEOUT = "timeout"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    PROXY = "proxy"
    HANDSHAKE = "handshake"
    EXPIRED = "expired"
    HOSTNAME = "hostname"
    UNTRUSTED = "untrusted"
    PLAIN_HTTP = "plain_http"  # https:// to a port that speaks plain HTTP
    PLAIN_TUNNEL = "plain_tunnel"  # the proxy answered in plain HTTP inside its CONNECT tunnel
    TLS_VERSION = "tls_version"  # the server speaks only TLS older than this machine accepts
    SNI = "sni"  # the server refused the name asked for in the handshake
    TLS_RESET = "tls_reset"  # the connection was reset or closed during the handshake
    CHAIN = "chain"  # the certificate chain is too long
    INTERMEDIATE_EXPIRED = "intermediate_expired"
    CLIENT_CERT = "client_cert"  # the server requires a client certificate (mutual TLS)
    SUITE_LIMIT = "suite_limit"  # a limit of the suite's own stopped the read, not Jira
    STATE = "state"
    NO_STATE = "no_state"
    NO_ANSWER = "no answer"
    REJECTED = "rejected"
    NOT_OBJECT = "not_object"
    NOT_JSON = "not_json"
    SCHEMA = "schema"
    UNEXPECTED = "unexpected"
    INVISIBLE = "invisible"
    NO_ISSUE = "no_issue"
    SEARCH = "search"
    NOTHING_REJECTED = "none"  # account.rejection: no login was refused in this run


FailureKind = Literal[
    "dns",
    "refused",
    "timeout",
    "connect_timeout",
    "read_timeout",
    "too_slow",
    "tls_untrusted",
    "tls_hostname",
    "tls_expired",
    "tls_protocol",
    "tls_other",
    "proxy",
    "proxy_silent",
    "reset",
    "rate_limited",
    "bad_secret",
    "deadline",
    "latched",
    "read_only",
    "too_large",
    "interrupted",
    "other",
]
FAILURE_KINDS: frozenset[str] = frozenset(get_args(FailureKind))


@dataclass(frozen=True)
class Failure:
    """Why no usable HTTP answer came back, or why the request was not sent: the one failure
    type, from the HTTP layer (``HttpResult.failure``) to the evidence (``Evidence.failure``)."""

    kind: FailureKind
    detail: str
    # False when the suite itself held the request back (read-only, latched, deadline, stopped):
    # Jira never saw it, so it cannot have changed anything.
    sent: bool = True
    # For "latched": the answer at which Jira refused the bot's login earlier in the run, so
    # that the row this request belongs to can name that one cause.
    refused: Exchange | None = field(default=None, compare=False)


class FailureFacts(TypedDict, total=False):
    """The facts of a request that got no HTTP answer, shared by the probes' fact types."""

    failure: FailureKind
    error: str  # what went wrong, in words


def record_failure(facts: FailureFacts, failure: Failure) -> None:
    """Record a transport failure in a probe's facts, where ``Evidence`` lifts it from."""
    facts["failure"] = failure.kind
    facts["error"] = failure.detail


Facts = TypeVar("Facts", bound=Mapping[str, object], covariant=True)


@dataclass
class Evidence(Generic[Facts]):
    """What a probe learned. ``ok`` is the probe's own view: it fetched what it came for.

    ``failure`` is set when a request the probe depended on got no HTTP answer at all; probes
    record it in their facts as ``failure``/``error`` and it is lifted into the field here, so
    that every check reads a transport failure the same way.

    ``facts`` is read-only plain data of the TypedDict the probe declares next to it, named
    after the probe (``conformance.probes.facts_type``): a probe returns ``Evidence[ItsFacts]``,
    so a check reads ``evidence.facts["key"]`` typed as the probe declared it.
    """

    probe: str
    ok: bool
    facts: Facts
    exchanges: list[Exchange] = field(default_factory=list)
    problem: Problem | None = None
    failure: Failure | None = None

    def __post_init__(self) -> None:
        kind = self.facts.get("failure")
        if self.failure is None and isinstance(kind, str) and kind in FAILURE_KINDS:
            self.failure = Failure(cast(FailureKind, kind), str(self.facts.get("error") or kind))


# Evidence of any probe, for code that reads only what every evidence has (its exchanges, its
# failure, its probe's name): ``Evidence`` is covariant in its facts.
AnyEvidence = Evidence[Mapping[str, object]]
