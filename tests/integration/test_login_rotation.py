"""The bot's password changes in the middle of a run against the emulator (issue 14, item 6).

Data Center opens an HTTP session for a request authenticated by basic auth (JSESSIONID). Once
the first login is accepted the suite sends that cookie instead of the password, so requests in
flight when the password changes are not failed logins, however many there are; the emulator
counts failed logins itself.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from conformance.emulator import BOT_PASSWORD, BOT_USER
from conformance.http import JiraHttp
from conformance.secrets import Redactor, Secret
from conformance.settings import Credentials, Settings

IN_FLIGHT = 8


def http_for(url: str) -> JiraHttp:
    creds = Credentials(BOT_USER, Secret(BOT_PASSWORD), "basic", "password", "JIRA_PASSWORD")
    return JiraHttp(Settings(url=url, credentials=creds, concurrency=IN_FLIGHT), Redactor())


def test_a_password_changed_mid_run_costs_at_most_one_failed_login(jira_emulator: Any) -> None:
    server = jira_emulator("dc-healthy", projects=40, latency_ms=20)
    http = http_for(server.url)
    try:
        assert http.get("/rest/api/2/myself").status == 200  # the first login, accepted
        server.config.world.users[BOT_USER].password = "rotated-by-the-admin"

        def grants(n: int) -> int | None:
            key = f"P{n:03d}"
            return http.get("/rest/api/2/mypermissions", {"projectKey": key}).status

        with ThreadPoolExecutor(IN_FLIGHT * 2) as pool:
            statuses = list(pool.map(grants, range(1, 41)))
    finally:
        http.close()
    assert server.log.failed_logins() <= 1, [
        (e.path, e.status, e.auth) for e in server.log.entries if e.login_failed
    ]
    assert http.counters.failed_logins <= 1
    # The session the first login opened carried the rest of the run.
    assert statuses.count(200) == 40 and http.counters.session_reused >= 39
    assert all(e.auth in ("basic", "cookie") for e in server.log.entries if e.user)
