"""The one catalogue of findings: what went wrong, in plain words, and exactly what to change.

A failing check carries at least one finding. Summaries and remediations are templates filled
with what the probe observed (host, status, header, project key...), so the text a Jira
administrator reads names their own instance, screen and setting.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


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


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    summary: str
    remediation: str
    links: tuple[str, ...] = ()
    evidence: dict[str, Any] | None = field(default=None, compare=False)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
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


class _Blank(dict[str, Any]):
    """Leaves an unfilled placeholder visible instead of raising: a finding must never crash."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(template: str, params: dict[str, Any]) -> str:
    try:
        return string.Formatter().vformat(template, (), _Blank(params))
    except (ValueError, TypeError, IndexError, AttributeError):
        # A value of an unexpected type for its format spec: show it plainly rather than fail.
        plain = re.sub(r"\{(\w+)(![rsa])?(:[^}]*)?\}", r"{\1}", template)
        return string.Formatter().vformat(plain, (), _Blank(params))


def finding(code: str, evidence: dict[str, Any] | None = None, **params: Any) -> Finding:
    """Make the finding ``code`` from the catalogue, filled with ``params``."""
    spec = CATALOGUE[code]
    return Finding(
        code=spec.code,
        severity=spec.severity,
        summary=_fill(spec.summary, params),
        remediation=_fill(spec.remediation, params),
        links=spec.links,
        evidence=evidence,
    )


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
        "internal DNS (or a VPN), or Visor must reach Jira through a public name: ask your network "
        "administrator to publish {host} or give the public address.",
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
        "connections from this machine's address (and from Visor's egress addresses) to "
        "{host}:{port}. If Jira is only slow, raise --jira-timeout.",
    ),
    FindingSpec(
        "NET_TLS_UNTRUSTED",
        E,
        "The TLS certificate of {host} is not trusted: {reason} (issuer: {issuer}).",
        "If Jira uses a certificate from an internal CA or a TLS-inspecting proxy, pass that CA "
        "with --jira-ca-bundle PATH (a PEM file), or --jira-system-trust to use the operating "
        "system's trust store. Visor's servers need the same: a certificate from a public CA "
        "(e.g. Let's Encrypt) on {host} is the simplest fix. Never turn verification off.",
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
    ),
    FindingSpec(
        "NET_PLAIN_HTTP",
        W,
        "{url} uses plain http: the bot's credentials would cross the network unencrypted.",
        "Serve Jira over https (a reverse proxy with a certificate in front of Tomcat) and use the "
        "https URL; Visor will refuse plain http for production connections.",
    ),
    FindingSpec(
        "NET_SLOW",
        W,
        "A round trip to Jira took {elapsed_ms:.0f} ms (above {limit_ms:.0f} ms).",
        "Imports will be slow. Check the network path (proxy, VPN) and Jira's load; "
        "a healthy Jira answers /status in well under a second.",
    ),
    # --- REST API -----------------------------------------------------------------------------
    FindingSpec(
        "API_NOT_JSON",
        E,
        "{endpoint} answered {status} with {kind} where Jira's REST API answers JSON.",
        "{advice}",
    ),
    FindingSpec(
        "API_V2_MISSING",
        E,
        "REST API v2 is not available at {url}/rest/api/2 ({reason}).",
        "Jira's REST API may be blocked by a reverse proxy or a security app. Ask the Jira "
        "administrator to let /rest/api/2/* through to Jira.",
    ),
    FindingSpec(
        "API_BASEURL_MISMATCH",
        W,
        "Jira's base URL is {base_url}, but it was reached at {url} (Jira's own "
        '"Mismatched URL Hostname / Port" diagnostic).',
        "Links in Jira's answers will point at {base_url}. If {url} is the right address, set it under "
        "Administration > System > General configuration > Base URL; if Jira is behind a reverse "
        "proxy, set proxyName/proxyPort/scheme in server.xml (ATL_PROXY_NAME, ATL_PROXY_PORT, "
        "ATL_TOMCAT_SCHEME in Docker) to match.",
    ),
    FindingSpec(
        "API_SCHEMA",
        E,
        "{endpoint} answered JSON that does not match Jira's shape: {field} {problem}.",
        "This is not a standard Jira answer; a proxy or an app may be rewriting it. "
        "Send this report to Visor support.",
    ),
    FindingSpec(
        "API_SEARCH_REMOVED",
        W,
        "Jira Cloud answered 410 Gone to /rest/api/2/search: Atlassian removed it (CHANGE-2046).",
        "Nothing to change in Jira: Visor uses /rest/api/3/search/jql on Cloud, which was "
        "checked instead.",
        ("https://developer.atlassian.com/changelog/#CHANGE-2046",),
    ),
    # --- Bot account --------------------------------------------------------------------------
    FindingSpec(
        "AUTH_NO_CREDENTIALS",
        E,
        "No credentials were given for the bot account.",
        "Set JIRA_USER and JIRA_PASSWORD (or JIRA_TOKEN for a personal access token), or use "
        "--jira-secret-file or ~/.netrc.",
    ),
    FindingSpec(
        "AUTH_BAD_CREDENTIALS",
        E,
        "Jira rejected the bot's {secret_kind} for {user} ({status}, {reason}).",
        "Check the user name and the {secret_kind}: log in once in a browser as {user} to confirm "
        "them, and check the account is active under Administration > User management. The "
        "suite stopped after this one rejected login, so the account is not locked by this run.",
    ),
    FindingSpec(
        "AUTH_CAPTCHA",
        E,
        "Jira requires a CAPTCHA for {user}: after repeated failed logins it refuses logins over "
        "the REST API ({reason}).",
        "Log in once as {user} in a browser and answer the CAPTCHA, or have a Jira administrator "
        "reset the failed login count (Administration > User management > {user} > Reset failed "
        "login count). Better: give the bot a personal access token (Jira 8.14+), which is not "
        "subject to CAPTCHA.",
    ),
    FindingSpec(
        "AUTH_BASIC_DISABLED",
        E,
        'Jira refuses basic authentication on API calls: "{message}".',
        "{advice}",
        (
            "https://confluence.atlassian.com/enterprise/disabling-basic-authentication-1044776464.html",
        ),
    ),
    FindingSpec(
        "AUTH_WRONG_SCHEME",
        E,
        "The bot's {secret_kind} was sent as {scheme} authentication, which {deployment} does not accept: {reason}.",
        "{advice}",
    ),
    FindingSpec(
        "AUTH_ANONYMOUS",
        E,
        "Jira answered as the anonymous user although credentials were sent ({reason}).",
        "Something between this machine and Jira drops the Authorization header (a reverse "
        "proxy or SSO app), so Visor would see only public data. Configure the proxy to pass "
        "the Authorization header through to Jira.",
    ),
    FindingSpec(
        "AUTH_SSO_REDIRECT",
        E,
        "Jira redirected the API call to a single sign-on page ({location}).",
        "API calls must not go through SSO. In the SSO app (Administration > System > "
        "Authentication methods), allow basic authentication or personal access tokens on API "
        "calls, or exempt /rest/* from the redirect.",
    ),
    FindingSpec(
        "AUTH_USER_MISMATCH",
        E,
        "The credentials log in as {actual}, not as {expected}.",
        "Check JIRA_USER and the secret: they belong to different accounts (a personal access "
        "token always logs in as the user who created it). Create the token while logged in as "
        "the bot.",
    ),
    FindingSpec(
        "AUTH_ADMIN_BOT",
        W,
        "The bot account {user} is a Jira administrator: it has more rights than Visor needs.",
        "Remove {user} from the jira-administrators and jira-system-administrators groups "
        "(Administration > User management > Groups) and grant only the project permissions "
        "listed in this report.",
    ),
    # --- Version --------------------------------------------------------------------------------
    FindingSpec(
        "VER_UNSUPPORTED",
        E,
        "Jira {version} ({deployment}) is outside the versions Visor supports ({supported}).",
        "Upgrade Jira to a supported version, or contact Visor support about this version.",
    ),
    FindingSpec(
        "VER_EOL",
        W,
        "Jira {version} is past Atlassian's end of support ({line} ended {eol}).",
        "Plan an upgrade to a supported Data Center LTS release; Visor supports it for now, "
        "but Atlassian no longer fixes security problems in this line.",
    ),
    FindingSpec(
        "VER_UNKNOWN",
        E,
        "Jira's version could not be learned ({reason}).",
        "/rest/api/2/serverInfo must answer with versionNumbers; check that REST API v2 is reachable.",
    ),
    # --- Permissions --------------------------------------------------------------------------
    FindingSpec(
        "PERM_PROJECT_INVISIBLE",
        E,
        "The bot cannot see project {project}: Jira answers as if it did not exist ({reason}).",
        'Jira says "does not exist" when the bot merely lacks Browse Projects. If the key is '
        "right, grant the bot Browse Projects in {project}: Project settings > Permissions "
        "(the project's permission scheme) > Browse Projects > Grant > User {user}.",
    ),
    FindingSpec(
        "PERM_MISSING",
        E,
        "The bot lacks {missing} in project {project} (needed for {mode} access).",
        "In {project}: Project settings > Permissions (permission scheme {scheme}) > grant "
        "{missing} to the bot's user or a group it belongs to.",
    ),
    FindingSpec(
        "PERM_REQUIRED_FIELD",
        E,
        "Creating a {issue_type} in {project} requires the field {field} ({field_id}), which Visor does not fill.",
        "Make {field} optional or give it a default value (Administration > Issues > Field "
        "configurations, or the field's context for custom fields), or remove it from the "
        "create screen of {issue_type} in {project}.",
    ),
    # --- Import ---------------------------------------------------------------------------------
    FindingSpec(
        "IMP_SEARCH_FAILED",
        E,
        "Searching {project} failed ({status}): {message}",
        "{advice}",
    ),
    FindingSpec(
        "IMP_PAGINATION",
        E,
        "Paging through {project} was inconsistent: {problem}.",
        "Jira returned pages that do not add up; a reindex (Administration > System > Indexing) "
        "usually fixes a stale index. Send this report to Visor support if it persists.",
    ),
    FindingSpec(
        "IMP_FIELD_MISSING",
        E,
        "Issues in {project} do not carry the field {field} that Visor reads.",
        "Add {field} to the field configuration and screens of {project}, or check the field "
        "name in the integration profile.",
    ),
    FindingSpec(
        "IMP_SLOW",
        W,
        "A full import of {project} would take about {projected} ({rate:.1f} issues/s for {total} issues), above the limit of {limit}.",
        "Expect a slow first import. Check Jira's load and the network path, or narrow the "
        "profile's JQL.",
    ),
    # --- Write round trip -----------------------------------------------------------------------
    FindingSpec(
        "WRITE_CREATE_FAILED",
        E,
        "Creating a test issue in {project} failed ({status}): {message}",
        "{advice}",
    ),
    FindingSpec(
        "WRITE_EDIT_FAILED",
        E,
        "Changing the test issue {key} failed at step {step} ({status}): {message}",
        "{advice}",
    ),
    FindingSpec(
        "WRITE_READBACK_MISMATCH",
        E,
        "The test issue {key} read back differently from what was written: {difference}.",
        "A workflow post-function, listener or app rewrites fields on create or edit; check the "
        "project's workflow and installed apps.",
    ),
    FindingSpec(
        "WRITE_CLEANUP_FAILED",
        E,
        "The test issue {key} could not be deleted ({reason}): it is still in Jira at {link}.",
        "Delete {key} by hand (it is labelled visor-conformance and its summary says it is safe "
        "to delete), and grant the bot Delete Issues in {project}.",
    ),
    # --- Rate limits ----------------------------------------------------------------------------
    FindingSpec(
        "RATE_LIMITED",
        W,
        "Jira rate-limited the bot: {count} request(s) answered 429 (limit {limit}, refill {fill_rate}).",
        "Visor backs off when limited, but imports will be slower. A Jira administrator can "
        "exempt the bot under Administration > System > Rate limiting.",
    ),
]

CATALOGUE: dict[str, FindingSpec] = {spec.code: spec for spec in _SPECS}
