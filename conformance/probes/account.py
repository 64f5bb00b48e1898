"""Bot-account probes: who Jira thinks the credentials belong to, and how much they may do.

Checks never read the HTTP layer themselves: what it knows about the bot's login (the refused
exchange, the identity headers of every credentialed answer) reaches them as evidence from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypedDict, get_args
from urllib.parse import unquote

from conformance.classify import Kind
from conformance.evidence import AnyEvidence, Evidence, Problem, Reading, record_failure
from conformance.probes import api

if TYPE_CHECKING:
    from conformance.target import JiraTarget

MYSELF = "/rest/api/2/myself"
MY_PERMISSIONS = "/rest/api/2/mypermissions"
# Cloud requires ``permissions``; Data Center ignores it and answers every key.
ADMIN_PERMISSIONS = ("ADMINISTER", "SYSTEM_ADMIN")
ADMIN_GROUPS = ("jira-administrators", "jira-system-administrators", "site-admins")
IdentityHeader = Literal[
    "X-AUSERNAME",
    "X-AACCOUNTID",
    "X-Seraph-LoginReason",
    "X-Authentication-Denied-Reason",
]
IDENTITY_HEADERS: tuple[IdentityHeader, ...] = get_args(IdentityHeader)
USER_FIELDS = ("name", "key", "accountId", "displayName", "emailAddress", "active")
Scalar = str | int | float | bool | None

# Header names are no identifiers, hence the functional form.
_IdentityHeaderFacts = TypedDict(
    "_IdentityHeaderFacts",
    {
        "X-AUSERNAME": str,
        "X-AACCOUNTID": str,
        "X-Seraph-LoginReason": str,
        "X-Authentication-Denied-Reason": str,
    },
    total=False,
)


class MyselfFacts(api.AnswerFacts, _IdentityHeaderFacts, total=False):
    content_type: str
    user: dict[str, Scalar]  # USER_FIELDS as Jira answered them
    groups: list[str]


class RejectionFacts(api.AnswerFacts, total=False):
    endpoint: str
    detail: str  # the classifier's phrase for the refusal


class IdentityAnswer(TypedDict):
    endpoint: str
    status: int
    user: str  # X-AUSERNAME, unquoted


class IdentityHeadersFacts(TypedDict):
    answers: list[IdentityAnswer]


class AdminFacts(api.AnswerFacts, total=False):
    held: list[str]  # the ADMIN_PERMISSIONS the bot holds


def myself(target: JiraTarget) -> Evidence[MyselfFacts]:
    """``GET /rest/api/2/myself`` with the bot's credentials: the first credentialed request.

    serverInfo (anonymous) goes first, so that a refused login can be judged knowing the
    deployment and version, without ever sending a second login. A 200 of the wrong shape is a
    schema problem (problem "schema") or not JSON ("not_json"), never a refused login.
    """
    target.probe(api.server_info)
    result = target.http.get(MYSELF)
    facts: MyselfFacts = {"status": result.status, "content_type": result.content_type}
    for header in IDENTITY_HEADERS:
        value = result.header(header)
        if value is not None:
            facts[header] = value
    if result.failure is not None:
        record_failure(facts, result.failure)
        return Evidence(
            "account.myself",
            False,
            facts,
            [result.exchange],
            failure=result.failure,
            problem=Problem.TRANSPORT,
        )
    # A 200 is not enough: a CAPTCHA lock can answer 200 with AUTHENTICATION_DENIED, and a
    # stripped Authorization header 200 as anonymous.
    verdict = api.judged_result(target, result, MYSELF)
    api.with_verdict(facts, verdict)
    body = verdict.value
    exchanges = [result.exchange]
    if verdict.passed and isinstance(body, dict):
        facts["user"] = {key: _plain(body[key]) for key in USER_FIELDS if key in body}
        facts["groups"] = _group_names(body)
        wrong = api.schema_problem("myself", body)
        if wrong is not None:
            facts["schema"] = wrong
            return Evidence("account.myself", False, facts, exchanges, problem=Problem.SCHEMA)
        return Evidence("account.myself", True, facts, exchanges)
    if verdict.passed:
        facts["schema"] = ("(the answer)", f"is a JSON {api.json_type(body)}, not a user object")
        return Evidence("account.myself", False, facts, exchanges, problem=Problem.SCHEMA)
    answered_ok = result.status is not None and 200 <= result.status < 300
    if answered_ok and verdict.kind == Kind.NOT_JSON:
        return Evidence("account.myself", False, facts, exchanges, problem=Problem.NOT_JSON)
    return Evidence("account.myself", False, facts, exchanges, problem=Problem.REJECTED)


def _plain(value: Any) -> Scalar:
    """Scalars as they came; anything else as its JSON text, so notes stay plain text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)[:200]


def _group_names(body: dict[str, Any]) -> list[str]:
    groups = body.get("groups")
    items = groups.get("items") if isinstance(groups, dict) else None
    if not isinstance(items, list):
        return []
    return [str(g["name"]) for g in items if isinstance(g, dict) and isinstance(g.get("name"), str)]


def rejection(target: JiraTarget, evidence: AnyEvidence) -> Evidence[RejectionFacts]:
    """The refused login a request of ``evidence`` waited on, as it was read (if it did).

    A request not sent because Jira refused the bot's login earlier in the run carries that
    refused answer in its failure (``Failure.refused``): the one cause its row should name. The
    probe that received the refusal judged it from the whole answer (``Exchange.reading``).
    """
    rejected = evidence.failure.refused if evidence.failure is not None else None
    nothing: RejectionFacts = {}
    if rejected is None:
        return Evidence("account.rejection", False, nothing, problem=Problem.NOTHING_REJECTED)
    facts: RejectionFacts = {
        "endpoint": api.endpoint_of(target, rejected.url),
        "status": rejected.status,
    }
    reading = rejected.reading or unread(rejected.status)
    facts["kind"] = reading.kind
    facts["detail"] = reading.detail
    if reading.diagnosis is not None:
        facts["diagnosis"] = reading.diagnosis
    return Evidence("account.rejection", True, facts, [rejected])


def unread(status: int | None) -> Reading:
    """What a refused login the run has not read yet is known as: a refusal, without words.

    A request latched by a refusal that another thread received a moment earlier can reach a
    check before that thread has judged it; the row then names the refusal without guessing.
    """
    return Reading(Kind.BAD_CREDENTIALS.value, None, f"refused with HTTP {status}")


def identity_headers(
    target: JiraTarget, *evidence: AnyEvidence | None
) -> Evidence[IdentityHeadersFacts]:
    """Who Jira says answered each accepted credentialed request of ``evidence`` (X-AUSERNAME).

    The same evidence whichever way it was fetched (ahead by the scheduler, or when a check
    asked): the answers of the probes named, never "every request so far" of the run.
    """
    answers: list[IdentityAnswer] = []
    shown = []
    for ev in evidence:
        for exchange in ev.exchanges if ev is not None else ():
            header = exchange.header("X-AUSERNAME")
            if exchange.auth_scheme is None or header is None or not exchange.status:
                continue
            if exchange.status >= 400:
                continue
            answers.append(
                {
                    "endpoint": api.endpoint_of(target, exchange.url),
                    "status": exchange.status,
                    "user": unquote(header),
                }
            )
            shown.append(exchange)
    facts: IdentityHeadersFacts = {"answers": answers}
    return Evidence("account.identity_headers", True, facts, shown)


def admin_rights(target: JiraTarget) -> Evidence[AdminFacts]:
    """Global ``mypermissions`` for the administrator permissions (a least-privilege check)."""
    result = target.http.get(MY_PERMISSIONS, {"permissions": ",".join(ADMIN_PERMISSIONS)})
    facts: AdminFacts = {"status": result.status}
    if result.failure is not None:
        record_failure(facts, result.failure)
        return Evidence(
            "account.admin",
            False,
            facts,
            [result.exchange],
            failure=result.failure,
            problem=Problem.TRANSPORT,
        )
    verdict = api.judged_result(target, result, MY_PERMISSIONS)
    api.with_verdict(facts, verdict)
    body = verdict.value
    if not verdict.passed:
        facts["error"] = f"answered {result.status}: {verdict.detail}"
        return Evidence(
            "account.admin", False, facts, [result.exchange], problem=Problem.UNEXPECTED
        )
    wrong = _permissions_problem(body)
    if wrong is not None:
        facts["schema"] = wrong
        facts["error"] = f"{wrong[0]} {wrong[1]}"
        return Evidence("account.admin", False, facts, [result.exchange], problem=Problem.SCHEMA)
    permissions = body["permissions"]
    facts["held"] = [
        key for key in ADMIN_PERMISSIONS if permissions.get(key, {}).get("havePermission") is True
    ]
    return Evidence("account.admin", True, facts, [result.exchange])


def _permissions_problem(body: Any) -> tuple[str, str] | None:
    """The field of a mypermissions answer with the wrong type, if any."""
    if not isinstance(body, dict):
        return "(the answer)", f"is a JSON {api.json_type(body)}, not an object"
    permissions = body.get("permissions")
    if not isinstance(permissions, dict):
        return "permissions", f"is a JSON {api.json_type(permissions)}, not an object"
    for key in ADMIN_PERMISSIONS:
        entry = permissions.get(key)
        if entry is None:
            continue
        if not isinstance(entry, dict):
            return f"permissions.{key}", f"is a JSON {api.json_type(entry)}, not an object"
        have = entry.get("havePermission")
        if not isinstance(have, bool):
            return f"permissions.{key}.havePermission", f"is a JSON {api.json_type(have)}"
    return None
