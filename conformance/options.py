"""The ``--jira-*`` options, and the run's settings resolved from them.

Both commands read the same table (``pytest --jira-url`` through the plugin, ``visor-jira-check``
through its own argument parser), so an option added here exists in both. Resolution is pure apart
from reading files the user named: the plugin passes in what it owns (the demo emulator's URL and
accounts), and every problem is a ``SettingsError`` (exit 4) raised before any request is sent.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

import pytest

from conformance.settings import (
    DEFAULT_CONCURRENCY,
    DEFAULT_DEADLINE_S,
    DEFAULT_SLOW_MS,
    DEFAULT_TIMEOUT_S,
    MAX_CONCURRENCY,
    MISSING_CREDENTIALS,
    Settings,
    SettingsError,
    resolve_credentials,
    validate_url,
)

# name, env var, type, help
OPTIONS: list[tuple[str, str | None, str, str]] = [
    ("url", "JIRA_URL", "string", "base URL of the Jira instance, context path included"),
    ("user", "JIRA_USER", "string", "bot user name (Server/Data Center) or e-mail address (Cloud)"),
    (
        "auth",
        None,
        "string",
        "auto|basic|bearer: auto sends a token without a user as a bearer PAT",
    ),
    (
        "profile",
        None,
        "string",
        "integration profile: a YAML file or a bundled name (default visor-default)",
    ),
    ("write-project", None, "string", "opt-in: run the write round trip in this project"),
    ("ca-bundle", None, "string", "extra CA bundle (PEM) to verify Jira's certificate"),
    ("timeout", None, "string", f"per-request timeout in seconds (default {DEFAULT_TIMEOUT_S:g})"),
    (
        "concurrency",
        None,
        "string",
        f"concurrent requests in flight (default {DEFAULT_CONCURRENCY})",
    ),
    (
        "deadline",
        None,
        "string",
        f"overall deadline of the run in seconds (default {DEFAULT_DEADLINE_S:g})",
    ),
    ("report-dir", None, "string", "where HTML, JSON and JUnit reports go (default reports/)"),
    ("json", None, "string", "also write the JSON result to this exact path"),
    ("secret-file", None, "string", "file holding the bot's password or token"),
]
_OPTIONS = OPTIONS  # the name the plugin used


def add_options(parser: pytest.Parser) -> None:
    """Register every ``--jira-*`` option and its ``jira_*`` ini twin (``pytest_addoption``)."""
    group = parser.getgroup("jira", "Visor Jira conformance")
    for name, env, _type, help_text in OPTIONS:
        suffix = f" [env {env}]" if env else ""
        group.addoption(f"--jira-{name}", dest=_dest(name), default=None, help=help_text + suffix)
        parser.addini(_dest(name), help_text, type="string", default=None)
    group.addoption(
        "--jira-project",
        dest="jira_project",
        action="append",
        default=None,
        metavar="KEY",
        help="project to check (repeatable); default: the profile's list, else every visible project",
    )
    parser.addini("jira_project", "projects to check", type="args", default=[])
    for name, help_text in (
        ("system-trust", "verify TLS with the operating system's trust store"),
        ("strict", "warnings and blocked checks also make the exit code non-zero"),
    ):
        group.addoption(
            f"--jira-{name}", dest=_dest(name), action="store_true", default=None, help=help_text
        )
        parser.addini(_dest(name), help_text, type="bool", default=False)
    group.addoption(
        "--jira-demo",
        dest="jira_demo",
        nargs="?",
        const="dc-healthy",
        default=None,
        metavar="SCENARIO",
        help="start the bundled Jira emulator (default scenario dc-healthy) and check it",
    )


def _dest(name: str) -> str:
    return "jira_" + name.replace("-", "_")


def _raw(config: pytest.Config, name: str, env: str | None) -> tuple[Any, str]:
    """A raw value and its source: command line > environment > ini > default."""
    dest = _dest(name)
    value = config.getoption(dest, default=None)
    if value is not None:
        return value, f"--jira-{name}"
    if env and os.environ.get(env):
        return os.environ[env], f"env {env}"
    try:
        ini = config.getini(dest)
    except ValueError:
        ini = None
    if ini not in (None, "", [], False):  # pytest gives False for an unset bool ini
        return ini, f"ini {dest}"
    return None, "default"


def _number(raw: Any, name: str, kind: type, low: float, high: float) -> Any:
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise SettingsError(f"--jira-{name} {raw!r} is not a number") from None
    if not low <= value <= high:
        raise SettingsError(f"--jira-{name} {raw!r} is out of range ({low:g} to {high:g})")
    return value


def is_active(config: pytest.Config) -> bool:
    """Does this run check a Jira (as opposed to running ordinary tests)?"""
    return bool(config.getoption("jira_demo", None) or _raw(config, "url", "JIRA_URL")[0])


def resolve_settings(
    config: pytest.Config,
    env: dict[str, str] | None = None,
    *,
    demo_url: str | None = None,
    demo_env: dict[str, str] | None = None,
) -> Settings:
    """The run's settings; ``demo_url``/``demo_env`` are the demo emulator's URL and accounts."""
    env = dict(os.environ if env is None else env)
    sources: dict[str, str] = {}

    def get(name: str, env_name: str | None = None) -> Any:
        value, source = _raw(config, name, env_name)
        sources[name] = source
        return value

    demo = config.getoption("jira_demo", None)
    url_raw = get("url", "JIRA_URL")
    demo_keys: set[str] = set()
    if demo:
        url_raw = demo_url
        sources["url"] = f"--jira-demo {demo}"
        for key, value in (demo_env or {}).items():
            if key not in env:
                env[key] = value
                demo_keys.add(key)
    url = validate_url(str(url_raw))
    user = get("user", "JIRA_USER")
    if demo and user is None and "JIRA_USER" in env:
        user = env["JIRA_USER"]
        sources["user"] = "--jira-demo account"
    credentials = resolve_credentials(
        url=url, user=user, auth=str(get("auth") or "auto"), env=env, secret_file=get("secret-file")
    )
    if credentials is None:
        raise SettingsError(MISSING_CREDENTIALS)
    if credentials.origin in demo_keys:  # the demo's account, not the operator's variable
        credentials = dataclasses.replace(credentials, origin="--jira-demo")
    sources["secret"] = credentials.origin
    projects_cli = config.getoption("jira_project", None)
    projects = tuple(projects_cli or config.getini("jira_project") or ())
    sources["projects"] = (
        "--jira-project" if projects_cli else ("ini jira_project" if projects else "profile")
    )
    for key in projects:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            raise SettingsError(
                f"--jira-project {key!r} is not a Jira project key (upper-case letters, digits, _)"
            )
    write_project = get("write-project")
    if write_project is not None and not re.fullmatch(r"[A-Z][A-Z0-9_]*", write_project):
        raise SettingsError(f"--jira-write-project {write_project!r} is not a Jira project key")
    ca_raw = get("ca-bundle")
    ca_bundle = None
    if ca_raw:
        ca_bundle = Path(ca_raw).expanduser()
        try:
            with ca_bundle.open("rb") as handle:
                head = handle.read(65536)
        except OSError as exc:
            raise SettingsError(
                f"--jira-ca-bundle {str(ca_bundle)!r} cannot be read ({exc.strerror or exc})"
            ) from None
        if b"-----BEGIN CERTIFICATE-----" not in head:
            raise SettingsError(
                f"--jira-ca-bundle {str(ca_bundle)!r} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
            )
    system_trust = bool(get("system-trust"))
    strict = bool(get("strict"))
    timeout_raw, conc_raw, deadline_raw = get("timeout"), get("concurrency"), get("deadline")
    report_dir = Path(get("report-dir") or "reports")
    json_path = get("json")
    return Settings(
        url=url,
        credentials=credentials,
        profile=get("profile"),
        projects=projects,
        write_project=write_project,
        ca_bundle=ca_bundle,
        system_trust=system_trust,
        timeout_s=_number(timeout_raw, "timeout", float, 0.1, 600)
        if timeout_raw
        else DEFAULT_TIMEOUT_S,
        concurrency=_number(conc_raw, "concurrency", int, 1, MAX_CONCURRENCY)
        if conc_raw
        else DEFAULT_CONCURRENCY,
        deadline_s=_number(deadline_raw, "deadline", float, 1, 86400)
        if deadline_raw
        else DEFAULT_DEADLINE_S,
        slow_ms=DEFAULT_SLOW_MS,
        report_dir=report_dir,
        json_path=Path(json_path) if json_path else None,
        strict=strict,
        demo_scenario=demo,
        sources=sources,
    )
