"""Each wire fact of docs/jira-wire-facts.md, pinned on the emulator."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.emulator.conftest import ADMIN, BOT, Emulator, bearer


def test_server_info_shape_dc(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("dc-healthy")
    r = http.get(f"{server.url}/rest/api/2/serverInfo", auth=BOT)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["deploymentType"] == "Server"
    assert body["versionNumbers"][:2] == [10, 3]
    assert body["databaseBuildNumber"] == body["buildNumber"]
    assert body["baseUrl"] == server.url
    assert body["serverTime"][-5:] == "+0000" and "T" in body["serverTime"]
    assert "X-RateLimit-Limit" not in r.headers


def test_status_running(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("dc-healthy")
    r = http.get(f"{server.url}/status")
    assert r.status_code == 200 and r.json() == {"state": "RUNNING"}


def test_x_ausername_anonymous_and_user(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("dc-healthy")
    assert http.get(f"{server.url}/rest/api/2/serverInfo").headers["X-AUSERNAME"] == "anonymous"
    r = http.get(f"{server.url}/rest/api/2/myself", auth=BOT)
    assert r.headers["X-AUSERNAME"] == "visor-bot"
    me = r.json()
    assert {"name", "key", "displayName", "emailAddress"} <= me.keys()
    assert "username" not in me
    assert me["displayName"] == "Visor Bot" and me["emailAddress"] == "visor-bot@example.com"


def test_anonymous_myself_401_body(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("dc-healthy")
    r = http.get(f"{server.url}/rest/api/2/myself")
    assert r.status_code == 401
    assert r.json() == {
        "message": "Client must be authenticated to access this resource.",
        "status-code": 401,
    }


def test_bad_password_401_with_seraph_reason(
    jira_emulator: Emulator, http: requests.Session
) -> None:
    server = jira_emulator("dc-healthy")
    r = http.get(f"{server.url}/rest/api/2/myself", auth=("visor-bot", "wrong"))
    assert r.status_code == 401
    assert r.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
    assert server.log.failed_logins() == 1
    assert server.log.entries[-1].login_failed


def test_captcha_after_three_failures(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("dc-9.12")
    url = f"{server.url}/rest/api/2/myself"
    for _ in range(3):
        assert http.get(url, auth=("visor-bot", "wrong")).status_code == 401
    r = http.get(url, auth=BOT)  # even the right password is now denied
    assert r.status_code == 403
    assert r.headers["X-Seraph-LoginReason"] == "AUTHENTICATION_DENIED"
    assert r.headers["X-Authentication-Denied-Reason"] == (
        f"CAPTCHA_CHALLENGE; login-url={server.url}/login.jsp"
    )
    assert server.log.failed_logins() == 4
    # a personal access token is not subject to the CAPTCHA
    assert http.get(url, headers=bearer()).status_code == 200


def test_captcha_scenario_and_200_variant(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("captcha")
    r = http.get(f"{server.url}/rest/api/2/serverInfo", auth=BOT)
    assert r.status_code == 403
    assert r.headers["X-Seraph-LoginReason"] == "AUTHENTICATION_DENIED"
    assert r.headers["X-Authentication-Denied-Reason"].startswith("CAPTCHA_CHALLENGE; login-url=")
    assert http.get(f"{server.url}/rest/api/2/myself", headers=bearer()).status_code == 200

    variant = jira_emulator("captcha", captcha_status=200)
    r = http.get(f"{variant.url}/rest/api/2/project", auth=BOT)
    assert r.status_code == 200 and r.json() == []
    assert r.headers["X-AUSERNAME"] == "anonymous"
    assert r.headers["X-Seraph-LoginReason"] == "AUTHENTICATION_DENIED"
    assert variant.log.entries[-1].login_failed


def test_mypermissions_dc_ignores_permissions_and_returns_aliases(
    jira_emulator: Emulator, http: requests.Session
) -> None:
    server = jira_emulator("dc-healthy")
    r = http.get(
        f"{server.url}/rest/api/2/mypermissions",
        params={"projectKey": "VIS", "permissions": "CREATE_ISSUES"},
        auth=BOT,
    )
    perms = r.json()["permissions"]
    assert len(perms) > 60
    assert perms["CREATE_ISSUES"]["havePermission"] is True
    assert perms["CREATE_ISSUE"]["deprecatedKey"] is True
    assert perms["EDIT_ISSUE"]["havePermission"] is True
    assert perms["ADMINISTER"]["havePermission"] is False
    item = perms["BROWSE_PROJECTS"]
    assert {"id", "key", "name", "type", "description", "havePermission"} <= item.keys()


def test_mypermissions_cloud_requires_permissions(
    jira_emulator: Emulator, http: requests.Session
) -> None:
    server = jira_emulator("cloud")
    auth = ("visor-bot@example.com", "visor-bot-token")
    r = http.get(f"{server.url}/rest/api/2/mypermissions", auth=auth)
    assert r.status_code == 400 and r.json()["errorMessages"]
    r = http.get(
        f"{server.url}/rest/api/2/mypermissions",
        params={"permissions": "BROWSE_PROJECTS,CREATE_ISSUES"},
        auth=auth,
    )
    assert set(r.json()["permissions"]) == {"BROWSE_PROJECTS", "CREATE_ISSUES"}


def test_project_is_flat_array_and_404(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("dc-healthy")
    body = http.get(f"{server.url}/rest/api/2/project", auth=BOT).json()
    assert isinstance(body, list) and [p["key"] for p in body] == ["MKT", "OPS", "VIS"]
    r = http.get(f"{server.url}/rest/api/2/project/NOPE", auth=BOT)
    assert r.status_code == 404
    assert r.json() == {
        "errorMessages": ["No project could be found with key 'NOPE'."],
        "errors": {},
    }


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_search_default_and_clamp(
    jira_emulator: Emulator, http: requests.Session, method: str
) -> None:
    server = jira_emulator("dc-healthy")
    url = f"{server.url}/rest/api/2/search"

    def search(**kw: Any) -> requests.Response:
        if method == "GET":
            return http.get(url, params=kw, auth=BOT)
        return http.post(url, json=kw, auth=BOT)

    body = search(jql="project = VIS")
    assert body.status_code == 200
    assert body.json()["maxResults"] == 50 and len(body.json()["issues"]) == 50
    assert body.json()["total"] == 1200
    big = search(jql="project = VIS", maxResults=5000, fields=["key"]).json()
    assert big["maxResults"] == 1000 and len(big["issues"]) == 1000 and big["total"] == 1200


def test_search_fields_and_shapes(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("dc-healthy")
    r = http.get(
        f"{server.url}/rest/api/2/search",
        auth=BOT,
        params={
            "jql": "key in (VIS-1, VIS-2) ORDER BY key ASC",
            "fields": "summary,-labels,status",
        },
    )
    issues = r.json()["issues"]
    assert [i["key"] for i in issues] == ["VIS-1", "VIS-2"]
    assert set(issues[0]["fields"]) == {"summary", "status"}
    assert {"id", "name", "statusCategory"} <= issues[0]["fields"]["status"].keys()
    full = http.get(f"{server.url}/rest/api/2/issue/VIS-1", auth=BOT).json()
    f = full["fields"]
    for name in (
        "summary",
        "issuetype",
        "project",
        "status",
        "priority",
        "labels",
        "created",
        "updated",
        "reporter",
        "assignee",
        "description",
        "comment",
    ):
        assert name in f
    assert f["issuetype"]["subtask"] is False and f["project"]["key"] == "VIS"
    import re

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", f["created"])


def test_search_labels_and_order(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("dc-healthy")
    r = http.get(
        f"{server.url}/rest/api/2/search",
        auth=BOT,
        params={"jql": "project = OPS AND labels = backend ORDER BY key DESC", "fields": "labels"},
    )
    issues = r.json()["issues"]
    assert issues and all("backend" in i["fields"]["labels"] for i in issues)
    nums = [int(i["key"].split("-")[1]) for i in issues]
    assert nums == sorted(nums, reverse=True)


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("project = XYZ", "The value 'XYZ' does not exist for the field 'project'."),
        (
            "nosuchfield = 1",
            "Field 'nosuchfield' does not exist or you do not have permission to view it.",
        ),
        ("summary = x", "The operator '=' is not supported by the 'summary' field."),
    ],
)
def test_bad_jql_400(
    jira_emulator: Emulator, http: requests.Session, jql: str, message: str
) -> None:
    server = jira_emulator("dc-healthy")
    r = http.get(f"{server.url}/rest/api/2/search", params={"jql": jql}, auth=BOT)
    assert r.status_code == 400
    assert r.json() == {"errorMessages": [message], "errors": {}}


def test_jql_syntax_error_is_jira_shaped(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("dc-healthy")
    r = http.get(f"{server.url}/rest/api/2/search", params={"jql": "project = VIS foo"}, auth=BOT)
    assert r.status_code == 400
    body = r.json()
    assert body["errors"] == {} and body["errorMessages"][0].startswith("Error in the JQL Query")


def test_cloud_search_410_and_enhanced_search(
    jira_emulator: Emulator, http: requests.Session
) -> None:
    server = jira_emulator("cloud")
    auth = ("visor-bot@example.com", "visor-bot-token")
    for v in ("2", "3"):
        r = http.get(
            f"{server.url}/rest/api/{v}/search", params={"jql": "project = VIS"}, auth=auth
        )
        assert r.status_code == 410
        assert "CHANGE-2046" in r.json()["errorMessages"][0]
    url = f"{server.url}/rest/api/3/search/jql"
    page = http.get(url, params={"jql": "project = OPS", "maxResults": "25"}, auth=auth).json()
    assert "total" not in page and page["isLast"] is False and page["nextPageToken"]
    assert set(page["issues"][0]) == {"id"}
    last = http.post(
        url,
        json={
            "jql": "project = OPS",
            "maxResults": 25,
            "fields": ["summary"],
            "nextPageToken": page["nextPageToken"],
        },
        auth=auth,
    ).json()
    assert last["isLast"] is True and "nextPageToken" not in last
    assert len(last["issues"]) == 15 and "summary" in last["issues"][0]["fields"]


def test_cloud_auth_rules(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("cloud")
    url = f"{server.url}/rest/api/2/myself"
    r = http.get(url, auth=("visor-bot@example.com", "visor-bot-token"))
    assert r.status_code == 200 and "X-AACCOUNTID" in r.headers
    assert http.get(url, auth=("visor-bot", "visor-bot-token")).status_code == 200
    r = http.get(url, auth=("visor-bot@example.com", "visor-bot-password"))
    assert r.status_code == 401 and "Basic authentication with passwords is deprecated" in r.text
    r = http.get(url, headers={"Authorization": "Bearer visor-bot-token"})
    assert r.status_code == 401
    assert r.json()["message"] == "Client must be authenticated to access this resource."
    assert http.get(f"{server.url}/rest/api/2/project", auth=("admin", "admin")).status_code == 200


@pytest.mark.parametrize(
    ("scenario", "old", "paged"),
    [
        ("dc-7.13", 200, 404),
        ("dc-8.20", 200, 200),
        ("dc-9.12", 404, 200),
        ("dc-healthy", 404, 200),
        ("dc-11.3", 404, 200),
    ],
)
def test_createmeta_by_version(
    jira_emulator: Emulator, http: requests.Session, scenario: str, old: int, paged: int
) -> None:
    server = jira_emulator(scenario)
    kw = {"headers": bearer()} if scenario == "dc-11.3" else {"auth": BOT}
    r = http.get(
        f"{server.url}/rest/api/2/issue/createmeta",
        params={"projectKeys": "VIS", "expand": "projects.issuetypes.fields"},
        **kw,
    )
    assert r.status_code == old
    if old == 200:
        proj = r.json()["projects"][0]
        assert proj["key"] == "VIS" and proj["issuetypes"][0]["fields"]["summary"]["required"]
    r = http.get(f"{server.url}/rest/api/2/issue/createmeta/VIS/issuetypes", **kw)
    assert r.status_code == paged
    if paged == 200:
        body = r.json()
        assert {"startAt", "maxResults", "total", "isLast", "values"} <= body.keys()
        fields = http.get(
            f"{server.url}/rest/api/2/issue/createmeta/VIS/issuetypes/10002", **kw
        ).json()["values"]
        assert any(f["fieldId"] == "summary" and f["required"] for f in fields)


def test_pat_by_version(jira_emulator: Emulator, http: requests.Session) -> None:
    old = jira_emulator("dc-7.13")
    assert http.get(f"{old.url}/rest/api/2/myself", headers=bearer()).status_code == 401
    assert http.get(f"{old.url}/rest/api/2/myself", auth=BOT).status_code == 200
    new = jira_emulator("dc-8.20")
    assert http.get(f"{new.url}/rest/api/2/myself", headers=bearer()).status_code == 200
    bad = http.get(f"{new.url}/rest/api/2/myself", headers=bearer("nope"))
    assert bad.status_code == 401


@pytest.mark.parametrize("scenario", ["dc-11.3", "basic-auth-disabled"])
def test_basic_auth_disabled(
    jira_emulator: Emulator, http: requests.Session, scenario: str
) -> None:
    server = jira_emulator(scenario)
    r = http.get(f"{server.url}/rest/api/2/myself", auth=BOT)
    assert r.status_code == 403
    assert r.json() == {"message": "Basic Authentication has been disabled on this instance."}
    r = http.post(
        f"{server.url}/rest/auth/1/session", json={"username": BOT[0], "password": BOT[1]}
    )
    assert r.status_code == 403
    assert http.get(f"{server.url}/rest/api/2/myself", headers=bearer()).status_code == 200


def test_session_cookie_login(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy")
    s = requests.Session()
    r = s.post(f"{server.url}/rest/auth/1/session", json={"username": BOT[0], "password": BOT[1]})
    assert r.status_code == 200 and r.json()["session"]["name"] == "JSESSIONID"
    r = s.get(f"{server.url}/rest/api/2/myself")
    assert r.status_code == 200 and server.log.entries[-1].auth == "cookie"
    s.cookies.clear()
    s.cookies.set("JSESSIONID", "expired")
    assert s.get(f"{server.url}/rest/api/2/myself").status_code == 401


def test_unknown_paths_and_bad_bodies_are_jira_shaped(
    jira_emulator: Emulator, http: requests.Session
) -> None:
    server = jira_emulator("dc-healthy")
    r = http.get(f"{server.url}/rest/api/2/nonsense", auth=BOT)
    assert r.status_code == 404
    assert r.json()["message"] == f"null for uri: {server.url}/rest/api/2/nonsense"
    r = http.post(
        f"{server.url}/rest/api/2/issue",
        data="{not json",
        auth=BOT,
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["errorMessages"][0].startswith("Unexpected character")
    r = http.post(
        f"{server.url}/rest/api/2/issue",
        json={"fields": {"project": {"key": "VIS"}, "issuetype": {"name": "Task"}}},
        auth=BOT,
    )
    assert r.status_code == 400
    assert r.json() == {
        "errorMessages": [],
        "errors": {"summary": "You must specify a summary of the issue."},
    }
    r = http.get(f"{server.url}/secure/NoSuchPage.jspa")
    assert r.status_code == 404 and "Traceback" not in r.text
    assert http.get(f"{server.url}/rest/api/3/myself", auth=BOT).status_code == 404


def test_issue_write_path_status_codes(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("dc-healthy")
    api = f"{server.url}/rest/api/2"
    r = http.post(
        f"{api}/issue",
        auth=BOT,
        json={
            "fields": {
                "project": {"key": "OPS"},
                "issuetype": {"id": "10004"},
                "summary": "s",
                "labels": ["visor-conformance"],
            }
        },
    )
    assert r.status_code == 201 and set(r.json()) == {"id", "key", "self"}
    key = r.json()["key"]
    assert (
        http.put(f"{api}/issue/{key}", auth=BOT, json={"fields": {"description": "x"}}).status_code
        == 204
    )
    r = http.post(f"{api}/issue/{key}/comment", auth=BOT, json={"body": "c"})
    assert r.status_code == 201 and r.json()["body"] == "c"
    ts = http.get(f"{api}/issue/{key}/transitions", auth=BOT).json()["transitions"]
    done = next(t for t in ts if t["name"] == "Done")
    assert (
        http.post(
            f"{api}/issue/{key}/transitions", auth=BOT, json={"transition": {"id": done["id"]}}
        ).status_code
        == 204
    )
    got = http.get(f"{api}/issue/{key}", auth=BOT, params={"expand": "changelog"}).json()
    assert got["fields"]["status"]["name"] == "Done"
    assert got["changelog"]["total"] == 2
    assert "summary" in http.get(f"{api}/issue/{key}/editmeta", auth=BOT).json()["fields"]
    r = http.put(f"{api}/issue/{key}", auth=BOT, json={"fields": {"nosuch": 1}})
    assert r.status_code == 400 and "nosuch" in r.json()["errors"]
    assert http.delete(f"{api}/issue/{key}", auth=BOT).status_code == 204
    r = http.get(f"{api}/issue/{key}", auth=BOT)
    assert r.status_code == 404 and r.json()["errorMessages"] == ["Issue Does Not Exist"]
    for path in ("field", "priority", "status", "issuetype"):
        r = http.get(f"{api}/{path}", auth=BOT)
        assert r.status_code == 200 and isinstance(r.json(), list) and r.json()


def test_login_page_is_html(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("dc-healthy")
    r = http.get(f"{server.url}/login.jsp")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")


def test_admin_lists_every_project(jira_emulator: Emulator, http: requests.Session) -> None:
    for scenario in ("no-project-access", "read-only-bot", "anonymous-fallback"):
        server = jira_emulator(scenario)
        keys = [p["key"] for p in http.get(f"{server.url}/rest/api/2/project", auth=ADMIN).json()]
        if scenario == "anonymous-fallback":
            assert keys == ["PUB"]  # credentials are stripped: the admin is anonymous too
        else:
            assert keys == ["MKT", "OPS", "VIS"]


def test_cloud_paged_project_search(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("cloud")
    auth = ("visor-bot@example.com", "visor-bot-token")
    page = http.get(
        f"{server.url}/rest/api/2/project/search", params={"maxResults": 2}, auth=auth
    ).json()
    assert page["total"] == 3 and page["isLast"] is False and len(page["values"]) == 2
    assert "nextPage" in page


@pytest.mark.parametrize("scenario", ["dc-11.3", "basic-auth-disabled", "sso-redirect"])
def test_admin_token_lists_projects_where_basic_auth_is_off(
    jira_emulator: Emulator, http: requests.Session, scenario: str
) -> None:
    server = jira_emulator(scenario)
    r = http.get(f"{server.url}/rest/api/2/project", headers=bearer("admin-token"))
    assert [p["key"] for p in r.json()] == ["MKT", "OPS", "VIS"]
