"""The bot account, REST API v2 and version checks against every emulator scenario.

Each run is the whole run of the checks in this process (``tests.runs.run_checks``, settings
resolved as the command line resolves them) against a real emulator on a real socket (or a small
reverse proxy in front of it, for what only a proxy does: rewrite or replace Jira's answers).
Every run also proves, from the emulator's own request log, the two safety rules: at most one
rejected login, and no GET sent twice.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from werkzeug.wrappers import Request, Response

from conformance.emulator import EmulatorServer, Fault
from conformance.settings import SettingsError
from tests.e2e.accounts import ADMIN, BOT, BOT_TOKEN, CLOUD_BOT
from tests.runs import JsonRun, run_checks
from tests.servers import serve

MINE = ("api.", "auth.", "version.")
AFTER_LOGIN = ("api.search_endpoint", "auth.identity", "auth.least_privilege")
VERSION_CHECKS = ("version.known", "version.supported", "version.support_window")
Emulator = Callable[..., EmulatorServer]


def assert_safe(server: EmulatorServer) -> None:
    """The run sent at most one rejected login, and no GET twice (same URL, same credentials);
    a GET answered 429 does not count (retrying it after Retry-After is required)."""
    entries = server.log.entries
    assert server.log.failed_logins() <= 1, [e for e in entries if e.login_failed]
    gets = Counter(
        (e.path, e.query, e.auth, e.user) for e in entries if e.method == "GET" and e.status != 429
    )
    assert [key for key, n in gets.items() if n > 1] == []
    assert server.log.mutating() == []


def my_outcomes(run: JsonRun) -> dict[str, str]:
    return {k: v for k, v in run.outcomes().items() if k.startswith(MINE)}


def assert_blocked_by(run: JsonRun, root: str, *checks: str) -> None:
    for check in checks:
        assert run.outcome(check) == "blocked", my_outcomes(run)
        assert run.row(check)["blocked_by"] == root


def remediation(run: JsonRun, check: str) -> str:
    return " ".join(f["remediation"] for f in run.row(check)["findings"])


# -- supported lines: ready ------------------------------------------------------------------------


EOL = {"version.support_window": "VER_EOL"}
OLD_CREATEMETA = "createmeta?projectKeys"
PAGED_CREATEMETA = "createmeta/{project}/issuetypes"


@pytest.mark.parametrize(
    ("scenario", "env", "version", "warnings", "choices"),
    [
        ("dc-healthy", BOT, "10.3.12", {}, (PAGED_CREATEMETA, "Bearer", "on by default")),
        ("dc-7.13", BOT, "7.13.18", EOL, (OLD_CREATEMETA, "arrive in 8.14", "on by default")),
        ("dc-8.20", BOT, "8.20.30", EOL, ("old form still works", "Bearer", "on by default")),
        ("dc-9.12", BOT, "9.12.15", EOL, ("removed in 9.0", "Bearer", "on by default")),
        ("dc-11.3", BOT_TOKEN, "11.3.12", {}, (PAGED_CREATEMETA, "Bearer", "off by default")),
        (
            "cloud",
            CLOUD_BOT,
            "1001.0.0-SNAPSHOT",
            {"api.search_endpoint": "API_SEARCH_REMOVED"},
            ("/rest/api/3/search/jql", "API token", "with API tokens only"),
        ),
    ],
)
def test_supported_lines_are_ready(
    jira_emulator: Emulator,
    scenario: str,
    env: dict[str, str],
    version: str,
    warnings: dict[str, str],
    choices: tuple[str, ...],
) -> None:
    server = jira_emulator(scenario)
    run = run_checks(server.url, env=env)
    assert run.result["verdict"] == "ready", run.outcomes()
    assert run.ret == 0
    for check, outcome in my_outcomes(run).items():
        expected = "warn" if check in warnings else "pass"
        assert outcome == expected, (check, my_outcomes(run))
        assert run.codes(check) == ({warnings[check]} if check in warnings else set())
    target, bot = run.result["target"], run.result["bot"]
    assert target["version"] == version and target["baseUrl"] == server.url
    assert target["deploymentType"] == ("Cloud" if scenario == "cloud" else "Server")
    assert bot["displayName"] == "Visor Bot"
    assert bot["name"] == ("visor-bot@example.com" if scenario == "cloud" else "visor-bot")
    assert run.result["http"]["failed_logins"] == 0
    notes = " ".join(run.row("version.known")["notes"])
    assert "createmeta:" in notes and "search:" in notes and "basic authentication:" in notes
    assert all(choice in notes for choice in choices), notes
    if scenario == "dc-7.13":
        eol = run.row("version.support_window")["findings"][0]["summary"]
        assert "Data Center 7.13 LTS ended about Nov 2020" in eol and "15 Feb 2024" in eol
        assert "build 713018 (not used to tell the version)" in notes
    assert_safe(server)


# -- the bot's login refused: one rejected login at most -------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "options", "env", "check", "code", "advice"),
    [
        ("captcha", {}, BOT, "auth.authenticates", "AUTH_CAPTCHA", "Reset failed login count"),
        (
            "captcha",
            {"captcha_status": 200},
            BOT,
            "auth.authenticates",
            "AUTH_CAPTCHA",
            "personal access token",
        ),
        (
            "basic-auth-disabled",
            {},
            BOT,
            "auth.authenticates",
            "AUTH_BASIC_DISABLED",
            "Allow basic authentication on API calls",
        ),
        ("dc-11.3", {}, BOT, "auth.authenticates", "AUTH_BASIC_DISABLED", "Jira 11 disables"),
        (
            "dc-healthy",
            {},
            {**BOT, "JIRA_PASSWORD": "not-the-password"},
            "auth.authenticates",
            "AUTH_BAD_CREDENTIALS",
            "this run did not lock the account",
        ),
        (
            "anonymous-fallback",
            {},
            BOT,
            "auth.authenticates",
            "AUTH_ANONYMOUS",
            "Authorization header",
        ),
        (
            "dc-healthy",
            {},
            {"JIRA_USER": "visor-bot", "JIRA_TOKEN": "visor-bot-token"},
            "auth.credentials",
            "AUTH_WRONG_SCHEME",
            "Unset JIRA_USER",
        ),
        ("cloud", {}, BOT_TOKEN, "auth.credentials", "AUTH_WRONG_SCHEME", "e-mail address"),
        (
            "cloud",
            {},
            {"JIRA_USER": "visor-bot@example.com", "JIRA_PASSWORD": "visor-bot-password"},
            "auth.credentials",
            "AUTH_WRONG_SCHEME",
            "API token",
        ),
        ("dc-7.13", {}, BOT_TOKEN, "auth.credentials", "AUTH_WRONG_SCHEME", "JIRA_PASSWORD"),
    ],
    ids=[
        "captcha-403",
        "captcha-200",
        "basic-auth-disabled",
        "dc-11.3-basic",
        "wrong-password",
        "anonymous-fallback",
        "dc-pat-as-password",
        "cloud-bearer",
        "cloud-password",
        "dc-7.13-bearer",
    ],
)
def test_refused_login_is_diagnosed_from_one_attempt(
    jira_emulator: Emulator,
    scenario: str,
    options: dict[str, int],
    env: dict[str, str],
    check: str,
    code: str,
    advice: str,
) -> None:
    server = jira_emulator(scenario, **options)
    run = run_checks(server.url, env=env)
    assert run.ret == 1 and run.result["verdict"] == "not-ready"
    assert run.outcome(check) == "fail" and run.codes(check) == {code}, my_outcomes(run)
    assert advice in remediation(run, check)
    if check == "auth.credentials":
        assert_blocked_by(run, check, "auth.authenticates", *AFTER_LOGIN)
    else:
        assert run.outcome("auth.credentials") == "pass"
        assert_blocked_by(run, check, *AFTER_LOGIN)
    for passed in ("api.json_answers", "api.server_info", "version.known"):
        assert run.outcome(passed) == "pass", my_outcomes(run)
    assert run.result["http"]["failed_logins"] <= 1
    assert_safe(server)
    credentialed = [e for e in server.log.entries if e.path.endswith("/myself")]
    assert len(credentialed) <= 1  # the login was never retried


def test_captcha_is_no_obstacle_for_a_personal_access_token(jira_emulator: Emulator) -> None:
    server = jira_emulator("captcha")
    run = run_checks(server.url, env=BOT_TOKEN)
    assert run.outcome("auth.authenticates") == "pass"
    assert set(my_outcomes(run).values()) == {"pass"}
    assert_safe(server)


def test_token_of_another_user_is_a_user_mismatch(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy")
    run = run_checks(server.url, auth="bearer", env={"JIRA_USER": "admin", **BOT_TOKEN})
    assert run.outcome("auth.identity") == "fail"
    assert run.codes("auth.identity") == {"AUTH_USER_MISMATCH"}
    summary = run.row("auth.identity")["findings"][0]["summary"]
    assert "log in as visor-bot, not as admin" in summary
    assert_safe(server)


def test_administrator_as_bot_is_a_least_privilege_warning(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy")
    run = run_checks(server.url, env=ADMIN)
    assert run.outcome("auth.least_privilege") == "warn"
    assert run.codes("auth.least_privilege") == {"AUTH_ADMIN_BOT"}
    assert "ADMINISTER" in run.row("auth.least_privilege")["findings"][0]["summary"]
    assert run.outcome("auth.identity") == "pass" and run.result["verdict"] == "ready"
    assert_safe(server)


def test_missing_secret_is_a_usage_error_naming_auth_no_credentials(
    jira_emulator: Emulator,
) -> None:
    # Exit 4 with the sentence on stderr: tests/e2e/test_reachability.py.
    server = jira_emulator("dc-healthy")
    with pytest.raises(SettingsError, match="AUTH_NO_CREDENTIALS"):
        run_checks(server.url, env={"JIRA_USER": "visor-bot"})
    assert server.log.entries == []


# -- single sign-on, base URL, scenarios my checks must pass or be blocked in ----------------------


def test_sso_redirect_with_a_password(jira_emulator: Emulator) -> None:
    server = jira_emulator("sso-redirect")
    run = run_checks(server.url, env=BOT)
    assert run.outcome("api.json_answers") == "fail"
    assert run.codes("api.json_answers") == {"AUTH_SSO_REDIRECT"}
    assert "/_idp/saml/login" in run.row("api.json_answers")["findings"][0]["summary"]
    assert_blocked_by(
        run, "api.json_answers", "api.server_info", "auth.authenticates", *VERSION_CHECKS
    )
    assert_safe(server)


def test_sso_redirect_with_a_token_gets_through(jira_emulator: Emulator) -> None:
    server = jira_emulator("sso-redirect")
    run = run_checks(server.url, env=BOT_TOKEN)
    assert set(my_outcomes(run).values()) == {"pass"}, my_outcomes(run)
    assert "asked with the bot's login" in " ".join(run.row("api.json_answers")["notes"])
    assert_safe(server)


def test_base_url_mismatch_warns_in_jiras_words(jira_emulator: Emulator) -> None:
    server = jira_emulator("base-url-mismatch")
    run = run_checks(server.url, env=BOT)
    assert run.outcome("api.base_url") == "warn"
    finding = run.row("api.base_url")["findings"][0]
    assert finding["code"] == "API_BASEURL_MISMATCH" and finding["severity"] == "warning"
    assert "Mismatched URL Hostname / Port" in finding["summary"]
    assert "https://jira.internal.example:8443" in finding["summary"]
    assert run.result["verdict"] == "ready"
    assert_safe(server)


@pytest.mark.parametrize("scenario", ["not-running", "first-run"])
def test_jira_not_running_blocks_every_api_check(jira_emulator: Emulator, scenario: str) -> None:
    server = jira_emulator(scenario)
    run = run_checks(server.url, env=BOT)
    assert run.codes("reachability.jira") == {"NET_NOT_RUNNING"}
    assert_blocked_by(
        run, "reachability.jira", "api.json_answers", "api.server_info", "auth.authenticates"
    )
    assert_blocked_by(run, "reachability.jira", *VERSION_CHECKS, *AFTER_LOGIN)
    assert_safe(server)


def test_missing_context_path_blocks_the_api_checks(jira_emulator: Emulator) -> None:
    server = jira_emulator("context-path")
    root = server.url.removesuffix("/jira")
    assert root != server.url
    wrong = run_checks(root, env=BOT)
    assert wrong.codes("reachability.jira") == {"NET_CONTEXT_PATH"}
    assert_blocked_by(wrong, "reachability.jira", "api.server_info", "auth.authenticates")
    assert_safe(server)


def test_self_signed_tls_with_its_ca_bundle(jira_emulator: Emulator) -> None:
    server = jira_emulator("tls-self-signed")
    run = run_checks(server.url, ca_bundle=str(server.ca_path), env=BOT)
    assert set(my_outcomes(run).values()) == {"pass"}, my_outcomes(run)
    assert_safe(server)


@pytest.mark.parametrize(
    "scenario", ["read-only-bot", "no-project-access", "rate-limited", "mixed-permissions"]
)
def test_permission_scenarios_leave_the_bot_checks_green(
    jira_emulator: Emulator, scenario: str
) -> None:
    server = jira_emulator(scenario)
    run = run_checks(server.url, env=BOT)
    assert set(my_outcomes(run).values()) == {"pass"}, my_outcomes(run)
    assert run.result["http"]["failed_logins"] == 0
    assert_safe(server)


def test_unsupported_version_by_the_profile(jira_emulator: Emulator, tmp_path: Path) -> None:
    profile = tmp_path / "nine-plus.yaml"
    profile.write_text("name: nine-plus\nprojects: all-visible\nversions:\n  server: '>=9.0'\n")
    server = jira_emulator("dc-8.20")
    run = run_checks(server.url, profile=profile, env=BOT)
    assert run.outcome("version.supported") == "fail"
    summary = run.row("version.supported")["findings"][0]["summary"]
    assert "Jira 8.20.30 (self-managed)" in summary and ">=9.0" in summary
    assert run.outcome("version.known") == "pass"
    assert_safe(server)


# -- what a reverse proxy in front of Jira does to its answers -------------------------------------

HOP_HEADERS = {
    "connection",
    "content-length",
    "transfer-encoding",
    "content-encoding",
    "keep-alive",
}
Override = Callable[[Request, EmulatorServer], Response | None]


@contextlib.contextmanager
def reverse_proxy(server: EmulatorServer, override: Override) -> Iterator[str]:
    """A proxy that forwards to the emulator, except where ``override`` answers itself."""

    @Request.application
    def app(request: Request) -> Response:
        answer = override(request, server)
        return answer if answer is not None else forward(request, server)

    with serve(app) as url:
        yield url


def forward(request: Request, server: EmulatorServer) -> Response:
    query = request.query_string.decode("latin-1")
    upstream = requests.request(
        request.method,
        server.url + request.path + (f"?{query}" if query else ""),
        headers={
            k: v for k, v in request.headers.items() if k.lower() in ("authorization", "accept")
        },
        data=request.get_data(),
        allow_redirects=False,
        timeout=10,
    )
    headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS]
    return Response(upstream.content, status=upstream.status_code, headers=headers)


def rewritten_server_info(change: Callable[[dict[str, object]], object]) -> Override:
    def override(request: Request, server: EmulatorServer) -> Response | None:
        if request.path != "/rest/api/2/serverInfo":
            return None
        body = json.loads(forward(request, server).get_data())
        change(body)
        return Response(json.dumps(body), status=200, content_type="application/json")

    return override


def proxy_error_page(request: Request, server: EmulatorServer) -> Response | None:
    if request.path != "/rest/api/2/serverInfo":
        return None
    page = "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"
    return Response(page, status=502, content_type="text/html")


def test_proxy_error_page_where_json_was_expected(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy")
    with reverse_proxy(server, proxy_error_page) as url:
        run = run_checks(url, env=BOT)
    assert run.codes("api.json_answers") == {"API_NOT_JSON"}
    finding = run.row("api.json_answers")["findings"][0]
    assert "a proxy error page ('502 Bad Gateway')" in finding["summary"]
    assert "reverse proxy" in finding["remediation"]
    assert_blocked_by(run, "api.json_answers", "api.server_info", "auth.authenticates")
    assert_safe(server)


def test_server_info_of_the_wrong_shape_names_the_field(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy")
    wrong_type = rewritten_server_info(lambda body: body.update(versionNumbers="10.3.12"))
    with reverse_proxy(server, wrong_type) as url:
        run = run_checks(url, env=BOT)
    assert run.outcome("api.server_info") == "fail"
    assert run.codes("api.server_info") == {"API_SCHEMA"}
    assert 'versionNumbers is "10.3.12"' in run.row("api.server_info")["findings"][0]["summary"]
    assert_blocked_by(run, "api.server_info", "api.base_url", *VERSION_CHECKS)
    assert_safe(server)


def test_server_info_without_version_numbers_is_version_unknown(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy")
    with reverse_proxy(
        server, rewritten_server_info(lambda body: body.pop("versionNumbers"))
    ) as url:
        run = run_checks(url, env=BOT)
    assert run.outcome("api.server_info") == "pass"
    assert run.outcome("version.known") == "fail" and run.codes("version.known") == {"VER_UNKNOWN"}
    assert (
        "no versionNumbers (its version text is '10.3.12')"
        in run.row("version.known")["findings"][0]["summary"]
    )
    assert_blocked_by(run, "version.known", "version.supported", "version.support_window")
    assert_safe(server)


def test_rest_api_v2_blocked(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy", faults=[Fault("GET", r"^/rest/api/2/serverInfo", 404)])
    run = run_checks(server.url, env=BOT)
    assert run.outcome("api.json_answers") == "pass"
    # Jira's own JSON 404 (its error shape and headers): Jira answered, not a blocked API.
    assert run.codes("api.server_info") == {"API_JIRA_ERROR"}
    assert "with 404" in run.row("api.server_info")["findings"][0]["summary"]
    assert_blocked_by(run, "api.server_info", *VERSION_CHECKS)
    assert_safe(server)
