"""Fidelity measured with real Jira clients nobody here wrote: ``jira`` and
``atlassian-python-api`` must work unmodified against the emulator."""

from __future__ import annotations

import pytest
from atlassian import Jira
from jira import JIRA

from tests.emulator.conftest import BOT, TOKEN, Emulator

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_jira_package_against_dc_healthy(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy")
    j = JIRA(server.url, basic_auth=BOT, options={"check_update": False})
    info = j.server_info()
    assert info["versionNumbers"][:2] == [10, 3]
    assert info["deploymentType"] == "Server"
    assert j.myself()["name"] == "visor-bot"
    assert sorted(p.key for p in j.projects()) == ["MKT", "OPS", "VIS"]

    # paging across more than one page, as the client does it (maxResults=False: all pages)
    ops = j.search_issues("project = OPS ORDER BY key ASC", maxResults=False)
    assert [i.key for i in ops] == [f"OPS-{n}" for n in range(1, 41)]
    first = j.search_issues("project = VIS ORDER BY key ASC", startAt=0, maxResults=100)
    second = j.search_issues("project = VIS ORDER BY key ASC", startAt=100, maxResults=100)
    assert first.total == 1200
    assert first[-1].key == "VIS-100" and second[0].key == "VIS-101"

    issue = j.create_issue(
        project="VIS",
        summary="conformance probe",
        issuetype={"name": "Task"},
        labels=["visor-conformance"],
    )
    assert issue.fields.summary == "conformance probe"
    issue.update(summary="conformance probe (edited)", description="edited by the test")
    assert j.issue(issue.key).fields.summary == "conformance probe (edited)"
    comment = j.add_comment(issue, "a comment")
    assert comment.body == "a comment"
    assert [c.body for c in j.comments(issue)] == ["a comment"]
    assert server.world.issues_with_label("visor-conformance") == [issue.key]
    issue.delete()
    assert server.world.issues_with_label("visor-conformance") == []
    assert server.world.deleted_keys == [issue.key]


def test_jira_package_with_personal_access_token(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy")
    j = JIRA(server.url, token_auth=TOKEN, options={"check_update": False})
    assert j.myself()["name"] == "visor-bot"
    assert server.log.entries[-1].auth == "bearer"


def test_atlassian_python_api_against_dc_healthy(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy")
    a = Jira(url=server.url, username=BOT[0], password=BOT[1])
    info = a.get_server_info()
    assert info is not None and info["version"].startswith("10.3.")
    assert a.myself()["name"] == "visor-bot"
    assert len(a.projects()) == 3
    found = a.jql("project = MKT ORDER BY key ASC", limit=5, start=5)
    assert found is not None
    assert found["total"] == 15
    assert [i["key"] for i in found["issues"]] == [f"MKT-{n}" for n in range(6, 11)]
    created = a.issue_create(
        fields={
            "project": {"key": "MKT"},
            "summary": "from atlassian",
            "issuetype": {"name": "Task"},
        }
    )
    a.issue_update(created["key"], fields={"summary": "from atlassian (edited)"})
    assert a.issue(created["key"])["fields"]["summary"] == "from atlassian (edited)"
    a.delete_issue(created["key"])
    assert created["key"] in server.world.deleted_keys


def test_jira_package_against_cloud(jira_emulator: Emulator) -> None:
    server = jira_emulator("cloud")
    j = JIRA(
        server.url, basic_auth=("visor-bot@example.com", TOKEN), options={"check_update": False}
    )
    assert j.server_info()["deploymentType"] == "Cloud"
    me = j.myself()
    assert "accountId" in me and "name" not in me
    assert sorted(p.key for p in j.projects()) == ["MKT", "OPS", "VIS"]
    everything = j.enhanced_search_issues("project = OPS ORDER BY key ASC", maxResults=0)
    assert len(everything) == 40
    page = j.enhanced_search_issues("project = VIS", maxResults=20)
    assert len(page) == 20 and page.nextPageToken


def test_jira_package_reads_the_real_fields_and_changelog(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy")
    j = JIRA(server.url, basic_auth=BOT, options={"check_update": False})
    names = {f["name"]: f["id"] for f in j.fields()}
    assert {"Sprint", "Epic Link", "Story Points", "Resolution", "Component/s"} <= names.keys()
    parent = j.issue("VIS-9", expand="changelog")
    assert [s.key for s in parent.fields.subtasks] == ["VIS-10"]
    assert parent.changelog.total == len(parent.changelog.histories) >= 1
    child = j.issue("VIS-10")
    assert child.fields.parent.key == "VIS-9" and child.fields.issuetype.subtask is True
    assert parent.fields.parent is None
    done = j.search_issues("project = OPS AND status = Done", maxResults=False)
    assert done and all(getattr(i.fields.resolution, "name", None) == "Done" for i in done)
    todo = j.search_issues("project = OPS AND status = 'To Do'", maxResults=False)
    assert todo and all(i.fields.resolution is None for i in todo)
    sprint = getattr(parent.fields, names["Sprint"])
    assert sprint is None or sprint[0].startswith("com.atlassian.greenhopper.service.sprint")


def test_atlassian_python_api_changelogs_dc_and_cloud(jira_emulator: Emulator) -> None:
    dc = jira_emulator("dc-healthy")
    a = Jira(url=dc.url, username=BOT[0], password=BOT[1])
    assert a.get_issue_changelog("VIS-3")["histories"]
    cloud = jira_emulator("cloud")
    c = Jira(url=cloud.url, username="visor-bot@example.com", password=TOKEN, cloud=True)
    page = c.get_issue_changelog("VIS-3")
    assert page["total"] == len(page["values"]) >= 1 and page["isLast"] is True
    v3 = Jira(
        url=cloud.url,
        username="visor-bot@example.com",
        password=TOKEN,
        cloud=True,
        api_version="3",
    )
    assert v3.issue("VIS-3")["fields"]["description"]["type"] == "doc"
    assert isinstance(c.issue("VIS-3")["fields"]["description"], str)
