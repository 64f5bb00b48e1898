"""Resolve the run's settings: command line > environment > ini > default, with each source kept.

Everything a run needs is decided here, before any request is sent, so that a bad URL, an
unreadable file or a missing secret ends the run at once with one clear sentence (exit 4).
"""

from __future__ import annotations

import netrc
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from conformance.secrets import Secret

AuthScheme = Literal["basic", "bearer"]

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_CONCURRENCY = 8
DEFAULT_DEADLINE_S = 600.0
DEFAULT_SLOW_MS = 2000.0
MAX_CONCURRENCY = 64


class SettingsError(ValueError):
    """A usage error: the message is one sentence that says what is wrong and how to fix it."""


@dataclass(frozen=True)
class Credentials:
    user: str | None
    secret: Secret
    scheme: AuthScheme
    secret_kind: Literal["password", "token"]
    origin: str  # where the secret came from, never the secret itself

    def describe(self) -> str:
        who = f"user {self.user}" if self.user else "no user"
        return f"{self.scheme} ({who}, {self.secret_kind} from {self.origin})"


@dataclass(frozen=True)
class Settings:
    url: str
    credentials: Credentials | None
    profile: str | None = None
    projects: tuple[str, ...] = ()
    write_project: str | None = None
    ca_bundle: Path | None = None
    system_trust: bool = False
    timeout_s: float = DEFAULT_TIMEOUT_S
    concurrency: int = DEFAULT_CONCURRENCY
    deadline_s: float = DEFAULT_DEADLINE_S
    slow_ms: float = DEFAULT_SLOW_MS
    report_dir: Path = Path("reports")
    json_path: Path | None = None
    strict: bool = False
    demo_scenario: str | None = None
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "jira"

    @property
    def user(self) -> str | None:
        return self.credentials.user if self.credentials else None

    @property
    def auth_scheme(self) -> str | None:
        return self.credentials.scheme if self.credentials else None


def describe_settings(settings: Settings) -> list[str]:
    """Each setting that shaped the run with where it came from (never the secret's value)."""
    values = {
        "url": settings.url,
        "user": settings.user or "none",
        "secret": settings.credentials.secret_kind if settings.credentials else "none",
        "auth": settings.auth_scheme or "none",
        "profile": settings.profile or "visor-default",
        "projects": ", ".join(settings.projects) or "from the profile",
        "write-project": settings.write_project or "none",
        "timeout": f"{settings.timeout_s:g} s",
        "concurrency": str(settings.concurrency),
        "deadline": f"{settings.deadline_s:g} s",
        "ca-bundle": str(settings.ca_bundle) if settings.ca_bundle else "none",
        "system-trust": "yes" if settings.system_trust else "no",
        "strict": "yes" if settings.strict else "no",
    }
    return [
        f"{name} = {value} (from {settings.sources.get(name, 'default')})"
        for name, value in values.items()
    ]


def validate_url(raw: str) -> str:
    """Return the base URL without a trailing slash, or raise SettingsError saying what is wrong."""
    text = raw.strip()
    if not text:
        raise SettingsError(
            "--jira-url is empty: give the address you open Jira at, e.g. https://jira.example.com"
        )
    if re.search(r"\s", text):
        raise SettingsError(
            f"--jira-url {text!r} contains white space: remove it (encode a space in a path as %20)"
        )
    if "://" not in text:
        raise SettingsError(
            f"--jira-url {text!r} has no scheme: write it in full, e.g. https://{text.lstrip('/')}"
        )
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise SettingsError(
            f"--jira-url {_safe(text)!r} uses {parts.scheme}://, but Jira's REST API is only served over "
            "http:// or https://"
        )
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise SettingsError(
            "--jira-url must not carry credentials (user:password@host): remove them from the URL and "
            "give the bot's user in --jira-user or JIRA_USER and its secret in JIRA_PASSWORD or JIRA_TOKEN"
        )
    if parts.query:
        raise SettingsError(
            f"--jira-url {text!r} has a query string ({parts.query!r}): give the base URL only, "
            "e.g. https://jira.example.com or https://example.com/jira"
        )
    if parts.fragment or text.endswith("#"):
        raise SettingsError(f"--jira-url {text!r} has a fragment (#...): give the base URL only")
    if not parts.hostname:
        raise SettingsError(f"--jira-url {text!r} has no host name")
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise SettingsError(f"--jira-url {text!r} has an invalid port") from None
    path = re.sub(r"/+", "/", parts.path).rstrip("/")
    for suffix in ("/secure/Dashboard.jspa", "/login.jsp", "/rest/api/2", "/rest/api/latest"):
        if path.endswith(suffix):
            raise SettingsError(
                f"--jira-url {text!r} points at a page, not at Jira's base URL: use "
                f"{parts.scheme}://{parts.netloc}{path[: -len(suffix)]}"
            )
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}"


def _safe(text: str) -> str:
    return re.sub(r"//[^@/]*@", "//", text)


def resolve_credentials(
    *,
    url: str,
    user: str | None,
    auth: str,
    env: dict[str, str],
    secret_file: str | None,
) -> Credentials | None:
    """Find the secret (never from the command line) and pick the auth scheme."""
    secret_value: str | None = None
    kind: Literal["password", "token"] = "password"
    origin = ""
    if secret_file:
        path = Path(secret_file).expanduser()
        try:
            secret_value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(
                f"--jira-secret-file {str(path)!r} cannot be read ({exc.strerror or exc}): check the "
                "path and that this user may read it"
            ) from None
        if not secret_value:
            raise SettingsError(
                f"--jira-secret-file {str(path)!r} is empty: put the bot's password or token in it"
            )
        kind = "token" if not user else "password"
        origin = "--jira-secret-file"
    elif env.get("JIRA_TOKEN"):
        secret_value, kind, origin = env["JIRA_TOKEN"], "token", "JIRA_TOKEN"
    elif env.get("JIRA_PASSWORD"):
        secret_value, kind, origin = env["JIRA_PASSWORD"], "password", "JIRA_PASSWORD"
    else:
        host = urlsplit(url).hostname or ""
        entry = _netrc_entry(host, env)
        if entry is not None:
            login, secret_value = entry
            user = user or login or None
            kind, origin = "password", ".netrc"

    if auth not in ("auto", "basic", "bearer"):
        raise SettingsError(f"--jira-auth {auth!r} is not one of auto, basic, bearer")
    if secret_value is None:
        return None
    scheme: AuthScheme = ("basic" if user else "bearer") if auth == "auto" else auth  # type: ignore[assignment]
    if scheme == "basic" and not user:
        raise SettingsError(
            "--jira-auth basic needs the bot's user name: set --jira-user or JIRA_USER "
            "(on Cloud, the bot's e-mail address)"
        )
    if scheme == "bearer":
        kind = "token"
    return Credentials(
        user=user, secret=Secret(secret_value), scheme=scheme, secret_kind=kind, origin=origin
    )


def _netrc_entry(host: str, env: dict[str, str]) -> tuple[str, str] | None:
    path = Path(env.get("NETRC") or Path.home() / ".netrc")
    if not path.is_file():
        return None
    try:
        found = netrc.netrc(str(path)).authenticators(host)
    except (netrc.NetrcParseError, OSError) as exc:
        raise SettingsError(
            f"{path} cannot be read as a .netrc file ({exc}): fix or remove it"
        ) from None
    if not found or not found[2]:
        return None
    return found[0] or "", found[2]


MISSING_CREDENTIALS = (
    "no credentials for the bot (AUTH_NO_CREDENTIALS): set JIRA_USER and JIRA_PASSWORD (or JIRA_TOKEN "
    "for a personal access token, or put the secret in a file named by --jira-secret-file, or in "
    "~/.netrc); secrets are never accepted on the command line"
)


def env_snapshot() -> dict[str, str]:
    return dict(os.environ)
