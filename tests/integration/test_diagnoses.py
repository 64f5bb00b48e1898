"""Diagnoses that stay right on real Jiras: each bent answer, on a real socket, gives its own
finding with the words of its fix and at most one failed login (counted by the server). Each
run is the whole run of the checks in this process (``tests.runs.run_checks``)."""

from __future__ import annotations

import json

import pytest

from tests.e2e.accounts import BOT
from tests.hostile_jira import (
    HANG,
    RESET,
    SERVER_INFO,
    HostileJira,
    Reply,
    Req,
    redirect,
    reply_json,
)
from tests.runs import EngineRun, JsonRun, run_checks

MYSELF = "/rest/api/2/myself"


def run_against(server: HostileJira, timeout: str | None = None) -> EngineRun:
    with server:
        run = run_checks(server.url, env=BOT, timeout=timeout)
    assert server.failed_logins <= 1, server.log
    return run


def finding_of(run: JsonRun, check: str) -> dict[str, str]:
    findings = run.row(check)["findings"]
    assert findings, run.outcomes()
    return dict(findings[0])


def credentialed(handler: object) -> object:
    """Bend only the requests that carry credentials; the others get the healthy answer."""

    def bent(req: Req) -> object:
        return handler(req) if req.authorization else None  # type: ignore[operator]

    return bent


# -- an SSO gateway in front of Jira ---------------------------------------------------------------

SAML = "https://login.microsoftonline.com/tenant-id/saml2?SAMLRequest=fZJNT8MwDIb%2F&RelayState=x"


def test_sso_gateway_on_every_path_is_named_with_the_identity_provider() -> None:
    server = HostileJira()
    server.healthy = lambda req: redirect(SAML)  # type: ignore[method-assign]
    run = run_against(server)
    found = finding_of(run, "reachability.jira")
    assert found["code"] == "NET_SSO_GATEWAY"
    assert "login.microsoftonline.com" in found["summary"]
    assert "bypasses single sign-on" in found["remediation"]
    assert "/rest/ and /status" in found["remediation"]
    assert "SAMLRequest=" not in found["summary"]  # the opaque query is left out
    assert run.outcome("api.json_answers") == "blocked"
    # No credentials were sent to learn the chain.
    assert not any(auth for _, path, auth, _ in server.log if path == "/status")


def test_sso_chain_of_hops_is_followed_without_credentials_and_listed() -> None:
    keycloak = "https://sso.corp.example/realms/corp/protocol/openid-connect/auth?client_id=j"
    server = HostileJira(
        {
            "/status": lambda req: redirect("/gateway/start?rd=%2Fstatus"),
            "/gateway/start": lambda req: redirect("/gateway/oauth2/start", 307),
            "/gateway/oauth2/start": lambda req: redirect(keycloak),
        }
    )
    run = run_against(server)
    found = finding_of(run, "reachability.jira")
    assert found["code"] == "NET_SSO_GATEWAY"
    assert "sso.corp.example" in found["summary"]
    assert "302 -> " in found["summary"] and "307 -> " in found["summary"]
    assert "/gateway/oauth2/start" in found["summary"]
    hops = [path for _, path, auth, _ in server.log if path.startswith("/gateway")]
    assert hops == ["/gateway/start", "/gateway/oauth2/start"]  # each hop asked once


# -- the login refused, in any language ------------------------------------------------------------

BASIC_DISABLED = {
    "de": "Die Basisauthentifizierung wurde für diese Instanz deaktiviert.",
    "pt": "A autenticação básica foi desativada nesta instância.",
    "ja": "このインスタンスでは基本認証が無効になっています。",
    "none": None,
}


@pytest.mark.parametrize("lang", sorted(BASIC_DISABLED))
def test_basic_auth_disabled_in_any_language_is_auth_basic_disabled(lang: str) -> None:
    message = BASIC_DISABLED[lang]
    body = {"message": message} if message else {}

    def refuse(req: Req) -> Reply | None:
        return reply_json(body, 403) if req.authorization else None

    server = HostileJira({MYSELF: refuse, "/rest/api/2/project": refuse})
    run = run_against(server)
    found = finding_of(run, "auth.authenticates")
    assert found["code"] == "AUTH_BASIC_DISABLED", run.codes()
    assert "personal access token" in found["remediation"]
    assert "Authentication methods" in found["remediation"]
    if message:
        assert message.rstrip(".。") in found["summary"]
    assert run.codes("api.json_answers") == set()
    assert "API_V2_MISSING" not in run.codes()


def test_captcha_is_recognised_when_a_proxy_strips_the_denied_reason() -> None:
    def locked(req: Req) -> Reply | None:
        if not req.authorization:
            return None
        return Reply(
            403,
            b"<html><body><h1>Verboten (403)</h1></body></html>",
            {"Content-Type": "text/html", "X-Seraph-LoginReason": "AUTHENTICATION_DENIED"},
            failed_login=True,
        )

    server = HostileJira({MYSELF: locked})
    run = run_against(server)
    found = finding_of(run, "auth.authenticates")
    assert found["code"] == "AUTH_CAPTCHA"
    assert (
        "login.jsp" in found["remediation"] and "Reset failed login count" in found["remediation"]
    )
    assert server.failed_logins == 1


# -- /myself answering 200 of the wrong shape: not a password problem --------------------------------


@pytest.mark.parametrize(
    ("reply", "code", "words"),
    [
        (reply_json([{"name": "visor-bot"}]), "API_SCHEMA", "JSON array"),
        (reply_json({"name": "", "displayName": "Visor Bot"}), "API_SCHEMA", 'name is ""'),
        (reply_json({"name": 42, "displayName": "Visor Bot"}), "API_SCHEMA", "name"),
        (
            Reply(
                200,
                b'{"name": "visor-bot", "x": "\xff\xfe\xfa"}',
                {"Content-Type": "application/json"},
            ),
            "API_NOT_JSON",
            "binary data",
        ),
    ],
    ids=["json-list", "empty-name", "name-number", "not-utf8"],
)
def test_myself_of_the_wrong_shape_is_never_a_rejected_password(
    reply: Reply, code: str, words: str
) -> None:
    server = HostileJira({MYSELF: credentialed(lambda req: reply)})  # type: ignore[dict-item]
    run = run_against(server)
    assert "AUTH_BAD_CREDENTIALS" not in run.codes()
    row_codes = run.codes("auth.authenticates") | run.codes("api.json_answers")
    assert code in row_codes, run.outcomes()
    found = [
        f
        for check in ("auth.authenticates", "api.json_answers")
        for f in run.row(check)["findings"]
    ]
    assert any(words in f["summary"] for f in found), found


def test_cloud_myself_with_an_empty_name_and_an_account_id_is_accepted() -> None:
    cloud_me = {"name": "", "accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Visor Bot"}
    server = HostileJira({MYSELF: credentialed(lambda req: reply_json(cloud_me))})  # type: ignore[dict-item]
    run = run_against(server)
    assert run.outcome("auth.authenticates") == "pass", run.row("auth.authenticates")


# -- what stands between this machine and Jira -----------------------------------------------------


def test_slow_status_alone_fails_its_own_row_and_blocks_nothing() -> None:
    server = HostileJira({"/status": lambda req: HANG})
    run = run_against(server, timeout="1")
    found = finding_of(run, "reachability.status")
    assert found["code"] == "NET_STATUS_SLOW"
    assert "/status" in found["summary"] and "REST API answers" in found["summary"]
    assert "forward /status" in found["remediation"]
    for check in ("reachability.jira", "api.json_answers", "api.server_info", "auth.authenticates"):
        assert run.outcome(check) == "pass", run.outcomes()
    mine = [r for r in run.result["results"] if r["id"].startswith(("api.", "auth.", "version."))]
    assert [r["id"] for r in mine if r["outcome"] == "blocked"] == []


def test_reset_only_with_an_authorization_header_is_net_auth_blocked() -> None:
    server = HostileJira({MYSELF: credentialed(lambda req: RESET)})  # type: ignore[dict-item]
    run = run_against(server)
    found = finding_of(run, "auth.authenticates")
    assert found["code"] == "NET_AUTH_BLOCKED"
    assert "Authorization header" in found["summary"]
    assert "web application firewall" in found["remediation"]
    assert "NET_NOT_JIRA" not in run.codes()


# -- refusals after an accepted login ------------------------------------------------------------


def test_401_on_the_project_list_after_an_accepted_login_is_the_login_lost() -> None:
    lost = reply_json({"message": "Client must be authenticated.", "status-code": 401}, 401)
    server = HostileJira({"/rest/api/2/project": credentialed(lambda req: lost)})  # type: ignore[dict-item]
    run = run_against(server)
    assert run.outcome("auth.authenticates") == "pass"
    codes = run.codes("permissions.visible")
    assert codes == {"AUTH_LOGIN_LOST"}, run.outcomes()
    found = run.rows("permissions.visible")[0]["findings"][0]
    assert "/rest/api/2/project" in found["summary"] and "mid-run" in found["summary"]
    text = json.dumps(run.result) + run.terminal
    assert "rejected earlier in this run" not in text and "API_SCHEMA" not in run.codes()


def test_basic_disabled_on_the_project_list_only_is_auth_basic_disabled() -> None:
    refused = reply_json(
        {"message": "Basic Authentication has been disabled on this instance."}, 403
    )
    server = HostileJira({"/rest/api/2/project": credentialed(lambda req: refused)})  # type: ignore[dict-item]
    run = run_against(server)
    assert run.codes("permissions.visible") == {"AUTH_BASIC_DISABLED"}, run.outcomes()
    found = run.rows("permissions.visible")[0]["findings"][0]
    assert "after it accepted the bot's login" in found["summary"]
    assert "AUTH_BAD_CREDENTIALS" not in run.codes()


def test_jira_400_with_error_messages_is_quoted_as_jiras_answer() -> None:
    bad = reply_json({"errorMessages": ["Das Feld 'summary' existiert nicht."], "errors": {}}, 400)
    server = HostileJira({"/rest/api/2/search": credentialed(lambda req: bad)})  # type: ignore[dict-item]
    run = run_against(server)
    assert run.codes("api.search_endpoint") == {"API_JIRA_ERROR"}
    found = finding_of(run, "api.search_endpoint")
    assert "Das Feld 'summary' existiert nicht." in found["summary"]
    assert "Jira's answer, not a proxy's" in found["remediation"]


# -- JSON of the wrong types: API_SCHEMA naming the field, never an error row --------------------


@pytest.mark.parametrize(
    ("path", "body", "check", "field"),
    [
        (
            "/rest/api/2/serverInfo",
            {**SERVER_INFO, "baseUrl": "http://127.0.0.1", "versionNumbers": "10.3"},
            "api.server_info",
            "versionNumbers",
        ),
        ("/rest/api/2/project", [5, {"key": "VIS"}], "permissions.visible", "[0]"),
        ("/rest/api/2/project", [{"key": None}], "permissions.visible", "[0].key"),
        ("/rest/api/2/search", {"issues": 5, "total": 0}, "api.search_endpoint", "issues"),
    ],
    ids=["serverinfo-versions", "project-number", "project-key-null", "search-issues-number"],
)
def test_wrong_json_types_are_api_schema_naming_the_field(
    path: str, body: object, check: str, field: str
) -> None:
    server = HostileJira({path: lambda req: reply_json(body)})
    run = run_against(server)
    # The import's own rows (conformance/checks/test_import.py) are judged elsewhere.
    assert [k for k, v in run.outcomes().items() if v == "error" and "import." not in k] == []
    assert check in {r["id"] for r in run.result["results"]}
    found = run.rows(check)[0]["findings"]
    assert found and found[0]["code"] == "API_SCHEMA", run.rows(check)
    assert field in found[0]["summary"]


def test_mypermissions_of_the_wrong_types_is_api_schema_not_an_error_row() -> None:
    wrong = reply_json({"permissions": []})
    server = HostileJira({"/rest/api/2/mypermissions": credentialed(lambda req: wrong)})  # type: ignore[dict-item]
    run = run_against(server)
    assert run.codes("auth.least_privilege") == {"API_SCHEMA"}, run.row("auth.least_privilege")
    assert "permissions is a JSON array" in finding_of(run, "auth.least_privilege")["summary"]
    assert run.outcome("auth.authenticates") == "pass"
