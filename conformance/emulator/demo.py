"""What ``pytest --jira-demo SCENARIO`` logs in with, so that each demo shows its scenario's problem.

A demo that logs in the way the scenario breaks is the point of the demo: basic-auth-disabled
and sso-redirect log in with the password (so the suite meets the 403 or the redirect),
read-only-bot and mixed-permissions are checked against the two-way profile (which needs write
access), and rate-limited serves 20 projects, so that the suite's ~75 requests meet the
scenario's 10-token bucket refilling 5 per second (:mod:`.scenarios`): the run cannot finish
in under ~13 s without waiting, while unlimited it takes a few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .scenarios import BOT_EMAIL, BOT_PASSWORD, BOT_TOKEN, BOT_USER, SCENARIOS

_PASSWORD = {"JIRA_USER": BOT_USER, "JIRA_PASSWORD": BOT_PASSWORD}
_PAT = {"JIRA_TOKEN": BOT_TOKEN}
_CLOUD = {"JIRA_USER": BOT_EMAIL, "JIRA_TOKEN": BOT_TOKEN}
TWO_WAY = "visor-two-way"
RATE_LIMITED_DEMO_PROJECTS = 20


@dataclass(frozen=True)
class DemoSetup:
    """How the demo of one scenario runs: credentials (environment variables the settings
    read), the bundled profile to check against (None: the default one), the project of the
    write round trip (None: read-only, the safe default), what the run shows, and how many
    projects the demo's emulator serves (``EmulatorServer(projects=...)``; None: the
    scenario's own three)."""

    env: dict[str, str] = field(default_factory=dict)
    profile: str | None = None
    write_project: str | None = None
    description: str = ""
    projects: int | None = None


# scenario -> (credentials, profile, what the demo shows)
_SETUPS: dict[str, tuple[dict[str, str], str | None, str]] = {
    "dc-healthy": (_PASSWORD, None, "READY: every check passes"),
    "dc-7.13": (_PASSWORD, None, "READY on 7.13 (old createmeta, no personal access tokens)"),
    "dc-8.20": (_PASSWORD, None, "READY on 8.20 LTS"),
    "dc-9.12": (_PASSWORD, None, "READY on 9.12 LTS (paged createmeta only)"),
    "dc-11.3": (_PAT, None, "READY with a personal access token (basic auth is off on 11.x)"),
    "cloud": (_CLOUD, None, "READY with e-mail + API token; search through /search/jql"),
    "captcha": (_PASSWORD, None, "NOT READY: AUTH_CAPTCHA, the bot is CAPTCHA-locked"),
    "basic-auth-disabled": (
        _PASSWORD,
        None,
        "NOT READY: AUTH_BASIC_DISABLED, the password login gets 403",
    ),
    "sso-redirect": (
        _PASSWORD,
        None,
        "NOT READY: AUTH_SSO_REDIRECT, the password login is redirected to the IdP",
    ),
    "context-path": (_PASSWORD, None, "READY: the demo URL already ends in /jira"),
    "read-only-bot": (
        _PASSWORD,
        TWO_WAY,
        "NOT READY: PERM_MISSING, the two-way profile needs Create/Edit/Comment/Transition",
    ),
    "no-project-access": (
        _PASSWORD,
        None,
        "NOT READY: PERM_PROJECT_INVISIBLE, the bot sees no project",
    ),
    "rate-limited": (
        _PASSWORD,
        None,
        "RATE_LIMITED: 20 projects against a 10-token bucket refilling 5/s; the run waits",
    ),
    "base-url-mismatch": (
        _PASSWORD,
        None,
        "API_BASEURL_MISMATCH: serverInfo.baseUrl differs from the URL used",
    ),
    "anonymous-fallback": (
        _PASSWORD,
        None,
        "NOT READY: AUTH_ANONYMOUS, the credentials never reach Jira",
    ),
    "tls-self-signed": (
        _PASSWORD,
        None,
        "NOT READY: NET_TLS_UNTRUSTED, the certificate is from a private CA",
    ),
    "not-running": (_PASSWORD, None, "NOT READY: NET_NOT_RUNNING, /status says STARTING"),
    "mixed-permissions": (
        _PASSWORD,
        TWO_WAY,
        "NOT READY: PERM_MISSING (OPS: Add Comments) and PERM_REQUIRED_FIELD (MKT Task)",
    ),
    "first-run": (_PASSWORD, None, "NOT READY: Jira is before its setup wizard (FIRST_RUN)"),
    "waf-blocks-login": (
        _PASSWORD,
        None,
        "NOT READY: NET_PROXY_ANSWERED, a firewall in front refuses the bot's login before Jira "
        "sees it",
    ),
    "proxy-refuses": (
        _PASSWORD,
        None,
        "READY here (the demo connects directly); with HTTP_PROXY set to the proxy the emulator "
        "prints, NET_PROXY_ANSWERED",
    ),
    "proxy-plain-tunnel": (
        _PASSWORD,
        None,
        "NOT READY here on the private CA; with HTTPS_PROXY set to the proxy the emulator "
        "prints, NET_PROXY_PLAIN_TUNNEL",
    ),
    "tls-1.0-only": (_PASSWORD, None, "NOT READY: NET_TLS_VERSION, the server speaks TLS 1.0"),
    "tls-sni-refused": (_PASSWORD, None, "NOT READY: NET_TLS_SNI, the server refuses the name"),
    "tls-handshake-reset": (
        _PASSWORD,
        None,
        "NOT READY: NET_TLS_RESET, the handshake is reset after the ClientHello",
    ),
    "tls-long-chain": (
        _PASSWORD,
        None,
        "NOT READY: the private CA is not trusted here; with --jira-ca-bundle, NET_TLS_CHAIN",
    ),
    "tls-expired-intermediate": (
        _PASSWORD,
        None,
        "NOT READY: the private CA is not trusted here; with --jira-ca-bundle, "
        "NET_TLS_INTERMEDIATE_EXPIRED",
    ),
    "mutual-tls": (
        _PASSWORD,
        None,
        "NOT READY: the server requires a client certificate (NET_TLS_CLIENT_CERT once its CA "
        "is trusted)",
    ),
    "idle-reset": (
        _PASSWORD,
        None,
        "READY: the request reset on a kept-alive connection is sent again on a new one",
    ),
}


def demo_setup(scenario: str) -> DemoSetup:
    """The demo set-up of ``scenario``; ``ValueError`` for a name that is not a scenario."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    env, profile, description = _SETUPS[scenario]
    projects = RATE_LIMITED_DEMO_PROJECTS if scenario == "rate-limited" else None
    return DemoSetup(env=dict(env), profile=profile, description=description, projects=projects)


__all__ = ["TWO_WAY", "DemoSetup", "demo_setup"]
