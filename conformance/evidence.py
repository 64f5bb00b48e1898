"""Evidence: plain data about what was observed, and the HTTP exchanges that show it.

Probes produce evidence; checks judge it; reports show it. Nothing here talks to the network.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

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
    "Server",
    "Via",
)


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


@dataclass
class Evidence:
    """What a probe learned. ``ok`` is the probe's own view: it fetched what it came for."""

    probe: str
    ok: bool
    facts: dict[str, Any] = field(default_factory=dict)
    exchanges: list[Exchange] = field(default_factory=list)
    problem: str | None = None

    def fact(self, name: str, default: Any = None) -> Any:
        return self.facts.get(name, default)
