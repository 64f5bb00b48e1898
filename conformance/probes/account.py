"""Bot-account probes: who Jira thinks the credentials belong to, and how much they may do."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conformance.evidence import Evidence
from conformance.probes import api

if TYPE_CHECKING:
    from conformance.target import JiraTarget

MYSELF = "/rest/api/2/myself"
MY_PERMISSIONS = "/rest/api/2/mypermissions"
# Cloud requires ``permissions``; Data Center ignores it and answers every key.
ADMIN_PERMISSIONS = ("ADMINISTER", "SYSTEM_ADMIN")
ADMIN_GROUPS = ("jira-administrators", "jira-system-administrators", "site-admins")
IDENTITY_HEADERS = (
    "X-AUSERNAME",
    "X-AACCOUNTID",
    "X-Seraph-LoginReason",
    "X-Authentication-Denied-Reason",
)


def myself(target: JiraTarget) -> Evidence:
    """``GET /rest/api/2/myself`` with the bot's credentials: the first credentialed request.

    serverInfo (anonymous) goes first, so that a refused login can be judged knowing the
    deployment and version, without ever sending a second login.
    """
    target.probe(api.server_info)
    result = target.http.get(MYSELF)
    facts: dict[str, Any] = {"status": result.status, "content_type": result.content_type}
    for header in IDENTITY_HEADERS:
        value = result.header(header)
        if value is not None:
            facts[header] = value
    if result.failure is not None:
        facts.update(failure=result.failure.kind, error=result.failure.detail)
        return Evidence("account.myself", False, facts, [result.exchange], problem="transport")
    # A 200 is not enough: a CAPTCHA lock can answer 200 with AUTHENTICATION_DENIED, and a
    # stripped Authorization header 200 as anonymous.
    verdict = api.judged_result(target, result, MYSELF)
    facts["kind"] = verdict.kind.value
    body = verdict.value
    if verdict.passed and result.status == 200 and isinstance(body, dict):
        facts["user"] = {
            key: body.get(key)
            for key in ("name", "key", "accountId", "displayName", "emailAddress", "active")
            if key in body
        }
        facts["groups"] = _group_names(body)
        wrong = api.schema_problem("myself", body)
        if wrong is not None:
            facts["schema"] = wrong
        _learn_identity(target, body)
        return Evidence("account.myself", True, facts, [result.exchange])
    return Evidence("account.myself", False, facts, [result.exchange], problem="rejected")


def _group_names(body: dict[str, Any]) -> list[str]:
    groups = body.get("groups")
    items = groups.get("items") if isinstance(groups, dict) else None
    if not isinstance(items, list):
        return []
    return [str(g["name"]) for g in items if isinstance(g, dict) and isinstance(g.get("name"), str)]


def _learn_identity(target: JiraTarget, body: dict[str, Any]) -> None:
    name = body.get("name") or body.get("emailAddress") or body.get("accountId")
    if isinstance(name, str):
        target.identity["botName"] = name
    if isinstance(body.get("displayName"), str):
        target.identity["botDisplayName"] = body["displayName"]
    if isinstance(body.get("accountId"), str):
        target.identity["botAccountId"] = body["accountId"]


def admin_rights(target: JiraTarget) -> Evidence:
    """Global ``mypermissions`` for the administrator permissions (a least-privilege check)."""
    result = target.http.get(MY_PERMISSIONS, {"permissions": ",".join(ADMIN_PERMISSIONS)})
    facts: dict[str, Any] = {"status": result.status}
    if result.failure is not None:
        facts.update(failure=result.failure.kind, error=result.failure.detail)
        return Evidence("account.admin", False, facts, [result.exchange], problem="transport")
    body, error = result.json()
    permissions = body.get("permissions") if isinstance(body, dict) else None
    if result.status != 200 or error is not None or not isinstance(permissions, dict):
        facts["error"] = error or f"unexpected answer {result.status}"
        return Evidence("account.admin", False, facts, [result.exchange], problem="unexpected")
    facts["held"] = [
        key
        for key in ADMIN_PERMISSIONS
        if isinstance(permissions.get(key), dict) and permissions[key].get("havePermission") is True
    ]
    return Evidence("account.admin", True, facts, [result.exchange])
