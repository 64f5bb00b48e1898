"""Can the bot read, and where Visor writes, write each project it will use?

One report row per project and requirement: the project is visible to the bot; each permission
its access mode (from the integration profile) needs is granted; and, for projects Visor writes,
creating an issue asks for nothing Visor cannot fill and the fields Visor edits are editable.
Write readiness is judged from metadata, without writing anything.

The engine's scheduler fetches every project's evidence concurrently before any check runs
(``conformance.engine.fetch``); each check then judges the cached evidence of its own project.
"""

from __future__ import annotations

from conformance.check import Step, fail, not_applicable, note, requirement, show
from conformance.diagnosis import transport_finding
from conformance.evidence import Evidence
from conformance.findings import Finding, finding
from conformance.probes import account, api, projects
from conformance.probes import permissions as perms
from conformance.target import JiraTarget

PURPOSES = {
    "read": "read (import) its issues",
    "write": "write changes back to its issues (two-way sync)",
}


def bot_user(jira: JiraTarget) -> str:
    """How to name the bot in a remediation: its Jira user name, else the login given."""
    user = jira.probe(account.myself).fact("user") or {}
    return str(user.get("name") or user.get("displayName") or jira.settings.user or "the bot")


def answer_problem(jira: JiraTarget, evidence: Evidence) -> Finding:
    """The finding for a request that got no usable answer: the failing layer, or the shape."""
    endpoint = evidence.fact("endpoint") or evidence.probe
    found = api.schema_finding(endpoint, evidence) or api.finding_of(jira, evidence)
    if found is not None:  # the probe's classified answer, or the refused login it waited on
        return found
    failure = evidence.failure
    if failure is not None:
        return transport_finding(jira, failure)
    if evidence.problem == "not_json":
        return finding(
            "API_NOT_JSON",
            endpoint=endpoint,
            status=evidence.fact("status"),
            kind="a body that is not JSON",
            content_type=evidence.fact("content_type") or "none",
            advice="intercepted",
        )
    return finding(
        "API_SCHEMA",
        endpoint=endpoint,
        field="the answer",
        problem=f"is HTTP {evidence.fact('status')}: {evidence.fact('error')}",
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
    "The bot can see the project",
    Step.PROJECTS,
    after=["auth.authenticates"],
    probes=[perms.survey],
)
def test_project_visible(jira: JiraTarget, project: str | None) -> None:
    if project is None:
        listing = jira.probe(projects.visible_projects)
        show(listing)
        if not listing.ok:
            fail(answer_problem(jira, listing))
        fail(
            finding(
                "PERM_PROJECT_INVISIBLE",
                subject="any project",
                reason=f"{listing.fact('endpoint')} lists no project at all for {bot_user(jira)}",
                user=bot_user(jira),
                advice="every_project",
            )
        )
    evidence = jira.probe(perms.project_permissions, project)
    show(evidence)
    if evidence.problem == "invisible":
        fail(
            finding(
                "PERM_PROJECT_INVISIBLE",
                subject=f"project {project}",
                reason=f'Jira answered "{str(evidence.fact("reason")).rstrip(".")}"',
                user=bot_user(jira),
                advice="one_project",
                project=project,
            )
        )
    if not evidence.ok:
        fail(answer_problem(jira, evidence))
    known = jira.cached(projects.visible_projects)  # not fetched just for a name
    name = known.fact("names", {}).get(project) if known is not None else None
    note(f"{project}{f' ({name})' if name else ''} is visible to the bot")


@requirement(
    "permissions.granted",
    "The bot holds every permission its access mode needs in the project",
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
        fail(answer_problem(jira, evidence))
    grants = perms.Grants(evidence.fact("granted"), frozenset(evidence.fact("via_alias")))
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
        fail(
            finding(
                "PERM_MISSING",
                missing=perms.listing(perms.permission_name(k) for k in missing),
                project=project,
                purpose=purpose,
                scheme=repr(scheme.fact("name")) if scheme.ok else "of the project",
                user=bot_user(jira),
                evidence={"missing": missing, "access": access},
            ),
            evidence=[scheme],
        )


@requirement(
    "permissions.create_fields",
    "Creating the profile's issue types asks for no field the profile does not fill",
    Step.PROJECTS,
    after=["permissions.granted"],
    probes=[perms.survey],
)
def test_create_fields(jira: JiraTarget, project: str | None) -> None:
    key = write_project(jira, project)
    evidence = jira.probe(perms.create_metadata, key)
    show(evidence)
    if not evidence.ok:
        fail(answer_problem(jira, evidence))
    note(f"create metadata read through the {evidence.fact('form')} createmeta form")
    offered: dict[str, str] = evidence.fact("issue_types") or {}
    problems: list[Finding] = []
    for issue_type in evidence.fact("wanted"):
        fields = evidence.fact("fields", {}).get(issue_type)
        if fields is None:
            problems.append(
                finding(
                    "PERM_ISSUE_TYPE_MISSING",
                    issue_type=issue_type,
                    project=key,
                    offered=", ".join(offered) or "none",
                )
            )
            continue
        blocking = perms.unfillable_required(fields, jira.profile.write_fields)
        problems += [
            finding(
                "PERM_REQUIRED_FIELD",
                issue_type=issue_type,
                project=key,
                field=meta.name,
                field_id=meta.id,
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
    "The fields the profile writes are on the edit screen",
    Step.PROJECTS,
    after=["permissions.granted"],
    probes=[perms.survey],
)
def test_edit_fields(jira: JiraTarget, project: str | None) -> None:
    key = write_project(jira, project)
    evidence = jira.probe(perms.edit_metadata, key)
    show(evidence)
    if evidence.problem == "no_issue":
        not_applicable(f"{key} has no issue to read the edit screen from")
    if not evidence.ok:
        fail(answer_problem(jira, evidence))
    fields: list[perms.FieldMeta] = evidence.fact("fields")
    absent = [
        name for name in jira.profile.write_fields if not any(f.matches([name]) for f in fields)
    ]
    if absent:
        fail(
            *(
                finding(
                    "PERM_FIELD_NOT_EDITABLE",
                    field=name,
                    issue_type=evidence.fact("issue_type") or "the",
                    project=key,
                    issue=evidence.fact("issue"),
                )
                for name in absent
            )
        )
    written = ", ".join(jira.profile.write_fields) or "no field (the profile lists none)"
    note(f"editable on {evidence.fact('issue')}: {written}")
