"""Every authentication diagnosis is decided from status, headers and structure: the same
answer with Jira's message translated (German, Portuguese, Japanese) or removed gives the same
finding, and the finding quotes the message as it came."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import cast

import pytest

from conformance.classify import Kind, judge
from tests.unit.test_classify import BASE, DC_BASIC, HTML, JSON, shown

TEXT = {"Content-Type": "text/plain;charset=UTF-8"}
CLOUD_PASSWORD = replace(DC_BASIC, deployment="Cloud", user="bot@example.com", version=(1001,))

# (language, message) for each diagnosis; None: the message removed.
BASIC_DISABLED = {
    "en": "Basic Authentication has been disabled on this instance.",
    "de": "Die Basisauthentifizierung wurde für diese Instanz deaktiviert.",
    "pt": "A autenticação básica foi desativada nesta instância.",
    "ja": "このインスタンスでは基本認証が無効になっています。",
    "none": None,
}
NOT_AUTHENTICATED = {
    "en": "Client must be authenticated to access this resource.",
    "de": "Der Client muss authentifiziert sein, um auf diese Ressource zuzugreifen.",
    "pt": "O cliente deve estar autenticado para acessar este recurso.",
    "ja": "このリソースにアクセスするには、クライアントが認証されている必要があります。",
    "none": None,
}
FAILED_PAGE = {
    "en": "Basic Authentication Failure - Reason : AUTHENTICATED_FAILED",
    "de": "Fehler bei der Basisauthentifizierung - Grund : AUTHENTICATED_FAILED",
    "pt": "Falha na autenticação básica - Motivo : AUTHENTICATED_FAILED",
    "ja": "基本認証の失敗 - 理由 : AUTHENTICATED_FAILED",
    "none": None,
}
CLOUD_DEPRECATED = {
    "en": "Basic authentication with passwords is deprecated.",
    "de": "Die Standardauthentifizierung mit Passwörtern ist veraltet.",
    "pt": "A autenticação básica com senhas está obsoleta.",
    "ja": "パスワードによる基本認証は非推奨です。",
}
LANGUAGES = ["en", "de", "pt", "ja", "none"]


def json_body(message: str | None, **extra: object) -> str:
    body: dict[str, object] = dict(extra)
    if message is not None:
        body["message"] = message
    return json.dumps(body, ensure_ascii=False)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_basic_auth_disabled_in_any_language_is_auth_basic_disabled(lang: str) -> None:
    message = BASIC_DISABLED[lang]
    verdict = judge(403, JSON, json_body(message).encode(), DC_BASIC)
    assert verdict.kind is Kind.BASIC_DISABLED and verdict.diagnosis is not None
    assert shown(verdict).code == "AUTH_BASIC_DISABLED"
    assert "personal access token" in shown(verdict).remediation
    if message is not None:
        assert message.rstrip(".。") in shown(verdict).summary
    else:
        assert "without a message" in shown(verdict).summary


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_403_to_a_bearer_login_is_a_refused_token_in_any_language(lang: str) -> None:
    asked = replace(DC_BASIC, scheme="bearer", secret_kind="token", user=None)
    verdict = judge(403, JSON, json_body(NOT_AUTHENTICATED[lang]), asked)
    assert verdict.diagnosis is not None and shown(verdict).code == "AUTH_BAD_CREDENTIALS"
    assert "personal access token" in shown(verdict).summary


@pytest.mark.parametrize("status", [403, 401])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_captcha_from_the_seraph_header_alone_when_a_proxy_strips_the_denied_reason(
    lang: str, status: int
) -> None:
    headers = {**JSON, "X-Seraph-LoginReason": "AUTHENTICATION_DENIED"}
    verdict = judge(status, headers, json_body(NOT_AUTHENTICATED[lang]), DC_BASIC)
    assert verdict.diagnosis is not None and shown(verdict).code == "AUTH_CAPTCHA"
    assert f"{BASE}/login.jsp" in shown(verdict).remediation


@pytest.mark.parametrize("lang", LANGUAGES)
def test_wrong_password_from_the_seraph_header_in_any_language(lang: str) -> None:
    page = FAILED_PAGE[lang]
    body = f"<html><body><p>{page}</p></body></html>" if page else ""
    headers = {**HTML, "X-Seraph-LoginReason": "AUTHENTICATED_FAILED"}
    verdict = judge(401, headers, body.encode(), DC_BASIC)
    assert verdict.diagnosis is not None and shown(verdict).code == "AUTH_BAD_CREDENTIALS"
    assert "AUTHENTICATED_FAILED" in shown(verdict).summary


@pytest.mark.parametrize("lang", LANGUAGES)
def test_credentials_not_seen_by_jira_from_the_body_structure_in_any_language(lang: str) -> None:
    body = json_body(NOT_AUTHENTICATED[lang], **{"status-code": 401})
    verdict = judge(401, JSON, body, DC_BASIC)
    assert verdict.diagnosis is not None and shown(verdict).code == "AUTH_ANONYMOUS"


@pytest.mark.parametrize("lang", ["de", "pt", "ja", "none"])
def test_anonymous_header_decides_without_any_message(lang: str) -> None:
    headers = {**JSON, "X-AUSERNAME": "anonymous"}
    verdict = judge(401, headers, json_body(NOT_AUTHENTICATED[lang]), DC_BASIC)
    assert verdict.diagnosis is not None and shown(verdict).code == "AUTH_ANONYMOUS"


@pytest.mark.parametrize("lang", ["en", "de", "pt", "ja"])
def test_cloud_refusing_a_password_in_any_language_is_a_wrong_scheme(lang: str) -> None:
    text = CLOUD_DEPRECATED[lang] + " https://developer.atlassian.com/cloud/jira/platform/x"
    verdict = judge(401, TEXT, text.encode(), CLOUD_PASSWORD)
    assert verdict.diagnosis is not None and shown(verdict).code == "AUTH_WRONG_SCHEME"
    assert "API token" in shown(verdict).remediation


def test_cloud_refusing_a_password_without_a_message_still_asks_for_an_api_token() -> None:
    verdict = judge(401, TEXT, b"", CLOUD_PASSWORD)
    assert verdict.diagnosis is not None and shown(verdict).code == "AUTH_BAD_CREDENTIALS"
    assert "API token" in shown(verdict).summary


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_401_after_an_accepted_login_is_the_login_lost_mid_run(lang: str) -> None:
    asked = replace(DC_BASIC, endpoint="/rest/api/2/project", login_proven=True)
    verdict = judge(401, JSON, json_body(NOT_AUTHENTICATED[lang], **{"status-code": 401}), asked)
    assert verdict.kind is Kind.LOGIN_LOST and verdict.diagnosis is not None
    assert shown(verdict).code == "AUTH_LOGIN_LOST"
    assert "/rest/api/2/project" in shown(verdict).summary
    assert "stopped being accepted mid-run" in shown(verdict).summary


def test_a_403_after_an_accepted_login_is_not_a_login_problem() -> None:
    asked = replace(DC_BASIC, endpoint="/rest/api/2/project", login_proven=True)
    body = json.dumps({"errorMessages": ["Sie haben keine Berechtigung."], "errors": {}})
    verdict = judge(403, JSON, body, asked)
    assert verdict.diagnosis is not None and shown(verdict).code == "API_JIRA_ERROR"
    assert "Sie haben keine Berechtigung." in shown(verdict).summary


def test_basic_disabled_on_one_path_after_an_accepted_login_says_so() -> None:
    asked = replace(DC_BASIC, endpoint="/rest/api/2/project", login_proven=True)
    verdict = judge(403, JSON, json_body(BASIC_DISABLED["en"]), asked)
    assert verdict.diagnosis is not None and shown(verdict).code == "AUTH_BASIC_DISABLED"
    assert "after it accepted the bot's login" in shown(verdict).summary


@pytest.mark.parametrize(
    "body",
    [
        {"errorMessages": ["Error in the JQL Query: Expecting ')' before the end."], "errors": {}},
        {"errorMessages": [], "errors": {"customfield_10999": "Field does not exist."}},
        {"errorMessages": ["Der Wert 'XYZ' existiert nicht für das Feld 'project'."]},
    ],
    ids=["bad-jql", "unknown-field", "german"],
)
def test_jira_400_with_error_messages_is_jiras_answer_quoted(body: dict[str, object]) -> None:
    asked = replace(DC_BASIC, endpoint="/rest/api/2/search", login_proven=True)
    verdict = judge(400, JSON, json.dumps(body, ensure_ascii=False), asked)
    assert verdict.kind is Kind.JIRA_ERROR and verdict.diagnosis is not None
    assert shown(verdict).code == "API_JIRA_ERROR"
    errors = cast("dict[str, object]", body.get("errors") or {})
    quoted = cast(
        "list[object]", body.get("errorMessages") or [f"{k}: {v}" for k, v in errors.items()]
    )
    assert str(quoted[0]) in shown(verdict).summary


@pytest.mark.parametrize(
    ("location", "host"),
    [
        ("https://login.microsoftonline.com/t/saml2?SAMLRequest=x", "login.microsoftonline.com"),
        ("https://adfs.corp.example/adfs/ls/?wa=wsignin1.0&wtrealm=x", "adfs.corp.example"),
        ("https://corp.okta.com/app/jira/sso/saml", "corp.okta.com"),
        ("https://kc.example/realms/corp/protocol/openid-connect/auth?x=1", "kc.example"),
        ("https://cas.example.edu/cas/login?service=https%3A%2F%2Fjira", "cas.example.edu"),
        ("https://gw.example/oauth2/authorize?client_id=a&redirect_uri=b", "gw.example"),
        ("https://idp.example/anything?client_id=a&redirect_uri=b", "idp.example"),
    ],
)
def test_identity_providers_are_told_by_the_structure_of_the_location(
    location: str, host: str
) -> None:
    from conformance.classify import idp_host

    assert idp_host(location) == host
    verdict = judge(302, {"Location": location}, b"", DC_BASIC)
    assert verdict.kind is Kind.SSO


@pytest.mark.parametrize(
    "location",
    ["https://jira.example.com/login.jsp?os_destination=x", "https://jira.example.com/jira/"],
)
def test_jira_redirects_are_not_identity_providers(location: str) -> None:
    from conformance.classify import idp_host

    assert idp_host(location) is None


def test_prompted_credentials_get_prompt_advice_not_environment_variables() -> None:
    headers = {"X-Seraph-LoginReason": "AUTHENTICATION_DENIED"}
    prompted = replace(DC_BASIC, secret_origin="prompt")
    captcha = shown(judge(403, headers, b"", prompted))
    disabled = shown(judge(403, JSON, json_body(None), prompted))
    for found in (captcha, disabled):
        assert "leave the user name empty at the prompt" in found.remediation
        assert "JIRA_USER" not in found.remediation
    from_env = shown(judge(403, headers, b"", DC_BASIC))
    assert "JIRA_TOKEN" in from_env.remediation
