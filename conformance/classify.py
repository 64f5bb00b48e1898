"""Classify any HTTP answer Jira (or whatever stands in front of it) gives to a REST call.

Support tickets are decided by *what* answered: Jira's JSON, Jira's login page, an identity
provider's sign-in page, a reverse proxy's error page, a CAPTCHA lock, basic authentication
switched off, a Cloud deprecation notice. Each has its own fix, so each gets its own finding.

Who answered is decided before what was refused: an answer that carries none of Jira's own marks
(its ``X-A*`` headers, Seraph's, its JSON error shape) but a proxy's (``Server``, ``Via``,
``X-Squid-Error``, ``X-Cache``, a vendor's block page, ``Proxy-Authenticate``) is the proxy's,
whatever its status: a squid 403 is not Jira refusing basic authentication.

Everything here is a pure function of the status, the headers and the body (plus what was asked),
so that property-based tests can feed it anything: whatever arrives, ``judge`` returns a
``Verdict`` (a pass, or a diagnosis) and never raises. It judges the answer as it came, never a
redacted copy: the probe that received it records the verdict (``Verdict.reading``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from conformance import codes, versions
from conformance.evidence import Reading
from conformance.findings import Diagnosis, via

SNIFF_CHARS = 65536
MESSAGE_CHARS = 300

CAPTCHA_MARKERS = ("AUTHENTICATION_DENIED", "CAPTCHA")
# English text only breaks ties: Jira localises these messages, so every rule below decides from
# the status, the headers and the body's structure first (and quotes the message as it came).
BASIC_DISABLED_MARKER = "basic authentication has been disabled"
CLOUD_PASSWORD_MARKER = "basic authentication with passwords is deprecated"
# The link in Cloud's deprecation notice is not translated.
CLOUD_PASSWORD_LINK = "deprecation-notice-basic-auth"
SEARCH_REMOVED_MARKERS = ("change-2046", "the requested api has been removed")
NOT_AUTHENTICATED_MARKER = "client must be authenticated"

# Where single sign-on sends a browser: SAML/OIDC parameters and the usual identity providers.
IDP_MARKERS = (
    "samlrequest",
    "/cas/login",
    "keycloak",
    "saml2",
    "/saml/",
    "/adfs/",
    "login.microsoftonline.com",
    "okta.com",
    "/oauth2/",
    "/openid-connect/",
    "/realms/",
    "auth0.com",
    "onelogin.com",
    "pingidentity",
    "/idp/",
    "/_idp/",
    "accounts.google.com",
    "id.atlassian.com",
)
# The structure of a sign-in redirect: SAML, WS-Federation, OAuth 2.0 / OIDC and CAS parameters.
IDP_QUERY_PARAMS = frozenset({"samlrequest", "samlresponse", "sigalg", "wtrealm", "response_type"})
IDP_PATHS = (
    "/adfs/ls",
    "/saml",
    "/realms/",
    "/protocol/openid-connect",
    "/cas/login",
    "/oauth2/",
    "/authorize",
    "/idp/",
    "/_idp/",
    "/sso/",
    "/login/oauth",
)
IDP_HOSTS = (
    "login.microsoftonline.com",
    "login.windows.net",
    "okta.com",
    "oktapreview.com",
    "okta-emea.com",
    "auth0.com",
    "onelogin.com",
    "pingidentity.com",
    "pingone.com",
    "accounts.google.com",
    "id.atlassian.com",
    "duosecurity.com",
)
IDP_PAGE_MARKERS = (
    "samlrequest",
    "identity provider",
    "single sign-on",
    "microsoftonline",
    "okta",
    "adfs",
    "keycloak",
    "onelogin",
    "ping identity",
    "auth0",
    "sign in - ",
)
JIRA_LOGIN_MARKERS = ('id="login-form"', "os_username", "<title>log in - jira", "login.jsp")
JIRA_STARTING_MARKERS = ("jira-starting", "jira is starting")
PROXY_PAGE_MARKERS = (
    "bad gateway",
    "gateway timeout",
    "gateway time-out",
    "proxy error",
    "service unavailable",
    "<center>nginx",
    "apache/2",
    "squid",
    "cloudflare",
    "haproxy",
    "envoy",
    "varnish",
    "the proxy server",
    "upstream connect error",
)
PROXY_STATUSES = frozenset({407, 502, 503, 504})
# Jira's own marks: headers only Jira (Server, Data Center or Cloud) sends.
JIRA_HEADERS = (
    "x-arequestid",
    "x-asessionid",
    "x-anodeid",
    "x-asen",
    "x-ausername",
    "x-aaccountid",
    "x-seraph-loginreason",
    "x-authentication-denied-reason",
    "atl-traceid",
)
# A proxy's, load balancer's or firewall's marks: headers they add to what they answer themselves.
PROXY_HEADERS = (
    "x-squid-error",
    "x-cache",
    "x-cache-lookup",
    "via",
    "proxy-authenticate",
    "cf-ray",
    "x-iinfo",
    "x-bluecoat-via",
    "x-zscaler-transaction-id",
    "x-amzn-errortype",
    "x-azure-ref",
)
# Server header values (lower case) of proxies, load balancers and web application firewalls.
PROXY_SERVERS = (
    "squid",
    "nginx",
    "apache",
    "cloudflare",
    "bigip",
    "big-ip",
    "zscaler",
    "bluecoat",
    "blue coat",
    "proxysg",
    "akamaighost",
    "awselb",
    "envoy",
    "haproxy",
    "varnish",
    "microsoft-azure-application-gateway",
    "fortiweb",
    "imperva",
)
# Block pages, by vendor: (marker in the lower-cased body, the vendor's name).
BLOCK_PAGES = (
    ("the requested url was rejected. please consult with your administrator", "F5 BIG-IP ASM"),
    ("zscaler", "Zscaler"),
    ("proxysg", "Blue Coat ProxySG"),
    ("blue coat", "Blue Coat"),
    ("cloudflare", "Cloudflare"),
    ("generated by squid", "squid"),
    ("(squid/", "squid"),
    ("err_access_denied", "squid"),
    ("modsecurity", "ModSecurity"),
    ("mod_security", "ModSecurity"),
    ("incapsula incident id", "Imperva Incapsula"),
    ("errors.edgesuite.net", "Akamai"),
    ("fortigate", "FortiGate"),
    ("<center>nginx", "nginx"),
    ("apache/2", "Apache httpd"),
)


class Kind(StrEnum):
    """What kind of answer came back; the checks branch on it."""

    JSON = "json"  # a Jira JSON answer of the expected shape (a pass)
    LOGIN_REQUIRED = "login_required"  # an anonymous request refused: ask with credentials
    CAPTCHA = "captcha"
    BASIC_DISABLED = "basic_disabled"
    WRONG_SCHEME = "wrong_scheme"
    BAD_CREDENTIALS = "bad_credentials"
    ANONYMOUS = "anonymous"
    SSO = "sso"
    LOGIN_PAGE = "login_page"
    PROXY_PAGE = "proxy_page"
    HTML = "html"
    NOT_JSON = "not_json"  # empty, binary, plain text or malformed JSON
    REDIRECT = "redirect"
    SEARCH_REMOVED = "search_removed"
    NOT_FOUND = "not_found"
    ERROR_STATUS = "error_status"
    RATE_LIMITED = "rate_limited"
    LOGIN_LOST = "login_lost"  # a 401 after the bot's login had been accepted in this run
    JIRA_ERROR = "jira_error"  # Jira's own error answer ({"errorMessages", "errors"}), quoted
    PROXY_ANSWER = "proxy_answer"  # a proxy answered itself, whatever the status


# Kinds that say the answer is not Jira's REST API at all (a page where JSON was expected).
PAGE_KINDS = frozenset(
    {
        Kind.SSO,
        Kind.LOGIN_PAGE,
        Kind.PROXY_PAGE,
        Kind.HTML,
        Kind.NOT_JSON,
        Kind.REDIRECT,
        Kind.PROXY_ANSWER,
    }
)
# Kinds that are the bot's login being refused (judged by the bot-account checks).
LOGIN_KINDS = frozenset(
    {
        Kind.CAPTCHA,
        Kind.BASIC_DISABLED,
        Kind.WRONG_SCHEME,
        Kind.BAD_CREDENTIALS,
        Kind.ANONYMOUS,
        Kind.LOGIN_LOST,
    }
)


@dataclass(frozen=True)
class Asked:
    """What was asked and how: the same answer means different things in different contexts."""

    endpoint: str = "/rest/api/2/serverInfo"
    url: str = ""  # the base URL the suite uses
    credentialed: bool = False
    scheme: str | None = None  # "basic" / "bearer"
    secret_kind: str | None = None  # "password" / "token"
    secret_origin: str | None = None  # "JIRA_TOKEN", "JIRA_PASSWORD", ".netrc"...
    user: str | None = None
    deployment: str | None = None  # serverInfo's deploymentType, when known
    version: tuple[int, ...] | None = None  # serverInfo's versionNumbers, when known
    # An earlier credentialed request of this run was accepted: a refusal now is not the login.
    login_proven: bool = False
    # The request carried something the integration profile names (JQL, fields, issue types):
    # Jira refusing it is the profile's to correct; refusing the suite's own request is not.
    from_profile: bool = False
    # The forward proxy the run's requests go through (without credentials), and the setting
    # that chose it; None when requests go direct.
    proxy: str | None = None
    proxy_source: str = ""


@dataclass(frozen=True)
class Verdict:
    kind: Kind
    diagnosis: Diagnosis | None = None  # None: a pass
    value: Any = None  # the parsed JSON, when there was some
    detail: str = ""  # a short phrase for notes, e.g. "Jira's login page"

    @property
    def passed(self) -> bool:
        return self.diagnosis is None

    @property
    def reading(self) -> Reading:
        """What a probe records of this verdict for the checks (the parsed value aside)."""
        return Reading(self.kind.value, self.diagnosis, self.detail)


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: dict[str, str]  # lower-cased names
    text: str
    binary: bool

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    @property
    def content_type(self) -> str:
        return self.header("content-type").split(";")[0].strip().lower()

    @property
    def sniff(self) -> str:
        return self.text[:SNIFF_CHARS].lower()


def judge(status: Any, headers: Any, body: Any, asked: Asked | None = None) -> Verdict:
    """Classify one answer. Never raises: whatever comes back, a verdict comes out."""
    asked = asked or Asked()
    answer = _normalise(status, headers, body)
    try:
        return _judge(answer, asked)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        # A shape nobody foresaw must still read as a finding, never as a crash of the suite.
        return Verdict(
            Kind.NOT_JSON,
            _not_json(asked, answer, f"an answer that could not be read ({exc!s:.200})", "unknown"),
            detail="unreadable answer",
        )


def _normalise(status: Any, headers: Any, body: Any) -> _Answer:
    try:
        code = int(status)
    except (TypeError, ValueError, OverflowError):
        code = 0
    lowered: dict[str, str] = {}
    if isinstance(headers, Mapping):
        for name, value in headers.items():
            lowered[str(name).lower()] = str(value)
    if isinstance(body, bytes | bytearray | memoryview):
        raw = bytes(body)
        binary = _looks_binary(raw)
        text = raw.decode("utf-8", errors="replace")
    else:
        text = "" if body is None else str(body)
        binary = "\x00" in text[:SNIFF_CHARS]
    return _Answer(code, lowered, text, binary)


def _looks_binary(raw: bytes) -> bool:
    head = raw[:4096]
    if not head:
        return False
    if b"\x00" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sniff boundary is still text.
        return exc.start < len(head) - 4
    return False


def _judge(answer: _Answer, asked: Asked) -> Verdict:
    proxy = _proxy_answer(answer, asked)
    if proxy is not None:
        return proxy
    login = _login_refusal(answer, asked)
    if login is not None:
        return login
    if 300 <= answer.status < 400:
        return _redirect(answer, asked)
    if answer.status == 429:
        return Verdict(
            Kind.RATE_LIMITED,
            codes.RateLimited(
                count=1,
                paced=0,
                limit=answer.header("x-ratelimit-limit") or "not stated",
                fill_rate=answer.header("x-ratelimit-fillrate") or "not stated",
            ),
            detail="rate limited (429)",
        )
    if answer.binary:
        return Verdict(
            Kind.NOT_JSON, _not_json(asked, answer, "binary data", "unknown"), detail="binary"
        )
    value, parse_error = _parse_json(answer)
    if parse_error is None:
        return _json_answer(answer, asked, value)
    if _is_html(answer):
        return _html_answer(answer, asked)
    if not answer.text.strip():
        if 200 <= answer.status < 300:
            return Verdict(
                Kind.NOT_JSON,
                _not_json(asked, answer, "an empty body", "unknown"),
                detail="empty body",
            )
        if answer.status >= 500 and _jira_marked(answer):
            return _jira_error(answer, asked)
        return _status_only(answer, asked, f"answered {answer.status} with an empty body")
    if _json_declared(answer) or answer.text.lstrip()[:1] in ("{", "["):
        return Verdict(
            Kind.NOT_JSON,
            _not_json(asked, answer, f"malformed JSON ({parse_error})", "truncated"),
            detail="malformed JSON",
        )
    if answer.status in PROXY_STATUSES or _has_any(answer.sniff, PROXY_PAGE_MARKERS):
        return Verdict(
            Kind.PROXY_PAGE,
            _not_json(asked, answer, "a proxy's error message", "proxy"),
            detail="proxy error",
        )
    if answer.status == 404:
        return _not_found(answer, asked)
    return Verdict(
        Kind.NOT_JSON,
        _not_json(asked, answer, f"plain text ({_excerpt(answer.text)!r})", "unknown"),
        detail="plain text",
    )


# -- who answered ----------------------------------------------------------------------------------


def _jira_marked(answer: _Answer) -> bool:
    """Jira's own marks: its headers, its JSON error shape, or one of its own pages."""
    if any(answer.header(name) for name in JIRA_HEADERS):
        return True
    value, error = _parse_json(answer)
    if error is None and isinstance(value, dict):
        return _jira_error_body(value) or "status-code" in value
    sniff = answer.sniff
    return _has_any(sniff, JIRA_LOGIN_MARKERS) or _has_any(sniff, JIRA_STARTING_MARKERS)


def proxy_named(answer_headers: Mapping[str, str], body: str = "") -> str | None:
    """How a proxy answer names its sender ("squid/6.10 (Via: 1.1 gw (squid/6.10))"), or None
    when the answer carries no proxy mark at all."""
    headers = {k.lower(): v for k, v in answer_headers.items()}
    server = headers.get("server", "")
    via_header = headers.get("via", "")
    sniff = body[:SNIFF_CHARS].lower()
    vendor = next((name for marker, name in BLOCK_PAGES if marker in sniff), None)
    marked = any(headers.get(name) for name in PROXY_HEADERS) or any(
        name.startswith("x-zscaler") for name in headers
    )
    known_server = any(name in server.lower() for name in PROXY_SERVERS)
    if not (marked or known_server or vendor):
        return None
    name = server if known_server else (vendor or server or "a proxy")
    if via_header and via_header not in name:
        name += f" (Via: {_short(via_header, 80)})"
    return _short(name, 160)


def _proxy_answer(answer: _Answer, asked: Asked) -> Verdict | None:
    """The proxy's own answer: a proxy's marks and none of Jira's, whatever the status.

    A proxy passing Jira's JSON on (a 2xx that parses), redirects (judged as single sign-on or a
    moved address below) and the gateway statuses (407 asks for the proxy's own login; 502, 503
    and 504 say Jira behind it did not answer: each has its own advice below) are left to the
    rules that follow.
    """
    if 300 <= answer.status < 400 or answer.status in PROXY_STATUSES or _jira_marked(answer):
        return None
    if 200 <= answer.status < 300 and _parse_json(answer)[1] is None:
        return None
    name = proxy_named(answer.headers, answer.text)
    if name is None:
        return None
    said = answer.header("x-squid-error") or _message(answer) or f"HTTP {answer.status}"
    forward = asked.proxy is not None
    shown = f"{asked.proxy} ({name})" if forward else name
    host = urlsplit(asked.url).hostname or asked.url
    return Verdict(
        Kind.PROXY_ANSWER,
        codes.NetProxyAnswered(
            proxy=shown,
            endpoint=asked.endpoint,
            status=answer.status,
            said=_short(said, 200),
            url=asked.url,
            host=host,
            source=asked.proxy_source if forward else "",
            advice="forward" if forward else "in_front",
        ),
        detail=f"the proxy's own answer (HTTP {answer.status})",
    )


# -- the bot's login refused ---------------------------------------------------------------------


def _login_refusal(answer: _Answer, asked: Asked) -> Verdict | None:
    """Jira refusing the credentials themselves, whatever the status (CAPTCHA can answer 200).

    Headers and status decide; the message is quoted in whatever language it came, and its
    English wording is consulted only where structure leaves two readings open.
    """
    reason = answer.header("x-seraph-loginreason").upper()
    denied = answer.header("x-authentication-denied-reason")
    if any(m in reason for m in CAPTCHA_MARKERS) or "CAPTCHA" in denied.upper():
        return _captcha(answer, asked, reason, denied)
    if answer.status == 403:
        return _refused_403(answer, asked, reason)
    if answer.status != 401:
        return None
    if not asked.credentialed:
        return Verdict(Kind.LOGIN_REQUIRED, None, detail="needs a login")
    if asked.login_proven:
        return _login_lost(answer, asked)
    if _cloud_password(answer, asked):
        return _wrong_scheme(
            asked,
            answer,
            secret_kind="password",
            scheme="basic",
            deployment="Jira Cloud",
            reason="Cloud does not accept account passwords over the REST API"
            + _quoted(answer, ", it answered"),
            advice="cloud_api_token",
        )
    return _rejected_401(answer, asked)


def _captcha(answer: _Answer, asked: Asked, reason: str, denied: str) -> Verdict:
    login_url = _login_url(denied) or (asked.url + "/login.jsp" if asked.url else "login.jsp")
    # The header values are Jira's own constants; the customer's view says them in words.
    why = f"Jira's login reason {reason or 'none'}"
    if denied:
        why += f", denied for {denied}"
    return Verdict(
        Kind.CAPTCHA,
        codes.AuthCaptcha(
            user=asked.user or "the bot",
            reason=f"HTTP {answer.status}, {why}",
            login_url=login_url,
            via=via(asked.secret_origin),
        ),
        detail="CAPTCHA required",
    )


def _refused_403(answer: _Answer, asked: Asked, reason: str) -> Verdict | None:
    """A 403 is the login refused when it answers the first credentialed request (or says so)."""
    english_disabled = BASIC_DISABLED_MARKER in answer.sniff
    if not asked.credentialed and not english_disabled:
        return None
    if asked.login_proven and not english_disabled:
        return None  # authenticated, then refused an action: a permission, judged by the caller
    if "AUTHENTICATED_FAILED" in reason or (asked.scheme == "bearer" and not english_disabled):
        return _bad_credentials(answer, asked, reason)
    where = (
        f" for {asked.endpoint}, after it accepted the bot's login elsewhere in this run"
        if asked.login_proven
        else ""
    )
    return Verdict(
        Kind.BASIC_DISABLED,
        codes.AuthBasicDisabled(
            reason=f"HTTP {answer.status}{where}" + _quoted(answer, ", Jira said"),
            advice=versions.basic_disabled_advice(asked.version),
            user=asked.user or "the bot",
            version=versions.label(asked.version or ()),
            via=via(asked.secret_origin),
        ),
        detail="basic authentication disabled",
    )


def _cloud_password(answer: _Answer, asked: Asked) -> bool:
    """Cloud refusing a password: its notice's link, or a plain-text 401 to a password."""
    if CLOUD_PASSWORD_MARKER in answer.sniff or CLOUD_PASSWORD_LINK in answer.sniff:
        return True
    plain_text = bool(answer.text.strip()) and not _is_html(answer) and _parse_json(answer)[1]
    return (
        asked.deployment == "Cloud"
        and asked.scheme == "basic"
        and asked.secret_kind == "password"
        and bool(plain_text)
    )


def _login_lost(answer: _Answer, asked: Asked) -> Verdict:
    return Verdict(
        Kind.LOGIN_LOST,
        codes.AuthLoginLost(
            endpoint=asked.endpoint,
            status=answer.status,
            reason=_seraph_or_message(answer, answer.header("x-seraph-loginreason").upper()),
            user=asked.user or "the bot",
        ),
        detail="login no longer accepted",
    )


def _rejected_401(answer: _Answer, asked: Asked) -> Verdict:
    """A credentialed request answered 401: which of the wrong-scheme cases, or a bad secret?"""
    reason = answer.header("x-seraph-loginreason").upper()
    cloud = asked.deployment == "Cloud"
    version = asked.version
    if cloud and asked.scheme == "bearer":
        return _wrong_scheme(
            asked,
            answer,
            secret_kind="token",
            scheme="bearer",
            deployment="Jira Cloud",
            reason="Cloud accepts API tokens only as basic authentication with the account's e-mail",
            advice="cloud_api_token",
        )
    if not cloud and asked.scheme == "bearer" and version and not versions.has_pats(version):
        return _wrong_scheme(
            asked,
            answer,
            secret_kind="token",
            scheme="bearer",
            deployment=f"Jira {versions.label(version)}",
            reason=f"personal access tokens exist only from Jira {versions.label(versions.PATS_SINCE)}",
            advice="no_pat",
        )
    if (
        asked.deployment == "Server"
        and asked.scheme == "basic"
        and asked.secret_kind == "token"
        and asked.secret_origin == "JIRA_TOKEN"
    ):
        return _wrong_scheme(
            asked,
            answer,
            secret_kind="personal access token",
            scheme="basic",
            deployment="Jira Data Center",
            reason="Data Center accepts a personal access token only as 'Authorization: Bearer', "
            "never as a password",
            advice=versions.pat_as_password_advice(version),
        )
    anonymous = answer.header("x-ausername").lower() == "anonymous"
    if (
        asked.scheme == "basic"
        and not cloud
        and "AUTHENTICATED_FAILED" not in reason
        and (
            anonymous or _not_authenticated_body(answer) or NOT_AUTHENTICATED_MARKER in answer.sniff
        )
    ):
        return Verdict(
            Kind.ANONYMOUS,
            codes.AuthAnonymous(
                reason=f"{asked.endpoint} answered 401 "
                + (
                    f'("{_message(answer).rstrip(".")}")'
                    if _message(answer)
                    else "without a reason"
                )
                + (" and named the user anonymous" if anonymous else ""),
            ),
            detail="credentials not seen by Jira",
        )
    return _bad_credentials(answer, asked, reason)


def _bad_credentials(answer: _Answer, asked: Asked, reason: str) -> Verdict:
    return Verdict(
        Kind.BAD_CREDENTIALS,
        codes.AuthBadCredentials(
            secret_kind=_secret_words(asked),
            user=asked.user or "the token's owner",
            status=answer.status,
            reason=_seraph_or_message(answer, reason),
            advice="cloud" if asked.deployment == "Cloud" else "data_center",
        ),
        detail="credentials rejected",
    )


def _seraph_or_message(answer: _Answer, reason: str) -> str:
    """Seraph's login reason (a constant, never translated), else Jira's message as it came."""
    if reason:
        return f"Jira's login reason {reason}"
    message = _message(answer)
    return f'Jira said "{message}"' if message else "no reason given"


def _quoted(answer: _Answer, lead: str) -> str:
    """', Jira said "..."' with Jira's own message (any language), or '' without one."""
    message = _message(answer).rstrip(".")
    return f'{lead} "{message}"' if message else " without a message"


def _not_authenticated_body(answer: _Answer) -> bool:
    """Jira's body for a request it saw without credentials: {"message", "status-code": 401}."""
    value, error = _parse_json(answer)
    return error is None and isinstance(value, dict) and value.get("status-code") == 401


def _wrong_scheme(
    asked: Asked,
    answer: _Answer,
    *,
    secret_kind: str,
    scheme: str,
    deployment: str,
    reason: str,
    advice: Literal["cloud_api_token", "no_pat", "pat_as_password"],
) -> Verdict:
    return Verdict(
        Kind.WRONG_SCHEME,
        codes.AuthWrongScheme(
            secret_kind=secret_kind,
            scheme=scheme,
            deployment=deployment,
            reason=f"{reason} (HTTP {answer.status})",
            advice=advice,
            version=versions.shown(asked.version),
            via=via(asked.secret_origin),
        ),
        detail="wrong authentication scheme",
    )


def _secret_words(asked: Asked) -> str:
    if asked.scheme == "bearer":
        return "personal access token"
    if asked.deployment == "Cloud":
        return "API token"
    return asked.secret_kind or "password"


# -- redirects, pages and JSON -------------------------------------------------------------------


def idp_host(location: str) -> str | None:
    """The identity provider's host when ``location`` sends a browser to single sign-on.

    Decided from the URL's structure: the SAML, WS-Federation, OAuth/OIDC and CAS parameters in
    its query, the paths identity providers serve sign-in at, and their well-known hosts.
    """
    try:
        parts = urlsplit(location.strip())
        params = {name.lower() for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    path = unquote(parts.path).lower()
    by_query = bool(params & IDP_QUERY_PARAMS) or {"client_id", "redirect_uri"} <= params
    by_path = _has_any(path, IDP_PATHS)
    by_host = any(host == h or host.endswith("." + h) for h in IDP_HOSTS)
    if by_query or by_path or by_host:
        return host or "(this host)"
    return None


def _redirect(answer: _Answer, asked: Asked) -> Verdict:
    location = answer.header("location")
    lowered = unquote(location).lower()
    if idp_host(location) or _has_any(lowered, IDP_MARKERS):
        return Verdict(
            Kind.SSO,
            codes.AuthSsoRedirect(location=_short_url(location), via=via(asked.secret_origin)),
            detail="redirect to single sign-on",
        )
    if "login.jsp" in lowered or "/login" in lowered:
        return Verdict(
            Kind.LOGIN_PAGE,
            _not_json(
                asked,
                answer,
                f"a redirect to Jira's login page ({_short_url(location)})",
                "login_page",
            ),
            detail="redirect to the login page",
        )
    advice: codes.NotJsonAdvice = "redirect"
    if asked.url.startswith("http://") and location.startswith("https://"):
        advice = "redirect_to_https"
    where = _short_url(location) if location else "nowhere (no Location header)"
    return Verdict(
        Kind.REDIRECT,
        _not_json(asked, answer, f"a redirect to {where}", advice),
        detail="redirect",
    )


def _json_answer(answer: _Answer, asked: Asked, value: Any) -> Verdict:
    status = answer.status
    if 200 <= status < 300:
        if asked.credentialed and answer.header("x-ausername").lower() == "anonymous":
            return Verdict(
                Kind.ANONYMOUS,
                codes.AuthAnonymous(
                    reason=f"{asked.endpoint} answered {status} as the user anonymous",
                ),
                value=value,
                detail="answered as anonymous",
            )
        return Verdict(Kind.JSON, None, value=value, detail="JSON")
    lowered = answer.sniff
    if status == 410 and _has_any(lowered, SEARCH_REMOVED_MARKERS):
        return Verdict(
            Kind.SEARCH_REMOVED,
            codes.ApiSearchRemoved(),
            value=value,
            detail="search removed (CHANGE-2046)",
        )
    if 400 <= status < 600 and _jira_error_body(value):
        return _jira_error(answer, asked, value)  # Jira's own words, whatever the status
    if status >= 500 and _jira_marked(answer):
        return _jira_error(answer, asked, value)
    if status == 404:
        return _not_found(answer, asked, value)
    return _status_only(
        answer, asked, f"answered {status}: {_message(answer) or 'no message'}", value
    )


def jira_error_advice(status: int, asked: Asked) -> codes.JiraErrorAdvice:
    """What Jira's own error answer asks of the customer: by its status, and by whether the
    request carried what the integration profile names."""
    if status >= 500:
        return "jira_failed"
    if status == 404:
        return "not_found"
    return "profile" if asked.from_profile else "suite_request"


def _jira_error(answer: _Answer, asked: Asked, value: Any = None) -> Verdict:
    status = answer.status
    return Verdict(
        Kind.JIRA_ERROR,
        codes.ApiJiraError(
            endpoint=asked.endpoint,
            status=status,
            message=_message(answer) or "no message",
            advice=jira_error_advice(status, asked),
        ),
        value=value,
        detail=f"Jira's error answer (HTTP {status})",
    )


def _jira_error_body(value: Any) -> bool:
    """Jira's error shape: {"errorMessages": [...], "errors": {...}} (either part may be empty)."""
    if not isinstance(value, dict):
        return False
    messages, errors = value.get("errorMessages"), value.get("errors")
    return isinstance(messages, list) or isinstance(errors, dict)


def _html_answer(answer: _Answer, asked: Asked) -> Verdict:
    sniff = answer.sniff
    if _has_any(sniff, IDP_PAGE_MARKERS) and not _has_any(sniff, JIRA_LOGIN_MARKERS[:2]):
        return Verdict(
            Kind.SSO,
            codes.AuthSsoRedirect(
                location=f"an identity provider's page at {asked.endpoint}",
                via=via(asked.secret_origin),
            ),
            detail="identity provider page",
        )
    if _has_any(sniff, JIRA_LOGIN_MARKERS):
        return Verdict(
            Kind.LOGIN_PAGE,
            _not_json(asked, answer, "Jira's login page", "login_page"),
            detail="Jira's login page",
        )
    if _has_any(sniff, JIRA_STARTING_MARKERS):
        return Verdict(
            Kind.HTML,
            _not_json(asked, answer, "Jira's 'starting' page", "starting"),
            detail="Jira is starting",
        )
    if answer.status in PROXY_STATUSES or _has_any(sniff, PROXY_PAGE_MARKERS):
        title = _title(answer.text)
        what = f"a proxy error page ({title!r})" if title else "a proxy error page"
        return Verdict(
            Kind.PROXY_PAGE, _not_json(asked, answer, what, "proxy"), detail="proxy page"
        )
    if answer.status == 404:
        return _not_found(answer, asked)
    title = _title(answer.text)
    what = f"an HTML page ({title!r})" if title else "an HTML page"
    return Verdict(Kind.HTML, _not_json(asked, answer, what, "unknown"), detail="HTML page")


def _not_found(answer: _Answer, asked: Asked, value: Any = None) -> Verdict:
    message = _message(answer) or ("an HTML 'not found' page" if _is_html(answer) else "not found")
    return Verdict(
        Kind.NOT_FOUND,
        codes.ApiV2Missing(url=asked.url, reason=f"{asked.endpoint} answered 404: {message}"),
        value=value,
        detail="not found",
    )


def _status_only(answer: _Answer, asked: Asked, reason: str, value: Any = None) -> Verdict:
    return Verdict(
        Kind.ERROR_STATUS,
        codes.ApiV2Missing(url=asked.url, reason=f"{asked.endpoint} {reason}"),
        value=value,
        detail=f"HTTP {answer.status}",
    )


def _not_json(
    asked: Asked, answer: _Answer, kind: str, advice: codes.NotJsonAdvice
) -> codes.ApiNotJson:
    """API_NOT_JSON for ``kind`` of answer, with the catalogue's ``advice`` for it."""
    return codes.ApiNotJson(
        endpoint=asked.endpoint,
        status=answer.status,
        kind=kind,
        advice=advice,
        content_type=answer.content_type or "none",
    )


# -- helpers ---------------------------------------------------------------------------------------


def _parse_json(answer: _Answer) -> tuple[Any, str | None]:
    text = answer.text.strip()
    if not text:
        return None, "empty"
    if not _json_declared(answer) and text[:1] not in ("{", "["):
        return None, "not JSON"
    try:
        return json.loads(text), None
    except (ValueError, RecursionError) as exc:
        return None, type(exc).__name__ if isinstance(exc, RecursionError) else _short(str(exc))


def _json_declared(answer: _Answer) -> bool:
    ctype = answer.content_type
    return ctype == "application/json" or ctype.endswith("+json")


def _is_html(answer: _Answer) -> bool:
    if "html" in answer.content_type:
        return True
    head = answer.text[:512].lstrip().lower()
    return head.startswith(("<!doctype html", "<html", "<head", "<body")) or "<html" in head


def _message(answer: _Answer) -> str:
    """Jira's own words: message, errorMessages, or an HTML title/paragraph."""
    value, error = _parse_json(answer)
    parts: list[str] = []
    if error is None and isinstance(value, dict):
        message = value.get("message")
        if isinstance(message, str) and message:
            parts.append(message)
        messages = value.get("errorMessages")
        if isinstance(messages, list):
            parts += [str(m) for m in messages if isinstance(m, str | int | float) and str(m)]
        errors = value.get("errors")
        if isinstance(errors, dict):
            parts += [f"{k}: {v}" for k, v in list(errors.items())[:5]]
    elif _is_html(answer):
        title = _title(answer.text)
        if title:
            parts.append(title)
    elif answer.text.strip() and not answer.binary:
        parts.append(answer.text.strip())
    return _short("; ".join(parts))


def _title(text: str) -> str:
    match = re.search(r"<title[^>]*>(.*?)</title>", text[:SNIFF_CHARS], re.I | re.S)
    return _short(re.sub(r"\s+", " ", match.group(1)).strip()) if match else ""


def _login_url(denied: str) -> str | None:
    match = re.search(r"login-url=(\S+)", denied)
    return match.group(1).rstrip(";,") if match else None


def _has_any(text: str, markers: tuple[str, ...]) -> bool:
    return any(marker in text for marker in markers)


def _short(text: str, limit: int = MESSAGE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _excerpt(text: str) -> str:
    return _short(re.sub(r"\s+", " ", text.strip()), 80)


def _short_url(location: str) -> str:
    """A Location without its (long, opaque) query: host and path say where it goes."""
    try:
        parts = urlsplit(location)
    except ValueError:
        return _short(location, 120)
    if not parts.netloc:
        return _short(location.split("?")[0], 120) or "(empty)"
    return _short(f"{parts.scheme}://{parts.netloc}{parts.path}", 120)
