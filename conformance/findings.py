"""The one catalogue of findings: what went wrong, in plain words, and exactly what to change.

A failing check carries at least one finding. Summaries and remediations are templates filled
with what was observed (host, status, header, project key...), so the text a Jira administrator
reads names their own instance, screen and setting.

Every remediation sentence lives here. Where one code needs different advice in different cases
(one per /status state, per HTTP status...), its remediation holds ``{advice}`` and its
``advice`` table holds the texts: the call site names one by key and fills facts, never words.

What fills a template is a **diagnosis**: one frozen record per code (``conformance/codes.py``,
e.g. ``codes.NetDns(host=..., error=...)``), so that mypy checks the code and every parameter
where it is built. Probes and the classifier record diagnoses in their facts; the check that
judges the evidence turns one into a :class:`Finding` (``explain``, or ``check.fail``/``warn``
given the record). ``tests/unit/test_codes.py`` keeps the records and this catalogue in step.
"""

from __future__ import annotations

import dataclasses
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Literal, Required, TypedDict


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class FindingSpec:
    code: str
    severity: Severity
    summary: str
    remediation: str
    links: tuple[str, ...] = ()
    # The texts that fill {advice} in the remediation, by the key a call site names.
    advice: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if ("advice" in placeholders(self.remediation)) != bool(self.advice):
            raise FindingTemplateError(f"{self.code}: {{advice}} and an advice table go together")


class FindingJson(TypedDict, total=False):
    """A finding as plain data (``Finding.as_json``), as the JSON result carries it."""

    code: Required[str]
    severity: Required[str]
    summary: Required[str]
    remediation: Required[str]
    links: list[str]
    evidence: dict[str, Any]


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    summary: str
    remediation: str
    links: tuple[str, ...] = ()
    evidence: dict[str, Any] | None = field(default=None, compare=False)

    def as_json(self) -> FindingJson:
        data: FindingJson = {
            "code": self.code,
            "severity": str(self.severity),
            "summary": self.summary,
            "remediation": self.remediation,
        }
        if self.links:
            data["links"] = list(self.links)
        if self.evidence:
            data["evidence"] = self.evidence
        return data

    def one_line(self) -> str:
        return f"[{self.code}] {self.summary}"


class FindingTemplateError(KeyError):
    """A finding was built for a code the catalogue lacks, with an advice key its entry lacks, or
    without a value its template needs.

    Raised, never rendered: a finding that reads ``Content-Type {content_type}`` would send a
    Jira administrator looking for a setting that does not exist.
    """


def placeholders(template: str) -> set[str]:
    """The names a template fills, e.g. ``{'host', 'port'}``."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _fill(template: str, params: dict[str, Any]) -> str:
    try:
        return string.Formatter().vformat(template, (), params)
    except (ValueError, TypeError, IndexError, AttributeError):
        # A value of an unexpected type for its format spec (e.g. None for :.0f): show it plainly.
        plain = re.sub(r"\{(\w+)(![rsa])?(:[^}]*)?\}", r"{\1}", template)
        return string.Formatter().vformat(plain, (), params)


def finding(
    code: str, evidence: dict[str, Any] | None = None, *, advice: str | None = None, **params: Any
) -> Finding:
    """Render the catalogue entry ``code`` filled with ``params``: the one renderer, which
    ``explain`` calls for a typed diagnosis. Product code builds diagnoses (``codes.py``), so
    that mypy checks them; this string-keyed form serves tests that render entries generically.

    A code with an advice table needs ``advice``, the key of the text that fills its
    ``{advice}``; a code without one takes none. Every placeholder of the summary, the
    remediation and the chosen advice must be given (extra values are allowed): an unknown code
    or advice key, or a missing name, raises :class:`FindingTemplateError`.
    """
    spec = CATALOGUE.get(code)
    if spec is None:
        raise FindingTemplateError(f"no finding {code!r} in the catalogue")
    remediation = spec.remediation
    if spec.advice or advice is not None:
        text = spec.advice.get(advice) if advice is not None else None
        if text is None:
            keys = ", ".join(sorted(spec.advice)) or "none"
            raise FindingTemplateError(f"{code} has no advice {advice!r} (it has: {keys})")
        remediation = remediation.replace("{advice}", text)
    wanted = placeholders(spec.summary) | placeholders(remediation)
    missing = wanted - params.keys()
    if missing:
        raise FindingTemplateError(f"{code} was built without {', '.join(sorted(missing))}")
    return Finding(
        code=spec.code,
        severity=spec.severity,
        summary=_fill(spec.summary, params),
        remediation=_fill(remediation, params),
        links=spec.links,
        evidence=evidence,
    )


def advice_keys(code: str) -> frozenset[str]:
    """The keys of ``code``'s advice table, for a call site that must fall back on one."""
    return frozenset(CATALOGUE[code].advice)


PROMPT_ORIGIN = "prompt"  # credentials typed at visor-jira-check's prompt
# Where the bot's credentials came from, as the catalogue's words for handing them over know it.
Via = Literal["prompt", "environment"]

# How to hand the suite the bot's credentials, in the words of where they came from: someone who
# typed them at the customer command's prompt is told what to type there; anyone else which
# variable to set. Both sets have the same names; a diagnosis with a ``via`` field fills them.
CREDENTIAL_WORDS: dict[Via, dict[str, str]] = {
    "prompt": {
        "use_token": "leave the user name empty at the prompt and type the token",
        "user_variable": "the user name you type at the prompt",
        "send_api_token": "type the bot's Atlassian account e-mail address as the user name at "
        "the prompt, then the API token",
        "send_password": "type the bot's user name as the user name at the prompt, then the "
        "password",
        "send_token_alone": "Leave the user name empty at the prompt and type only the token",
        "send_password_instead": "type the bot's password (not the token) at the prompt",
    },
    "environment": {
        "use_token": "set JIRA_TOKEN to it and leave JIRA_USER unset",
        "user_variable": "JIRA_USER",
        "send_api_token": "set JIRA_USER to the bot's Atlassian account e-mail address and "
        "JIRA_TOKEN to the API token",
        "send_password": "set JIRA_USER to the bot's user name and JIRA_PASSWORD to the password",
        "send_token_alone": "Unset JIRA_USER and keep the token in JIRA_TOKEN (or pass "
        "--jira-auth bearer)",
        "send_password_instead": "put the bot's password (not the token) in JIRA_PASSWORD",
    },
}


def via(origin: str | None) -> Via:
    """Which words fit credentials that came from ``origin`` (``Credentials.origin``)."""
    return "prompt" if origin == PROMPT_ORIGIN else "environment"


def credential_words(origin: str | None) -> Mapping[str, Any]:
    """The catalogue's words for handing over credentials that came from ``origin``."""
    return CREDENTIAL_WORDS[via(origin)]


@dataclass(frozen=True)
class Diagnosis:
    """What was observed, as the parameters of one catalogue entry (its ``code``).

    Each code has one subclass in ``conformance/codes.py`` whose fields are its template's
    placeholders; ``advice`` names its advice text and ``via`` its credential words. Plain data:
    probes keep diagnoses in their facts, and a check turns one into a Finding (``explain``).
    """

    code: ClassVar[str] = ""


def explain(diagnosis: Diagnosis, evidence: dict[str, Any] | None = None) -> Finding:
    """The Finding a report shows for ``diagnosis``: the catalogue's texts, filled."""
    params = {f.name: getattr(diagnosis, f.name) for f in dataclasses.fields(diagnosis)}
    advice = params.pop("advice", None)
    words: Via | None = params.pop("via", None)
    if words is not None:
        params.update(CREDENTIAL_WORDS[words])
    return finding(diagnosis.code, evidence, advice=advice, **params)


# --- Advice shared by several entries -----------------------------------------------------------

_USE_A_TOKEN = (
    "Use a personal access token instead (Jira 8.14+): log in as {user}, create one under the "
    "bot's profile > Personal Access Tokens > Create token, then {use_token} (it is sent as "
    "'Authorization: Bearer'); or have a Jira administrator allow it for the bot: Administration "
    '> System > Authentication methods > "Allow basic authentication on API calls", or add '
    "{user} to the allowlist of users (REST: /rest/basicauth/1.0/config, 'allowed-users')."
)

_SLOW_WRITE = (
    "Jira did not answer step {step} within the request timeout. A slow write is usually a "
    "workflow post-function, a listener or an app (atlassian-jira.log shows which); raise "
    "--jira-timeout to measure it."
)

# WRITE_CREATE_FAILED and WRITE_EDIT_FAILED: why the step failed, and what to change.
_WRITE_FAILED_ADVICE = {
    "foreign": "Jira's answer to the create did not name the issue it created: something "
    "between this machine and Jira (a caching or replaying proxy, an app that rewrites REST "
    "answers) changes answers to POST /rest/api/2/issue. Exempt /rest/ from caching and check "
    "the installed apps. The run's own issue, found by its label: {own}.",
    "timeout": _SLOW_WRITE,
    "timeout_found": _SLOW_WRITE
    + " Jira did the work all the same: {own} was found by its label and deleted.",
    "broken": "The connection broke before Jira answered. Check the network path (a proxy or "
    "firewall that drops writes, or a request size limit) and Jira's logs, then run again.",
    "permission": "Grant the bot {permission} in {project}: Project settings > Permissions > "
    "Actions > Edit permissions > {permission} > Grant.",
    "refused": "Jira refused what the round trip sent at step {step}. The create and edit "
    "screens of the profile's issue type in {project} must hold the fields the profile writes "
    "(fields.write), and no other field may be required (Project settings > Screens, Fields).",
    "hidden": "Jira hides the issue the bot just created from the bot: {project}'s issue "
    "security scheme most likely gives new issues a default security level the bot is not in "
    "(Project settings > Issue security). Add the bot to that level, or set no default.",
    "gone": "Jira no longer finds the test issue: an app or automation in {project} moves or "
    "deletes new issues. Check Project settings > Automation and the installed apps.",
    "jira_failed": "Jira failed on this request; its administrator will find the cause in "
    "atlassian-jira.log (often a workflow post-function or an app's listener).",
}


E, W = Severity.ERROR, Severity.WARNING

_SPECS = [
    # --- Reachability -------------------------------------------------------------------------
    FindingSpec(
        "NET_BAD_URL",
        E,
        "The Jira URL {url!r} is not usable: {reason}.",
        "Give the base URL you open Jira at in a browser, with its scheme and context path, "
        "e.g. https://jira.example.com or https://example.com/jira.",
    ),
    FindingSpec(
        "NET_DNS",
        E,
        "The host name {host} does not resolve from this machine ({error}).",
        "Check the spelling of the host in the URL. If Jira is internal, this machine needs the "
        'internal DNS (or a VPN). The customer guide (step 2) calls the Instance URL "the web '
        'address Visor will use to connect to your Jira instance", so its host must resolve '
        "where Visor connects from too: ask your network administrator to publish {host} or give "
        "the public address.",
    ),
    FindingSpec(
        "NET_REFUSED",
        E,
        "{host}:{port} refused the connection: nothing is listening there.",
        "The port is wrong or Jira (or its reverse proxy) is down. Check the port in the URL "
        "(https is usually 443, Jira's own Tomcat 8080) and that Jira is running.",
    ),
    FindingSpec(
        "NET_TIMEOUT",
        E,
        "{host}:{port} did not answer within {timeout_s:g} s ({stage}).",
        "A firewall is most likely dropping the traffic. Ask the network administrator to allow "
        "connections from this machine's address to {host}:{port} (the customer guide notes that "
        "firewall settings may be needed for Visor to access Jira). If Jira is only slow, raise "
        "--jira-timeout.",
    ),
    FindingSpec(
        "NET_TLS_UNTRUSTED",
        E,
        "The TLS certificate of {host} is not trusted: {reason} (issuer: {issuer}).",
        "If Jira uses a certificate from an internal CA or a TLS-inspecting proxy, pass that CA "
        "with --jira-ca-bundle PATH (a PEM file), or --jira-system-trust to use the operating "
        "system's trust store. A certificate from a public CA (e.g. Let's Encrypt) on {host} is "
        "trusted by every client without extra set-up. Never turn verification off.",
    ),
    FindingSpec(
        "NET_TLS_HOSTNAME",
        E,
        "The TLS certificate of {host} is not valid for that name ({reason}).",
        "Use the host name the certificate was issued for (names on it: {names}), or have the "
        "Jira administrator install a certificate that includes {host}.",
    ),
    FindingSpec(
        "NET_TLS_EXPIRED",
        E,
        "The TLS certificate of {host} has expired ({reason}; not after {not_after}).",
        "Renew the certificate on the Jira server or its reverse proxy and restart it.",
    ),
    FindingSpec(
        "NET_PROXY",
        E,
        "The proxy {proxy} refused to carry the request to {host}: {reason}.",
        "If the proxy needs authentication, put credentials in HTTPS_PROXY "
        "(http://user:password@proxy:port). If Jira is internal and must not go through the "
        "proxy, add {host} to NO_PROXY. Ask the proxy administrator to allow CONNECT to {host}:{port}.",
    ),
    FindingSpec(
        "NET_NOT_JIRA",
        E,
        "{url} answered, but not as Jira does ({reason}).",
        "Check that the URL is Jira's base URL (the address of the Jira dashboard, without "
        "/secure/Dashboard.jspa). A load balancer or a different application may be answering there.",
    ),
    FindingSpec(
        "NET_SSO_GATEWAY",
        E,
        "A single sign-on gateway in front of Jira redirects the bot to {idp_host} before Jira "
        "answers: even {path} (which Jira serves without a login) was redirected ({hops}).",
        "The bot cannot sign in at an identity provider. Ask the administrator of the gateway or "
        "reverse proxy in front of Jira to give the bot a route that bypasses single sign-on, or "
        "to exempt /rest/ and /status from the redirect, so that those paths reach Jira itself "
        "(Jira then checks the bot's credentials).",
    ),
    FindingSpec(
        "NET_AUTH_BLOCKED",
        E,
        "Requests with an Authorization header are dropped between this machine and Jira: "
        "{endpoint} with the bot's credentials got no answer ({error}), although {answered} "
        "answered as Jira at {url} without credentials.",
        "An intrusion-prevention system, a web application firewall or a proxy rule drops "
        "requests that carry credentials. Ask its administrator to let requests with an "
        "Authorization header from this machine through to {url}/rest/; its log names the rule "
        "that dropped them.",
    ),
    FindingSpec(
        "NET_STATUS_SLOW",
        E,
        "{url}/status did not answer within {timeout_s:g} s ({error}), although Jira's REST API "
        "answers at {url}.",
        "Only Jira's health endpoint is slow or held up: a proxy or load-balancer rule for "
        "/status, or Jira's own health check. Ask the administrator of the proxy in front of Jira "
        "to forward /status like /rest/, and the Jira administrator to look at "
        "atlassian-jira.log for slow health checks. Raise --jira-timeout if Jira is only slow.",
        ("https://support.atlassian.com/jira/kb/jira-status-endpoint-response-meanings",),
    ),
    FindingSpec(
        "NET_CONTEXT_PATH",
        E,
        "Jira is not at {url}, but it answers at {suggested}: the URL lacks the context path {context_path}.",
        "Use --jira-url {suggested} (the context path is part of Jira's base URL; see "
        "Administration > System > General configuration > Base URL).",
    ),
    FindingSpec(
        "NET_NOT_RUNNING",
        E,
        "Jira at {url} is reachable but not running: /status reports {state}.",
        "{advice}",
        ("https://support.atlassian.com/jira/kb/jira-status-endpoint-response-meanings",),
        advice={  # by the state /status reports
            "STARTING": "Jira is still starting; wait until /status reports RUNNING (a few "
            "minutes) and run again.",
            "STOPPING": "Jira is shutting down; ask the administrator to start it again.",
            "FIRST_RUN": "Jira's setup wizard has not been completed: open Jira in a browser and "
            "finish the setup.",
            "MAINTENANCE": "Jira is in maintenance (e.g. a foreground reindex); wait until it "
            "finishes.",
            "ERROR": "Jira failed to start; the administrator should read atlassian-jira.log in "
            "the Jira home.",
            "UNKNOWN": "Jira reports the unknown state {state!r}; ask the administrator to check "
            "its logs.",
        },
    ),
    FindingSpec(
        "NET_PLAIN_HTTP",
        W,
        "{url} uses plain http: the bot's credentials would cross the network unencrypted.",
        "Serve Jira over https (a reverse proxy with a certificate in front of Tomcat) and use the "
        "https URL.",
    ),
    FindingSpec(
        "NET_SLOW",
        W,
        "A round trip to Jira took {elapsed_ms:.0f} ms (above {limit_ms:.0f} ms).",
        "Imports will be slow. Check the network path (proxy, VPN) and Jira's load; "
        "a healthy Jira answers /status in well under a second.",
    ),
    FindingSpec(
        "NET_READ_TIMEOUT",
        E,
        "{host}:{port} accepted the connection but did not answer: {reason}.",
        "The network path is open (the TCP connection was accepted), so this is not a firewall "
        "dropping packets: Jira, or a proxy or load balancer in front of it, took the request and "
        "sent nothing back within the {timeout_s:g} s the suite waited. Check that Jira is not "
        "overloaded or stuck (its /status page, its logs) and that the proxy forwards to a live "
        "Jira node. If Jira is only slow, raise --jira-timeout.",
    ),
    FindingSpec(
        "NET_TLS_PLAIN_PORT",
        E,
        "{host}:{port} does not speak TLS: {reason}.",
        "The URL says https://, but this port answers in plain HTTP. Use http://{host}:{port} if "
        "Jira is served there without TLS (the suite then warns about plain http), or the port "
        "where Jira or its reverse proxy serves https (usually 443).",
    ),
    FindingSpec(
        "NET_TOO_SLOW",
        E,
        "{url} sent its answer too slowly: {reason}.",
        "Each byte came within the timeout, but the whole answer did not: something between this "
        "machine and Jira trickles data (a stalled reverse proxy or load balancer, a bandwidth "
        "limit, an inspecting proxy). Check that path and Jira's load; raise --jira-timeout only "
        "if Jira is merely slow.",
    ),
    FindingSpec(
        "NET_PROXY_ANSWERED",
        E,
        "The proxy {proxy} answered {endpoint} itself with {status} ({said}): the request never "
        "reached Jira.",
        "The answer carries the proxy's marks and none of Jira's, so Jira, the bot's account and "
        "its credentials played no part in it. {advice}",
        advice={  # by where the proxy stands
            "forward": "It is the proxy this machine is set to use ({source}). Ask its "
            "administrator to let this machine reach {url} (its access list or web filter names "
            "the rule: {said}); or, if Jira is reachable without the proxy, add {host} to "
            "NO_PROXY.",
            "in_front": "It stands between this machine and Jira (a reverse proxy, load balancer "
            "or web application firewall). Ask its administrator to let requests from this "
            "machine to {url}/rest/ through to Jira (its log names the rule: {said}).",
        },
    ),
    FindingSpec(
        "NET_PROXY_PLAIN_TUNNEL",
        E,
        "The proxy {proxy} opened the tunnel to {host}:{port} (CONNECT), then answered in plain "
        "HTTP where Jira's TLS handshake was expected ({answered}).",
        "Keep the https:// URL: with http:// the bot's password would cross the proxy "
        "unencrypted. The proxy answers inside the tunnel itself (an error page or a sign-in "
        "portal) instead of passing Jira's TLS through: ask its administrator to let CONNECT to "
        "{host}:{port} through unchanged; or, if Jira is reachable without the proxy, add {host} "
        "to NO_PROXY.",
    ),
    FindingSpec(
        "NET_TLS_VERSION",
        E,
        "Jira's server at {host}:{port} (or the reverse proxy in front of it) speaks only "
        "{offered}, older than the TLS 1.2 this machine requires ({reason}).",
        "Enable TLS 1.2 (and 1.3) on the server that terminates https for Jira: Tomcat's "
        "connector (sslEnabledProtocols), or the reverse proxy's setting (nginx ssl_protocols, "
        "Apache SSLProtocol). TLS 1.0 and 1.1 are deprecated (RFC 8996) and current TLS libraries "
        "refuse them: do not lower this machine's minimum.",
        ("https://www.rfc-editor.org/rfc/rfc8996",),
    ),
    FindingSpec(
        "NET_TLS_SNI",
        E,
        "Jira's server at {host}:{port} (or the load balancer in front of it) refused the name "
        "{host} that this machine asked for in the TLS handshake (SNI): {reason}.",
        "The server has no site or certificate configured for {host}. Use the host name Jira is "
        "published under in --jira-url, or have the administrator of that server add {host} to "
        "its names (a virtual host, or a certificate that includes {host}).",
    ),
    FindingSpec(
        "NET_TLS_RESET",
        E,
        "The network path to {host}:{port} cut the TLS handshake before it completed: {reason}.",
        "The TCP connection opened, but something closed it during the handshake: a firewall or "
        "intrusion-prevention system that inspects TLS, or a load balancer that refuses this "
        "machine's TLS offer. Ask the network administrator which device resets connections "
        "from this machine to {host}:{port} (its log names the rule); "
        "`openssl s_client -connect {host}:{port} -servername {host}` run here shows where the "
        "handshake stops.",
    ),
    FindingSpec(
        "NET_TLS_CHAIN",
        E,
        "Jira's server at {host}:{port} sends a certificate chain that TLS clients refuse as too "
        "long ({reason}).",
        "Configure the server (Tomcat's keystore, or the reverse proxy's certificate file) to "
        "send only its own certificate followed by the intermediate CA certificates up to the "
        "root: usually one to three certificates, each once. A file that holds a whole trust "
        "store or repeats certificates makes the chain too long.",
    ),
    FindingSpec(
        "NET_TLS_INTERMEDIATE_EXPIRED",
        E,
        "Jira's server at {host}:{port} sends the intermediate CA certificate {subject}, which "
        "expired on {not_after} ({reason}); its own certificate is valid until {leaf_not_after}.",
        "Replace the expired intermediate in the server's certificate chain (Tomcat's keystore, "
        "or the reverse proxy's chain file) with the current one from the CA that issued the "
        "server certificate ({issuer}), then restart that server. The server certificate itself "
        "does not need renewing.",
    ),
    FindingSpec(
        "NET_TLS_CLIENT_CERT",
        E,
        "Jira's server at {host}:{port} (a reverse proxy in front of Jira, most likely) requires "
        "a TLS client certificate (mutual TLS), and {what} ({reason}).",
        "{advice}",
        advice={  # whether the run presented a certificate
            "missing": "Run again with --jira-client-cert PATH and --jira-client-key PATH (PEM "
            "files) holding a client certificate that server accepts (the one issued for the "
            "integration), so that the checks can connect through it. Which certificates it "
            "accepts is set on that server: its administrator knows the CA it trusts.",
            "refused": "The server refused the certificate given with --jira-client-cert: check "
            "that it was issued by the CA that server trusts for clients, that it has not "
            "expired, and that --jira-client-key is its key. Its administrator can say which CA "
            "it expects.",
        },
    ),
    FindingSpec(
        "NET_CONNECTION_RESET",
        E,
        "The network dropped the connection to {host}:{port} before Jira answered {endpoint} "
        "({error}), on a fresh connection too, although Jira answered at {url} earlier in this "
        "run.",
        "Jira is reachable, so neither the URL nor the bot's credentials are the cause: "
        "something on the path (a load balancer, firewall or proxy) resets this request, or a "
        "Jira node behind the load balancer fails it. Ask the network administrator to look for "
        "resets of connections from this machine to {host}:{port} in that device's log, and "
        "the Jira administrator at each node's atlassian-jira.log. The suite already retried on "
        "a new connection.",
    ),
    # --- REST API -----------------------------------------------------------------------------
    FindingSpec(
        "API_NOT_JSON",
        E,
        "{endpoint} answered {status} with {kind} (Content-Type {content_type}) where Jira's REST "
        "API answers JSON.",
        "{advice}",
        advice={  # by what answered
            "login_page": "Jira served its login page instead of answering the REST call: the "
            "request was not authenticated, or a proxy or SSO app sends /rest/* to the login "
            "page. Check the bot's credentials, and that /rest/* reaches Jira directly (no login "
            "redirect for API calls).",
            "proxy": "A reverse proxy or load balancer answered instead of Jira (its own error "
            "page). Ask the administrator of the proxy in front of Jira to check that it forwards "
            "/rest/* to Jira and that Jira is up behind it; the proxy's error log names the cause.",
            "starting": "Jira is still starting; wait until /status reports RUNNING and run again.",
            "redirect": "Jira's REST API does not redirect: use the final address as --jira-url, "
            "or ask the administrator of the proxy in front of Jira why it redirects /rest/* calls.",
            "redirect_to_https": "Jira redirects plain http to https: use the https address as "
            "--jira-url.",
            "truncated": "The JSON was cut off or corrupted on the way: a proxy may be truncating "
            "large answers or rewriting them. Send this report to Visor support with the proxy's "
            "details.",
            "intercepted": "Something between this machine and Jira (a proxy, SSO or security "
            "app) answers instead of Jira; let /rest/api/2/* through to Jira.",
            "unknown": "Something other than Jira's REST API answered at this address. Check that "
            "--jira-url is Jira's base URL and that no proxy, firewall or security app rewrites "
            "/rest/* answers.",
        },
    ),
    FindingSpec(
        "API_V2_MISSING",
        E,
        "REST API v2 is not available at {url}/rest/api/2 ({reason}).",
        "Something in front of Jira blocks or does not forward its REST API. Open "
        "{url}/rest/api/2/serverInfo in a browser: Jira answers JSON there. If it does not, ask "
        "the administrator of the reverse proxy or load balancer to forward /rest/api/2/* to "
        "Jira, and the Jira administrator to check that no security app (Administration > "
        "Manage apps) blocks REST calls.",
    ),
    FindingSpec(
        "API_BASEURL_MISMATCH",
        W,
        "Dashboard Diagnostics: Mismatched URL Hostname / Port. Jira's base URL is {base_url}, "
        "but it was reached at {url}.",
        "Links in Jira's answers (self links) will point at {base_url}. If {url} is the Instance "
        "URL you give Visor (customer guide, step 2), set it under Administration > System > "
        "General configuration > Edit settings > Base URL. If Jira is behind a reverse proxy, "
        "the proxy's host, port and scheme must also be set in Tomcat's server.xml connector "
        '(proxyName, proxyPort, scheme="https" and secure="true"; ATL_PROXY_NAME, '
        "ATL_PROXY_PORT and ATL_TOMCAT_SCHEME in Docker), then restart Jira.",
    ),
    FindingSpec(
        "API_SCHEMA",
        E,
        "{endpoint} answered JSON that does not match Jira's shape ({field} {problem}).",
        "A standard Jira never answers this. A reverse proxy, a security app or a "
        "customisation is rewriting Jira's answers: ask the Jira administrator which one, and "
        "send this report (it shows the answer) to Visor support.",
    ),
    FindingSpec(
        "API_JIRA_ERROR",
        E,
        "Jira answered {endpoint} with {status} and its own error message: {message}",
        "This is Jira's answer, not a proxy's. {advice}",
        advice={  # by what was asked and how Jira answered (classify.jira_error_advice)
            "profile": "Jira refused what the integration profile names (JQL, a field, a "
            "project or a value), as its message says: correct that in the integration profile, "
            "or ask the Jira administrator about the field or setting the message names.",
            "suite_request": "Jira refused a request the suite makes on its own (nothing from "
            "the integration profile is in it), so there is nothing to correct in the profile "
            "or in Jira: send this report to Visor support.",
            "not_found": "Jira says it has no such item, or hides it from the bot: Jira answers "
            "this way both for what does not exist and for what the bot may not browse. Check "
            "the key or name, and that the bot holds Browse Projects there.",
            "jira_failed": "Jira failed while answering. Its administrator will find the cause "
            "in atlassian-jira.log (the request id, X-AREQUESTID, is in this report); nothing on "
            "the network or in the bot's account needs changing.",
        },
    ),
    FindingSpec(
        "API_SEARCH_REMOVED",
        W,
        "Jira Cloud answered 410 Gone to /rest/api/2/search: Atlassian removed it (CHANGE-2046).",
        "Nothing to change in Jira: its replacement, /rest/api/3/search/jql, was checked "
        "instead. Integrations that still call /rest/api/2/search on Cloud break; the customer "
        "guide says the Visor integration is built on REST API version 2, so ask Visor support "
        "whether it uses the replacement.",
        ("https://developer.atlassian.com/changelog/#CHANGE-2046",),
    ),
    # --- Bot account --------------------------------------------------------------------------
    FindingSpec(
        "AUTH_NO_CREDENTIALS",
        E,
        "No credentials were given for the bot account.",
        "Set JIRA_USER and JIRA_PASSWORD (or JIRA_TOKEN alone for a Data Center personal access "
        "token; JIRA_USER with the e-mail address and JIRA_TOKEN with an API token on Cloud), or "
        "use --jira-secret-file or ~/.netrc. Secrets are never accepted on the command line.",
    ),
    FindingSpec(
        "AUTH_BAD_CREDENTIALS",
        E,
        "Jira rejected the bot's {secret_kind} for {user} (HTTP {status}, {reason}).",
        "Check the user name and the {secret_kind}: {advice} The suite stopped after this one "
        "rejected login, so this run did not lock the account.",
        advice={  # by the deployment
            "data_center": "log in once in a browser as {user} to confirm them (a personal access "
            "token may have expired or been revoked: the bot's profile > Personal Access Tokens), "
            "and check that the account is active under Administration > User management.",
            "cloud": "on Jira Cloud the user name is the bot's Atlassian account e-mail address, "
            "and API tokens are made and revoked while logged in as the bot in the Atlassian "
            "account's security settings "
            "(https://id.atlassian.com/manage-profile/security/api-tokens): check that the token "
            "is listed there and not expired, and that the account is active (admin.atlassian.com "
            "> Directory > Users).",
        },
    ),
    FindingSpec(
        "AUTH_CAPTCHA",
        E,
        "Jira requires a CAPTCHA for {user}: after repeated failed logins it refuses every "
        "password login over the REST API, even with the right password ({reason}).",
        "Log in once as {user} in a browser at {login_url} and answer the CAPTCHA, or have a "
        "Jira administrator reset the count (Administration > User management > Users > {user} "
        "> Reset failed login count). Then correct the password wherever it is stored, or the "
        "lock comes back. Better: use a personal access token (Jira 8.14+; {use_token}), which "
        "is never subject to the CAPTCHA. This run sent a single login and stopped.",
    ),
    FindingSpec(
        "AUTH_BASIC_DISABLED",
        E,
        "Jira refuses basic authentication on API calls ({reason}).",
        "{advice}",
        (
            "https://confluence.atlassian.com/enterprise/disabling-basic-authentication-1044776464.html",
        ),
        advice={  # by the version: versions.basic_disabled_advice
            "sso_app": "Before 8.14 basic authentication can only be blocked by the 'SSO for "
            "Atlassian Data Center' app: have its administrator allow basic authentication for "
            "{user} on /rest/*; Jira {version} has no personal access tokens.",
            "token": _USE_A_TOKEN,
            "token_off_by_default": "Jira 11 disables basic authentication by default. "
            + _USE_A_TOKEN,
        },
    ),
    FindingSpec(
        "AUTH_WRONG_SCHEME",
        E,
        "The bot's {secret_kind} was sent as {scheme} authentication, which {deployment} does "
        "not accept: {reason}.",
        "{advice}",
        advice={  # by the deployment and the secret: versions.pat_as_password_advice
            "cloud_api_token": "On Jira Cloud, {send_api_token} (an API token is created while "
            "logged in as the bot at https://id.atlassian.com/manage-profile/security/api-tokens); "
            "the suite sends them as basic authentication. Do not use the account password or "
            "--jira-auth bearer.",
            "no_pat": "Jira {version} has no personal access tokens (they arrive in 8.14), so it "
            "ignores 'Authorization: Bearer'. {send_password} (basic authentication), or upgrade "
            "Jira.",
            "pat_as_password": "A personal access token must be sent as 'Authorization: Bearer', "
            "never as the password of basic authentication. {send_token_alone}; or, to use basic "
            "authentication, {send_password_instead}.",
        },
    ),
    FindingSpec(
        "AUTH_ANONYMOUS",
        E,
        "Jira answered as the anonymous user although the bot's credentials were sent ({reason}).",
        "Something between this machine and Jira drops the Authorization header (a reverse "
        "proxy, a load balancer or an SSO app), so every request runs as the anonymous user and "
        "sees only what anonymous users may see. Configure the proxy to pass the Authorization header through to Jira unchanged "
        "(Apache: no 'RequestHeader unset Authorization'; nginx: do not clear "
        "proxy_set_header Authorization), then run again.",
    ),
    FindingSpec(
        "AUTH_SSO_REDIRECT",
        E,
        "Jira sent the API call to a single sign-on page ({location}) instead of answering it.",
        "API calls must not go through SSO. Give the bot a personal access token (Data Center "
        "8.14+; {use_token}): SSO apps let bearer tokens through. Or, in "
        "the SSO settings (Administration > System > Authentication methods), allow basic "
        "authentication on API calls, or exempt /rest/* from the redirect.",
    ),
    FindingSpec(
        "AUTH_USER_MISMATCH",
        E,
        "The credentials log in as {actual}, not as {expected} ({where}).",
        "The user name and the secret belong to different accounts. {advice} Or correct "
        "{user_variable} to the account the secret belongs to, if that account is the bot.",
        advice={  # by the deployment
            "data_center": "A personal access token always logs in as the user who created it: "
            "log in as {expected}, create the token under the profile's Personal Access Tokens, "
            "and use that one.",
            "cloud": "An API token always logs in as the Atlassian account that created it: log "
            "in as {expected}, create the token in the account's security settings "
            "(https://id.atlassian.com/manage-profile/security/api-tokens), and use that one.",
        },
    ),
    FindingSpec(
        "AUTH_LOGIN_LOST",
        E,
        "Jira accepted the bot's login earlier in this run, then answered {endpoint} with "
        "{status} ({reason}): the credentials stopped being accepted mid-run.",
        "Something changed while the suite ran: the bot's password was changed or its token "
        "revoked or expired, the account {user} was deactivated or locked, or a load balancer "
        "sent this request to a Jira node that refuses it. Check the account under "
        "Administration > User management, and that every node behind the load balancer "
        "accepts the bot; then run again. The suite sent no further credentialed request.",
    ),
    FindingSpec(
        "AUTH_ADMIN_BOT",
        W,
        "The bot account {user} is a Jira administrator ({how}): it holds more rights than the "
        "customer guide asks for (access to read or write the projects used with Visor).",
        "A leaked bot credential should not be able to change Jira's configuration. Remove "
        "{user} from the jira-administrators and jira-system-administrators groups "
        "(Administration > User management > Groups) and from any group granted the Jira "
        "Administrators global permission (Administration > System > Global permissions); grant "
        "only the project permissions listed in this report.",
    ),
    FindingSpec(
        "AUTH_SECRET_UNSENDABLE",
        E,
        "The bot's {secret_kind} cannot be sent to Jira: {reason}.",
        "A token travels in an HTTP header, which cannot carry line breaks, control characters or "
        "non-ASCII characters. Copy the {secret_kind} again without a trailing newline or "
        "wrapping (check JIRA_TOKEN, JIRA_PASSWORD or the file named by --jira-secret-file).",
    ),
    FindingSpec(
        "AUTH_CLOUD_USER_NOT_EMAIL",
        W,
        "The bot's user name {user} ({user_variable}) is not an e-mail address, but {url} is Jira "
        "Cloud, where an account logs in with its e-mail address and an API token.",
        "On Jira Cloud, {send_api_token} (an API token is created while logged in as the bot at "
        "https://id.atlassian.com/manage-profile/security/api-tokens). The suite sends the user "
        "name as it was given; Cloud refuses a login under any other name.",
    ),
    # --- Version --------------------------------------------------------------------------------
    FindingSpec(
        "VER_UNSUPPORTED",
        E,
        "Jira {version} ({deployment}) is outside the versions the integration profile {profile} "
        "lists as supported ({supported}).",
        "Upgrade Jira to a supported version (an LTS release is best), or ask Visor support "
        "whether this version can be added to your integration profile.",
    ),
    FindingSpec(
        "VER_EOL",
        W,
        "Jira {version} is past Atlassian's end of support: {line} ended {eol}{server_note}.",
        "Plan an upgrade to a supported Data Center LTS release: Atlassian no longer fixes "
        "security problems in this version.",
    ),
    FindingSpec(
        "VER_UNKNOWN",
        E,
        "Jira's version could not be learned ({reason}).",
        "{url}/rest/api/2/serverInfo must answer versionNumbers and deploymentType as Jira does. "
        "If a proxy or app rewrites that answer, exempt /rest/api/2/serverInfo; otherwise send "
        "this report to Visor support.",
    ),
    # --- Permissions --------------------------------------------------------------------------
    FindingSpec(
        "PERM_PROJECT_INVISIBLE",
        E,
        "The bot cannot see {subject}: {reason}.",
        "Jira hides every project the bot may not browse: it leaves it out of the project list "
        'and answers "No project could be found", as if it did not exist, when the bot merely '
        "lacks the Browse Projects permission. If the project key is right, grant Browse "
        "Projects to {user} in {advice}: Project settings > Permissions > Actions > Edit "
        "permissions > Browse Projects > Grant > Single user {user} (or a group or project role "
        "{user} belongs to).",
        advice={  # which permission scheme: the project's, or every project's when none is seen
            "one_project": "{project}'s permission scheme",
            "every_project": "the permission scheme of each project the profile names",
        },
    ),
    FindingSpec(
        "PERM_MISSING",
        E,
        "The bot lacks {missing} in project {project}, which Visor needs to {purpose}.",
        "In {project}: Project settings > Permissions (permission scheme {scheme}) > Actions > "
        "Edit permissions: grant {missing} to Single user {user} (or to a group or project role "
        "{user} belongs to). A scheme shared by several projects changes them all.",
    ),
    FindingSpec(
        "PERM_REQUIRED_FIELD",
        E,
        "Creating a {issue_type} in {project} requires the field {field} ({field_id}), which "
        "the integration profile does not fill.",
        "Make {field} optional or give it a default value (Administration > Issues > Field "
        "configurations > the configuration {project} uses > {field} > Optional; a custom field's "
        "context can set a default), or take it off the create screen of {issue_type} in "
        "{project} (Project settings > Screens). If the integration should fill it, add {field_id} to "
        "fields.write in the integration profile.",
    ),
    FindingSpec(
        "PERM_ISSUE_TYPE_MISSING",
        E,
        "Jira has no issue type {issue_type} in {project}, which the integration profile "
        "creates there ({project} has: {offered}).",
        "Add {issue_type} to the issue type scheme of {project} (Project settings > Issue types "
        "> Actions > Edit issue types), or set issue_types for {project} in the integration "
        "profile to a type the project has.",
    ),
    FindingSpec(
        "PERM_FIELD_NOT_EDITABLE",
        E,
        "The field {field} that the integration profile writes is not on the edit screen of "
        "{issue_type} issues in {project} (read from {issue}).",
        "Add {field} to the edit screen of {issue_type} in {project} (Project settings > Screens "
        "> the screen used for Edit Issue > Add field), or remove it from fields.write in the "
        "integration profile.",
    ),
    # --- Import ---------------------------------------------------------------------------------
    FindingSpec(
        "IMP_SEARCH_FAILED",
        E,
        "Searching {project} with the profile's JQL failed at {where} ({status}): {message}",
        "{advice}",
        advice={  # by the HTTP status of the failed search
            "bad_jql": "Jira rejected the JQL {jql!r}. Correct import.jql in the integration "
            "profile: it must be valid JQL on this Jira (test it in Issues > Search for issues > "
            "Advanced), with {{project}} standing for the project key.",
            "no_browse": "Grant the bot Browse Projects in {project} (Project settings > "
            "Permissions), and check that no app or proxy blocks /rest/api/*/search for it.",
            "search_hidden": "A reverse proxy or app hides Jira's search API: let /rest/api/* "
            "through to Jira.",
            "rate_limited": "Jira kept rate-limiting the bot after retries: exempt it under "
            "Administration > System > Rate limiting.",
            "jira_failed": "Jira failed while searching. Its administrator will find the cause in "
            "atlassian-jira.log; a broken search index is the usual one (Administration > System "
            "> Indexing > Full re-index). Paging beyond the search engine's result window also "
            "fails this way on newer Data Center versions.",
        },
    ),
    FindingSpec(
        "IMP_PAGINATION",
        E,
        "Paging through {project} was inconsistent: {problem}.",
        "An import that pages this way would miss or repeat issues. A stale "
        "search index is the usual cause: a Jira administrator should run a full reindex "
        "(Administration > System > Indexing > Full re-index) and run this check again. Send "
        "this report to Visor support if it persists.",
    ),
    FindingSpec(
        "IMP_FIELD_MISSING",
        E,
        "{missing} of {inspected} sampled issues in {project} do not carry the field {field} "
        "that the integration profile reads (e.g. {example}).",
        "Make {field} visible to the bot in {project}: add it to the field configuration "
        "(Administration > Issues > Field configurations > Show) and to the project's screens "
        "(Project settings > Screens), and check field-level security apps. If the profile "
        "names the wrong field, correct fields.read in the integration profile.",
    ),
    FindingSpec(
        "IMP_SLOW",
        W,
        "A full import of {project} would take about {projected} ({rate:.1f} issues/s for "
        "{total} issues), above the profile's limit of {limit}.",
        "Expect a slow first import. Check Jira's load and the network path to Jira (proxy, "
        "VPN), exempt the bot from rate limiting, or narrow import.jql in the "
        "integration profile.",
    ),
    # --- Write round trip -----------------------------------------------------------------------
    FindingSpec(
        "WRITE_CREATE_FAILED",
        E,
        "Creating a test {issue_type} in {project} failed ({status}): {message}",
        "{advice}",
        advice=_WRITE_FAILED_ADVICE,
    ),
    FindingSpec(
        "WRITE_EDIT_FAILED",
        E,
        "The write round trip on the test issue {key} failed at step {step} ({status}): {message}",
        "{advice}",
        advice=_WRITE_FAILED_ADVICE,
    ),
    FindingSpec(
        "WRITE_READBACK_MISMATCH",
        E,
        "The test issue {key} read back differently from what was written at step {step}: "
        "{difference}.",
        "A workflow post-function, a listener or an app rewrites fields on create or edit, so "
        "changes written through the REST API do not stick. Check the workflow of {project} (Project settings > "
        "Workflows > post functions) and the installed apps.",
    ),
    FindingSpec(
        "WRITE_CLEANUP_FAILED",
        E,
        "The test issue {key} could not be deleted ({reason}): it is still in Jira at {link}.",
        "Delete {key} by hand (it is labelled visor-conformance and its summary says it is a "
        "conformance check and safe to delete).{advice}",
        advice={
            # The survey showed the bot without Delete Issues in the project.
            "permission": " Grant the bot Delete Issues in {project} (Project settings > "
            "Permissions > Delete Issues) so the next run cleans up after itself.",
            # The survey showed the bot holding Delete Issues: the grant is not what is missing.
            "held": " The bot holds Delete Issues in {project}, so the grant is not what is "
            "missing: Jira's answer above says what refused the delete, and atlassian-jira.log "
            "names it if the answer does not.",
            # The permissions were not surveyed (a selection left them out).
            "unknown": " Jira's answer above says what refused the delete; if it is the "
            "permission, grant the bot Delete Issues in {project} (Project settings > "
            "Permissions > Delete Issues) so the next run cleans up after itself.",
            # Jira hid the issue from the bot.
            "hidden": " Check {project}'s issue security (Project settings > Issue security): a "
            "default security level the bot is not in hides the issues it creates from it.",
            "blocked": " The delete was answered as done, yet the issue is still there: "
            "something between this machine and Jira (a web application firewall, a proxy) "
            "answers DELETE requests in Jira's place. Let DELETE /rest/api/2/issue/... through "
            "for the bot.",
        },
    ),
    FindingSpec(
        "WRITE_CLEANUP_UNPROVEN",
        E,
        "The deletion of the test issue {key} is not proven ({reason}): it may still be in Jira "
        "at {link}.",
        "Look for {key} in Jira (JQL: key = {key}) and delete it by hand if it is still there "
        "(it is labelled visor-conformance and its summary says it is a conformance check and "
        "safe to delete). {advice}",
        advice={  # by why it is not proven (probes/write.LeftKind)
            "vanished": "The bot read {key} earlier in this run, so Jira's 404 to the delete "
            "means only that the issue left the bot's view during the round trip: a workflow "
            "transition that sets an issue security level the bot is not in (Project settings > "
            "Workflows, the transition's post functions), an automation or app that edits or "
            "moves new issues, or a move to another project. Let the bot keep seeing the issues "
            "it creates in {project}, so that the next run can delete them.",
            "unanswered": "Jira's own answer that the issue is gone never came back: the delete "
            "or its read-back got no answer, or an answer that is not Jira's (a web application "
            "firewall or a proxy answering in Jira's place). Check the network path for DELETE "
            "and GET /rest/api/2/issue/... and run again.",
        },
    ),
    FindingSpec(
        "WRITE_MAYBE_LEFT",
        E,
        "The run may have left a test issue in {project}: the create was sent, but what came "
        "back ({create_answer}) named no issue, and the search by the run's label {run_label} "
        "found none within {waited_s:g} s.",
        "Search Jira for {jql} (Issues > Search for issues > Advanced) once its index has caught "
        "up, and delete what it finds: the test issue says it is a conformance check and safe "
        "to delete. A label search that misses a new issue means that Jira's search index lags "
        "(on Cloud, or between Data Center nodes), or that the create did not happen.",
    ),
    # --- The run ------------------------------------------------------------------------------
    FindingSpec(
        "RUN_DEADLINE",
        W,
        "The run reached its deadline of {deadline_s:g} s before it finished: {not_run} required "
        "check(s) did not run, so this run cannot say whether this Jira is ready.",
        "Run again with a longer deadline, e.g. --jira-deadline {suggested_s:g} (or the ini "
        "setting jira_deadline). Nothing was found wrong with the network: the checks that did "
        "not run are marked incomplete, not failed.",
    ),
    FindingSpec(
        "RUN_SUITE_LIMIT",
        E,
        "The suite's own limit stopped it reading {endpoint}: {what}.",
        "Nothing is wrong with Jira or the network: the suite reads at most {limit} so that its "
        "time and memory stay bounded. Narrow the run to the projects you will work with in Visor: "
        "--jira-project KEY (repeatable), or the projects list of the integration profile "
        "(--jira-profile).",
    ),
    # --- Rate limits ----------------------------------------------------------------------------
    FindingSpec(
        "RATE_LIMITED",
        W,
        "Jira rate-limited the bot: {count} request(s) answered 429 Too Many Requests, and "
        "{paced} request(s) waited for Jira's bucket to refill (X-RateLimit-Limit, the allowance in requests: {limit}; X-RateLimit-FillRate, the "
        "requests added per refill interval: {fill_rate}).",
        "The suite paces itself by Jira's X-RateLimit headers and waits as Retry-After asks (up "
        "to 30 s), so a full import under this limit takes longer than the network needs. A Jira "
        "administrator can exempt the bot or raise its allowance under Administration > System > "
        "Rate limiting > Exemptions.",
    ),
]

CATALOGUE: dict[str, FindingSpec] = {spec.code: spec for spec in _SPECS}
