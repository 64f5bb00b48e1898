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
        "{endpoint} answered {status} with {kind} (Content-Type {content_type}) where Jira's REST "
        "API answers JSON.",
        "{advice}",
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
        "Links in Jira's answers (the self links Visor follows) will point at {base_url}. If {url} "
        "is the address users and Visor should use, set it under Administration > System > "
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
        "API_SEARCH_REMOVED",
        W,
        "Jira Cloud answered 410 Gone to /rest/api/2/search: Atlassian removed it (CHANGE-2046).",
        "Nothing to change in Jira: Visor uses /rest/api/3/search/jql on Cloud, which was "
        "checked instead. Only older integrations that still call /rest/api/2/search break.",
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
        "Check the user name and the {secret_kind}: log in once in a browser as {user} to confirm "
        "them (a token may have expired or been revoked: the bot's profile > Personal Access "
        "Tokens), and check that the account is active under Administration > User management. "
        "The suite stopped after this one rejected login, so this run did not lock the account.",
    ),
    FindingSpec(
        "AUTH_CAPTCHA",
        E,
        "Jira requires a CAPTCHA for {user}: after repeated failed logins it refuses every "
        "password login over the REST API, even with the right password ({reason}).",
        "Log in once as {user} in a browser at {login_url} and answer the CAPTCHA, or have a "
        "Jira administrator reset the count (Administration > User management > Users > {user} "
        "> Reset failed login count). Then correct the password wherever it is stored, or the "
        "lock comes back. Better: use a personal access token (Jira 8.14+; set JIRA_TOKEN "
        "without JIRA_USER), which is never subject to the CAPTCHA. This run sent a single "
        "login and stopped.",
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
        "The bot's {secret_kind} was sent as {scheme} authentication, which {deployment} does "
        "not accept: {reason}.",
        "{advice}",
    ),
    FindingSpec(
        "AUTH_ANONYMOUS",
        E,
        "Jira answered as the anonymous user although the bot's credentials were sent ({reason}).",
        "Something between this machine and Jira drops the Authorization header (a reverse "
        "proxy, a load balancer or an SSO app), so Visor would see only what anonymous users "
        "see. Configure the proxy to pass the Authorization header through to Jira unchanged "
        "(Apache: no 'RequestHeader unset Authorization'; nginx: do not clear "
        "proxy_set_header Authorization), then run again.",
    ),
    FindingSpec(
        "AUTH_SSO_REDIRECT",
        E,
        "Jira sent the API call to a single sign-on page ({location}) instead of answering it.",
        "API calls must not go through SSO. Give the bot a personal access token (Data Center "
        "8.14+; set JIRA_TOKEN without JIRA_USER): SSO apps let bearer tokens through. Or, in "
        "the SSO settings (Administration > System > Authentication methods), allow basic "
        "authentication on API calls, or exempt /rest/* from the redirect.",
    ),
    FindingSpec(
        "AUTH_USER_MISMATCH",
        E,
        "The credentials log in as {actual}, not as {expected} ({where}).",
        "The user name and the secret belong to different accounts. A personal access token "
        "always logs in as the user who created it: log in as {expected}, create the token under "
        "the profile's Personal Access Tokens, and use that one; or set JIRA_USER to the account "
        "the secret belongs to, if that account is the bot.",
    ),
    FindingSpec(
        "AUTH_ADMIN_BOT",
        W,
        "The bot account {user} is a Jira administrator ({how}): it has more rights than Visor "
        "needs.",
        "A leaked bot credential should not be able to change Jira's configuration. Remove "
        "{user} from the jira-administrators and jira-system-administrators groups "
        "(Administration > User management > Groups) and from any group granted the Jira "
        "Administrators global permission (Administration > System > Global permissions); grant "
        "only the project permissions listed in this report.",
    ),
    # --- Version --------------------------------------------------------------------------------
    FindingSpec(
        "VER_UNSUPPORTED",
        E,
        "Jira {version} ({deployment}) is outside the versions Visor supports ({supported}).",
        "Upgrade Jira to a supported version (an LTS release is best), or ask Visor support "
        "whether this version can be added to your integration profile.",
    ),
    FindingSpec(
        "VER_EOL",
        W,
        "Jira {version} is past Atlassian's end of support: {line} ended {eol}{server_note}.",
        "Plan an upgrade to a supported Data Center LTS release. Visor still works with this "
        "version, but Atlassian no longer fixes security problems in it.",
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
        "Projects to {user} in {where}: Project settings > Permissions > Actions > Edit "
        "permissions > Browse Projects > Grant > Single user {user} (or a group or project role "
        "{user} belongs to).",
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
        "Visor does not fill.",
        "Make {field} optional or give it a default value (Administration > Issues > Field "
        "configurations > the configuration {project} uses > {field} > Optional; a custom field's "
        "context can set a default), or take it off the create screen of {issue_type} in "
        "{project} (Project settings > Screens). If Visor should fill it, add {field_id} to "
        "fields.write in the integration profile.",
    ),
    FindingSpec(
        "PERM_ISSUE_TYPE_MISSING",
        E,
        "Visor creates {issue_type} issues in {project}, but Jira does not offer {issue_type} "
        "there (offered: {offered}).",
        "Add {issue_type} to the issue type scheme of {project} (Project settings > Issue types "
        "> Actions > Edit issue types), or set issue_types for {project} in the integration "
        "profile to a type the project has.",
    ),
    FindingSpec(
        "PERM_FIELD_NOT_EDITABLE",
        E,
        "The field {field} that Visor writes is not on the edit screen of {issue_type} issues in "
        "{project} (read from {issue}).",
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
    ),
    FindingSpec(
        "IMP_PAGINATION",
        E,
        "Paging through {project} was inconsistent: {problem}.",
        "Visor's import pages exactly like this, so it would miss or repeat issues. A stale "
        "search index is the usual cause: a Jira administrator should run a full reindex "
        "(Administration > System > Indexing > Full re-index) and run this check again. Send "
        "this report to Visor support if it persists.",
    ),
    FindingSpec(
        "IMP_FIELD_MISSING",
        E,
        "{missing} of {inspected} sampled issues in {project} do not carry the field {field} "
        "that Visor reads (e.g. {example}).",
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
        "Expect a slow first import. Check Jira's load and the network path between Visor and "
        "Jira (proxy, VPN), exempt the bot from rate limiting, or narrow import.jql in the "
        "integration profile.",
    ),
    # --- Write round trip -----------------------------------------------------------------------
    FindingSpec(
        "WRITE_CREATE_FAILED",
        E,
        "Creating a test {issue_type} in {project} failed ({status}): {message}",
        "{advice}",
    ),
    FindingSpec(
        "WRITE_EDIT_FAILED",
        E,
        "The write round trip on the test issue {key} failed at step {step} ({status}): {message}",
        "{advice}",
    ),
    FindingSpec(
        "WRITE_READBACK_MISMATCH",
        E,
        "The test issue {key} read back differently from what was written at step {step}: "
        "{difference}.",
        "A workflow post-function, a listener or an app rewrites fields on create or edit, so "
        "Visor's changes would not stick. Check the workflow of {project} (Project settings > "
        "Workflows > post functions) and the installed apps.",
    ),
    FindingSpec(
        "WRITE_CLEANUP_FAILED",
        E,
        "The test issue {key} could not be deleted ({reason}): it is still in Jira at {link}.",
        "Delete {key} by hand (it is labelled visor-conformance and its summary says it is a "
        "conformance check and safe to delete), and grant the bot Delete Issues in {project} "
        "(Project settings > Permissions > Delete Issues) so the next run cleans up after itself.",
    ),
    # --- Rate limits ----------------------------------------------------------------------------
    FindingSpec(
        "RATE_LIMITED",
        W,
        "Jira rate-limited the bot: {count} request(s) answered 429 Too Many Requests (X-RateLimit-Limit, "
        "the allowance in requests: {limit}; X-RateLimit-FillRate, the requests added per refill "
        "interval: {fill_rate}).",
        "Visor backs off when limited, but imports will be slower. A Jira administrator can "
        "exempt the bot or raise its allowance under Administration > System > Rate limiting "
        "> Exemptions.",
    ),
]

CATALOGUE: dict[str, FindingSpec] = {spec.code: spec for spec in _SPECS}
