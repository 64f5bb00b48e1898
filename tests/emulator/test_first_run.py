"""first-run: the official image's wizard form posts, in order; only /status proves success."""

from __future__ import annotations

import re

import requests

from conformance.emulator import EmulatorServer
from tests.emulator.conftest import Emulator

STEPS = [
    ("SetupMode", {"setupOption": "classic"}),
    ("SetupDatabase", {"databaseOption": "internal"}),
    (
        "SetupApplicationProperties",
        {"title": "Jira", "mode": "private", "baseURL": "http://jira.example", "nextStep": "true"},
    ),
    ("SetupLicense", {"setupLicenseKey": "AAAB-LICENSE-KEY"}),
    (
        "SetupAdminAccount",
        {
            "fullname": "Admin",
            "email": "a@example.com",
            "username": "root",
            "password": "secret",
            "confirm": "secret",
        },
    ),
    ("SetupMailNotifications", {"noemail": "true"}),
]
EXPECTED = [302, 302, 302, 302, 200, 302]


def _start(server: EmulatorServer) -> tuple[requests.Session, str]:
    s = requests.Session()
    r = s.get(f"{server.url}/")
    assert r.status_code == 200 and "jira-setup-mode" in r.text
    assert "atlassian.xsrf.token" in s.cookies
    token = re.search(r'name="atl_token" value="([^"]+)"', r.text)
    assert token is not None, r.text
    return s, token.group(1)


def _post(
    s: requests.Session, server: EmulatorServer, step: str, data: dict[str, str], token: str
) -> requests.Response:
    return s.post(
        f"{server.url}/secure/{step}.jspa", data={**data, "atl_token": token}, allow_redirects=False
    )


def test_wizard_happy_path(jira_emulator: Emulator) -> None:
    server = jira_emulator("first-run")
    assert requests.get(f"{server.url}/status").json() == {"state": "FIRST_RUN"}
    s, token = _start(server)
    for (step, data), status in zip(STEPS, EXPECTED, strict=True):
        r = _post(s, server, step, data, token)
        assert r.status_code == status, (step, r.text)
        if step == "SetupDatabase":
            assert r.headers["Location"].endswith("SetupApplicationProperties!default.jspa")
    assert requests.get(f"{server.url}/status").json() == {"state": "RUNNING"}
    me = requests.get(f"{server.url}/rest/api/2/myself", auth=("root", "secret"))
    assert me.status_code == 200 and me.json()["name"] == "root"
    assert requests.get(f"{server.url}/rest/api/2/project", auth=("root", "secret")).json() == []
    assert list(server.world.users) == ["root"]


def test_wizard_invalid_input_stays_on_step(jira_emulator: Emulator) -> None:
    server = jira_emulator("first-run")
    s, token = _start(server)
    # wrong order: the database step before the mode step
    r = _post(s, server, "SetupDatabase", {"databaseOption": "internal"}, token)
    assert r.status_code == 200 and "setup-error" in r.text
    # bad atl_token
    r = _post(s, server, "SetupMode", {"setupOption": "classic"}, "forged")
    assert r.status_code == 200 and "setup-error" in r.text
    for (step, data), status in zip(STEPS[:3], EXPECTED[:3], strict=True):
        assert _post(s, server, step, data, token).status_code == status
    r = _post(s, server, "SetupLicense", {"setupLicenseKey": ""}, token)
    assert r.status_code == 200 and "setup-error" in r.text
    assert _post(s, server, *STEPS[3], token).status_code == 302
    bad = dict(STEPS[4][1], confirm="different")
    r = _post(s, server, "SetupAdminAccount", bad, token)
    assert r.status_code == 200 and "do not match" in r.text
    missing = {k: v for k, v in STEPS[4][1].items() if k != "email"}
    assert "setup-error" in _post(s, server, "SetupAdminAccount", missing, token).text
    assert requests.get(f"{server.url}/status").json() == {"state": "FIRST_RUN"}
    assert _post(s, server, *STEPS[4], token).status_code == 200
    assert _post(s, server, *STEPS[5], token).status_code == 302
    assert requests.get(f"{server.url}/status").json() == {"state": "RUNNING"}


def test_rest_before_setup_is_redirected(jira_emulator: Emulator) -> None:
    server = jira_emulator("first-run")
    r = requests.get(f"{server.url}/rest/api/2/project", allow_redirects=False)
    assert r.status_code == 302 and "Setup" in r.headers["Location"]
