"""Issue bodies carry the fields real Jira serves (with its nulls and empties), seeded issues
have changelogs, and Cloud's /rest/api/3 serves rich text as Atlassian Document Format."""

from __future__ import annotations

import re
from typing import Any

import requests

from conformance.emulator import EmulatorServer
from tests.emulator.conftest import BOT, Emulator

CLOUD_BOT = ("visor-bot@example.com", "visor-bot-token")
REAL_FIELDS = (
    "resolution",
    "resolutiondate",
    "components",
    "fixVersions",
    "versions",
    "duedate",
    "environment",
    "issuelinks",
    "subtasks",
    "timetracking",
    "votes",
    "watches",
    "worklog",
    "attachment",
)
# the value a field has when it has none, on a real Jira
EMPTY: dict[str, Any] = {
    "resolution": None,
    "resolutiondate": None,
    "components": [],
    "fixVersions": [],
    "versions": [],
    "duedate": None,
    "environment": None,
    "issuelinks": [],
    "subtasks": [],
    "timetracking": {},
    "attachment": [],
}
SPRINT_STRING = re.compile(
    r"com\.atlassian\.greenhopper\.service\.sprint\.Sprint@[0-9a-f]+\[id=\d+,rapidViewId=\d+,"
    r"state=(ACTIVE|CLOSED),name=[^,]+,startDate=[^,]+,endDate=[^,]+,completeDate=[^,]+,"
    r"sequence=\d+,goal=\]"
)


def _search(server: EmulatorServer, jql: str, auth: Any = BOT, **params: Any) -> list[Any]:
    r = requests.get(
        f"{server.url}/rest/api/2/search",
        params={"jql": jql, "maxResults": 1000, **params},
        auth=auth,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    issues: list[Any] = r.json()["issues"]
    return issues


def _field_ids(server: EmulatorServer, auth: Any = BOT) -> dict[str, dict[str, Any]]:
    r = requests.get(f"{server.url}/rest/api/2/field", auth=auth, timeout=10)
    return {f["name"]: f for f in r.json()}


def test_every_real_field_is_served_with_nulls_empties_and_values(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy")
    issues = _search(server, "project = VIS ORDER BY key ASC", fields="*all")
    assert len(issues) == 1000
    for name in REAL_FIELDS:
        values = [i["fields"][name] for i in issues]  # present on every issue
        if name in EMPTY:
            empties = sum(v == EMPTY[name] for v in values)
            assert 0 < empties < len(values), (name, empties)
    first = issues[0]["fields"]
    assert first["votes"]["votes"] >= 0 and first["votes"]["hasVoted"] is False
    assert first["watches"]["watchCount"] >= 1 and first["watches"]["isWatching"] is False
    assert {"startAt", "maxResults", "total", "worklogs"} <= first["worklog"].keys()
    logged = next(i["fields"] for i in issues if i["fields"]["worklog"]["total"])
    assert (
        logged["timetracking"]["timeSpentSeconds"]
        == (logged["worklog"]["worklogs"][0]["timeSpentSeconds"])
    )
    attached = next(i["fields"]["attachment"][0] for i in issues if i["fields"]["attachment"])
    assert attached["mimeType"] == "image/png" and attached["size"] > 0
    assert attached["author"]["name"] == "admin"
    component = next(c for i in issues for c in i["fields"]["components"])
    assert component["name"] in ("Backend", "Frontend", "API")
    project = requests.get(f"{server.url}/rest/api/2/project/VIS", auth=BOT, timeout=10).json()
    assert component["id"] in {c["id"] for c in project["components"]}
    version = next(v for i in issues for v in i["fields"]["fixVersions"])
    assert version["id"] in {v["id"] for v in project["versions"]}
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d", next(i["fields"]["duedate"] for i in issues if i["fields"]["duedate"])
    )


def test_resolution_follows_the_status_category(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy")
    for issue in _search(server, "project = OPS", fields="status,resolution,resolutiondate"):
        f = issue["fields"]
        done = f["status"]["statusCategory"]["key"] == "done"
        assert (f["resolution"] is not None) is done
        assert (f["resolutiondate"] is not None) is done
        if done:
            assert f["resolution"]["name"] == "Done"


def test_sub_tasks_and_parents_point_at_each_other(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy")
    by_key = {i["key"]: i["fields"] for i in _search(server, "project = OPS", fields="*all")}
    subtasks = [k for k, f in by_key.items() if f["issuetype"]["subtask"]]
    assert subtasks
    for key, f in by_key.items():
        if key in subtasks:
            parent = f["parent"]["key"]
            assert key in [s["key"] for s in by_key[parent]["subtasks"]]
            assert f["parent"]["fields"]["summary"] == by_key[parent]["summary"]
        else:
            assert f["parent"] is None
    # a sub-task created through the API is listed by its parent
    api = f"{server.url}/rest/api/2"
    made = requests.post(
        f"{api}/issue",
        auth=BOT,
        json={
            "fields": {
                "project": {"key": "OPS"},
                "issuetype": {"name": "Sub-task"},
                "summary": "child",
                "parent": {"key": "OPS-3"},
            }
        },
        timeout=10,
    )
    assert made.status_code == 201, made.text
    parent = requests.get(f"{api}/issue/OPS-3", auth=BOT, timeout=10).json()["fields"]
    assert made.json()["key"] in [s["key"] for s in parent["subtasks"]]
    child = requests.get(f"{api}/issue/{made.json()['key']}", auth=BOT, timeout=10).json()
    assert child["fields"]["parent"]["key"] == "OPS-3"


def test_issue_links_are_seen_from_both_ends(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy")
    by_key = {i["key"]: i["fields"]["issuelinks"] for i in _search(server, "project = VIS")}
    outward = [(k, link) for k, links in by_key.items() for link in links if "outwardIssue" in link]
    assert outward
    for key, link in outward:
        assert link["type"]["name"] == "Blocks" and link["type"]["outward"] == "blocks"
        other = by_key[link["outwardIssue"]["key"]]
        back = [x for x in other if x["id"] == link["id"]]
        assert back and back[0]["inwardIssue"]["key"] == key


def test_agile_fields_resolve_by_name_with_their_real_schema(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy")
    fields = _field_ids(server)
    sprint, epic, points = fields["Sprint"], fields["Epic Link"], fields["Story Points"]
    assert sprint["schema"]["custom"] == "com.pyxis.greenhopper.jira:gh-sprint"
    assert sprint["schema"]["type"] == "array" and sprint["schema"]["items"] == "string"
    assert epic["schema"]["custom"] == "com.pyxis.greenhopper.jira:gh-epic-link"
    assert points["schema"]["custom"] == "com.atlassian.jira.plugin.system.customfieldtypes:float"
    assert all(f["custom"] for f in (sprint, epic, points))
    assert "Sprint" in sprint["clauseNames"] and "Epic Link" in epic["clauseNames"]
    ids = ",".join(f["id"] for f in (sprint, epic, points))
    # key DESC: the newest 1,000 of 1,200, so both the active (newest) and closed sprints show
    issues = _search(server, "project = VIS ORDER BY key DESC", fields=f"issuetype,{ids}")
    sprints = [i["fields"][sprint["id"]] for i in issues]
    assert None in sprints
    assert all(SPRINT_STRING.fullmatch(s[0]) for s in sprints if s is not None)
    assert any("state=ACTIVE" in s[0] for s in sprints if s) and any(
        "state=CLOSED" in s[0] for s in sprints if s
    )
    kinds = {i["key"]: i["fields"]["issuetype"]["name"] for i in issues}
    links = [i["fields"][epic["id"]] for i in issues]
    assert None in links and all(kinds[k] == "Epic" for k in links if k is not None)
    values = [i["fields"][points["id"]] for i in issues]
    assert None in values and all(isinstance(v, float) for v in values if v is not None)


def test_cloud_sprints_are_objects(jira_emulator: Emulator) -> None:
    server = jira_emulator("cloud")
    sprint = _field_ids(server, CLOUD_BOT)["Sprint"]
    assert sprint["schema"]["items"] == "json"
    r = requests.post(
        f"{server.url}/rest/api/3/search/jql",
        json={"jql": "project = VIS", "fields": [sprint["id"]], "maxResults": 100},
        auth=CLOUD_BOT,
        timeout=10,
    )
    values = [i["fields"][sprint["id"]] for i in r.json()["issues"]]
    objects = [v[0] for v in values if v]
    assert objects and all(o["state"] in ("active", "closed") and o["name"] for o in objects)


def test_seeded_issues_have_changelogs(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy")
    issues = _search(server, "project = VIS", fields="status,created,updated", expand="changelog")
    assert len(issues) == 1000
    assert all(i["changelog"]["total"] == len(i["changelog"]["histories"]) for i in issues)
    assert all(i["changelog"]["histories"] for i in issues)  # every seeded issue, not 0 of 1,000
    for issue in issues:
        f, histories = issue["fields"], issue["changelog"]["histories"]
        stamps = [h["created"] for h in histories]
        assert f["created"] <= stamps[0] and stamps == sorted(stamps) and stamps[-1] <= f["updated"]
        moves = [i for h in histories for i in h["items"] if i["field"] == "status"]
        if f["status"]["statusCategory"]["key"] == "done":
            assert moves[-1]["toString"] == "Done"
            assert any(i["field"] == "resolution" for i in histories[-1]["items"])
        elif f["status"]["name"] == "To Do":
            assert moves == []
    assert server.world.stored == {}  # read, not stored: memory stays flat


def test_editing_a_seeded_issue_keeps_its_history(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy")
    api = f"{server.url}/rest/api/2"
    before = requests.get(
        f"{api}/issue/VIS-7", params={"expand": "changelog"}, auth=BOT, timeout=10
    ).json()["changelog"]["histories"]
    r = requests.put(
        f"{api}/issue/VIS-7", json={"fields": {"summary": "renamed"}}, auth=BOT, timeout=10
    )
    assert r.status_code == 204
    after = requests.get(
        f"{api}/issue/VIS-7", params={"expand": "changelog"}, auth=BOT, timeout=10
    ).json()["changelog"]["histories"]
    assert after[:-1] == before and after[-1]["items"][0]["toString"] == "renamed"


def test_transition_to_done_sets_the_resolution(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy")
    api = f"{server.url}/rest/api/2"
    made = requests.post(
        f"{api}/issue",
        auth=BOT,
        json={"fields": {"project": {"key": "VIS"}, "issuetype": {"name": "Task"}, "summary": "t"}},
        timeout=10,
    ).json()["key"]
    fresh = requests.get(f"{api}/issue/{made}", auth=BOT, timeout=10).json()["fields"]
    assert fresh["resolution"] is None and fresh["components"] == [] and fresh["subtasks"] == []
    requests.post(
        f"{api}/issue/{made}/transitions", json={"transition": {"id": "31"}}, auth=BOT, timeout=10
    )
    got = requests.get(
        f"{api}/issue/{made}", params={"expand": "changelog"}, auth=BOT, timeout=10
    ).json()
    assert got["fields"]["resolution"]["name"] == "Done" and got["fields"]["resolutiondate"]
    items = got["changelog"]["histories"][-1]["items"]
    assert [i["field"] for i in items] == ["status", "resolution"]


def test_generated_issues_are_deterministic(jira_emulator: Emulator) -> None:
    one, two = jira_emulator("dc-healthy"), jira_emulator("dc-healthy")

    def body(server: EmulatorServer) -> str:
        r = requests.get(
            f"{server.url}/rest/api/2/issue/VIS-51", params={"expand": "changelog"}, auth=BOT
        )
        return r.text.replace(server.url, "BASE")

    assert body(one) == body(two)


def test_adf_on_cloud_v3_only(jira_emulator: Emulator) -> None:
    cloud = jira_emulator("cloud")
    v2 = requests.get(f"{cloud.url}/rest/api/2/issue/VIS-3", auth=CLOUD_BOT, timeout=10).json()
    v3 = requests.get(f"{cloud.url}/rest/api/3/issue/VIS-3", auth=CLOUD_BOT, timeout=10).json()
    text = v2["fields"]["description"]
    assert isinstance(text, str) and text
    doc = v3["fields"]["description"]
    assert doc["type"] == "doc" and doc["version"] == 1
    assert doc["content"][0] == {"type": "paragraph", "content": [{"type": "text", "text": text}]}
    assert v3["self"].endswith("/rest/api/3/issue/10003")
    bugs = [i for i in _search_v3(cloud) if i["fields"]["environment"] is not None]
    assert bugs and all(i["fields"]["environment"]["type"] == "doc" for i in bugs)
    # a comment written in ADF on v3 reads back as text on v2 and as ADF on v3
    adf = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hello"}]}],
    }
    r = requests.post(
        f"{cloud.url}/rest/api/3/issue/VIS-3/comment", json={"body": adf}, auth=CLOUD_BOT
    )
    assert r.status_code == 201 and r.json()["body"] == adf
    listed = requests.get(f"{cloud.url}/rest/api/2/issue/VIS-3/comment", auth=CLOUD_BOT).json()
    assert listed["comments"][-1]["body"] == "hello"
    made = requests.post(
        f"{cloud.url}/rest/api/3/issue",
        json={
            "fields": {
                "project": {"key": "VIS"},
                "issuetype": {"name": "Task"},
                "summary": "adf",
                "description": adf,
            }
        },
        auth=CLOUD_BOT,
    )
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    read = requests.get(f"{cloud.url}/rest/api/2/issue/{key}", auth=CLOUD_BOT).json()
    assert read["fields"]["description"] == "hello"
    dc = jira_emulator("dc-healthy")
    assert requests.get(f"{dc.url}/rest/api/3/issue/VIS-3", auth=BOT).status_code == 404
    assert isinstance(
        requests.get(f"{dc.url}/rest/api/2/issue/VIS-3", auth=BOT).json()["fields"]["description"],
        str,
    )


def _search_v3(server: EmulatorServer) -> list[Any]:
    r = requests.post(
        f"{server.url}/rest/api/3/search/jql",
        json={"jql": "project = VIS", "fields": ["environment", "issuetype"], "maxResults": 100},
        auth=CLOUD_BOT,
        timeout=10,
    )
    issues: list[Any] = r.json()["issues"]
    return issues
