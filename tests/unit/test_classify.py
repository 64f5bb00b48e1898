"""The answer classifier: every real failure signature gets its own finding, and nothing crashes it."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.classify import LOGIN_KINDS, PAGE_KINDS, Asked, Kind, Verdict, judge
from conformance.findings import Finding, explain

JSON = {"Content-Type": "application/json;charset=UTF-8"}
HTML = {"Content-Type": "text/html;charset=UTF-8"}
BASE = "https://jira.example.com"
DC_BASIC = Asked(
    endpoint="/rest/api/2/myself",
    url=BASE,
    credentialed=True,
    scheme="basic",
    secret_kind="password",
    secret_origin="JIRA_PASSWORD",
    user="visor-bot",
    deployment="Server",
    version=(10, 3, 12),
)
SERVER_INFO = {
    "baseUrl": BASE,
    "version": "10.3.12",
    "versionNumbers": [10, 3, 12],
    "deploymentType": "Server",
    "buildNumber": 10030012,
}


def shown(verdict: Verdict) -> Finding:
    """The finding a check would show for a verdict's diagnosis."""
    assert verdict.diagnosis is not None, verdict
    return explain(verdict.diagnosis)


def code(verdict: Verdict) -> str | None:
    return shown(verdict).code if verdict.diagnosis else None


# -- Jira's own answers ----------------------------------------------------------------------------


def test_jira_json_passes_and_carries_the_parsed_value() -> None:
    verdict = judge(200, JSON, json.dumps(SERVER_INFO).encode(), Asked(url=BASE))
    assert verdict.passed and verdict.kind is Kind.JSON
    assert verdict.value["versionNumbers"] == [10, 3, 12]


def test_json_without_a_json_content_type_is_still_read() -> None:
    assert judge(200, {}, json.dumps(SERVER_INFO)).kind is Kind.JSON


def test_anonymous_request_refused_is_not_a_finding_but_says_to_log_in() -> None:
    body = {"message": "Client must be authenticated to access this resource.", "status-code": 401}
    verdict = judge(401, JSON, json.dumps(body), Asked(url=BASE, credentialed=False))
    assert verdict.kind is Kind.LOGIN_REQUIRED and verdict.passed


# -- the bot's login refused -----------------------------------------------------------------------


def test_wrong_password_is_bad_credentials_with_the_seraph_reason() -> None:
    page = "<html><body><p>Basic Authentication Failure - Reason : AUTHENTICATED_FAILED</p></body></html>"
    headers = {**HTML, "X-Seraph-LoginReason": "AUTHENTICATED_FAILED"}
    verdict = judge(401, headers, page, DC_BASIC)
    assert code(verdict) == "AUTH_BAD_CREDENTIALS"
    assert "AUTHENTICATED_FAILED" in shown(verdict).summary
    assert "visor-bot" in shown(verdict).summary


@pytest.mark.parametrize("status", [403, 401, 200])
def test_captcha_is_recognised_by_its_headers_whatever_the_status(status: int) -> None:
    headers = {
        "X-Seraph-LoginReason": "AUTHENTICATION_DENIED",
        "X-Authentication-Denied-Reason": f"CAPTCHA_CHALLENGE; login-url={BASE}/login.jsp",
    }
    verdict = judge(status, headers, "", DC_BASIC)
    assert code(verdict) == "AUTH_CAPTCHA"
    assert f"{BASE}/login.jsp" in shown(verdict).remediation
    assert "personal access token" in shown(verdict).remediation


def test_basic_auth_disabled_advice_names_the_token_and_the_setting() -> None:
    body = {"message": "Basic Authentication has been disabled on this instance."}
    verdict = judge(403, JSON, json.dumps(body), DC_BASIC)
    assert code(verdict) == "AUTH_BASIC_DISABLED"
    assert "personal access token" in shown(verdict).remediation
    assert "Authentication methods" in shown(verdict).remediation
    assert "Jira 11" not in shown(verdict).remediation


def test_basic_auth_disabled_on_jira_11_says_it_is_the_default() -> None:
    body = {"message": "Basic Authentication has been disabled on this instance."}
    asked = Asked(**{**DC_BASIC.__dict__, "version": (11, 3, 12)})
    verdict = judge(403, JSON, json.dumps(body), asked)
    assert "Jira 11 disables basic authentication by default" in shown(verdict).remediation


def test_pat_sent_as_basic_password_on_data_center_is_a_wrong_scheme() -> None:
    asked = Asked(**{**DC_BASIC.__dict__, "secret_kind": "token", "secret_origin": "JIRA_TOKEN"})
    headers = {**HTML, "X-Seraph-LoginReason": "AUTHENTICATED_FAILED"}
    verdict = judge(401, headers, "<html>Unauthorized</html>", asked)
    assert code(verdict) == "AUTH_WRONG_SCHEME"
    assert "Unset JIRA_USER" in shown(verdict).remediation


def bearer_on(deployment: str, version: tuple[int, ...]) -> Asked:
    """/myself asked with a bearer token of the given deployment and version."""
    return Asked(
        endpoint="/rest/api/2/myself",
        url=BASE,
        credentialed=True,
        scheme="bearer",
        secret_kind="token",
        deployment=deployment,
        version=version,
    )


def test_bearer_on_cloud_is_a_wrong_scheme_pointing_at_api_tokens() -> None:
    asked = bearer_on("Cloud", (1001, 0, 0))
    body = {"message": "Client must be authenticated to access this resource.", "status-code": 401}
    verdict = judge(401, JSON, json.dumps(body), asked)
    assert code(verdict) == "AUTH_WRONG_SCHEME"
    assert "API token" in shown(verdict).remediation


def test_cloud_password_deprecation_is_a_wrong_scheme() -> None:
    asked = Asked(**{**DC_BASIC.__dict__, "deployment": "Cloud", "user": "bot@example.com"})
    text = "Basic authentication with passwords is deprecated.  For more information, see: ..."
    verdict = judge(401, {"Content-Type": "text/plain"}, text, asked)
    assert code(verdict) == "AUTH_WRONG_SCHEME"
    assert "password" in shown(verdict).summary


def test_bearer_before_8_14_is_a_wrong_scheme_saying_there_are_no_tokens() -> None:
    asked = bearer_on("Server", (7, 13, 18))
    body = {"message": "Client must be authenticated to access this resource.", "status-code": 401}
    verdict = judge(401, {**JSON, "X-AUSERNAME": "anonymous"}, json.dumps(body), asked)
    assert code(verdict) == "AUTH_WRONG_SCHEME"
    assert "7.13.18 has no personal access tokens" in shown(verdict).remediation


def test_credentials_dropped_on_the_way_read_as_anonymous() -> None:
    body = {"message": "Client must be authenticated to access this resource.", "status-code": 401}
    verdict = judge(401, {**JSON, "X-AUSERNAME": "anonymous"}, json.dumps(body), DC_BASIC)
    assert code(verdict) == "AUTH_ANONYMOUS"


def test_a_credentialed_200_as_anonymous_is_a_silent_downgrade() -> None:
    verdict = judge(200, {**JSON, "X-AUSERNAME": "anonymous"}, "[]", DC_BASIC)
    assert code(verdict) == "AUTH_ANONYMOUS"


# -- pages where JSON was expected -----------------------------------------------------------------


def test_redirect_to_an_identity_provider_is_sso() -> None:
    location = "https://login.microsoftonline.com/tenant/saml2?SAMLRequest=abc&RelayState=x"
    verdict = judge(302, {"Location": location}, b"", DC_BASIC)
    assert code(verdict) == "AUTH_SSO_REDIRECT" and verdict.kind in PAGE_KINDS
    assert "SAMLRequest" not in shown(verdict).summary  # the opaque query is left out


def test_redirect_to_the_login_page_is_not_json() -> None:
    verdict = judge(302, {"Location": f"{BASE}/login.jsp?os_destination=x"}, b"", DC_BASIC)
    assert code(verdict) == "API_NOT_JSON" and verdict.kind is Kind.LOGIN_PAGE


def test_jira_login_page_served_with_200() -> None:
    page = '<html><head><title>Log in - Jira</title></head><form id="login-form"></form></html>'
    verdict = judge(200, HTML, page, DC_BASIC)
    assert verdict.kind is Kind.LOGIN_PAGE and "login page" in shown(verdict).summary


def test_identity_provider_page_served_with_200() -> None:
    page = "<!DOCTYPE html><html><head><title>Sign in - Example Identity Provider</title></head></html>"
    verdict = judge(200, HTML, page, DC_BASIC)
    assert code(verdict) == "AUTH_SSO_REDIRECT"


@pytest.mark.parametrize(
    ("status", "page"),
    [
        (502, "<html><head><title>502 Bad Gateway</title></head><center>nginx</center></html>"),
        (504, "<html><head><title>504 Gateway Time-out</title></head></html>"),
        (
            503,
            "<html><body>Service Unavailable - The proxy server could not handle it</body></html>",
        ),
    ],
)
def test_proxy_error_pages(status: int, page: str) -> None:
    verdict = judge(status, HTML, page, Asked(url=BASE))
    assert verdict.kind is Kind.PROXY_PAGE and code(verdict) == "API_NOT_JSON"
    assert "proxy" in shown(verdict).remediation


def test_missing_rest_api_is_v2_missing() -> None:
    body = {"message": f"null for uri: {BASE}/rest/api/2/serverInfo", "status-code": 404}
    verdict = judge(404, JSON, json.dumps(body), Asked(url=BASE))
    assert code(verdict) == "API_V2_MISSING" and "null for uri" in shown(verdict).summary


def test_cloud_search_removed_is_a_warning_not_an_error() -> None:
    body = {
        "errorMessages": [
            "The requested API has been removed. Please migrate to the /rest/api/3/search/jql "
            "API. A full migration guideline is available at "
            "https://developer.atlassian.com/changelog/#CHANGE-2046"
        ],
        "errors": {},
    }
    verdict = judge(410, JSON, json.dumps(body), Asked(endpoint="/rest/api/2/search", url=BASE))
    assert code(verdict) == "API_SEARCH_REMOVED" and shown(verdict).severity == "warning"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"baseUrl": "https://jira', "malformed JSON"),
        (b"", "an empty body"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary data"),
        (b"OK", "plain text"),
    ],
)
def test_bodies_that_are_not_json(body: bytes, words: str) -> None:
    verdict = judge(200, JSON if body.startswith(b"{") else {}, body, Asked(url=BASE))
    assert code(verdict) == "API_NOT_JSON" and words in shown(verdict).summary


def test_rate_limit_is_a_warning() -> None:
    verdict = judge(429, {"Retry-After": "5", "X-RateLimit-Limit": "20"}, "", DC_BASIC)
    assert code(verdict) == "RATE_LIMITED" and "20" in shown(verdict).summary


# -- anything at all -------------------------------------------------------------------------------

header_names = st.sampled_from(
    [
        "Content-Type",
        "Location",
        "X-AUSERNAME",
        "X-Seraph-LoginReason",
        "X-Authentication-Denied-Reason",
        "Retry-After",
        "X-RateLimit-Limit",
    ]
) | st.text(max_size=20)
header_values = st.sampled_from(
    [
        "application/json",
        "text/html",
        "anonymous",
        "AUTHENTICATION_DENIED",
        "CAPTCHA_CHALLENGE; login-url=",
        "AUTHENTICATED_FAILED",
        "https://idp.example/saml2?SAMLRequest=x",
        "/login.jsp",
    ]
) | st.text(max_size=60)


def _containers(children: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.lists(children, max_size=5) | st.dictionaries(
        st.text(max_size=10), children, max_size=5
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    _containers,
    max_leaves=20,
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes | str:
    kind = draw(
        st.sampled_from(
            ["json", "truncated", "wrong_types", "html", "binary", "text", "huge", "deep"]
        )
    )
    if kind == "json":
        return json.dumps(draw(json_values))
    if kind == "truncated":
        text = json.dumps(SERVER_INFO)
        return text[: draw(st.integers(0, len(text) - 1))]
    if kind == "wrong_types":
        return json.dumps({key: draw(json_values) for key in SERVER_INFO})
    if kind == "html":
        return f"<html><head><title>{draw(st.text(max_size=30))}</title></head>{draw(st.text(max_size=200))}</html>"
    if kind == "binary":
        return draw(st.binary(max_size=300))
    if kind == "huge":
        return ("{" + '"k":"' + "x" * draw(st.integers(10_000, 2_000_000))).encode()
    if kind == "deep":
        depth = draw(st.integers(100, 50_000))
        return "[" * depth + "]" * draw(st.integers(0, depth))
    return draw(st.text(max_size=300))


asked_contexts = st.builds(
    Asked,
    endpoint=st.sampled_from(
        ["/rest/api/2/serverInfo", "/rest/api/2/myself", "/rest/api/2/search"]
    ),
    url=st.sampled_from(["", BASE, "http://jira:8080/jira"]),
    credentialed=st.booleans(),
    scheme=st.sampled_from([None, "basic", "bearer"]),
    secret_kind=st.sampled_from([None, "password", "token"]),
    secret_origin=st.sampled_from([None, "JIRA_TOKEN", "JIRA_PASSWORD", ".netrc"]),
    user=st.sampled_from([None, "visor-bot", "bot@example.com"]),
    deployment=st.sampled_from([None, "Server", "Cloud", "weird"]),
    version=st.none() | st.lists(st.integers(0, 2000), max_size=4).map(tuple),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=st.integers(-5, 1000) | st.sampled_from([200, 302, 401, 403, 404, 410, 429, 502, 503]),
    headers=st.dictionaries(header_names, header_values, max_size=6),
    body=bodies(),
    asked=asked_contexts,
)
def test_any_answer_gives_a_pass_or_a_finding_and_never_raises(
    status: int, headers: dict[str, str], body: bytes | str, asked: Asked
) -> None:
    verdict = judge(status, headers, body, asked)
    assert isinstance(verdict.kind, Kind)
    assert verdict.diagnosis is None or isinstance(shown(verdict), Finding)
    if verdict.diagnosis is None:
        assert verdict.kind in (Kind.JSON, Kind.LOGIN_REQUIRED)
    else:
        assert shown(verdict).summary and shown(verdict).remediation
        assert "{" + "advice}" not in shown(verdict).remediation
    if verdict.kind in LOGIN_KINDS:
        assert verdict.diagnosis is not None and shown(verdict).code.startswith("AUTH_")


@settings(max_examples=150, deadline=None)
@given(status=st.integers(200, 299), value=json_values)
def test_any_json_with_a_2xx_status_passes(status: int, value: object) -> None:
    verdict = judge(status, JSON, json.dumps(value), Asked(url=BASE))
    assert verdict.passed and verdict.value == value


@settings(max_examples=150, deadline=None)
@given(status=st.integers(0, 999), body=bodies())
def test_captcha_headers_always_win(status: int, body: bytes | str) -> None:
    headers = {"X-Seraph-LoginReason": "AUTHENTICATION_DENIED"}
    assert code(judge(status, headers, body, DC_BASIC)) == "AUTH_CAPTCHA"


@pytest.mark.parametrize("headers", [None, "not a mapping", 42, {"Content-Type": None}])
@pytest.mark.parametrize("status", [None, "abc", 10**30, 200.5])
def test_garbage_inputs_of_the_wrong_types(headers: object, status: object) -> None:
    verdict = judge(status, headers, None, None)
    assert verdict.diagnosis is not None or verdict.kind is Kind.JSON


# -- who answered: a proxy's marks and none of Jira's ------------------------------------------------

SQUID_403 = {
    "Server": "squid/3.1.10",
    "Content-Type": "text/html",
    "X-Squid-Error": "ERR_ACCESS_DENIED 0",
    "X-Cache": "MISS from localhost",
    "Via": "1.0 localhost (squid/3.1.10)",
}


def test_a_squid_refusal_of_the_first_login_is_the_proxys() -> None:
    page = "<html><title>ERROR: The requested URL could not be retrieved</title>Access Denied"
    verdict = judge(403, SQUID_403, page, DC_BASIC)
    assert verdict.kind is Kind.PROXY_ANSWER and code(verdict) == "NET_PROXY_ANSWERED"
    assert (
        "squid/3.1.10" in shown(verdict).summary and "ERR_ACCESS_DENIED" in shown(verdict).summary
    )


def test_jira_behind_nginx_refusing_basic_auth_is_still_jira() -> None:
    """A reverse proxy adds its Server header to Jira's own answers: Jira's marks decide."""
    headers = {"Server": "nginx/1.24.0", "X-AREQUESTID": "1x2", **JSON}
    body = json.dumps({"message": "Basic Authentication has been disabled on this instance."})
    assert code(judge(403, headers, body, DC_BASIC)) == "AUTH_BASIC_DISABLED"


def test_jiras_json_error_shape_marks_jiras_answer_even_without_its_headers() -> None:
    headers = {"Server": "nginx", **JSON}
    body = json.dumps({"errorMessages": ["Issue Does Not Exist"], "errors": {}})
    verdict = judge(404, headers, body, Asked(endpoint="/rest/api/2/issue/X-1", url=BASE))
    assert code(verdict) == "API_JIRA_ERROR" and "Issue Does Not Exist" in shown(verdict).summary


def test_a_gateway_error_of_a_proxy_keeps_its_own_advice() -> None:
    """502: the proxy could not reach Jira; not a refusal to let the request through."""
    page = "<html><head><title>502 Bad Gateway</title></head><center>nginx</center></html>"
    verdict = judge(502, {"Server": "nginx", **HTML}, page, Asked(url=BASE))
    assert verdict.kind is Kind.PROXY_PAGE and code(verdict) == "API_NOT_JSON"
