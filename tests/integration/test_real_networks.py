"""Diagnoses that hold on real networks (issue 22): who answered, TLS said precisely, transient
resets, Cloud, right numbers and the suite's own limits.

Each test runs the engine in this process (``run_all``) against the bundled emulator on a real
socket, with the network fault the emulator serves (a firewall or forward proxy in front, broken
TLS from certificates made at start-up, kept-alive connections reset), and asserts three things:
the finding's code, the subject of its first sentence (Jira, the proxy, the network, the suite's
own limit), and that no remediation of the run sends the customer to change something that was
not the cause.
"""

from __future__ import annotations

import re
import ssl
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from conformance import http
from conformance.emulator import EmulatorServer, Fault
from conformance.emulator.blockpages import VENDORS
from conformance.engine.result import RunResult
from conformance.engine.run import run_all
from conformance.findings import Finding
from conformance.probes import projects
from conformance.profile import load_profile
from conformance.report.summary import plan
from conformance.secrets import Redactor, Secret
from conformance.settings import Credentials, Settings
from conformance.target import JiraTarget, settings_notices

BOT = Credentials("visor-bot", Secret("visor-bot-password"), "basic", "password", "JIRA_PASSWORD")
PAT = Credentials(None, Secret("visor-bot-token"), "bearer", "token", "JIRA_TOKEN")
CLOUD_BOT = Credentials(
    "visor-bot@example.com", Secret("visor-bot-token"), "basic", "token", "JIRA_TOKEN"
)
PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
# What a remediation says when it blames the bot's login or Jira's authentication settings.
LOGIN_FIXES = ("Personal Access Tokens", "Allow basic authentication", "Reset failed login")


@pytest.fixture(autouse=True)
def no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the proxies a test sets: none from the machine running the tests."""
    for name in (*PROXY_ENV, "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def emulator() -> Iterator[list[EmulatorServer]]:
    started: list[EmulatorServer] = []
    yield started
    for server in started:
        server.stop()


def serve(started: list[EmulatorServer], scenario: str, **options: object) -> EmulatorServer:
    server = EmulatorServer(scenario, **options).start()  # type: ignore[arg-type]
    started.append(server)
    return server


def run(
    server: EmulatorServer,
    credentials: Credentials = BOT,
    *,
    url: str | None = None,
    profile: str | None = None,
    **settings: object,
) -> RunResult:
    """The whole run, as ``pytest --jira-url`` judges it, in this process."""
    chosen = Settings(
        url=url or server.url,
        credentials=credentials,
        timeout_s=5.0,
        ca_bundle=settings.pop("ca_bundle", server.ca_path),  # type: ignore[arg-type]
        **settings,  # type: ignore[arg-type]
    )
    redactor = Redactor()
    redactor.register(credentials.secret)
    target = JiraTarget(chosen, redactor, load_profile(profile))
    try:
        return run_all(target)
    finally:
        target.close()


def found(result: RunResult, code: str) -> list[Finding]:
    return [f for row in result.rows for f in row.findings if f.code == code]


def first(result: RunResult, code: str, row: str | None = None) -> Finding:
    matches = [
        f
        for r in result.rows
        if row is None or r.label == row
        for f in r.findings
        if f.code == code
    ]
    assert matches, {r.label: [f.code for f in r.findings] for r in result.rows if r.findings}
    return matches[0]


def codes(result: RunResult) -> set[str]:
    return {f.code for row in result.rows for f in row.findings}


def first_sentence(finding: Finding) -> str:
    return re.split(r"(?<=[.:])\s", finding.summary, maxsplit=1)[0]


def assert_subject(finding: Finding, subject: str) -> None:
    """The finding's first sentence is about ``subject``: it starts with it."""
    assert first_sentence(finding).startswith(subject), finding.summary


def assert_no_fix_sends_to(result: RunResult, *wrong: str) -> None:
    """No remediation of the run names any of ``wrong``: a change that was not the cause.

    NET_PLAIN_HTTP, the warning every run against an http:// emulator carries, is left aside.
    """
    for row in result.rows:
        for f in row.findings:
            if f.code == "NET_PLAIN_HTTP":
                continue
            for phrase in wrong:
                assert phrase not in f.remediation, (f.code, phrase, f.remediation)


# -- who answered ----------------------------------------------------------------------------------


@pytest.mark.parametrize("credentials", [BOT, PAT], ids=["password", "token"])
def test_a_forward_proxy_refusing_the_login_is_the_proxys_not_jiras(
    emulator: list[EmulatorServer], monkeypatch: pytest.MonkeyPatch, credentials: Credentials
) -> None:
    server = serve(emulator, "proxy-refuses")
    monkeypatch.setenv("HTTP_PROXY", str(server.proxy_url))
    result = run(server, credentials)
    refusal = first(result, "NET_PROXY_ANSWERED", "api.json_answers")
    assert_subject(refusal, "The proxy")
    assert "squid/6.10" in refusal.summary and "ERR_ACCESS_DENIED" in refusal.summary
    assert "never reached Jira" in refusal.summary
    assert "HTTP_PROXY" in refusal.remediation and "NO_PROXY" in refusal.remediation
    assert not codes(result) & {"AUTH_BASIC_DISABLED", "AUTH_BAD_CREDENTIALS", "AUTH_CAPTCHA"}
    assert_no_fix_sends_to(result, *LOGIN_FIXES)
    assert server.proxy is not None and server.proxy.refused == 1  # one login, at the proxy
    assert not [e for e in server.log.entries if e.auth]  # Jira never saw a credential


@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_a_firewall_in_front_refusing_the_login_is_named_for_any_vendor(
    emulator: list[EmulatorServer], vendor: str
) -> None:
    server = serve(emulator, "dc-healthy", front=vendor)
    result = run(server)
    refusal = first(result, "NET_PROXY_ANSWERED", "api.json_answers")
    assert_subject(refusal, "The proxy")
    assert "stands between this machine and Jira" in refusal.remediation
    assert not codes(result) & {"AUTH_BASIC_DISABLED", "AUTH_BAD_CREDENTIALS", "API_NOT_JSON"}
    assert_no_fix_sends_to(result, *LOGIN_FIXES, "NO_PROXY")
    assert server.front is not None and server.front.refused >= 1


@pytest.mark.parametrize("status", [404, 500])
def test_jiras_own_json_errors_are_jiras_not_a_missing_api(
    emulator: list[EmulatorServer], status: int
) -> None:
    server = serve(emulator, "dc-healthy", faults=[Fault("GET", r"^/rest/api/2/search$", status)])
    result = run(server)
    error = first(result, "API_JIRA_ERROR", "api.search_endpoint")
    assert_subject(error, "Jira")
    assert f"with {status}" in error.summary and "Injected fault" in error.summary
    assert "API_V2_MISSING" not in codes(result)
    assert_no_fix_sends_to(
        result, "Something in front of Jira blocks", "forward /rest/api/2", "Correct the profile"
    )
    if status == 500:
        assert "atlassian-jira.log" in error.remediation


def test_a_proxy_speaking_plain_http_in_its_tunnel_is_named_and_the_url_stays_https(
    emulator: list[EmulatorServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(emulator, "proxy-plain-tunnel")
    monkeypatch.setenv("HTTPS_PROXY", str(server.proxy_url))
    result = run(server)
    tunnel = first(result, "NET_PROXY_PLAIN_TUNNEL", "reachability.tls")
    assert_subject(tunnel, "The proxy")
    assert "squid/6.10" in tunnel.summary  # what answered inside the tunnel
    assert "Keep the https:// URL" in tunnel.remediation
    assert "NET_TLS_PLAIN_PORT" not in codes(result)
    assert_no_fix_sends_to(result, "Use http://", "--jira-ca-bundle")


# -- TLS, said precisely ---------------------------------------------------------------------------


def test_a_server_speaking_only_tls_1_0_is_told_to_upgrade(emulator: list[EmulatorServer]) -> None:
    server = serve(emulator, "tls-1.0-only")
    result = run(server)
    old = first(result, "NET_TLS_VERSION", "reachability.tls")
    assert_subject(old, "Jira's server")
    if "TLS 1.0" not in old.summary:
        pytest.skip(f"this OpenSSL ({ssl.OPENSSL_VERSION}) cannot speak TLS 1.0 to name it")
    assert "Enable TLS 1.2" in old.remediation and "do not lower" in old.remediation
    assert "NET_TLS_UNTRUSTED" not in codes(result)
    assert_no_fix_sends_to(result, "--jira-ca-bundle", "Renew the certificate")


def test_a_refused_sni_name_is_not_an_untrusted_certificate(
    emulator: list[EmulatorServer],
) -> None:
    server = serve(emulator, "tls-sni-refused")
    url = server.url.replace("127.0.0.1", "localhost")
    result = run(server, url=url)
    sni = first(result, "NET_TLS_SNI", "reachability.tls")
    assert_subject(sni, "Jira's server")
    assert "localhost" in sni.summary and "SNI" in sni.summary
    assert "NET_TLS_UNTRUSTED" not in codes(result)
    assert_no_fix_sends_to(result, "--jira-ca-bundle", "Renew the certificate")


def test_a_handshake_reset_is_the_networks(emulator: list[EmulatorServer]) -> None:
    server = serve(emulator, "tls-handshake-reset")
    result = run(server)
    reset = first(result, "NET_TLS_RESET", "reachability.tls")
    assert_subject(reset, "The network")
    assert "openssl s_client" in reset.remediation
    assert not codes(result) & {"NET_TLS_UNTRUSTED", "NET_NOT_JIRA"}
    assert_no_fix_sends_to(result, "--jira-ca-bundle", "Jira's base URL")


def test_an_eof_in_the_handshake_is_the_networks_too(emulator: list[EmulatorServer]) -> None:
    server = serve(emulator, "dc-healthy", tls_fault="handshake-eof")
    result = run(server)
    assert_subject(first(result, "NET_TLS_RESET", "reachability.tls"), "The network")
    assert_no_fix_sends_to(result, "--jira-ca-bundle")


def test_an_over_long_chain_is_named_as_such(emulator: list[EmulatorServer]) -> None:
    server = serve(emulator, "tls-long-chain")
    result = run(server)
    chain = first(result, "NET_TLS_CHAIN", "reachability.tls")
    assert_subject(chain, "Jira's server")
    assert "chain too long" in chain.summary
    assert "NET_TLS_UNTRUSTED" not in codes(result)
    assert_no_fix_sends_to(result, "--jira-ca-bundle", "Renew the certificate")


def test_an_expired_intermediate_is_not_blamed_on_the_server_certificate(
    emulator: list[EmulatorServer],
) -> None:
    server = serve(emulator, "tls-expired-intermediate")
    result = run(server)
    expired = first(result, "NET_TLS_INTERMEDIATE_EXPIRED", "reachability.tls")
    assert_subject(expired, "Jira's server")
    assert "Visor Emulator Intermediate CA" in expired.summary
    intermediate, leaf = re.findall(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", expired.summary)
    assert intermediate < leaf  # the intermediate's past date, the server's future one
    assert "does not need renewing" in expired.remediation
    assert "NET_TLS_EXPIRED" not in codes(result)
    assert_no_fix_sends_to(result, "Renew the certificate on the Jira server")


def test_mutual_tls_is_named_and_the_client_certificate_option_gets_through(
    emulator: list[EmulatorServer],
) -> None:
    server = serve(emulator, "mutual-tls")
    result = run(server)
    mutual = first(result, "NET_TLS_CLIENT_CERT", "reachability.tls")
    assert_subject(mutual, "Jira's server")
    assert "none was presented" in mutual.summary
    assert "--jira-client-cert PATH" in mutual.remediation
    assert not codes(result) & {"NET_TLS_UNTRUSTED", "NET_TLS_RESET"}
    assert_no_fix_sends_to(result, "--jira-ca-bundle", "Renew the certificate")
    with_cert = run(server, client_cert=server.client_cert_path, client_key=server.client_key_path)
    assert with_cert.verdict.verdict == "ready", codes(with_cert)


# -- transient is not broken -----------------------------------------------------------------------


def test_a_kept_alive_connection_reset_once_is_sent_again_and_nothing_is_reported(
    emulator: list[EmulatorServer],
) -> None:
    # Two resets: the anonymous serverInfo and the bot's first login each meet one.
    server = serve(emulator, "idle-reset", reset_reused=2)
    result = run(server)
    assert server.idle_resets == 2  # the load balancer's side: two requests reset
    assert result.verdict.verdict == "ready", codes(result)
    assert not codes(result) & {"NET_NOT_JIRA", "NET_AUTH_BLOCKED", "NET_CONNECTION_RESET"}
    again = [x for row in result.rows for x in row.exchanges() if x.reconnected]
    assert again and all(x.status == 200 for x in again)
    assert result.http.failed_logins == 0


def test_a_reset_that_persists_on_a_fresh_connection_is_the_networks(
    emulator: list[EmulatorServer],
) -> None:
    drop = Fault("GET", r"^/rest/api/2/mypermissions$", drop=True)
    server = serve(emulator, "dc-healthy", faults=[drop])
    result = run(server)
    reset = first(result, "NET_CONNECTION_RESET")
    assert_subject(reset, "The network")
    assert "/rest/api/2/mypermissions" in reset.summary and "fresh connection" in reset.summary
    assert not codes(result) & {"NET_NOT_JIRA", "NET_AUTH_BLOCKED"}
    assert_no_fix_sends_to(result, "Jira's base URL", *LOGIN_FIXES)


# -- Cloud -----------------------------------------------------------------------------------------


def test_cloud_search_is_checked_with_a_project_bounded_query(
    emulator: list[EmulatorServer],
) -> None:
    server = serve(emulator, "cloud")
    unbounded = requests.get(
        f"{server.url}/rest/api/3/search/jql",
        params={"jql": "created IS NOT EMPTY ORDER BY created DESC"},
        auth=("visor-bot@example.com", "visor-bot-token"),
        timeout=5,
    )
    assert unbounded.status_code == 400 and "Unbounded JQL" in unbounded.text  # as Cloud does
    result = run(server, CLOUD_BOT)
    row = next(r for r in result.rows if r.id == "api.search_endpoint")
    assert row.outcome.value == "warn", row.findings
    asked = [x.url for x in row.exchanges() if "/search/jql" in x.url]
    assert asked and all("project" in urllib.parse.unquote(u) for u in asked)


def test_the_suites_own_refused_query_never_asks_to_correct_the_profile(
    emulator: list[EmulatorServer],
) -> None:
    refuse = Fault("GET", r"^/rest/api/3/search/jql$", 400)
    server = serve(emulator, "cloud", faults=[refuse])
    result = run(server, CLOUD_BOT)
    refused = first(result, "API_JIRA_ERROR", "api.search_endpoint")
    assert_subject(refused, "Jira")
    assert "request the suite makes on its own" in refused.remediation
    assert_no_fix_sends_to(result, "Correct the profile", "correct that in the integration profile")
    # "Nothing to change in Jira" is a warning, listed with the warnings, not as fix number 1.
    numbered = plan(result)
    assert "API_SEARCH_REMOVED" not in [item.code for item in numbered.fixes]
    assert "API_SEARCH_REMOVED" in [item.code for item in numbered.warnings]
    assert numbered.fixes[0].code == "API_JIRA_ERROR"


def test_cloud_advice_speaks_of_api_tokens_not_personal_access_tokens(
    emulator: list[EmulatorServer],
) -> None:
    server = serve(emulator, "cloud")
    wrong = Credentials(
        "visor-bot@example.com", Secret("not-the-token"), "basic", "token", "JIRA_TOKEN"
    )
    result = run(server, wrong)
    refused = first(result, "AUTH_BAD_CREDENTIALS")
    assert_subject(refused, "Jira")
    assert "id.atlassian.com/manage-profile/security/api-tokens" in refused.remediation
    assert_no_fix_sends_to(result, "Personal Access Tokens", "Administration > User management")


def test_a_cloud_user_name_that_is_not_an_e_mail_is_warned_before_anything_is_sent() -> None:
    settings = Settings(url="https://acme.atlassian.net", credentials=BOT)
    target = JiraTarget(settings, Redactor(), load_profile(None))
    try:
        notices = settings_notices(settings)
        assert target.notices == notices and len(notices) == 1
        assert "visor-bot" in notices[0] and "e-mail address" in notices[0]
        assert target.http.counters.requests == 0  # said before the first request
    finally:
        target.close()


def test_a_cloud_user_name_that_is_not_an_e_mail_warns_on_the_credentials_row(
    emulator: list[EmulatorServer],
) -> None:
    server = serve(emulator, "cloud")
    by_name = Credentials("visor-bot", Secret("visor-bot-token"), "basic", "token", "JIRA_TOKEN")
    result = run(server, by_name)
    warned = first(result, "AUTH_CLOUD_USER_NOT_EMAIL", "auth.credentials")
    assert "e-mail address" in warned.summary and "API token" in warned.remediation
    assert_no_fix_sends_to(result, "Personal Access Tokens")


# -- right numbers, right subject ------------------------------------------------------------------


def test_rate_limit_finding_quotes_what_the_429_answers_carried_and_the_runs_counts(
    emulator: list[EmulatorServer],
) -> None:
    refused = Fault("GET", r"^/rest/api/2/mypermissions$", 429, times=4)
    server = serve(emulator, "dc-healthy", faults=[refused])
    result = run(server)
    limited = found(result, "RATE_LIMITED")
    assert limited, codes(result)
    answered = result.http.rate_limited
    assert answered == 4  # every 429 the emulator sent, counted by the run
    for finding in limited:
        assert_subject(finding, "Jira")
        assert "4 request(s) answered 429" in finding.summary, finding.summary
        assert "allowance in requests: 10" in finding.summary and "5 per 1 s" in finding.summary
    assert_no_fix_sends_to(result, "firewall", "Jira's base URL")


def test_a_missing_issue_type_is_named_with_the_types_the_project_has(
    emulator: list[EmulatorServer], tmp_path: Path
) -> None:
    profile = tmp_path / "incidents.yaml"
    profile.write_text(
        "name: incidents\nprojects: [{key: VIS}]\ndefault_access: write\nissue_types: [Incident]\n"
        "fields:\n  read: [summary]\n  write: [summary]\n",
        encoding="utf-8",
    )
    server = serve(emulator, "dc-healthy")
    result = run(server, profile=str(profile))
    missing = first(result, "PERM_ISSUE_TYPE_MISSING", "permissions.edit_fields[VIS]")
    assert_subject(missing, "Jira")
    assert "Incident" in missing.summary
    assert all(name in missing.summary for name in ("Task", "Bug", "Story"))
    assert "API_SCHEMA" not in codes(result)


@pytest.mark.parametrize("password", ["true", "null", "1234"])
def test_a_json_literal_password_never_makes_a_healthy_jira_not_ready(
    emulator: list[EmulatorServer], password: str
) -> None:
    server = serve(emulator, "dc-healthy", bot_password=password)
    bot = Credentials("visor-bot", Secret(password), "basic", "password", "JIRA_PASSWORD")
    result = run(server, bot)
    assert result.verdict.verdict == "ready", codes(result)
    assert "API_NOT_JSON" not in codes(result)


def test_a_project_list_larger_than_the_suite_reads_is_paged(
    emulator: list[EmulatorServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http, "MAX_BODY_BYTES", 32 * 1024)  # the suite's limit, made small
    server = serve(emulator, "dc-healthy", projects=300, issues=1)
    target = JiraTarget(Settings(url=server.url, credentials=BOT), Redactor(), load_profile(None))
    try:
        listing = target.probe(projects.visible_projects)
    finally:
        target.close()
    assert listing.ok and listing.facts.get("endpoint") == projects.PROJECT_SEARCH
    assert len(listing.facts.get("keys", [])) == 300


def test_a_project_list_the_suite_cannot_page_is_named_as_the_suites_own_limit(
    emulator: list[EmulatorServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http, "MAX_BODY_BYTES", 32 * 1024)
    no_paging = Fault("GET", r"^/rest/api/2/project/search$", 404)
    server = serve(emulator, "dc-healthy", projects=300, issues=1, faults=[no_paging])
    result = run(server)
    limit = first(result, "RUN_SUITE_LIMIT", "permissions.visible")
    assert_subject(limit, "The suite's own limit")
    assert "0.03125 MiB" in limit.summary and "--jira-project KEY" in limit.remediation
    assert not codes(result) & {"API_NOT_JSON", "API_JIRA_ERROR"}
    assert_no_fix_sends_to(result, "truncating", "proxy")
