"""Can the bot read, and where Visor writes, write each project it will use?

One report row per project and requirement: the project is visible to the bot; each permission
its access mode (from the integration profile) needs is granted; and, for projects Visor writes,
creating an issue asks for nothing Visor cannot fill and the fields Visor edits are editable.
Write readiness is judged from metadata, without writing anything.

The engine's scheduler fetches every project's evidence concurrently before any check runs
(``conformance.engine.fetch``); each check then judges the cached evidence of its own project.
"""

from __future__ import annotations

from conformance import codes
from conformance.check import Step, fail, not_applicable, note, requirement, show
from conformance.diagnosis import asked_of, recorded, transport_diagnosis
from conformance.evidence import Evidence, Problem
from conformance.findings import Diagnosis, explain
from conformance.probes import account, api, projects
from conformance.probes import permissions as perms
from conformance.probes.permissions import EditmetaFacts
from conformance.target import JiraTarget

PURPOSES = {
    "read": "read (import) its issues",
    "write": "write changes back to its issues (two-way sync)",
}


def bot_user(jira: JiraTarget) -> str:
    """How to name the bot in a remediation: its Jira user name, else the login given."""
    user = jira.probe(account.myself).facts.get("user") or {}
    return str(user.get("name") or user.get("displayName") or jira.settings.user or "the bot")


def answer_problem(
    jira: JiraTarget, evidence: Evidence[api.AnswerFacts], endpoint: str
) -> Diagnosis:
    """What a request that got no usable answer was: the shape, what answered, or the layer."""
    facts = evidence.facts
    found = api.schema_diagnosis(endpoint, evidence) or recorded(jira, evidence)
    if found is not None:  # the probe's reading of the answer, or the refused login it waited on
        return found
    failure = evidence.failure
    if failure is not None:
        return transport_diagnosis(jira, failure, asked_of(jira, evidence))
    status = facts.get("status")
    return codes.ApiSchema(
        endpoint=endpoint,
        field="the answer",
        problem=f"is HTTP {status}: {facts.get('error')}",
    )


def write_project(jira: JiraTarget, project: str | None) -> str:
    """The project key, for checks that only concern projects Visor writes."""
    if project is None:
        not_applicable("no project to check")
    if perms.access_of(jira, project) != "write":
        not_applicable(
            f"the profile {jira.profile.name} only reads {project}: it creates and edits nothing there"
        )
    return project


@requirement(
    "permissions.visible",
    "Visibility of the project to the bot",
    Step.PROJECTS,
    after=["auth.authenticates"],
    probes=[perms.survey],
)
def test_project_visible(jira: JiraTarget, project: str | None) -> None:
    if project is None:
        listing = jira.probe(projects.visible_projects)
        show(listing)
        limit = listing.facts.get("suite_limit")
        if listing.problem is Problem.SUITE_LIMIT and limit:
            fail(
                codes.RunSuiteLimit(
                    endpoint=listing.facts.get("cut_endpoint", projects.PROJECT),
                    what=limit,
                    limit=projects.suite_limits(),
                )
            )
        if not listing.ok:
            fail(answer_problem(jira, listing, listing.facts.get("endpoint", projects.PROJECT)))
        fail(
            codes.PermProjectInvisible(
                subject="any project",
                reason=f"{listing.facts.get('endpoint')} lists no project at all for "
                f"{bot_user(jira)}",
                user=bot_user(jira),
                advice="every_project",
            )
        )
    evidence = jira.probe(perms.project_permissions, project)
    show(evidence)
    if evidence.problem == "invisible":
        fail(
            codes.PermProjectInvisible(
                subject=f"project {project}",
                reason=f'Jira answered "{str(evidence.facts.get("reason")).rstrip(".")}"',
                user=bot_user(jira),
                advice="one_project",
                project=project,
            )
        )
    if not evidence.ok:
        fail(answer_problem(jira, evidence, evidence.facts.get("endpoint", evidence.probe)))
    known = jira.cached(projects.visible_projects)  # not fetched just for a name
    name = known.facts.get("names", {}).get(project) if known is not None else None
    note(f"{project}{f' ({name})' if name else ''} is visible to the bot")


@requirement(
    "permissions.granted",
    "The bot's permissions in the project for its access mode",
    Step.PROJECTS,
    after=["permissions.visible"],
    probes=[perms.survey],
)
def test_permissions_granted(jira: JiraTarget, project: str | None) -> None:
    if project is None:
        not_applicable("no project to check")
    evidence = jira.probe(perms.project_permissions, project)
    show(evidence)
    if not evidence.ok:
        fail(answer_problem(jira, evidence, evidence.facts.get("endpoint", evidence.probe)))
    facts = evidence.facts
    grants = perms.Grants(facts.get("granted", {}), frozenset(facts.get("via_alias", [])))
    access = perms.access_of(jira, project)
    round_trip = project == jira.settings.write_project
    needed = perms.required_permissions(access, round_trip=round_trip)
    source = "--jira-write-project" if round_trip else f"profile {jira.profile.name}"
    note(f"access mode: {access} ({source})")
    held = [perms.permission_name(k) for k in perms.ASKED if grants.granted.get(k)]
    note(f"granted: {', '.join(held) or 'none of those the profile needs'}")
    if grants.via_alias:
        aliased = ", ".join(perms.permission_name(k) for k in sorted(grants.via_alias))
        note(f"read from Jira's deprecated permission keys: {aliased}")
    for key in perms.ROUND_TRIP_NEEDS:
        if not round_trip and not grants.granted.get(key):
            note(
                f"{perms.permission_name(key)} is not granted: needed only for the opt-in write "
                "round trip (--jira-write-project), not by the profile"
            )
    missing = grants.missing(needed)
    if missing:
        scheme = jira.probe(perms.permission_scheme, project)
        purpose = (
            "run the write round trip (create, edit, then delete a test issue)"
            if round_trip
            else PURPOSES[access]
        )
        named = scheme.facts.get("name")
        fail(
            explain(
                codes.PermMissing(
                    missing=perms.listing(perms.permission_name(k) for k in missing),
                    project=project,
                    purpose=purpose,
                    scheme=repr(named) if scheme.ok and named else "of the project",
                    user=bot_user(jira),
                ),
                evidence={"missing": missing, "access": access},
            ),
            evidence=[scheme],
        )


@requirement(
    "permissions.create_fields",
    "Fields required to create the profile's issue types",
    Step.PROJECTS,
    after=["permissions.granted"],
    probes=[perms.survey],
)
def test_create_fields(jira: JiraTarget, project: str | None) -> None:
    key = write_project(jira, project)
    evidence = jira.probe(perms.create_metadata, key)
    show(evidence)
    if not evidence.ok:
        fail(answer_problem(jira, evidence, evidence.facts.get("endpoint", evidence.probe)))
    facts = evidence.facts
    note(f"create metadata read through the {facts.get('form')} createmeta form")
    offered = facts.get("issue_types") or {}
    problems: list[Diagnosis] = []
    for issue_type in facts.get("wanted", []):
        fields = facts.get("fields", {}).get(issue_type)
        if fields is None:
            problems.append(
                codes.PermIssueTypeMissing(
                    issue_type=issue_type, project=key, offered=", ".join(offered) or "none"
                )
            )
            continue
        blocking = perms.unfillable_required(fields, jira.profile.write_fields)
        problems += [
            codes.PermRequiredField(
                issue_type=issue_type, project=key, field=meta.name, field_id=meta.id
            )
            for meta in blocking
        ]
        if not blocking:
            required = [f.name for f in fields if f.required]
            note(f"{issue_type}: required fields {', '.join(required) or 'none'}, all filled")
    if problems:
        fail(*problems)


@requirement(
    "permissions.edit_fields",
    "The profile's write fields on the edit screen",
    Step.PROJECTS,
    after=["permissions.granted"],
    probes=[perms.survey],
)
def test_edit_fields(jira: JiraTarget, project: str | None) -> None:
    key = write_project(jira, project)
    evidence = jira.probe(perms.edit_metadata, key)
    show(evidence)
    missing_types = _missing_issue_types(key, evidence)
    if evidence.problem == "no_issue" and not missing_types:
        not_applicable(f"{key} has no issue to read the edit screen from")
    if not evidence.ok and not missing_types:
        fail(answer_problem(jira, evidence, evidence.facts.get("endpoint", evidence.probe)))
    facts = evidence.facts
    fields = facts.get("fields", [])
    absent = [
        name for name in jira.profile.write_fields if not any(f.matches([name]) for f in fields)
    ]
    problems: list[Diagnosis] = list(missing_types)
    if evidence.ok:
        problems += [
            codes.PermFieldNotEditable(
                field=name,
                issue_type=str(facts.get("issue_type") or "the"),
                project=key,
                issue=facts.get("issue", "an issue"),
            )
            for name in absent
        ]
    if problems:
        fail(*problems)
    written = ", ".join(jira.profile.write_fields) or "no field (the profile lists none)"
    note(f"editable on {facts.get('issue')}: {written}")


def _missing_issue_types(
    key: str, evidence: Evidence[EditmetaFacts]
) -> list[codes.PermIssueTypeMissing]:
    """Jira refused the profile's issue types in JQL (400) where it accepted the project: each
    type it lacks, named with the types the project has."""
    facts = evidence.facts
    if "refused_because" not in facts:
        return []
    have = facts.get("project_issue_types")
    offered = ", ".join(have) if have else f"unknown; Jira said: {facts['refused_because']}"
    return [
        codes.PermIssueTypeMissing(issue_type=name, project=key, offered=offered)
        for name in facts.get("unknown_issue_types", [])
    ]
