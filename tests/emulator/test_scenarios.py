"""Every scenario (README, "The bundled Jira emulator") starts from the fixture and shows its defining behaviour."""

from __future__ import annotations

import concurrent.futures
import time
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from conformance.emulator import SCENARIOS, EmulatorServer, Fault
from conformance.emulator import app as emulator_app
from conformance.emulator.log import LoggedRequest
from conformance.emulator.scenarios import NETWORK
from tests.emulator.conftest import ADMIN, BOT, Emulator, bearer

CONTRACT = {
    "dc-healthy",
    "dc-7.13",
    "dc-8.20",
    "dc-9.12",
    "dc-11.3",
    "cloud",
    "captcha",
    "basic-auth-disabled",
    "sso-redirect",
    "context-path",
    "read-only-bot",
    "no-project-access",
    "rate-limited",
    "base-url-mismatch",
    "anonymous-fallback",
    "tls-self-signed",
    "not-running",
}


def test_every_contract_scenario_exists() -> None:
    assert set(SCENARIOS) >= CONTRACT
    assert {"mixed-permissions", "first-run"} <= set(SCENARIOS)
    assert all(SCENARIOS[n] for n in SCENARIOS)


BROKEN_TLS = {name for name, switches in NETWORK.items() if switches.get("tls_fault")}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_starts_and_answers_status(jira_emulator: Emulator, name: str) -> None:
    server = jira_emulator(name)
    verify = str(server.ca_path) if server.ca_path else True
    if name in BROKEN_TLS:  # its TLS is broken on purpose: the handshake fails
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(f"{server.url}/status", verify=verify, timeout=5)
        return
    r = requests.get(f"{server.url}/status", verify=verify, timeout=5)
    expected = {"not-running": "STARTING", "first-run": "FIRST_RUN"}.get(name, "RUNNING")
    assert r.status_code == 200 and r.json() == {"state": expected}


def test_sso_redirect(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("sso-redirect")
    r = http.get(f"{server.url}/rest/api/2/myself", auth=BOT, allow_redirects=False)
    assert r.status_code == 302
    loc = urlparse(r.headers["Location"])
    assert "SAMLRequest" in parse_qs(loc.query)
    idp = http.get(r.headers["Location"])
    assert idp.status_code == 200 and "text/html" in idp.headers["Content-Type"]
    assert http.get(f"{server.url}/rest/api/2/myself", headers=bearer()).status_code == 200


def test_context_path(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("context-path")
    assert server.url.endswith("/jira")
    root = server.url[: -len("/jira")]
    r = http.get(f"{root}/rest/api/2/serverInfo", allow_redirects=False)
    assert r.status_code == 404 and "Apache Tomcat" in r.text
    r = http.get(f"{server.url}/rest/api/2/serverInfo")
    assert r.status_code == 200 and r.json()["baseUrl"] == server.url
    assert server.log.entries[-1].path == "/jira/rest/api/2/serverInfo"
    custom = jira_emulator("dc-healthy", context_path="/tracker")
    assert custom.url.endswith("/tracker")
    assert http.get(f"{custom.url}/status").json() == {"state": "RUNNING"}


def test_read_only_bot(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("read-only-bot")
    api = f"{server.url}/rest/api/2"
    assert len(http.get(f"{api}/project", auth=BOT).json()) == 3
    assert http.get(f"{api}/search", params={"jql": "project = VIS"}, auth=BOT).status_code == 200
    r = http.post(
        f"{api}/issue",
        auth=BOT,
        json={"fields": {"project": {"key": "VIS"}, "issuetype": {"name": "Task"}, "summary": "x"}},
    )
    assert r.status_code == 400
    assert r.json()["errorMessages"] == [
        "You do not have permission to create issues in this project."
    ]
    r = http.put(f"{api}/issue/VIS-1", auth=BOT, json={"fields": {"summary": "y"}})
    assert r.status_code == 403
    assert http.post(f"{api}/issue/VIS-1/comment", auth=BOT, json={"body": "c"}).status_code == 400
    assert http.delete(f"{api}/issue/VIS-1", auth=BOT).status_code == 403
    perms = http.get(f"{api}/mypermissions", params={"projectKey": "VIS"}, auth=BOT).json()
    assert perms["permissions"]["BROWSE_PROJECTS"]["havePermission"] is True
    assert perms["permissions"]["CREATE_ISSUES"]["havePermission"] is False
    assert server.world.created_keys == [] and server.world.deleted_keys == []


def test_no_project_access(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("no-project-access")
    api = f"{server.url}/rest/api/2"
    assert http.get(f"{api}/myself", auth=BOT).status_code == 200
    assert http.get(f"{api}/project", auth=BOT).json() == []
    r = http.get(f"{api}/project/VIS", auth=BOT)
    assert r.status_code == 404
    assert r.json()["errorMessages"] == ["No project could be found with key 'VIS'."]
    r = http.get(f"{api}/search", params={"jql": "project = VIS"}, auth=BOT)
    assert r.status_code == 400
    assert r.json()["errorMessages"] == ["The value 'VIS' does not exist for the field 'project'."]
    r = http.get(f"{api}/mypermissions", params={"projectKey": "VIS"}, auth=BOT)
    assert r.status_code == 404


def test_rate_limited(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("rate-limited")
    url = f"{server.url}/rest/api/2/myself"
    first = http.get(url, auth=BOT)
    assert first.headers["X-RateLimit-Limit"] == "10"
    assert first.headers["X-RateLimit-Remaining"] == "9"
    assert first.headers["X-RateLimit-Interval-Seconds"] == "1"
    assert first.headers["X-RateLimit-FillRate"] == "5"
    assert first.headers["Retry-After"] == "0"
    info = http.get(f"{server.url}/rest/api/2/serverInfo", auth=BOT)
    assert "X-RateLimit-Limit" not in info.headers
    # The bucket refills 5 a second: on a busy machine requests may come slower than that, so
    # ask until it runs dry (a bounded number of times) and read the refusal itself.
    limited = next(
        (r for r in (http.get(url, auth=BOT) for _ in range(500)) if r.status_code == 429), None
    )
    assert limited is not None, "the bucket of 10 never ran dry"
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    # A bucket that does not refill within the test: the third request is refused.
    custom = jira_emulator("dc-healthy", rate_limit=(2, 0.001))
    codes = [http.get(f"{custom.url}/rest/api/2/myself", auth=BOT).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_base_url_mismatch(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("base-url-mismatch")
    info = http.get(f"{server.url}/rest/api/2/serverInfo").json()
    assert info["baseUrl"] == "https://jira.internal.example:8443"
    issue = http.get(f"{server.url}/rest/api/2/issue/VIS-1", auth=BOT).json()
    assert issue["self"].startswith("https://jira.internal.example:8443/rest/api/2/issue/")


def test_anonymous_fallback(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("anonymous-fallback")
    api = f"{server.url}/rest/api/2"
    r = http.get(f"{api}/serverInfo", auth=BOT)
    assert r.status_code == 200 and r.headers["X-AUSERNAME"] == "anonymous"
    r = http.get(f"{api}/myself", auth=BOT)
    assert r.status_code == 401
    assert r.json() == {
        "message": "Client must be authenticated to access this resource.",
        "status-code": 401,
    }
    assert [p["key"] for p in http.get(f"{api}/project", auth=BOT).json()] == ["PUB"]
    found = http.get(f"{api}/search", params={"jql": "project = PUB"}, auth=BOT).json()
    assert found["total"] == 12
    assert server.log.entries[-1].user is None


@pytest.mark.parametrize(
    ("scenario", "kwargs"), [("tls-self-signed", {}), ("dc-healthy", {"tls": True})]
)
def test_tls_private_ca(jira_emulator: Emulator, scenario: str, kwargs: dict[str, bool]) -> None:
    server = jira_emulator(scenario, **kwargs)
    assert server.url.startswith("https://") and server.ca_path and server.ca_path.exists()
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{server.url}/status", timeout=5)
    r = requests.get(
        f"{server.url}/rest/api/2/myself", auth=BOT, verify=str(server.ca_path), timeout=5
    )
    assert r.status_code == 200


def test_not_running(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("not-running")
    assert http.get(f"{server.url}/status").json() == {"state": "STARTING"}
    r = http.get(f"{server.url}/rest/api/2/serverInfo", auth=BOT)
    assert r.status_code == 503 and "Jira is starting" in r.text
    assert r.headers["Content-Type"].startswith("text/html")


def test_mixed_permissions(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("mixed-permissions")
    api = f"{server.url}/rest/api/2"

    def perms(key: str) -> dict[str, Any]:
        answer = http.get(f"{api}/mypermissions", params={"projectKey": key}, auth=BOT)
        permissions: dict[str, Any] = answer.json()["permissions"]
        return permissions

    assert perms("VIS")["ADD_COMMENTS"]["havePermission"] is True
    ops = perms("OPS")
    assert ops["ADD_COMMENTS"]["havePermission"] is False
    assert ops["CREATE_ISSUES"]["havePermission"] is True
    fields = http.get(f"{api}/issue/createmeta/MKT/issuetypes/10002", auth=BOT).json()["values"]
    impact = next(f for f in fields if f["fieldId"] == "customfield_10100")
    assert impact["required"] is True and impact["hasDefaultValue"] is False
    assert impact["name"] == "Customer Impact"
    r = http.post(
        f"{api}/issue",
        auth=BOT,
        json={"fields": {"project": {"key": "MKT"}, "issuetype": {"name": "Task"}, "summary": "x"}},
    )
    assert r.status_code == 400
    assert r.json()["errors"] == {"customfield_10100": "Customer Impact is required."}
    r = http.post(
        f"{api}/issue",
        auth=BOT,
        json={
            "fields": {
                "project": {"key": "MKT"},
                "issuetype": {"name": "Task"},
                "summary": "x",
                "customfield_10100": "High",
            }
        },
    )
    assert r.status_code == 201
    r = http.post(f"{api}/issue/OPS-1/comment", auth=BOT, json={"body": "c"})
    assert r.status_code == 400


def logged(server: EmulatorServer, method: str, polls: int = 200) -> list[LoggedRequest]:
    """The entries of ``method`` once the emulator has logged one (it logs a dropped connection
    after closing it): an order of events, polled in short sleeps, never a time bound."""
    for _ in range(polls):
        entries = [e for e in server.log.entries if e.method == method]
        if entries:
            return entries
        time.sleep(0.05)
    return []


def test_faults_status_times_and_drop(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator(
        "dc-healthy",
        faults=[
            Fault("POST", r"^/rest/api/2/issue$", 500),
            Fault("GET", r"/myself$", 503, times=1),
            Fault("DELETE", r"/rest/api/2/issue/.*", drop=True),
        ],
    )
    api = f"{server.url}/rest/api/2"
    r = http.post(f"{api}/issue", auth=BOT, json={})
    assert r.status_code == 500 and "errorMessages" in r.json()
    assert http.get(f"{api}/myself", auth=BOT).status_code == 503
    assert http.get(f"{api}/myself", auth=BOT).status_code == 200
    with pytest.raises(requests.exceptions.ConnectionError):
        http.delete(f"{api}/issue/VIS-1", auth=BOT)
    # The dropped request is logged once its connection is closed, which the client may see
    # first: look for it, do not assume it is the last entry.
    assert [e.status for e in logged(server, "DELETE")] == [0]
    assert http.get(f"{api}/issue/VIS-1", auth=BOT).status_code == 200


def test_pagination_faults(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("dc-healthy", search_total_offset=3, search_repeat_page_at=20)
    url = f"{server.url}/rest/api/2/search"
    p0 = http.get(
        url,
        params={"jql": "project = OPS ORDER BY key ASC", "maxResults": "20", "fields": "summary"},
        auth=BOT,
    ).json()
    assert p0["total"] == 43
    p1 = http.get(
        url,
        params={
            "jql": "project = OPS ORDER BY key ASC",
            "maxResults": "20",
            "startAt": "20",
            "fields": "summary",
        },
        auth=BOT,
    ).json()
    assert [i["key"] for i in p1["issues"]] == [i["key"] for i in p0["issues"]]


def test_latency(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("dc-healthy", latency_ms=150)
    t = time.monotonic()
    http.get(f"{server.url}/status")
    assert time.monotonic() - t >= 0.15


def test_the_latency_is_the_time_to_answer_the_work_included(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A Jira at 50 ms answers in 50 ms however many requests it serves at once; this process
    # renders under one interpreter lock, so time spent building an answer counts towards it.
    slept: list[float] = []
    monkeypatch.setattr(
        emulator_app, "time", SimpleNamespace(monotonic=lambda: 10.0, sleep=slept.append)
    )
    app = SimpleNamespace(latency=0.05)
    emulator_app.JiraApp._wait_latency(app, 10.0 - 0.02)  # type: ignore[arg-type]
    assert slept == [pytest.approx(0.03)]
    emulator_app.JiraApp._wait_latency(app, 10.0 - 0.08)  # type: ignore[arg-type]
    assert slept == [pytest.approx(0.03)], "an answer slower than the latency waits no more"


def test_the_log_counts_the_requests_in_flight(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy", latency_ms=1000)  # both arrive before either is answered
    with (
        requests.Session() as one,
        requests.Session() as two,
        concurrent.futures.ThreadPoolExecutor(2) as pool,
    ):
        list(pool.map(lambda s: s.get(f"{server.url}/status"), (one, two)))
    assert server.log.max_in_flight == 2
    server.log.clear()
    assert server.log.max_in_flight == 0


def test_search_max_results_option(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("dc-healthy", search_max_results=100)
    body = http.get(
        f"{server.url}/rest/api/2/search",
        params={"jql": "project = VIS", "maxResults": "500", "fields": "summary"},
        auth=BOT,
    ).json()
    assert body["maxResults"] == 100 and len(body["issues"]) == 100


def test_generated_projects_and_issue_counts(
    jira_emulator: Emulator, http: requests.Session
) -> None:
    server = jira_emulator("dc-healthy", projects=5, issues=3000)
    keys = [p["key"] for p in http.get(f"{server.url}/rest/api/2/project", auth=BOT).json()]
    assert keys == ["P001", "P002", "P003", "P004", "P005"]
    total = http.get(
        f"{server.url}/rest/api/2/search",
        params={"jql": "project = P001", "maxResults": "0"},
        auth=BOT,
    ).json()["total"]
    assert total == 3000


def test_bot_credentials_override(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("dc-healthy", bot_user="svc-visor", bot_password="pw", bot_token="tok")
    assert (
        http.get(f"{server.url}/rest/api/2/myself", auth=("svc-visor", "pw")).json()["name"]
        == "svc-visor"
    )
    assert http.get(f"{server.url}/rest/api/2/myself", headers=bearer("tok")).status_code == 200
    assert http.get(f"{server.url}/rest/api/2/myself", auth=BOT).status_code == 401


def test_request_log(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("dc-healthy")
    http.get(f"{server.url}/rest/api/2/myself", auth=BOT, params={"a": "1"})
    http.get(f"{server.url}/rest/api/2/myself", auth=("visor-bot", "bad"))
    e = server.log.entries
    assert (e[0].method, e[0].path, e[0].query, e[0].user, e[0].auth, e[0].status) == (
        "GET",
        "/rest/api/2/myself",
        "a=1",
        "visor-bot",
        "basic",
        200,
    )
    assert e[1].status == 401 and e[1].login_failed and e[1].user is None
    assert server.log.failed_logins() == 1 and server.log.mutating() == []
    http.post(f"{server.url}/rest/api/2/issue", auth=BOT, json={})
    assert [m.method for m in server.log.mutating()] == ["POST"]
    server.log.clear()
    assert server.log.entries == []


def test_context_manager() -> None:
    with EmulatorServer("cloud") as server:
        url = server.url
        assert requests.get(f"{url}/status", timeout=5).status_code == 200
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{url}/status", timeout=2)


def test_admin_endpoints_drive_permissions(jira_emulator: Emulator, http: requests.Session) -> None:
    server = jira_emulator("dc-healthy")
    api = f"{server.url}/rest/api/2"
    r = http.post(
        f"{api}/user",
        auth=BOT,
        json={"name": "x", "password": "p", "emailAddress": "x@e", "displayName": "X"},
    )
    assert r.status_code == 403
    seeded = {
        "name": "seeded-bot",
        "password": "pw",
        "emailAddress": "s@example.com",
        "displayName": "Seeded",
    }
    r = http.post(f"{api}/user", auth=ADMIN, json={**seeded, "applicationKeys": ["jira-software"]})
    assert r.status_code == 201 and r.json()["name"] == "seeded-bot"
    assert http.post(f"{api}/user", auth=ADMIN, json=seeded).status_code == 400
    r = http.post(
        f"{server.url}/rest/pat/latest/tokens",
        auth=("seeded-bot", "pw"),
        json={"name": "visor", "expirationDuration": 90},
    )
    assert r.status_code == 201
    tok = r.json()
    assert {"id", "name", "createdAt", "expiringAt", "rawToken"} <= tok.keys()
    listed = http.get(f"{server.url}/rest/pat/latest/tokens", headers=bearer(tok["rawToken"]))
    assert listed.status_code == 200 and "rawToken" not in listed.json()[0]
    r = http.post(
        f"{api}/project",
        auth=ADMIN,
        json={"key": "NEW", "name": "New", "projectTypeKey": "software", "lead": "admin"},
    )
    assert r.status_code == 201 and r.json()["key"] == "NEW"
    assert http.get(f"{api}/project/NEW", auth=("seeded-bot", "pw")).status_code == 404
    r = http.post(
        f"{api}/permissionscheme",
        auth=ADMIN,
        json={
            "name": "Visor",
            "permissions": [
                {"holder": {"type": "user", "parameter": "seeded-bot"}, "permission": p}
                for p in ("BROWSE_PROJECTS", "CREATE_ISSUES")
            ],
        },
    )
    assert r.status_code == 201
    sid = r.json()["id"]
    r = http.put(f"{api}/project/NEW/permissionscheme", auth=ADMIN, json={"id": sid})
    assert r.status_code == 200
    as_seeded = ("seeded-bot", "pw")
    assert [p["key"] for p in http.get(f"{api}/project", auth=as_seeded).json()] == ["NEW"]
    r = http.post(
        f"{api}/issue",
        auth=ADMIN,
        json={
            "fields": {"project": {"key": "NEW"}, "issuetype": {"name": "Task"}, "summary": "seed"}
        },
    )
    assert r.status_code == 201 and r.json()["key"] == "NEW-1"
    found = http.get(f"{api}/search", params={"jql": "project = NEW"}, auth=as_seeded).json()
    assert found["total"] == 1
    assert (
        http.put(
            f"{api}/issue/NEW-1", auth=as_seeded, json={"fields": {"summary": "no"}}
        ).status_code
        == 403
    )
