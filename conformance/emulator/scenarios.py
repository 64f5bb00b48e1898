"""Scenario catalogue: each name builds a world plus the switches that shape the wire."""

from __future__ import annotations

from dataclasses import dataclass, field

from .personalities import PERSONALITIES, Personality
from .tlsfaults import SNI_NAME
from .world import FULL_USER_PERMISSIONS, READ_PERMISSIONS, Grant, World

BOT_USER = "visor-bot"
BOT_PASSWORD = "visor-bot-password"
BOT_TOKEN = "visor-bot-token"
BOT_DISPLAY = "Visor Bot"
BOT_EMAIL = "visor-bot@example.com"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"
# Not part of the account contract: lets the administrator in where basic auth is off (11.x,
# basic-auth-disabled, sso-redirect). On Cloud the administrator's API token is "admin".
ADMIN_TOKEN = "admin-token"
MISMATCH_BASE_URL = "https://jira.internal.example:8443"
# rate-limited: small enough that one run of the suite empties it (capacity, tokens per second)
RATE_LIMITED_BUCKET = (10, 5.0)

SCENARIOS: dict[str, str] = {
    "dc-healthy": "Data Center 10.3 LTS; the bot reads and writes VIS (~1,200 issues), OPS, MKT",
    "dc-7.13": "Jira 7.13: no personal access tokens, only the old createmeta",
    "dc-8.20": "Jira 8.20 LTS: both createmeta forms, personal access tokens",
    "dc-9.12": "Jira 9.12 LTS: old createmeta removed (404), paged createmeta only",
    "dc-11.3": "Jira 11.3 LTS: basic auth disabled by default (403), session login rejected; PAT",
    "cloud": "Jira Cloud: e-mail + API token, search 410 (CHANGE-2046), /search/jql paging",
    "captcha": "The bot is CAPTCHA-locked after failed logins (403 AUTHENTICATION_DENIED)",
    "basic-auth-disabled": "10.3 with basic authentication blocked (403); PATs work",
    "sso-redirect": "SAML SSO: /rest without a bearer token redirects (302) to an IdP",
    "context-path": "Jira served under /jira; the root answers Tomcat's 404 page",
    "read-only-bot": "The bot can browse and search but not create, edit, comment or delete",
    "no-project-access": "The bot authenticates but sees no project",
    "rate-limited": "DC rate limiting: a 10-token bucket refilling 5/s, X-RateLimit-* and 429",
    "base-url-mismatch": f"serverInfo.baseUrl and self links say {MISMATCH_BASE_URL}",
    "anonymous-fallback": "Credentials are stripped: anonymous view (X-AUSERNAME: anonymous)",
    "tls-self-signed": "HTTPS with a certificate from a private CA (server.ca_path)",
    "not-running": "/status says STARTING and every /rest call answers 503",
    "mixed-permissions": "VIS full; OPS without ADD_COMMENTS; MKT Task needs Customer Impact",
    "first-run": "A fresh Jira before its setup wizard (/status FIRST_RUN until set up)",
    "waf-blocks-login": "An F5-style firewall in front refuses every credentialed /rest/ call",
    "proxy-refuses": "A squid forward proxy (server.proxy_url) refuses requests that log in",
    "proxy-plain-tunnel": "HTTPS through a squid proxy that answers plain HTTP inside CONNECT",
    "tls-1.0-only": "HTTPS that speaks only TLS 1.0",
    "tls-sni-refused": f"HTTPS that refuses any SNI name but {SNI_NAME}",
    "tls-handshake-reset": "HTTPS whose handshake is reset after the ClientHello",
    "tls-long-chain": "HTTPS with a certificate chain longer than OpenSSL verifies",
    "tls-expired-intermediate": "HTTPS whose intermediate CA certificate has expired",
    "mutual-tls": "HTTPS that requires a client certificate (server.client_cert_path)",
    "idle-reset": "A load balancer resets the first request sent on a kept-alive connection",
}
# Scenario -> the switches beyond the world: TLS fault, firewall in front, forward proxy mode,
# kept-alive connections reset.
NETWORK: dict[str, dict[str, object]] = {
    "waf-blocks-login": {"front": "f5"},
    "proxy-refuses": {"forward_proxy": "refuse"},
    "proxy-plain-tunnel": {"forward_proxy": "plain-tunnel", "tls": True},
    "tls-1.0-only": {"tls_fault": "tls1.0-only"},
    "tls-sni-refused": {"tls_fault": "sni-refused"},
    "tls-handshake-reset": {"tls_fault": "handshake-reset"},
    "tls-long-chain": {"tls_fault": "long-chain"},
    "tls-expired-intermediate": {"tls_fault": "expired-intermediate"},
    "mutual-tls": {"tls_fault": "mutual"},
    "idle-reset": {"reset_reused": 1},
}


@dataclass
class ScenarioConfig:
    """Everything the app needs to know about one scenario, beyond the world itself."""

    name: str
    personality: Personality
    world: World
    basic_auth_enabled: bool = True
    sso: bool = False
    context_path: str = ""
    anonymous_fallback: bool = False
    not_running: bool = False
    first_run: bool = False
    tls: bool = False
    base_url: str | None = None
    rate_limit: tuple[int, float] | None = None
    captcha_users: set[str] = field(default_factory=set)
    tls_fault: str | None = None  # tlsfaults.TLS_FAULTS
    front: str | None = None  # a firewall in front refusing credentialed calls: a vendor
    forward_proxy: str | None = None  # proxy.PROXY_MODES: a forward proxy to reach it through
    reset_reused: int = 0  # requests on kept-alive connections to reset, as idle timeouts do


def _grants(user: str, perms: frozenset[str] | set[str]) -> list[Grant]:
    return [Grant("user", user, p) for p in sorted(perms)]


# How a scenario breaks a project: "read-only" (browse only), "no-access" (not even browse),
# "no-comment" (everything but Add Comments), "required-field" (a Task needs Customer Impact).
BREAKAGES: dict[str, tuple[str, ...]] = {
    "read-only-bot": ("read-only",),
    "no-project-access": ("no-access",),
    "mixed-permissions": ("no-comment", "required-field"),
}
# the default layout's broken projects, with how each is broken
NAMED_BROKEN: dict[str, dict[str, str]] = {
    "mixed-permissions": {"OPS": "no-comment", "MKT": "required-field"},
}
REQUIRED_FIELD = "customfield_10100"


@dataclass(frozen=True)
class ProjectSpec:
    """One project of a scenario's layout, and how it is broken (None: healthy)."""

    key: str
    name: str
    issues: int
    breakage: str | None = None


def project_layout(
    name: str, projects: int | None = None, issues: int | None = None, broken: int | None = None
) -> list[ProjectSpec]:
    """The projects of scenario ``name``.

    ``projects`` replaces VIS/OPS/MKT with generated P001... but keeps the scenario's broken
    projects (mixed-permissions' OPS and MKT) among them; ``broken`` makes that many projects
    broken the way the scenario breaks one (read-only-bot and no-project-access break every
    project by default). ``ValueError`` when the numbers cannot be met.
    """
    kinds = BREAKAGES.get(name, ())
    if broken and not kinds:
        raise ValueError(
            f"scenario {name!r} has no broken project to copy; --broken-projects works with "
            + ", ".join(BREAKAGES)
        )
    named = NAMED_BROKEN.get(name, {})
    defaults = _default_projects(issues)
    if not projects:
        base = defaults
    else:
        keep = [d for d in defaults if d[0] in named][:projects]
        base = _generated_projects(projects - len(keep), issues) + keep
    if broken is None:
        broken = len(base) if name in BREAKAGES and not named else sum(b[0] in named for b in base)
    if broken > len(base):
        raise ValueError(f"--broken-projects {broken} is more than the {len(base)} projects")
    order = [b for b in base if b[0] in named] + [b for b in base if b[0] not in named]
    chosen = {b[0]: i for i, b in enumerate(order[:broken])}
    out = []
    for key, pname, count in base:
        kind = None
        if key in chosen:
            kind = named.get(key) or kinds[chosen[key] % len(kinds)]
        out.append(ProjectSpec(key, pname, count, kind))
    return out


def _default_projects(issues: int | None) -> list[tuple[str, str, int]]:
    return [
        ("VIS", "Visor", 1200 if issues is None else issues),
        ("OPS", "Operations", 40),
        ("MKT", "Marketing", 15),
    ]


def _generated_projects(count: int, issues: int | None) -> list[tuple[str, str, int]]:
    out = []
    for i in range(count):
        n = (1200 if issues is None else issues) if i == 0 else 10 + (i * 7) % 40
        out.append((f"P{i + 1:03d}", f"Project {i + 1}", n))
    return out


def build_scenario(
    name: str,
    *,
    projects: int | None = None,
    issues: int | None = None,
    bot_user: str | None = None,
    bot_password: str | None = None,
    bot_token: str | None = None,
    context_path: str | None = None,
    tls: bool = False,
    rate_limit: tuple[int, float] | None = None,
    broken_projects: int | None = None,
) -> ScenarioConfig:
    """Build the world and switches of scenario ``name`` (see :data:`SCENARIOS`)."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    line = {
        "dc-7.13": "7.13",
        "dc-8.20": "8.20",
        "dc-9.12": "9.12",
        "dc-11.3": "11.3",
        "cloud": "cloud",
    }.get(name, "10.3")
    pers = PERSONALITIES[line]
    bot = bot_user or BOT_USER
    world = World()
    cfg = ScenarioConfig(name, pers, world, basic_auth_enabled=pers.basic_auth_default)
    world.add_user(
        ADMIN_USER,
        ADMIN_PASSWORD,
        "Administrator",
        "admin@example.com",
        admin=True,
        token="admin" if pers.cloud else (ADMIN_TOKEN if pers.pats else None),
    )
    world.add_user(
        bot, bot_password or BOT_PASSWORD, BOT_DISPLAY, BOT_EMAIL, token=bot_token or BOT_TOKEN
    )
    world.add_scheme("Default Permission Scheme", [], scheme_id=0)

    for i, spec in enumerate(project_layout(name, projects, issues, broken_projects)):
        perms: set[str] = set(FULL_USER_PERMISSIONS)
        if spec.breakage == "read-only":
            perms = set(READ_PERMISSIONS)
        elif spec.breakage == "no-access":
            perms = set()
        elif spec.breakage == "no-comment":
            perms.discard("ADD_COMMENTS")
        scheme = world.add_scheme(
            f"{spec.name} permission scheme", _grants(bot, perms), scheme_id=10000 + i
        )
        p = world.add_project(spec.key, spec.name, spec.issues, scheme.id)
        if spec.breakage == "required-field":
            p.required_fields["Task"] = (REQUIRED_FIELD,)
    if name == "anonymous-fallback":
        scheme = world.add_scheme(
            "Public permission scheme", [Grant("anyone", None, "BROWSE_PROJECTS")], scheme_id=10999
        )
        world.add_project("PUB", "Public", 12, scheme.id)
        world.public_projects.add("PUB")
        cfg.anonymous_fallback = True

    if name in ("basic-auth-disabled",):
        cfg.basic_auth_enabled = False
    if name == "sso-redirect":
        cfg.sso = True
    if name == "context-path":
        cfg.context_path = "/jira"
    if context_path is not None:
        cfg.context_path = "/" + context_path.strip("/") if context_path.strip("/") else ""
    if name == "not-running":
        cfg.not_running = True
    if name == "first-run":
        cfg.first_run = True
        world.users.clear()
        world.projects.clear()
    if name == "tls-self-signed" or tls:
        cfg.tls = True
    if name == "base-url-mismatch":
        cfg.base_url = MISMATCH_BASE_URL
    if name == "rate-limited":
        cfg.rate_limit = RATE_LIMITED_BUCKET
    if rate_limit is not None:
        cfg.rate_limit = rate_limit
    if name == "captcha":
        world.users[bot].captcha = True
    for switch, value in NETWORK.get(name, {}).items():
        setattr(cfg, switch, value)
    if cfg.tls_fault:
        cfg.tls = True
    return cfg
