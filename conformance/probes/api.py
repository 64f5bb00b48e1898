"""REST API probes: serverInfo (what the instance is), and the search endpoint the deployment needs.

serverInfo is public on Data Center and Cloud, so it is asked anonymously first: the run learns
the deployment and version before it sends a single credentialed request, and can judge the
bot's first login in that light. Only when the anonymous call is refused (a login or SSO gate in
front of /rest) is it asked again with the bot's credentials.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import jsonschema

from conformance import codes, versions
from conformance.classify import Asked, Kind, Verdict, judge
from conformance.evidence import Evidence, FailureFacts, Problem, record_failure
from conformance.findings import Diagnosis
from conformance.http import HttpResult

if TYPE_CHECKING:
    from conformance.target import JiraTarget

SERVER_INFO = "/rest/api/2/serverInfo"
# Answers to an anonymous serverInfo that the bot's login may get past: a 401 for any login; a
# single sign-on or login-page gate only for a bearer token (SSO apps let personal access tokens
# through, while a basic login meets the same redirect and would only repeat the request).
RETRY_ANY_LOGIN = frozenset({Kind.LOGIN_REQUIRED})
RETRY_BEARER = frozenset({Kind.SSO, Kind.LOGIN_PAGE})
# The search the check asks once per run: one issue, one field. Cloud's /search/jql refuses a
# query it deems unbounded (400 "Unbounded JQL queries are not allowed here"), so the query there
# is bounded by a project, else by time (what Atlassian's migration notes and clients do).
SEARCH_PARAMS = {"maxResults": 1, "fields": "summary"}
RECENT_JQL = "created >= -30d ORDER BY created DESC"


class AnswerFacts(FailureFacts, total=False):
    """The facts of one classified answer (``with_verdict``), shared by the probes that judge
    answers with the classifier; ``schema`` is what ``schema_diagnosis`` names."""

    status: int | None
    kind: str  # a classify.Kind value
    diagnosis: Diagnosis  # what the answer was, when it was not what was asked for
    schema: tuple[str, str]  # (field, what is wrong with it)


Answer = TypeVar("Answer", bound=AnswerFacts)


class ServerInfoFacts(AnswerFacts, total=False):
    anonymous: bool  # the anonymous answer was the one judged
    anonymous_status: int | None
    body: dict[str, Any]  # serverInfo's JSON, as Jira sent it


class SearchFacts(AnswerFacts, total=False):
    path: str
    jql: str  # the suite's own query (Cloud's /search/jql needs a bounded one)
    issues: int  # how many issues the page held
    total: int


# -- judging answers in the run's context ----------------------------------------------------------


def asked(
    target: JiraTarget,
    endpoint: str,
    *,
    credentialed: bool,
    login_proven: bool = False,
    from_profile: bool = False,
) -> Asked:
    """What the classifier needs to know about a request of this run."""
    creds = target.settings.credentials if credentialed else None
    # How this run's person hands over credentials (the prompt or a variable) is the same for
    # an anonymous request: the advice of its findings is in those words.
    given = target.settings.credentials
    # Only what serverInfo already answered: this runs inside serverInfo's own probe too.
    numbers, kind = instance_of(target.cached(server_info))
    proxy = target.http.proxy
    return Asked(
        endpoint=endpoint,
        url=target.url,
        credentialed=creds is not None,
        scheme=creds.scheme if creds else None,
        secret_kind=creds.secret_kind if creds else None,
        secret_origin=given.origin if given else None,
        user=creds.user if creds else None,
        # Data Center answers "Server" (and nothing here depends on Server vs Data Center).
        deployment="Cloud" if kind == "Cloud" else ("Server" if kind else None),
        version=numbers,
        login_proven=login_proven and creds is not None,
        from_profile=from_profile,
        proxy=proxy.proxy,
        proxy_source=proxy.source,
    )


def endpoint_of(target: JiraTarget, url: str) -> str:
    """The path of a request below the base URL, for findings ("/rest/api/2/myself")."""
    base_path = urlsplit(target.url).path
    path = urlsplit(url).path
    return path[len(base_path) :] if base_path and path.startswith(base_path) else path or url


def judged_result(
    target: JiraTarget, result: HttpResult, endpoint: str, *, from_profile: bool = False
) -> Verdict:
    """Classify a live answer with its whole body and headers, as Jira sent them (never the
    redacted copy), and record the reading on its exchange for the checks."""
    response = result.response
    verdict = judge(
        result.status,
        dict(response.headers) if response is not None else {},
        response.content if response is not None else b"",
        asked(
            target,
            endpoint,
            credentialed=result.exchange.auth_scheme is not None,
            login_proven=result.exchange.login_proven,
            from_profile=from_profile,
        ),
    )
    result.exchange.reading = verdict.reading
    return verdict


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for findings ("array", not "list")."""
    if isinstance(value, bool):
        return "boolean"
    names = {dict: "object", list: "array", str: "string", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


# -- what an answer was, recorded as plain data in evidence ----------------------------------------


def with_verdict(facts: Answer, verdict: Verdict) -> Answer:
    """Record a classified answer in a probe's facts: its kind and, if any, its diagnosis."""
    facts["kind"] = verdict.kind.value
    if verdict.diagnosis is not None:
        facts["diagnosis"] = verdict.diagnosis
    return facts


def schema_diagnosis(endpoint: str, evidence: Evidence[AnswerFacts]) -> codes.ApiSchema | None:
    """API_SCHEMA naming the field a probe found of the wrong type or missing, if it did."""
    wrong = evidence.facts.get("schema")
    if wrong is None:
        return None
    field, problem = wrong
    return codes.ApiSchema(endpoint=endpoint, field=field, problem=problem)


# -- serverInfo ------------------------------------------------------------------------------------


@cache
def schema(name: str) -> dict[str, Any]:
    """A packaged JSON Schema of a Jira answer (conformance/schemas/jira/<name>.schema.json)."""
    text = resources.files("conformance.schemas").joinpath("jira", f"{name}.schema.json")
    return json.loads(text.read_text("utf-8"))  # type: ignore[no-any-return]


def schema_problem(name: str, value: Any) -> tuple[str, str] | None:
    """(field, what is wrong with it) for the most relevant schema error, or None."""
    validator = jsonschema.Draft202012Validator(schema(name))
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return None
    if error.validator == "required" and isinstance(error.validator_value, list):
        present = value if isinstance(value, dict) else {}
        missing = [k for k in error.validator_value if k not in present]
        return (missing[0] if missing else "(object)"), "is missing"
    if error.validator == "anyOf":
        return "name or accountId", "is missing (one of them identifies the user)"
    field = "".join(
        f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p))
        for i, p in enumerate(error.absolute_path)
    )
    shown = json.dumps(error.instance)[:80]
    return field or "(the answer)", f"is {shown}: {error.message[:160]}"


def server_info(target: JiraTarget) -> Evidence[ServerInfoFacts]:
    """serverInfo, anonymously first; learns the instance's identity for the whole run."""
    anonymous = target.http.get(SERVER_INFO, credentialed=False)
    exchanges = [anonymous.exchange]
    chosen = anonymous
    creds = target.settings.credentials
    if anonymous.failure is None and creds is not None:
        first = judged_result(target, anonymous, SERVER_INFO)
        retry = RETRY_ANY_LOGIN | (RETRY_BEARER if creds.scheme == "bearer" else frozenset())
        if first.kind in retry:
            chosen = target.http.get(SERVER_INFO)
            exchanges.append(chosen.exchange)
    facts: ServerInfoFacts = {
        "status": chosen.status,
        "anonymous": chosen is anonymous,
        "anonymous_status": anonymous.status,
    }
    if chosen.failure is not None:
        record_failure(facts, chosen.failure)
        return Evidence(
            "api.server_info",
            False,
            facts,
            exchanges,
            failure=chosen.failure,
            problem=Problem.TRANSPORT,
        )
    verdict = judged_result(target, chosen, SERVER_INFO)
    with_verdict(facts, verdict)
    if not verdict.passed or not isinstance(verdict.value, dict):
        problem = Problem.REFUSED if not verdict.passed else Problem.NOT_OBJECT
        if verdict.passed:
            facts["schema"] = (
                "(the answer)",
                f"is a JSON {json_type(verdict.value)}, not an object",
            )
        return Evidence("api.server_info", False, facts, exchanges, problem=problem)
    body: dict[str, Any] = verdict.value
    facts["body"] = body
    wrong = schema_problem("serverInfo", body)
    if wrong is not None:
        facts["schema"] = wrong
        return Evidence("api.server_info", False, facts, exchanges, problem=Problem.SCHEMA)
    return Evidence("api.server_info", True, facts, exchanges)


def schema_problem_of_search(body: Any) -> tuple[str, str]:
    """What is wrong with a search answer whose ``issues`` is not a list."""
    if not isinstance(body, dict):
        return "(the answer)", f"is a JSON {json_type(body)}, not an object"
    issues = body.get("issues")
    if "issues" not in body:
        return "issues", "is missing"
    return "issues", f"is {json.dumps(issues)[:80]}, not a list"


def instance_of(
    evidence: Evidence[ServerInfoFacts] | None,
) -> tuple[tuple[int, ...] | None, str | None]:
    """(versionNumbers, deploymentType) as a serverInfo evidence states them, each None where
    it does not (or there is no evidence yet)."""
    body = evidence.facts.get("body") if evidence is not None else None
    if body is None:
        return None, None
    version, _ = versions.learn(body)
    kind = body.get("deploymentType")
    return (version.numbers if version else None), (kind if isinstance(kind, str) else None)


def deployment(target: JiraTarget) -> tuple[tuple[int, ...] | None, str | None]:
    """(versionNumbers, deploymentType) of this Jira, asking serverInfo if nobody has yet."""
    return instance_of(target.probe(server_info))


def learned_version(target: JiraTarget) -> tuple[versions.JiraVersion | None, str]:
    """The version serverInfo told the run (asking it if nobody has yet), or why it is unknown."""
    evidence = target.probe(server_info)
    body = evidence.facts.get("body")
    if body is None:
        return None, f"serverInfo could not be read ({evidence.problem or 'no answer'})"
    return versions.learn(body)


# -- search ----------------------------------------------------------------------------------------


def search(target: JiraTarget, path: str, jql: str | None = None) -> Evidence[SearchFacts]:
    """One small search at ``path`` (one issue, one field), to show the endpoint answers.

    ``jql`` is the suite's own query (``/search/jql`` needs one that is bounded: a project, else
    the last 30 days); without it ``/search`` searches everything the bot may see.
    """
    params: dict[str, Any] = dict(SEARCH_PARAMS)
    if jql is None and path.endswith("/search/jql"):
        jql = RECENT_JQL
    if jql is not None:
        params["jql"] = jql
    result = target.http.get(path, params)
    facts: SearchFacts = {"path": path, "status": result.status}
    if jql is not None:
        facts["jql"] = jql
    if result.failure is not None:
        record_failure(facts, result.failure)
        return Evidence(
            "api.search",
            False,
            facts,
            [result.exchange],
            failure=result.failure,
            problem=Problem.TRANSPORT,
        )
    verdict = judged_result(target, result, path)
    with_verdict(facts, verdict)
    body = verdict.value
    if verdict.passed and isinstance(body, dict) and isinstance(body.get("issues"), list):
        facts["issues"] = len(body["issues"])
        if isinstance(body.get("total"), int):
            facts["total"] = body["total"]
        return Evidence("api.search", True, facts, [result.exchange])
    if verdict.passed:
        facts["schema"] = schema_problem_of_search(body)
        return Evidence("api.search", False, facts, [result.exchange], problem=Problem.SCHEMA)
    return Evidence("api.search", False, facts, [result.exchange], problem=Problem.REFUSED)
