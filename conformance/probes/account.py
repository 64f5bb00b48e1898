"""Bot-account probes: who Jira thinks the credentials belong to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conformance.evidence import Evidence

if TYPE_CHECKING:
    from conformance.target import JiraTarget


def myself(target: JiraTarget) -> Evidence:
    """``GET /rest/api/2/myself`` with the bot's credentials: the first credentialed request."""
    result = target.http.get("/rest/api/2/myself")
    facts: dict[str, Any] = {"status": result.status, "content_type": result.content_type}
    for header in (
        "X-AUSERNAME",
        "X-AACCOUNTID",
        "X-Seraph-LoginReason",
        "X-Authentication-Denied-Reason",
    ):
        value = result.header(header)
        if value is not None:
            facts[header] = value
    if result.failure is not None:
        facts.update(failure=result.failure.kind, error=result.failure.detail)
        return Evidence("account.myself", False, facts, [result.exchange], problem="transport")
    body, error = result.json()
    if result.status == 200 and isinstance(body, dict) and error is None:
        facts["user"] = {
            key: body.get(key)
            for key in ("name", "key", "accountId", "displayName", "emailAddress", "active")
            if key in body
        }
        return Evidence("account.myself", True, facts, [result.exchange])
    return Evidence("account.myself", False, facts, [result.exchange], problem="rejected")
