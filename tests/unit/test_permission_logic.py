"""The permission rules: what each access mode needs, how a mypermissions body is read (new keys
and deprecated aliases), which createmeta form a version serves, and which required fields
block Visor. The last tests run the probes over real HTTP against the emulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conformance.emulator import BOT_PASSWORD, BOT_USER, EmulatorServer, Fault
from conformance.probes import api
from conformance.probes import permissions as perms
from conformance.profile import load_profile
from conformance.secrets import Redactor, Secret
from conformance.settings import Credentials, Settings
from conformance.target import JiraTarget
from tests.bending_proxy import bending_proxy


def bean(have: bool, **extra: Any) -> dict[str, Any]:
    return {"havePermission": have, **extra}


# -- what each mode needs ----------------------------------------------------------------------


def test_read_needs_browse_only() -> None:
    assert perms.required_permissions("read") == ("BROWSE_PROJECTS",)


def test_write_needs_the_five_sync_permissions_but_not_delete() -> None:
    needed = perms.required_permissions("write")
    assert set(needed) == {
        "BROWSE_PROJECTS",
        "CREATE_ISSUES",
        "EDIT_ISSUES",
        "ADD_COMMENTS",
        "TRANSITION_ISSUES",
    }
    assert "DELETE_ISSUES" not in needed


def test_the_round_trip_also_needs_delete() -> None:
    assert "DELETE_ISSUES" in perms.required_permissions("write", round_trip=True)


def test_cloud_is_asked_only_new_keys() -> None:
    assert not set(perms.ASKED) & set(perms.DEPRECATED_ALIASES)
    assert set(perms.required_permissions("write", round_trip=True)) <= set(perms.ASKED)


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("BROWSE_PROJECTS", "Browse Projects"),
        ("ADD_COMMENTS", "Add Comments"),
        ("TRANSITION_ISSUES", "Transition Issues"),
        ("MANAGE_WATCHERS", "Manage Watchers"),  # not in the table: derived from the key
    ],
)
def test_permissions_are_named_as_the_admin_screen_shows_them(key: str, name: str) -> None:
    assert perms.permission_name(key) == name


def test_several_permissions_read_as_a_list() -> None:
    assert perms.listing(["Create Issues"]) == "Create Issues"
    assert perms.listing(["A", "B", "C"]) == "A, B and C"


# -- reading mypermissions ---------------------------------------------------------------------


def test_new_keys_are_read() -> None:
    grants = perms.read_grants(
        {"permissions": {"BROWSE_PROJECTS": bean(True), "CREATE_ISSUES": bean(False)}}
    )
    assert grants is not None
    assert grants.granted == {"BROWSE_PROJECTS": True, "CREATE_ISSUES": False}
    assert grants.missing(["BROWSE_PROJECTS", "CREATE_ISSUES"]) == ["CREATE_ISSUES"]
    assert not grants.via_alias


def test_a_deprecated_alias_alone_is_understood() -> None:
    body = {
        "permissions": {
            "BROWSE": bean(True, deprecatedKey=True),
            "COMMENT_ISSUE": bean(True, deprecatedKey=True),
            "EDIT_ISSUES": bean(True),
        }
    }
    grants = perms.read_grants(body)
    assert grants is not None
    assert grants.granted["BROWSE_PROJECTS"] is True
    assert grants.granted["ADD_COMMENTS"] is True
    assert grants.via_alias == {"BROWSE_PROJECTS", "ADD_COMMENTS"}
    assert "BROWSE" not in grants.granted


def test_the_new_key_wins_over_its_deprecated_alias() -> None:
    body = {
        "permissions": {
            "EDIT_ISSUE": bean(True, deprecatedKey=True),
            "EDIT_ISSUES": bean(False),
        }
    }
    grants = perms.read_grants(body)
    assert grants is not None
    assert grants.granted["EDIT_ISSUES"] is False
    assert grants.missing(["EDIT_ISSUES"]) == ["EDIT_ISSUES"]


def test_an_alias_is_recognised_by_its_flag_and_key_too() -> None:
    body = {"permissions": {"11": bean(True, key="CREATE_ISSUE", deprecatedKey=True)}}
    grants = perms.read_grants(body)
    assert grants is not None
    assert grants.granted == {"CREATE_ISSUES": True}


def test_a_permission_jira_did_not_report_counts_as_missing() -> None:
    grants = perms.read_grants({"permissions": {"BROWSE_PROJECTS": bean(True)}})
    assert grants is not None
    assert grants.missing(perms.required_permissions("write")) == [
        "CREATE_ISSUES",
        "EDIT_ISSUES",
        "ADD_COMMENTS",
        "TRANSITION_ISSUES",
    ]


def test_only_a_true_have_permission_grants() -> None:
    grants = perms.read_grants({"permissions": {"BROWSE_PROJECTS": bean("true")}})  # type: ignore[arg-type]
    assert grants is not None
    assert grants.granted["BROWSE_PROJECTS"] is False


@pytest.mark.parametrize("body", [None, [], {"permission": {}}, {"permissions": []}, "x"])
def test_a_body_without_a_permissions_object_is_not_read(body: Any) -> None:
    assert perms.read_grants(body) is None


# -- createmeta form by version ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("numbers", "deployment", "form"),
    [
        ([7, 13, 18], "Server", "old"),
        ([8, 3, 0], "Server", "old"),
        ([8, 4, 0], "Server", "paged"),
        ([8, 20, 30], "Server", "paged"),
        ([9, 12, 15], "Server", "paged"),
        ([10, 3, 12], "Server", "paged"),
        ([1001, 0, 0], "Cloud", "paged"),
        (None, "Cloud", "paged"),
        (None, None, "unknown"),
        ([9], "Server", "unknown"),
        (["x", "y"], "Server", "unknown"),
    ],
)
def test_createmeta_form_follows_the_version(numbers: Any, deployment: Any, form: str) -> None:
    assert perms.createmeta_form(numbers, deployment) == form


# -- required fields ---------------------------------------------------------------------------

CREATE_SCREEN = [
    perms.FieldMeta("summary", "Summary", required=True),
    perms.FieldMeta("issuetype", "Issue Type", required=True),
    perms.FieldMeta("project", "Project", required=True),
    perms.FieldMeta("reporter", "Reporter", required=True, has_default=True),
    perms.FieldMeta("customfield_10100", "Customer Impact", required=True),
    perms.FieldMeta("description", "Description"),
]


def test_a_required_field_without_default_that_visor_does_not_write_blocks() -> None:
    blocking = perms.unfillable_required(CREATE_SCREEN, ["summary", "description"])
    assert [f.id for f in blocking] == ["customfield_10100"]


@pytest.mark.parametrize("named", ["customfield_10100", "Customer Impact", "customer impact"])
def test_a_required_field_visor_writes_by_id_or_name_does_not_block(named: str) -> None:
    assert perms.unfillable_required(CREATE_SCREEN, [named]) == []


def test_field_meta_reads_both_createmeta_forms() -> None:
    paged = perms.field_meta({"fieldId": "summary", "name": "Summary", "required": True})
    old = perms.field_meta({"name": "Summary", "required": True}, "summary")
    assert paged == old == perms.FieldMeta("summary", "Summary", required=True)


# -- the probes, over real HTTP against the emulator -------------------------------------------


def make_target(
    url: str,
    user: str = BOT_USER,
    secret: str = BOT_PASSWORD,
    profile: str | None = None,
    **kw: Any,
) -> JiraTarget:
    """A run's target as the plugin builds it, with the bot's basic credentials."""
    creds = Credentials(user, Secret(secret), "basic", "password", "test")
    settings = Settings(url=url, credentials=creds, profile=profile, **kw)
    return JiraTarget(settings, Redactor(), load_profile(profile))


Emulator = Callable[..., EmulatorServer]


def test_invisible_project_is_told_apart_from_a_missing_permission(
    jira_emulator: Emulator,
) -> None:
    server = jira_emulator("mixed-permissions")
    target = make_target(server.url)
    ops = target.probe(perms.project_permissions, "OPS")
    nope = target.probe(perms.project_permissions, "NOPE")
    assert ops.ok
    assert perms.Grants(ops.facts["granted"]).missing(perms.required_permissions("write")) == [
        "ADD_COMMENTS"
    ]
    assert not nope.ok and nope.problem == "invisible"
    assert "No project could be found" in nope.facts["reason"]


def test_cloud_gets_the_mandatory_permissions_parameter(jira_emulator: Emulator) -> None:
    server = jira_emulator("cloud")
    target = make_target(server.url, "visor-bot@example.com", "visor-bot-token")
    evidence = target.probe(perms.project_permissions, "VIS")
    assert evidence.ok, evidence.facts
    asked = [e for e in server.log.entries if e.path.endswith("/mypermissions")]
    assert len(asked) == 1
    assert "permissions=BROWSE_PROJECTS" in str(asked[0].query).replace("%2C", ",")


@pytest.mark.parametrize(("scenario", "form"), [("dc-7.13", "old"), ("dc-9.12", "paged")])
def test_createmeta_without_a_known_version_finds_the_form_jira_serves(
    jira_emulator: Emulator, scenario: str, form: str
) -> None:
    # serverInfo fails, so the version stays unknown: the paged form is tried, then the old one.
    server = jira_emulator(scenario, faults=[Fault("GET", r"/serverInfo$", status=500)])
    target = make_target(server.url, profile="visor-two-way")
    evidence = target.probe(perms.create_metadata, "MKT")
    assert api.deployment(target) == (None, None)  # serverInfo told the run nothing
    assert evidence.ok, evidence.facts
    assert evidence.facts.get("form") == form
    assert evidence.facts.get("paged_404", False) is (form == "old")
    assert "Task" in evidence.facts["issue_types"]
    ids = {f.id for f in evidence.facts["fields"]["Task"]}
    assert {"summary", "issuetype", "project"} <= ids


def test_createmeta_follows_the_learned_version_without_trying(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-7.13")
    target = make_target(server.url, profile="visor-two-way")
    assert api.deployment(target) == ((7, 13, 18), "Server")  # serverInfo, asked first
    assert target.probe(perms.create_metadata, "VIS").facts.get("form") == "old"
    paths = [e.path for e in server.log.entries]
    assert not any("/createmeta/" in p for p in paths), paths


def test_required_custom_field_is_seen_in_create_metadata(jira_emulator: Emulator) -> None:
    server = jira_emulator("mixed-permissions")
    target = make_target(server.url, profile="visor-two-way")
    fields = target.probe(perms.create_metadata, "MKT").facts["fields"]["Task"]
    blocking = perms.unfillable_required(fields, target.profile.write_fields)
    assert [(f.id, f.name) for f in blocking] == [("customfield_10100", "Customer Impact")]


def test_prefetch_sends_one_request_per_read_project_concurrently(jira_emulator: Emulator) -> None:
    """Concurrency is counted, not timed: a proxy in front of the emulator holds requests until
    --jira-concurrency of them are in flight at once (a serial client would never get there)."""
    server = jira_emulator("dc-healthy", projects=24, issues=5)
    mypermissions = lambda path: path.endswith("/mypermissions")  # noqa: E731
    with bending_proxy(server.url, counted=mypermissions) as proxy:
        target = make_target(proxy.url, concurrency=8)
        keys = [f"P{i:03d}" for i in range(1, 25)]
        target.probe(perms.project_permissions, keys[0])  # the login is proven first
        proxy.gather, proxy.max_in_flight = 8, 0
        target.prefetch(perms.survey, [(k,) for k in keys])
        target.close()
    asked = [e for e in server.log.entries if e.path.endswith("/mypermissions")]
    assert len(asked) == 24  # one per project, none repeated
    assert server.log.mutating() == []
    assert proxy.max_in_flight == 8  # concurrent, and never more than --jira-concurrency
    assert server.log.failed_logins() == 0
