"""Permission probes: what the bot may do in each project, and what creating and editing asks for.

Per project, one pipeline of dependent requests (``survey``): ``mypermissions`` for the
project, then, for projects Visor writes, the create metadata (in the form the Jira version
serves) and the edit screen of one existing issue. ``survey`` is what the checks prefetch across
all projects at once, so that hundreds of projects cost about (depth x projects / concurrency)
round trips, not one round trip after another.

The pure helpers at the top (which permissions a mode needs, how to read a ``mypermissions``
body, which required fields Visor cannot fill) are the rules; the probes below only fetch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypedDict, TypeVar

from conformance.classify import Kind
from conformance.evidence import Evidence, Exchange, Problem, record_failure
from conformance.http import HttpResult
from conformance.probes import api
from conformance.probes.search import jql_string

if TYPE_CHECKING:
    from conformance.profile import Access
    from conformance.target import JiraTarget

# Names as the Jira administration screen (Project settings > Permissions) shows them.
PERMISSION_NAMES: dict[str, str] = {
    "BROWSE_PROJECTS": "Browse Projects",
    "CREATE_ISSUES": "Create Issues",
    "EDIT_ISSUES": "Edit Issues",
    "ADD_COMMENTS": "Add Comments",
    "TRANSITION_ISSUES": "Transition Issues",
    "DELETE_ISSUES": "Delete Issues",
    "RESOLVE_ISSUES": "Resolve Issues",
    "ASSIGN_ISSUES": "Assign Issues",
}
# Old keys (deprecated since Jira 6.3) that Data Center still returns next to the new ones.
DEPRECATED_ALIASES: dict[str, str] = {
    "BROWSE": "BROWSE_PROJECTS",
    "CREATE_ISSUE": "CREATE_ISSUES",
    "EDIT_ISSUE": "EDIT_ISSUES",
    "COMMENT_ISSUE": "ADD_COMMENTS",
    "DELETE_ISSUE": "DELETE_ISSUES",
    "RESOLVE_ISSUE": "RESOLVE_ISSUES",
    "ASSIGN_ISSUE": "ASSIGN_ISSUES",
}
READ_NEEDS = ("BROWSE_PROJECTS",)
WRITE_NEEDS = (
    "BROWSE_PROJECTS",
    "CREATE_ISSUES",
    "EDIT_ISSUES",
    "ADD_COMMENTS",
    "TRANSITION_ISSUES",
)
ROUND_TRIP_NEEDS = ("DELETE_ISSUES",)
# Asked of every project in one request; Cloud requires the list and refuses deprecated keys.
ASKED = (*WRITE_NEEDS, *ROUND_TRIP_NEEDS)
# Fields Visor always sets when it creates an issue, whatever the profile says.
ALWAYS_FILLED = ("project", "issuetype", "summary")
PAGE_SIZE = 100
MAX_PAGES = 20
SEARCH = "/rest/api/2/search"
CreatemetaForm = Literal["paged", "old", "unknown"]


# -- rules ---------------------------------------------------------------------------------------


def permission_name(key: str) -> str:
    """The admin-screen name of a permission key (``ADD_COMMENTS`` -> ``Add Comments``)."""
    return PERMISSION_NAMES.get(key) or key.replace("_", " ").title()


def listing(names: Iterable[str]) -> str:
    """``A, B and C``: how a finding names several permissions."""
    items = list(names)
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def access_of(target: JiraTarget, key: str | None) -> Access:
    """The access mode Visor needs in a project: the write round trip's project is written."""
    if key is not None and key == target.settings.write_project:
        return "write"
    return target.profile.access_for(key) if key is not None else target.profile.default_access


def required_permissions(access: Access, *, round_trip: bool = False) -> tuple[str, ...]:
    """The permission keys an access mode needs; the opt-in write round trip also deletes."""
    needs = WRITE_NEEDS if access == "write" else READ_NEEDS
    return (*needs, *ROUND_TRIP_NEEDS) if round_trip else needs


@dataclass(frozen=True)
class Grants:
    """What ``mypermissions`` says: key -> granted, with the keys only an old alias reported."""

    granted: dict[str, bool] = field(default_factory=dict)
    via_alias: frozenset[str] = frozenset()

    def missing(self, needed: Iterable[str]) -> list[str]:
        """The needed keys not granted (a key Jira did not report at all counts as missing)."""
        return [key for key in needed if not self.granted.get(key, False)]


def read_grants(body: Any) -> Grants | None:
    """Read a ``mypermissions`` body; new keys win, deprecated aliases fill in where missing."""
    permissions = body.get("permissions") if isinstance(body, dict) else None
    if not isinstance(permissions, dict):
        return None
    granted: dict[str, bool] = {}
    from_alias: dict[str, bool] = {}
    for name, bean in permissions.items():
        if not isinstance(bean, dict):
            continue
        have = bean.get("havePermission") is True
        key = DEPRECATED_ALIASES.get(str(name))
        if key is None and bean.get("deprecatedKey") is True:
            key = DEPRECATED_ALIASES.get(str(bean.get("key")))
        if key is not None:
            from_alias[key] = from_alias.get(key, False) or have
        else:
            granted[str(name)] = have
    via_alias = frozenset(k for k in from_alias if k not in granted)
    return Grants({**{k: from_alias[k] for k in via_alias}, **granted}, via_alias)


def createmeta_form(version_numbers: Any, deployment: Any) -> CreatemetaForm:
    """Paged createmeta from 8.4 (and on Cloud); the old single request before; unknown: try."""
    if deployment == "Cloud":
        return "paged"
    if not isinstance(version_numbers, list | tuple) or len(version_numbers) < 2:
        return "unknown"
    try:
        major, minor = int(version_numbers[0]), int(version_numbers[1])
    except (TypeError, ValueError):
        return "unknown"
    return "paged" if (major, minor) >= (8, 4) else "old"


@dataclass(frozen=True)
class FieldMeta:
    """One field of a create or edit screen."""

    id: str
    name: str
    required: bool = False
    has_default: bool = False

    def matches(self, wanted: Iterable[str]) -> bool:
        """Profiles name fields by id (``customfield_10100``) or by name (``Customer Impact``)."""
        lowered = {w.casefold() for w in wanted}
        return self.id.casefold() in lowered or self.name.casefold() in lowered


def unfillable_required(
    fields: Iterable[FieldMeta], write_fields: Iterable[str]
) -> list[FieldMeta]:
    """Required create fields without a default that Visor does not set."""
    fillable = (*ALWAYS_FILLED, *write_fields)
    return [f for f in fields if f.required and not f.has_default and not f.matches(fillable)]


def field_meta(raw: Mapping[str, Any], fallback_id: str = "") -> FieldMeta:
    """A FieldMeta from either createmeta form (``fieldId`` paged, ``key`` old) or editmeta."""
    fid = str(raw.get("fieldId") or raw.get("key") or fallback_id)
    return FieldMeta(
        id=fid,
        name=str(raw.get("name") or fid),
        required=raw.get("required") is True,
        has_default=raw.get("hasDefaultValue") is True,
    )


# -- probes --------------------------------------------------------------------------------------


class RequestFacts(api.AnswerFacts, total=False):
    """What ``_failed`` records of an answer that was not usable (its reading by the classifier
    among them); shared by the probes here."""

    content_type: str


class ProjectFacts(RequestFacts, total=False):
    project: str
    endpoint: str
    reason: str  # why the bot cannot see the project
    granted: dict[str, bool]  # permission key -> granted
    via_alias: list[str]  # keys only a deprecated alias answered for


class SchemeFacts(TypedDict, total=False):
    name: str
    status: int | None


class CreatemetaFacts(RequestFacts, total=False):
    project: str
    wanted: list[str]  # the profile's issue types for the project
    paged_404: bool  # the paged form answered 404, so the old form was asked
    form: Literal["paged", "old"]
    endpoint: str
    issue_types: dict[str, str]  # name -> id
    fields: dict[str, list[FieldMeta]]  # wanted issue type -> its create-screen fields


class SearchFacts(RequestFacts, total=False):
    jql: str
    issue: str | None  # the newest issue's key
    issue_type: object  # its issue type's name, as Jira's JSON had it


class EditmetaFacts(RequestFacts, total=False):
    project: str
    issue: str
    issue_type: object
    endpoint: str
    fields: list[FieldMeta]
    # Jira refused the profile's issue types in JQL (400) where the project alone was accepted:
    # the types this Jira does not know, its words, and the types the project has.
    unknown_issue_types: list[str]
    refused_because: str
    project_issue_types: list[str]


class SurveyFacts(TypedDict):
    project: str
    fetched: list[str]  # the probes the survey ran


Request = TypeVar("Request", bound=RequestFacts)


def _failed(
    target: JiraTarget, name: str, facts: Request, result: HttpResult, endpoint: str
) -> Evidence[Request]:
    """Evidence of a request that got no usable answer, read by the classifier for the checks
    (who answered, and what: Jira's own error, a proxy's page, a lost login...)."""
    facts["status"] = result.status
    if result.failure is not None:
        record_failure(facts, result.failure)
        return Evidence(
            name, False, facts, [result.exchange], failure=result.failure, problem=Problem.TRANSPORT
        )
    facts["content_type"] = result.content_type
    verdict = api.judged_result(target, result, endpoint)
    api.with_verdict(facts, verdict)
    if verdict.passed:  # JSON Jira answered as asked, but not of the shape the probe reads
        facts["schema"] = ("(the answer)", f"is a JSON {api.json_type(verdict.value)}")
        return Evidence(name, False, facts, [result.exchange], problem=Problem.SCHEMA)
    body, error = result.json()
    facts["error"] = error or _jira_message(body) or f"HTTP {result.status}"
    problem = Problem.NOT_JSON if error is not None else Problem.UNEXPECTED
    return Evidence(name, False, facts, [result.exchange], problem=problem)


def _jira_message(body: Any) -> str:
    """The message of a Jira error body (``errorMessages``/``errors`` or ``message``)."""
    if not isinstance(body, dict):
        return ""
    messages = [str(m) for m in body.get("errorMessages") or [] if m]
    errors = body.get("errors")
    if isinstance(errors, dict):
        messages += [f"{k}: {v}" for k, v in errors.items()]
    if body.get("message"):
        messages.append(str(body["message"]))
    return "; ".join(messages)


def project_permissions(target: JiraTarget, key: str) -> Evidence[ProjectFacts]:
    """``GET /mypermissions?projectKey=KEY&permissions=...``: the bot's grants in one project.

    Jira answers 404 "No project could be found" when the bot lacks Browse Projects, exactly as
    if the project did not exist.
    """
    path = "/rest/api/2/mypermissions"
    params = {"projectKey": key, "permissions": ",".join(ASKED)}
    result = target.http.send("GET", path, params=params)  # not kept: this probe's evidence is
    facts: ProjectFacts = {"project": key, "endpoint": path}
    if result.status == 404 and result.failure is None:
        body, _ = result.json()
        facts["status"] = 404
        facts["reason"] = _jira_message(body) or "404 Not Found"
        return Evidence(
            "permissions.project", False, facts, [result.exchange], problem=Problem.INVISIBLE
        )
    if result.status != 200:
        return _failed(target, "permissions.project", facts, result, path)
    body, error = result.json()
    grants = read_grants(body) if error is None else None
    if grants is None:
        facts["status"] = 200
        facts["error"] = error or "no 'permissions' object in the answer"
        problem = Problem.NOT_JSON if error else Problem.SCHEMA
        return Evidence("permissions.project", False, facts, [result.exchange], problem=problem)
    facts["status"] = 200
    facts["granted"] = grants.granted
    facts["via_alias"] = sorted(grants.via_alias)
    if not grants.granted.get("BROWSE_PROJECTS", False):
        facts["reason"] = "Jira reports Browse Projects as not granted"
        return Evidence(
            "permissions.project", False, facts, [result.exchange], problem=Problem.INVISIBLE
        )
    return Evidence("permissions.project", True, facts, [result.exchange])


def permission_scheme(target: JiraTarget, key: str) -> Evidence[SchemeFacts]:
    """The name of the project's permission scheme, to say where to grant (often admin-only)."""
    result = target.http.get(f"/rest/api/2/project/{key}/permissionscheme")
    body, error = result.json()
    if result.status == 200 and error is None and isinstance(body, dict) and body.get("name"):
        named: SchemeFacts = {"name": str(body["name"])}
        return Evidence("permissions.scheme", True, named, [result.exchange])
    failed: SchemeFacts = {"status": result.status}
    return Evidence("permissions.scheme", False, failed, [result.exchange])


def _pages(
    target: JiraTarget, path: str, list_keys: tuple[str, ...]
) -> tuple[list[Any], list[Exchange], HttpResult | None]:
    """Every value of a paged createmeta resource; the failing answer if a page did not come."""
    values: list[Any] = []
    exchanges: list[Exchange] = []
    start = 0
    for _ in range(MAX_PAGES):
        result = target.http.get(path, {"startAt": start, "maxResults": PAGE_SIZE})
        exchanges.append(result.exchange)
        body, error = result.json()
        if result.status != 200 or error is not None or not isinstance(body, dict):
            return values, exchanges, result
        page: list[Any] = next((body[k] for k in list_keys if isinstance(body.get(k), list)), [])
        values += page
        total = body.get("total")
        start += len(page)
        if body.get("isLast") is True or not page or (isinstance(total, int) and start >= total):
            break
    return values, exchanges, None


def create_metadata(target: JiraTarget, key: str) -> Evidence[CreatemetaFacts]:
    """The issue types the bot may create in ``key`` and the create-screen fields of Visor's.

    Jira 8.4+ (and Cloud) serve ``/issue/createmeta/{key}/issuetypes[/{id}]``, paged; 9.0 removed
    the old ``/issue/createmeta?projectKeys=&expand=projects.issuetypes.fields`` (404).
    """
    wanted = target.profile.issue_types_for(key)
    form = createmeta_form(*api.deployment(target))
    facts: CreatemetaFacts = {"project": key, "wanted": list(wanted)}
    if form in ("paged", "unknown"):
        evidence = _paged_create_metadata(target, key, wanted, facts)
        if form == "paged" or evidence.ok or evidence.facts.get("status") != 404:
            return evidence
        facts = {"project": key, "wanted": list(wanted), "paged_404": True}
        old = _old_create_metadata(target, key, facts)
        old.exchanges[:0] = evidence.exchanges
        return old
    return _old_create_metadata(target, key, facts)


def _paged_create_metadata(
    target: JiraTarget, key: str, wanted: tuple[str, ...], facts: CreatemetaFacts
) -> Evidence[CreatemetaFacts]:
    base = f"/rest/api/2/issue/createmeta/{key}/issuetypes"
    facts["form"] = "paged"
    facts["endpoint"] = base
    types, exchanges, failed = _pages(target, base, ("values", "issueTypes"))
    if failed is not None:
        evidence = _failed(target, "permissions.createmeta", facts, failed, base)
        evidence.exchanges = exchanges
        return evidence
    offered = {str(t.get("name")): str(t.get("id")) for t in types if isinstance(t, dict)}
    facts["issue_types"] = offered
    fields: dict[str, list[FieldMeta]] = {}
    for name in wanted:
        type_id = _lookup(offered, name)
        if type_id is None:
            continue
        values, more, failed = _pages(target, f"{base}/{type_id}", ("values", "fields"))
        exchanges += more
        if failed is not None:
            evidence = _failed(target, "permissions.createmeta", facts, failed, f"{base}/{type_id}")
            evidence.exchanges = exchanges
            return evidence
        fields[name] = [field_meta(v) for v in values if isinstance(v, dict)]
    facts["fields"] = fields
    return Evidence("permissions.createmeta", True, facts, exchanges)


def _old_create_metadata(
    target: JiraTarget, key: str, facts: CreatemetaFacts
) -> Evidence[CreatemetaFacts]:
    path = "/rest/api/2/issue/createmeta"
    facts["form"] = "old"
    facts["endpoint"] = path
    result = target.http.get(path, {"projectKeys": key, "expand": "projects.issuetypes.fields"})
    body, error = result.json()
    if result.status != 200 or error is not None or not isinstance(body, dict):
        return _failed(target, "permissions.createmeta", facts, result, path)
    project = next(
        (p for p in body.get("projects") or [] if isinstance(p, dict) and p.get("key") == key), {}
    )
    types = {str(t.get("name")): t for t in project.get("issuetypes") or [] if isinstance(t, dict)}
    facts["issue_types"] = {name: str(t.get("id")) for name, t in types.items()}
    fields: dict[str, list[FieldMeta]] = {}
    for name in facts["wanted"]:
        found = next((t for n, t in types.items() if n.casefold() == name.casefold()), None)
        if found is not None and isinstance(found.get("fields"), dict):
            fields[name] = [
                field_meta(meta, fid)
                for fid, meta in found["fields"].items()
                if isinstance(meta, dict)
            ]
    facts["fields"] = fields
    return Evidence("permissions.createmeta", True, facts, [result.exchange])


def _lookup(offered: Mapping[str, str], *names: str) -> str | None:
    """The id of the first of ``names`` among offered issue types (names compare case-blind)."""
    folded = {n.casefold(): i for n, i in offered.items()}
    for name in names:
        if name.casefold() in folded:
            return folded[name.casefold()]
    return None


def edit_metadata(target: JiraTarget, key: str) -> Evidence[EditmetaFacts]:
    """The edit screen of one existing issue in ``key`` (preferably of a type Visor uses).

    ``editmeta`` needs an issue; the newest one is found with the search Visor imports with
    (``/search``, or ``/search/jql`` where Cloud answers 410). Jira refuses (400) a JQL that
    names an issue type it does not have; when the project alone is accepted, the profile's
    issue types are what it refused, and the project's own types are read to name them.
    """
    facts: EditmetaFacts = {"project": key}
    wanted = target.profile.issue_types_for(key)
    typed = (
        f"project = {key} AND issuetype in ({', '.join(map(jql_string, wanted))}) ORDER BY key DESC"
    )
    exchanges: list[Exchange] = []
    issue = None
    for jql in (typed, f"project = {key} ORDER BY key DESC"):
        found = _first_issue(target, jql)
        exchanges += found.exchanges
        if not found.ok and jql == typed and _refused_query(found):
            facts["refused_because"] = str(found.facts.get("error") or "HTTP 400")
            continue
        if not found.ok:
            return _search_failed(found, facts, exchanges)
        issue = found.facts.get("issue")
        if issue is not None:
            facts["issue"] = issue
            facts["issue_type"] = found.facts.get("issue_type")
            break
    if "refused_because" in facts:
        _name_unknown_types(target, key, wanted, facts, exchanges)
    if issue is None:
        return Evidence("permissions.editmeta", False, facts, exchanges, problem=Problem.NO_ISSUE)
    path = f"/rest/api/2/issue/{issue}/editmeta"
    result = target.http.get(path)
    facts["endpoint"] = path
    body, error = result.json()
    if result.status != 200 or error is not None or not isinstance(body, dict):
        evidence = _failed(target, "permissions.editmeta", facts, result, path)
        evidence.exchanges[:0] = exchanges
        return evidence
    raw: dict[str, Any] = body["fields"] if isinstance(body.get("fields"), dict) else {}
    facts["fields"] = [field_meta(meta, fid) for fid, meta in raw.items() if isinstance(meta, dict)]
    return Evidence("permissions.editmeta", True, facts, [*exchanges, result.exchange])


def _refused_query(found: Evidence[SearchFacts]) -> bool:
    """Jira's own 400 to a search: it refused the query as it was written."""
    return found.facts.get("status") == 400 and found.facts.get("kind") == Kind.JIRA_ERROR


def _search_failed(
    found: Evidence[SearchFacts], facts: EditmetaFacts, exchanges: list[Exchange]
) -> Evidence[EditmetaFacts]:
    """The edit screen could not be read because the search for an issue failed: that search's
    answer, as this probe's."""
    for name in ("status", "content_type", "kind", "diagnosis", "schema", "failure", "error"):
        if name in found.facts:
            facts[name] = found.facts[name]
    facts["endpoint"] = SEARCH
    return Evidence(
        "permissions.editmeta",
        False,
        facts,
        exchanges,
        problem=found.problem,
        failure=found.failure,
    )


def _name_unknown_types(
    target: JiraTarget,
    key: str,
    wanted: tuple[str, ...],
    facts: EditmetaFacts,
    exchanges: list[Exchange],
) -> None:
    """The profile's issue types the project lacks, and those it has (``/project/KEY``)."""
    result = target.http.get(f"/rest/api/2/project/{key}")
    exchanges.append(result.exchange)
    body, _ = result.json()
    types = body.get("issueTypes") if isinstance(body, dict) else None
    names = [str(t["name"]) for t in types or [] if isinstance(t, dict) and t.get("name")]
    if result.status == 200 and names:
        facts["project_issue_types"] = names
        have = {n.casefold() for n in names}
        facts["unknown_issue_types"] = [t for t in wanted if t.casefold() not in have]
    else:
        # Jira's message names the type in the one language every locale keeps: the value.
        said = facts.get("refused_because", "")
        named = [t for t in wanted if f"'{t}'" in said or f'"{t}"' in said]
        facts["unknown_issue_types"] = named or list(wanted)


def _first_issue(target: JiraTarget, jql: str) -> Evidence[SearchFacts]:
    params = {"jql": jql, "maxResults": 1, "fields": "issuetype"}
    path = SEARCH
    result = target.http.get(path, params)
    if result.status == 410:  # Cloud removed /search (CHANGE-2046)
        path = SEARCH + "/jql"
        result = target.http.get(path, params)
    body, error = result.json()
    if result.status != 200 or error is not None or not isinstance(body, dict):
        failed: SearchFacts = {"jql": jql}
        return _failed(target, "permissions.search", failed, result, path)
    issues = [i for i in body.get("issues") or [] if isinstance(i, dict) and i.get("key")]
    facts: SearchFacts = {"jql": jql, "issue": None}
    if issues:
        issue_type = (issues[0].get("fields") or {}).get("issuetype") or {}
        facts["issue"] = str(issues[0]["key"])
        facts["issue_type"] = issue_type.get("name")
    return Evidence("permissions.search", True, facts, [result.exchange])


def survey(target: JiraTarget, key: str) -> Evidence[SurveyFacts]:
    """Everything the permission checks need about one project, as one dependent pipeline.

    Prefetched across projects: grants for every project; for projects Visor writes, the create
    and edit metadata too (only when the grants allow creating and editing at all); the
    permission scheme's name only where something is missing, to say where to grant it.
    """
    grants = target.probe(project_permissions, key)
    access = access_of(target, key)
    round_trip = key == target.settings.write_project
    fetched = [grants.probe]
    granted = grants.facts.get("granted") or {}
    if grants.ok and Grants(granted).missing(required_permissions(access, round_trip=round_trip)):
        fetched.append(target.probe(permission_scheme, key).probe)
    if grants.ok and access == "write":
        if granted.get("CREATE_ISSUES"):
            fetched.append(target.probe(create_metadata, key).probe)
        if granted.get("EDIT_ISSUES"):
            fetched.append(target.probe(edit_metadata, key).probe)
    facts: SurveyFacts = {"project": key, "fetched": fetched}
    return Evidence("permissions.survey", True, facts)
